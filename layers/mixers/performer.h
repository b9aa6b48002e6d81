#pragma once
// Inspection of a `performer` mixer (layers/mixers/performer.cpp) for tests
// and tools: its current random features and how often they were drawn.
#include <cstdint>

#include "layers/mixers/mixer.h"

namespace mixlab {

// Ω (M, d) of a performer mixer; throws for other mixers.
Tensor performer_features(const SequenceMixer& m);
// Replaces Ω by `omega` (M, d), e.g. another implementation's projection, until
// the next redraw; checkpoints do not hold it (they redraw Ω from the seed).
void performer_load_features(SequenceMixer& m, const Tensor& omega);
// 1 after construction, +1 per redraw.
int64_t performer_draws(const SequenceMixer& m);

}  // namespace mixlab
