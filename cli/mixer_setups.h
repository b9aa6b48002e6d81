#pragma once
// The mixers the mixer benchmarks compare (`mixlab bench decode`, `mixlab
// bench mixers`): one labelled setting per row of the literature's tables, at
// a common width, so every benchmark reports the same rows.
#include <memory>
#include <string>
#include <vector>

#include "layers/mixers/mixer.h"

namespace mixlab::cli {

struct MixerSetup {
  std::string label;                 // the row name ("gqa", "mamba2", ...)
  std::string mixer;                 // registry name
  std::vector<std::string> options;  // "<key>=<value>" settings of the mixer
  // Longest sequence the training benchmark runs it at (0 = any): token-by-
  // token forms keep a state per token on the tape (8 GiB at 16k for mamba2).
  int64_t max_train_length = 0;
};

// Every benchmarked setting (8 heads of 64 dims at d_model 512 where heads apply).
const std::vector<MixerSetup>& mixer_setups();

// The setups named in `labels` ("a,b,c"; empty = all of them); throws
// UsageError naming `context` and the allowed labels.
std::vector<MixerSetup> select_mixer_setups(const std::string& context, const std::string& labels);

// The mixer of one setup at width d_model (F32, seeded).
std::shared_ptr<SequenceMixer> build_mixer_setup(const MixerSetup& setup, int64_t d_model, int64_t max_seq_len);

}  // namespace mixlab::cli
