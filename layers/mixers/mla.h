#pragma once
// The decode state of the `mla` mixer (layers/mixers/mla.cpp), public so that
// tests can measure what the cache really holds.
#include "layers/mixers/kv_cache.h"
#include "layers/mixers/mixer.h"

namespace mixlab {

// Multi-head latent attention caches only the compressed KV latent and the one
// shared RoPE key per token: kv_lora_rank + qk_rope_dim values, whatever the
// number of heads. Both decode paths (absorbed and naive) read this cache.
// Each token's row is [c | k_pe]: c = RMSNorm(c_raw) (kv_lora_rank) and the
// shared key part, already rotated (qk_rope_dim), in one (B, 1, capacity,
// kv_lora_rank + qk_rope_dim) buffer that grows in place; absorbed decoding
// attends over it directly, as keys and (its first kv_lora_rank columns) values.
struct LatentCache : MixerState {
  KVBuffer rows;  // keys only
  std::vector<Tensor> tensors() const override { return rows.visible_rows(); }
};

}  // namespace mixlab
