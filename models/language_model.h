#pragma once
// LanguageModel: token embedding (+ learned or sinusoidal absolute positions) -> n_layers
// pre-norm residual blocks -> final norm -> LM head (tied to the embedding by
// default). Block: x += mixer(norm1(x)); x += ffn(norm2(x)) (identity: x += norm2(x)). Layer i's mixer
// is pattern[i % len(pattern)]. docs/model.md has the exact architecture.
#include <memory>
#include <vector>

#include "layers/embedding.h"
#include "layers/linear.h"
#include "layers/moe.h"
#include "layers/mixers/mixer.h"
#include "layers/module.h"
#include "models/model_config.h"

namespace mixlab {

// Vaswani et al.'s fixed positions (T, D) for positions first..first+T-1:
// PE[p, 2i] = sin(p / 10000^(2i/D)), PE[p, 2i+1] = cos(p / 10000^(2i/D)).
Tensor sinusoidal_positions(int64_t T, int64_t D, int64_t first, DType dtype);

class Block : public Module {
 public:
  Block(const ModelConfig& cfg, const po::variables_map& mixer_opts, const MixerContext& ctx, const std::string& mixer,
        Generator& gen);
  Tensor forward(const Tensor& x) const;  // (B,T,D) -> (B,T,D)
  Tensor step(const Tensor& x_t, MixerState& state) const;  // (B,D) -> (B,D)
  Tensor prefill(const Tensor& x, MixerState& state) const;  // (B,T,D) -> (B,T,D), continuing from state

  std::shared_ptr<TensorModule> norm1, norm2, ffn;  // norm2/ffn null when model.ffn = none; ffn null for identity
  std::shared_ptr<SequenceMixer> mixer;

 private:
  Tensor state_mix(const Tensor& h) const;  // h + ffn(norm2(h)), h + norm2(h) (identity), or h (none)
};

class LanguageModel : public Module {
 public:
  // `max_seq_len` bounds learned positions; `seed` seeds the init and, offset,
  // the dropout stream.
  LanguageModel(const ModelConfig& cfg, int64_t vocab_size, int64_t max_seq_len, const po::variables_map& mixer_opts,
                uint64_t seed);

  // ids i64 (B,T) -> final hidden states (B,T,D) (after the final norm).
  Tensor hidden_states(const Tensor& ids);
  // h (..., D) -> logits (..., V)
  Tensor head(const Tensor& h) const;
  // ids (B,T) -> logits (B,T,V)
  Tensor forward(const Tensor& ids) { return head(hidden_states(ids)); }
  // Where the parameters live (Module::to(Device) moves them).
  Device device() const;

  // Decoding: one state per layer.
  struct DecodeState {
    std::vector<std::unique_ptr<MixerState>> layers;
    int64_t position = 0;
  };
  DecodeState init_state(int64_t batch) const;
  // ids_t i64 (B) -> logits (B,V)
  Tensor step(const Tensor& ids_t, DecodeState& state) const;
  // ids i64 (B,T) -> logits (B,T,V) of the tokens after those already in
  // `state`, through every layer's parallel/chunked prefill (a prompt, or a
  // long context in pieces); equal to T calls of step.
  Tensor prefill(const Tensor& ids, DecodeState& state) const;

  // Decode bytes per sequence over all layers after `context_len` tokens.
  int64_t state_bytes(int64_t context_len) const;
  // The MoE feed-forwards, with their layer index.
  std::vector<std::pair<int, const MoE*>> moe_layers() const;
  // Sum of the MoE layers' weighted auxiliary losses of the last training
  // forward; undefined without MoE layers (or after an eval forward).
  Tensor auxiliary_loss() const;
  // The name of the first mixer that looks ahead, "" when the model is causal.
  std::string first_non_causal_mixer() const;

  const ModelConfig config;
  const int64_t vocab_size, max_seq_len;
  std::shared_ptr<Embedding> embed, pos_embed;  // pos_embed null without learned positions
  std::shared_ptr<ModuleList> blocks;
  std::shared_ptr<TensorModule> norm_f;
  std::shared_ptr<Linear> lm_head;  // null when tied
  Generator dropout_gen;            // embedding dropout stream; checkpointed with the run

 private:
  Tensor embed_tokens(const Tensor& ids, int64_t first_position) const;
  const Block& block(size_t i) const;
};

}  // namespace mixlab
