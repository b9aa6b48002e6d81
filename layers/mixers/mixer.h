#pragma once
// The sequence-mixer contract. Every mixer (attention, convolution, linear
// attention, SSM, RNN) derives from SequenceMixer, registers in
// layers/mixers/registry.cpp, and is then checked by the conformance suite
// (tests/layers/test_mixer_conformance.cpp) with no further work.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/rng.h"
#include "layers/module.h"

namespace mixlab {

// What a mixer needs to know about the model it sits in.
struct MixerContext {
  std::string section;  // the config section of this layer's options ("mha", "local"), named in errors
  int64_t d_model = 0;
  int layer_index = 0;
  int n_layers = 1;
  int64_t max_seq_len = 0;
  double init_std = 0.02;  // weights N(0, init_std)
  double out_std = 0.02;   // output projections (scaled by depth, GPT-2 style)
};

struct MixerTraits {
  bool causal = true;      // output t depends only on inputs <= t
  bool has_decode = true;  // implements init_state/step
};

// Decode state of one layer for a batch of sequences (KV cache, conv window,
// recurrent state, ...). Each mixer defines its own.
struct MixerState {
  virtual ~MixerState() = default;
  int64_t position = 0;  // tokens consumed so far
  // The tensors the state keeps for the tokens so far, as views of what it
  // holds (a cache's live rows, not its spare capacity). The conformance
  // suite measures state_bytes against them.
  virtual std::vector<Tensor> tensors() const = 0;
};

class SequenceMixer : public Module {
 public:
  virtual std::string name() const = 0;
  virtual MixerTraits traits() const = 0;

  // Training / prefill path: x (B, T, D) -> (B, T, D).
  virtual Tensor forward(const Tensor& x) = 0;

  // One-token decoding: x_t (B, D) -> (B, D), advancing `state`.
  virtual std::unique_ptr<MixerState> init_state(int64_t batch) const = 0;
  virtual Tensor step(const Tensor& x_t, MixerState& state) = 0;

  // Prefill: x (B, T, D) -> (B, T, D), continuing from `state` (which may
  // already hold earlier tokens) and advancing it past x. Equal to T calls of
  // step; this default does exactly that, and mixers with a parallel form
  // override it to fill their state from one forward pass.
  virtual Tensor prefill(const Tensor& x, MixerState& state);

  // Decode memory of this layer per sequence, in bytes at F32, after
  // `context_len` tokens (what the recall-vs-state figures plot): equal to
  // the bytes of the state's tensors() after a prefill of that many tokens
  // (the conformance suite measures it), but known without running one.
  virtual int64_t state_bytes(int64_t context_len) const = 0;

  // The mixer written as plain loops from its equations
  // (its paper and reference code, docs/mixers.md), in F64 on the host, over this mixer's own
  // parameters: x (B, T, D) F64 -> (B, T, D) F64. The conformance suite
  // compares forward() against it; it must share no code with forward().
  virtual Tensor reference_forward(const Tensor& x) const = 0;

 protected:
  // step() for mixers whose prefill handles any length: a one-token prefill.
  Tensor step_through_prefill(const Tensor& x_t, MixerState& state);
};

}  // namespace mixlab
