#pragma once
// `longformer`: sliding-window attention plus global tokens (Beltagy et al. 2020,
// allenai/longformer semantics). The math, the conventions and the banded
// computation are described at the top of longformer.cpp. This header exists
// so callers can reach set_global_mask(); everything else goes through the
// SequenceMixer contract and the registry.
#include <memory>
#include <vector>

#include "layers/linear.h"
#include "layers/mixers/mixer.h"

namespace mixlab {

struct LongformerOptions {
  int64_t n_heads = 1;
  int64_t window = 16;   // w: keys on EACH side of the query (allenai's attention_window), >= 1
  int64_t n_global = 2;  // default global tokens: the first n_global positions of every row;
                         // 0: none, and no global projections are built
  bool causal = true;    // false: the encoder form (|i-j| <= w); true: i-w <= j <= i
  bool bias = true;
  int64_t block_size = 16;  // query rows per block of the banded computation (raised to window)
};

class LongformerAttention : public SequenceMixer {
 public:
  LongformerAttention(const MixerContext& ctx, const LongformerOptions& o, Generator& gen);

  std::string name() const override { return "longformer"; }
  MixerTraits traits() const override { return {.causal = causal_, .has_decode = causal_}; }

  Tensor forward(const Tensor& x) override;
  std::unique_ptr<MixerState> init_state(int64_t batch) const override;
  Tensor step(const Tensor& x_t, MixerState& state) override;
  Tensor prefill(const Tensor& x, MixerState& state) override;
  int64_t state_bytes(int64_t context_len) const override;
  Tensor reference_forward(const Tensor& x) const override;

  // Marks the global tokens of each batch row: mask[b][t] (rows may hold
  // different numbers of global tokens, including none). forward() then needs
  // mask.size() == B and every row of length T. Decoding (init_state) reads
  // the mask too and needs each row's global tokens to be its leading
  // positions (t < g_b), the only ones a constant-size state can keep. An
  // empty mask restores the default: the first n_global positions of each row.
  // Needs n_global >= 1 (with 0 the global projections do not exist).
  void set_global_mask(std::vector<std::vector<bool>> mask);

 private:
  // Absolute positions of the global tokens of each of B rows (ascending) for
  // a sequence of T tokens.
  std::vector<std::vector<int64_t>> global_positions(int64_t B, int64_t T) const;
  // (B, T, h·d) -> (B, H, T, d) and back.
  Tensor split_heads(const Tensor& y) const;
  Tensor merge_heads(const Tensor& o) const;
  double scale() const;

  int64_t d_model_, n_heads_, head_dim_, window_, n_global_, block_;
  bool causal_;
  Tensor band_cache_;  // forward()'s band mask for sequences of band_cache_T_ tokens
  int64_t band_cache_T_ = -1;
  std::vector<std::vector<bool>> global_mask_;  // empty: the first n_global_ positions
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_;                     // local attention
  std::shared_ptr<Linear> q_global_proj_, k_global_proj_, v_global_proj_;  // global query rows
  std::shared_ptr<Linear> out_proj_;
};

}  // namespace mixlab
