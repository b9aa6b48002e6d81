#include "models/language_model.h"

#include <cmath>

#include "autograd/ops.h"
#include "layers/feedforward.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "layers/norms.h"

namespace mixlab {

namespace {

std::shared_ptr<TensorModule> make_norm(const ModelConfig& cfg) {
  if (cfg.norm == "rmsnorm") return std::make_shared<RMSNorm>(cfg.d_model, cfg.norm_eps);
  return std::make_shared<LayerNorm>(cfg.d_model, cfg.norm_eps);
}

std::shared_ptr<TensorModule> make_ffn(const ModelConfig& cfg, const MixerContext& ctx, Generator& gen) {
  const int64_t hidden = cfg.ffn_mult * cfg.d_model;
  const std::string& kind = cfg.ffn_at(ctx.layer_index);
  if (kind == "mlp")
    return std::make_shared<MLP>(cfg.d_model, hidden, gen, GeluForm::Tanh, true, ctx.init_std, ctx.out_std);
  if (kind == "swiglu") return std::make_shared<SwiGLU>(cfg.d_model, hidden, gen, ctx.init_std, ctx.out_std);
  if (kind == "moe") return std::make_shared<MoE>(cfg.d_model, hidden, cfg.moe, gen, ctx.init_std, ctx.out_std);
  return nullptr;
}

// The dropout stream is seeded apart from the init stream.
constexpr uint64_t kDropoutSeedOffset = 0x9E3779B97F4A7C15ull;

}  // namespace

Block::Block(const ModelConfig& cfg, const po::variables_map& mixer_opts, const MixerContext& ctx,
             const std::string& mixer_name, Generator& gen) {
  norm1 = register_module("norm1", make_norm(cfg));
  mixer = register_module("mixer", make_layer_mixer(mixer_name, mixer_opts, ctx, gen));
  const std::string& kind = cfg.ffn_at(ctx.layer_index);
  if (kind != "none") norm2 = register_module("norm2", make_norm(cfg));
  if (kind != "none" && kind != "identity") ffn = register_module("ffn", make_ffn(cfg, ctx, gen));
}

// The second half of the block. "identity" is Zoology's TransformerBlock with
// state_mixer = Identity: the normed stream itself is added back, h + norm2(h).
Tensor Block::state_mix(const Tensor& h) const {
  if (ffn) return add(h, ffn->forward(norm2->forward(h)));
  return norm2 ? add(h, norm2->forward(h)) : h;
}

Tensor Block::forward(const Tensor& x) const { return state_mix(add(x, mixer->forward(norm1->forward(x)))); }

Tensor Block::step(const Tensor& x_t, MixerState& state) const {
  return state_mix(add(x_t, mixer->step(norm1->forward(x_t), state)));
}

Tensor Block::prefill(const Tensor& x, MixerState& state) const {
  return state_mix(add(x, mixer->prefill(norm1->forward(x), state)));
}

LanguageModel::LanguageModel(const ModelConfig& cfg, int64_t vocab, int64_t max_len,
                             const po::variables_map& mixer_opts, uint64_t seed)
    : config(cfg), vocab_size(vocab), max_seq_len(max_len), dropout_gen(seed ^ kDropoutSeedOffset) {
  MIXLAB_CHECK(vocab > 0 && max_len > 0, "LanguageModel: vocab_size (", vocab, ") and max_seq_len (", max_len,
               ") must be > 0");
  Generator gen(seed);
  embed = register_module("embed", std::make_shared<Embedding>(vocab, cfg.d_model, gen, cfg.init_std));
  if (cfg.positions == "learned")
    pos_embed = register_module("pos_embed", std::make_shared<Embedding>(max_len, cfg.d_model, gen, cfg.init_std));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  for (int i = 0; i < cfg.n_layers; ++i) {
    MixerContext ctx;
    ctx.d_model = cfg.d_model;
    ctx.layer_index = i;
    ctx.n_layers = cfg.n_layers;
    ctx.max_seq_len = max_len;
    ctx.init_std = cfg.init_std;
    ctx.out_std = scaled_residual_std(cfg.init_std, cfg.n_layers);
    blocks->push_back(std::make_shared<Block>(cfg, mixer_opts, ctx, cfg.pattern[i % cfg.pattern.size()], gen));
  }
  norm_f = register_module("norm_f", make_norm(cfg));
  if (!cfg.tie_embeddings)
    lm_head = register_module("lm_head", std::make_shared<Linear>(cfg.d_model, vocab, gen, false, cfg.init_std));
}

Tensor sinusoidal_positions(int64_t T, int64_t D, int64_t first, DType dtype) {
  std::vector<double> pe(T * D);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < D; ++i) {
      const double angle = static_cast<double>(first + t) / std::pow(10000.0, static_cast<double>(i - i % 2) / D);
      pe[t * D + i] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  return Tensor::from_vector(pe, {T, D}, dtype);
}

const Block& LanguageModel::block(size_t i) const { return static_cast<const Block&>(*(*blocks)[i]); }

Tensor LanguageModel::embed_tokens(const Tensor& ids, int64_t first_position) const {
  Tensor x = embed->forward(ids);  // (..., T, D)
  const int64_t T = ids.size(-1);
  if (config.positions == "sinusoidal")
    return add(x, sinusoidal_positions(T, config.d_model, first_position, x.dtype()).to(x.device()));
  if (!pos_embed) return x;
  MIXLAB_CHECK(first_position + T <= max_seq_len, "LanguageModel: position ", first_position + T - 1,
               " exceeds the learned positions (max_seq_len ", max_seq_len, ")");
  std::vector<int64_t> pos(T);
  for (int64_t t = 0; t < T; ++t) pos[t] = first_position + t;
  return add(x, pos_embed->forward(Tensor::from_indices(pos, {T}, ids.device())));
}

Device LanguageModel::device() const { return embed->weight.device(); }

Tensor LanguageModel::hidden_states(const Tensor& ids) {
  MIXLAB_CHECK(ids.ndim() == 2 && ids.dtype() == DType::I64, "LanguageModel: ids must be i64 (B, T), got ",
               ids.describe());
  MIXLAB_CHECK(ids.numel() > 0, "LanguageModel: ids ", ids.describe(), " are empty (need B >= 1 and T >= 1)");
  Tensor x = embed_tokens(ids, 0);
  x = dropout(x, config.embed_dropout, dropout_gen, is_training());
  for (size_t i = 0; i < blocks->size(); ++i) x = block(i).forward(x);
  return norm_f->forward(x);
}

Tensor LanguageModel::head(const Tensor& h) const {
  return lm_head ? lm_head->forward(h) : matmul(h, embed->weight, false, true);
}

LanguageModel::DecodeState LanguageModel::init_state(int64_t batch) const {
  DecodeState s;
  for (size_t i = 0; i < blocks->size(); ++i) {
    const SequenceMixer& m = *block(i).mixer;
    MIXLAB_CHECK(m.traits().has_decode, "decoding: mixer '", m.name(), "' of layer ", i, " has no decode form");
    s.layers.push_back(m.init_state(batch));
  }
  return s;
}

Tensor LanguageModel::step(const Tensor& ids_t, DecodeState& state) const {
  MIXLAB_CHECK(ids_t.ndim() == 1 && ids_t.dtype() == DType::I64, "LanguageModel::step: ids must be i64 (B), got ",
               ids_t.describe());
  const int64_t B = ids_t.size(0);
  Tensor x = embed_tokens(ids_t.reshape({B, 1}), state.position).reshape({B, config.d_model});
  for (size_t i = 0; i < blocks->size(); ++i) x = block(i).step(x, *state.layers[i]);
  state.position++;
  return head(norm_f->forward(x));
}

Tensor LanguageModel::prefill(const Tensor& ids, DecodeState& state) const {
  MIXLAB_CHECK(ids.ndim() == 2 && ids.dtype() == DType::I64, "LanguageModel::prefill: ids must be i64 (B, T), got ",
               ids.describe());
  MIXLAB_CHECK(ids.numel() > 0, "LanguageModel::prefill: ids ", ids.describe(), " are empty (need B >= 1 and T >= 1)");
  Tensor x = embed_tokens(ids, state.position);
  for (size_t i = 0; i < blocks->size(); ++i) x = block(i).prefill(x, *state.layers[i]);
  state.position += ids.size(1);
  return head(norm_f->forward(x));
}

int64_t LanguageModel::state_bytes(int64_t context_len) const {
  int64_t total = 0;
  for (size_t i = 0; i < blocks->size(); ++i) total += block(i).mixer->state_bytes(context_len);
  return total;
}

std::vector<std::pair<int, const MoE*>> LanguageModel::moe_layers() const {
  std::vector<std::pair<int, const MoE*>> out;
  for (size_t i = 0; i < blocks->size(); ++i)
    if (const auto* moe = dynamic_cast<const MoE*>(block(i).ffn.get())) out.emplace_back(static_cast<int>(i), moe);
  return out;
}

Tensor LanguageModel::auxiliary_loss() const {
  Tensor total;
  for (const auto& [layer, moe] : moe_layers())
    if (const Tensor aux = moe->auxiliary_loss(); aux.defined()) total = total.defined() ? add(total, aux) : aux;
  return total;
}

std::string LanguageModel::first_non_causal_mixer() const {
  for (size_t i = 0; i < blocks->size(); ++i)
    if (!block(i).mixer->traits().causal) return block(i).mixer->name();
  return "";
}

}  // namespace mixlab
