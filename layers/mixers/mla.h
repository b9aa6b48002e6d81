#pragma once
// The decode state of the `mla` mixer (layers/mixers/mla.cpp), public so that
// tests can measure what the cache really holds.
#include "layers/mixers/mixer.h"

namespace mixlab {

// Multi-head latent attention caches only the compressed KV latent and the one
// shared RoPE key per token: kv_lora_rank + qk_rope_dim values, whatever the
// number of heads. Both decode paths (absorbed and naive) read this cache.
struct LatentCache : MixerState {
  Tensor c;     // (B, t, kv_lora_rank): RMSNorm(c_raw), undefined before the first token
  Tensor k_pe;  // (B, t, qk_rope_dim): the shared key part, already rotated
};

}  // namespace mixlab
