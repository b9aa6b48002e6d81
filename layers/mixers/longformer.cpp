// `longformer`: sliding-window attention plus global tokens (Beltagy et al. 2020;
// allenai/longformer `longformer.py` semantics).
//
// Per head (H heads, d = D/H), for batch row b with global token set G_b:
//   q = W_q x / √d, k = W_k x, v = W_v x            (local projections)
//   local query i ∉ G_b attends, in ONE softmax over the concatenation,
//     - every global key j ∈ G_b (causal form: j <= i) through the LOCAL k/v;
//     - the window keys j ∉ G_b with |i − j| <= w (encoder form) or
//       i − w <= j <= i (causal form); global keys are left out of the window
//       so no key is counted twice.
//   global query i ∈ G_b is recomputed with separate projections
//     qg = W_qg x_i / √d, kg = W_kg x, vg = W_vg x, over every key j
//     (causal form: j <= i), and overwrites the local row.
//   y = W_out concat_h(o); the q, v and output projections have biases
//   unless bias = false.
//
// Conventions (docs/mixers.md, convention 3 and longformer):
// - `window` is ONE side, as allenai's attention_window (HF's is the total):
//   an encoder row sees up to 2w+1 window keys, a causal row up to w+1
//   (itself and the w before it).
// - Global tokens default to the first n_global positions of every row (the
//   CLS-like choice; allenai's caller passes them in the attention mask).
//   set_global_mask() marks other tokens per row, with different counts per
//   row, as allenai's extra_attention_mask.
// - allenai has no causal form. Ours masks the window to the past and global
//   keys to j <= i, so global query rows at positions i see keys <= i.
// - No padding mask: mixlab batches hold no padding, so allenai's additive
//   −10000 and NaN-row zeroing have nothing to do here. Masks are −inf, and
//   every real row keeps at least one key (itself), so no row is empty.
// - The key projections have no bias (allenai's have one): a key bias adds
//   q_i·b to every score of row i, which the softmax cancels exactly, so it
//   never reaches the output (its gradient is zero). Importing allenai
//   weights drops key.bias and key_global.bias with no change in the output.
// - Parameter names follow mixlab (q_proj, ..., q_global_proj, ...), not
//   allenai's (query, ..., query_global, ...); init is N(0, init_std) for
//   each, where allenai copies the local weights into the global ones.
//
// The banded computation (never T×T): queries are cut into blocks of
// c = max(w, block_size) rows. Since c >= w, block m's window keys lie in key
// blocks m−1, m (causal) or m−1, m, m+1 (encoder), so each block multiplies
// its c queries with 2c or 3c keys (allenai's sliding_chunks idea, with
// non-overlapping query blocks): scores are (B, H, T, 2c|3c) plus
// (B, H, T, S) for the S global keys, memory O(T·(w + g)). A band mask
// (shared by the batch) and a per-row mask that removes global keys from the
// window go on before one softmax over the window and global columns. When
// T <= c it is one block holding every key. Global query rows are an
// (S × T) attention. Everything is built from differentiable ops (matmul,
// softmax, concat/slice, index_select/scatter_add), so gradients come from
// autograd and work on every device the ops support.
//
// Decoding (causal form only): a ring of the last w local keys/values, the
// local and global-projection keys/values of the leading G positions (the
// permanently cached global tokens; a row's global tokens must be leading
// positions), so the state is constant once past w and G tokens. prefill()
// runs the banded form over the new tokens with the ring as left context;
// step() is prefill of one token.
#include "layers/mixers/longformer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

constexpr double kMasked = -std::numeric_limits<double>::infinity();

using Positions = std::vector<std::vector<int64_t>>;  // per batch row, ascending

bool contains(const std::vector<int64_t>& sorted, int64_t pos) {
  return std::binary_search(sorted.begin(), sorted.end(), pos);
}

size_t max_count(const Positions& p) {
  size_t s = 0;
  for (const auto& row : p) s = std::max(s, row.size());
  return s;
}

struct LongformerState : MixerState {
  std::vector<int64_t> n_global;  // g_b: row b's global tokens are positions < g_b
  Tensor ring_k, ring_v;          // (B,H,r,d) local k/v of the last r <= w tokens
  Tensor global_k, global_v;      // (B,H,s,d) local k/v of positions < min(position, max g_b)
  Tensor global_kg, global_vg;    // the same positions through the global projections
  std::vector<Tensor> tensors() const override { return {ring_k, ring_v, global_k, global_v, global_kg, global_vg}; }
};

// Where the queries and keys of one call sit: queries at absolute positions
// P..P+T-1, keys at P-r..P+T-1 (r from the decode ring), cut into n blocks of
// `rows` queries and `cols` key columns each.
struct BandLayout {
  int64_t P = 0, r = 0, T = 0;
  int64_t n = 1, rows = 0, cols = 0;
  int64_t chunk = 0;  // 0: a single block holding every key
  int64_t padded_queries() const { return n * rows; }
  int64_t query_pos(int64_t m, int64_t row) const { return P + m * rows + row; }
  // Key column `col` of block m; a position outside [P-r, P+T) is zero padding.
  int64_t key_pos(int64_t m, int64_t col) const {
    if (chunk == 0) return P - r + col;
    return P + (m + col / chunk - 1) * chunk + col % chunk;
  }
  bool real_key(int64_t pos) const { return pos >= P - r && pos < P + T; }
  bool real_query(int64_t pos) const { return pos < P + T; }
};

BandLayout band_layout(int64_t P, int64_t r, int64_t T, int64_t w, int64_t block, bool causal) {
  BandLayout L;
  L.P = P, L.r = r, L.T = T;
  const int64_t c = std::max(w, block);
  if (T <= c) {
    L.rows = T, L.cols = r + T;
  } else {
    MIXLAB_CHECK(r <= c, "longformer: ", r, " past keys exceed the block of ", c);  // the ring holds <= w keys
    L.chunk = c, L.n = (T + c - 1) / c, L.rows = c, L.cols = (causal ? 2 : 3) * c;
  }
  return L;
}

Tensor zeros_like_rows(const Tensor& x, int64_t rows) {
  return Tensor::zeros({x.size(0), x.size(1), rows, x.size(3)}, x.dtype(), x.device());
}

// q (B,H,T,d) -> (B,H,n,rows,d), zero rows past T.
Tensor query_blocks(const Tensor& q, const BandLayout& L) {
  const int64_t pad = L.padded_queries() - L.T;
  Tensor qp = pad > 0 ? concat({q, zeros_like_rows(q, pad)}, 2) : q;
  return qp.reshape({q.size(0), q.size(1), L.n, L.rows, q.size(3)});
}

// k (B,H,r+T,d) -> (B,H,n,cols,d): block m holds keys key_pos(m, ·), zeros for padding.
Tensor key_blocks(const Tensor& k, const BandLayout& L) {
  const int64_t B = k.size(0), H = k.size(1), d = k.size(3);
  if (L.chunk == 0) return k.reshape({B, H, 1, L.cols, d});
  const int64_t c = L.chunk, Tp = L.padded_queries(), per_block = L.cols / c;
  // kp index i holds position P + i - c; the last block offset reads up to (per_block - 1)·c + Tp.
  std::vector<Tensor> parts;
  if (c - L.r > 0) parts.push_back(zeros_like_rows(k, c - L.r));
  parts.push_back(k);
  const int64_t tail = (per_block - 1) * c + Tp - (c + L.T);
  if (tail > 0) parts.push_back(zeros_like_rows(k, tail));
  Tensor kp = concat(parts, 2);
  std::vector<Tensor> blocks;
  for (int64_t o = 0; o < per_block; ++o) blocks.push_back(slice(kp, 2, o * c, o * c + Tp).reshape({B, H, L.n, c, d}));
  return concat(blocks, 3);
}

// The fused attention's visibility rule over the call's positions 0..P+T-1
// with a window of `keys` (0: none). Queries and keys share that one axis, so
// callers ask it with a query's position: sees(i, j).
kernels::AttentionVisibility positions_rule(const BandLayout& L, bool causal, int64_t keys) {
  return {L.P + L.T, L.P + L.T, causal, keys};
}

// (1,1,n,rows,cols): 0 where the query's window holds the key, −inf elsewhere.
// Padding query rows see every column (any finite value; they are sliced off).
// The causal window i − w <= j <= i is the attention rule with w + 1 keys; the
// encoder's |i − j| <= w is a two-sided band, which that rule does not express.
Tensor band_mask(const BandLayout& L, int64_t w, bool causal, DType dtype, Device device) {
  const kernels::AttentionVisibility causal_window = positions_rule(L, true, w + 1);
  std::vector<double> m(L.n * L.rows * L.cols, 0.0);
  for (int64_t b = 0; b < L.n; ++b)
    for (int64_t row = 0; row < L.rows; ++row) {
      const int64_t i = L.query_pos(b, row);
      if (!L.real_query(i)) continue;
      for (int64_t col = 0; col < L.cols; ++col) {
        const int64_t j = L.key_pos(b, col);
        const bool in_window = causal ? causal_window.sees(i, j) : std::abs(i - j) <= w;
        if (!L.real_key(j) || !in_window) m[(b * L.rows + row) * L.cols + col] = kMasked;
      }
    }
  return Tensor::from_vector(m, {1, 1, L.n, L.rows, L.cols}, dtype, device);
}

// (B,1,n,1,cols): −inf on the window columns that hold a global key of row b.
Tensor global_exclusion_mask(const BandLayout& L, const Positions& globals, DType dtype, Device device) {
  const int64_t B = static_cast<int64_t>(globals.size());
  std::vector<double> m(B * L.n * L.cols, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t blk = 0; blk < L.n; ++blk)
      for (int64_t col = 0; col < L.cols; ++col) {
        const int64_t j = L.key_pos(blk, col);
        if (L.real_key(j) && contains(globals[b], j)) m[(b * L.n + blk) * L.cols + col] = kMasked;
      }
  return Tensor::from_vector(m, {B, 1, L.n, 1, L.cols}, dtype, device);
}

// (B,1,Tp,S): which global key columns each (padded) query row sees.
Tensor global_columns_mask(const BandLayout& L, const Positions& globals, int64_t S, bool causal, DType dtype,
                           Device device) {
  const int64_t B = static_cast<int64_t>(globals.size()), Tp = L.padded_queries();
  const kernels::AttentionVisibility rule = positions_rule(L, causal, 0);  // causal: global keys <= i
  std::vector<double> m(B * Tp * S, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < Tp; ++t) {
      const int64_t i = L.P + t;
      for (int64_t s = 0; s < S; ++s) {
        const bool slot = s < static_cast<int64_t>(globals[b].size());
        const bool visible = slot && (!L.real_query(i) || rule.sees(i, globals[b][s]));
        if (!visible) m[(b * Tp + t) * S + s] = kMasked;
      }
    }
  return Tensor::from_vector(m, {B, 1, Tp, S}, dtype, device);
}

// The local rows. q (B,H,T,d), already scaled, at positions P..P+T-1;
// kw, vw (B,H,r+T,d) at positions P-r..P+T-1; kg, vg (B,H,S,d) the LOCAL
// keys/values of the global tokens, column s of row b at globals[b][s]
// (columns past a row's count are padding), undefined when S = 0.
// -> (B,H,T,d). Rows of global queries come out finite but meaningless.
Tensor windowed_attention(const Tensor& q, const Tensor& kw, const Tensor& vw, int64_t P, int64_t r, const Tensor& kg,
                          const Tensor& vg, const Positions& globals, int64_t w, int64_t block, bool causal,
                          const Tensor& cached_band) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), d = q.size(3);
  const BandLayout L = band_layout(P, r, T, w, block, causal);
  const int64_t Tp = L.padded_queries(), S = kg.defined() ? kg.size(2) : 0;
  Tensor qb = query_blocks(q, L);
  Tensor band = cached_band.defined() ? cached_band : band_mask(L, w, causal, q.dtype(), q.device());
  Tensor scores = add(matmul(qb, key_blocks(kw, L), false, true), band);  // (B,H,n,rows,cols)
  if (max_count(globals) > 0) scores = add(scores, global_exclusion_mask(L, globals, q.dtype(), q.device()));
  scores = scores.reshape({B, H, Tp, L.cols});
  if (S > 0) {
    Tensor g = add(matmul(qb.reshape({B, H, Tp, d}), kg, false, true),
                   global_columns_mask(L, globals, S, causal, q.dtype(), q.device()));
    scores = concat({scores, g}, 3);
  }
  Tensor p = softmax(scores, -1);
  Tensor p_window = S > 0 ? slice(p, 3, 0, L.cols) : p;
  Tensor o = matmul(p_window.reshape({B, H, L.n, L.rows, L.cols}), key_blocks(vw, L)).reshape({B, H, Tp, d});
  if (S > 0) o = add(o, matmul(slice(p, 3, L.cols, L.cols + S), vg));
  return Tp > T ? slice(o, 2, 0, T) : o;
}

// The global rows. qg (B,H,S,d), already scaled: row s of batch row b is the
// query at query_pos[b][s] (rows past a row's count are padding, left
// unmasked); kg, vg (B,H,Tk,d) through the global projections at positions
// 0..Tk-1. Causal: key j <= the query's position. -> (B,H,S,d).
Tensor global_rows_attention(const Tensor& qg, const Tensor& kg, const Tensor& vg, const Positions& query_pos,
                             bool causal) {
  const int64_t B = qg.size(0), S = qg.size(2), Tk = kg.size(2);
  Tensor scores = matmul(qg, kg, false, true);
  if (causal) {
    const kernels::AttentionVisibility past{Tk, Tk, /*causal=*/true, /*window=*/0};
    std::vector<double> m(B * S * Tk, 0.0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < static_cast<int64_t>(query_pos[b].size()); ++s)
        for (int64_t j = 0; j < Tk; ++j)
          if (!past.sees(query_pos[b][s], j)) m[(b * S + s) * Tk + j] = kMasked;
    scores = add(scores, Tensor::from_vector(m, {B, 1, S, Tk}, qg.dtype(), qg.device()));
  }
  return matmul(softmax(scores, -1), vg);
}

Tensor append(const Tensor& cache, const Tensor& rows) { return cache.defined() ? concat({cache, rows}, 2) : rows; }

}  // namespace

LongformerAttention::LongformerAttention(const MixerContext& ctx, const LongformerOptions& o, Generator& gen)
    : d_model_(ctx.d_model), n_heads_(o.n_heads), head_dim_(ctx.d_model / o.n_heads),
      window_(o.window), n_global_(o.n_global), block_(o.block_size), causal_(o.causal) {
  MIXLAB_CHECK(ctx.d_model % o.n_heads == 0, ctx.section, ".n_heads: d_model ", ctx.d_model,
               " is not divisible by ", o.n_heads, " heads");
  auto linear = [&](const char* name, double std, bool bias) {
    return register_module(name, std::make_shared<Linear>(d_model_, d_model_, gen, bias, std));
  };
  q_proj_ = linear("q_proj", ctx.init_std, o.bias);
  k_proj_ = linear("k_proj", ctx.init_std, false);
  v_proj_ = linear("v_proj", ctx.init_std, o.bias);
  if (n_global_ > 0) {  // without global tokens these would be parameters that never reach the output
    q_global_proj_ = linear("q_global_proj", ctx.init_std, o.bias);
    k_global_proj_ = linear("k_global_proj", ctx.init_std, false);
    v_global_proj_ = linear("v_global_proj", ctx.init_std, o.bias);
  }
  out_proj_ = linear("out_proj", ctx.out_std, o.bias);
}

void LongformerAttention::set_global_mask(std::vector<std::vector<bool>> mask) {
  MIXLAB_CHECK(mask.empty() || n_global_ > 0, "longformer.set_global_mask: longformer.n_global = 0 built no global ",
               "projections; configure n_global >= 1 to mark global tokens");
  global_mask_ = std::move(mask);
}

std::vector<std::vector<int64_t>> LongformerAttention::global_positions(int64_t B, int64_t T) const {
  Positions out(B);
  if (global_mask_.empty()) {
    for (auto& row : out)
      for (int64_t t = 0; t < std::min(T, n_global_); ++t) row.push_back(t);
    return out;
  }
  MIXLAB_CHECK(static_cast<int64_t>(global_mask_.size()) == B, "longformer.set_global_mask: the mask has ",
               global_mask_.size(), " rows, but the batch has ", B);
  for (int64_t b = 0; b < B; ++b) {
    MIXLAB_CHECK(static_cast<int64_t>(global_mask_[b].size()) == T, "longformer.set_global_mask: row ", b, " has ",
                 global_mask_[b].size(), " positions, but the sequence has ", T);
    for (int64_t t = 0; t < T; ++t)
      if (global_mask_[b][t]) out[b].push_back(t);
  }
  return out;
}

Tensor LongformerAttention::split_heads(const Tensor& y) const {
  return permute(y.reshape({y.size(0), y.size(1), n_heads_, head_dim_}), {0, 2, 1, 3});
}

Tensor LongformerAttention::merge_heads(const Tensor& o) const {
  return permute(o, {0, 2, 1, 3}).reshape({o.size(0), o.size(2), d_model_});
}

double LongformerAttention::scale() const { return 1.0 / std::sqrt(static_cast<double>(head_dim_)); }

// x (B,T,D) -> (B,T,D)
Tensor LongformerAttention::forward(const Tensor& x) {
  MIXLAB_CHECK(x.ndim() == 3 && x.size(2) == d_model_, "longformer.forward: x must be (B, T, ", d_model_, "), got ",
               x.describe());
  const int64_t B = x.size(0), T = x.size(1), D = d_model_;
  const Positions globals = global_positions(B, T);
  const int64_t S = static_cast<int64_t>(max_count(globals));
  Tensor q = mul(split_heads(q_proj_->forward(x)), scale());
  Tensor k = split_heads(k_proj_->forward(x)), v = split_heads(v_proj_->forward(x));

  // The band mask depends only on T here (no ring, first position 0): cache it.
  const BandLayout L = band_layout(0, 0, T, window_, block_, causal_);
  if (!band_cache_.defined() || band_cache_T_ != T || band_cache_.dtype() != x.dtype() ||
      band_cache_.device() != x.device()) {
    band_cache_ = band_mask(L, window_, causal_, x.dtype(), x.device());
    band_cache_T_ = T;
  }
  if (S == 0) return out_proj_->forward(merge_heads(windowed_attention(q, k, v, 0, 0, Tensor(), Tensor(), globals,
                                                                       window_, block_, causal_, band_cache_)));

  // Global tokens gathered into (B, S, D), padding slots pointing at position 0 of their row.
  std::vector<int64_t> rows(B * S);
  std::vector<double> slot_real(B * S, 0.0), keep(B * T, 1.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) {
      const bool real = s < static_cast<int64_t>(globals[b].size());
      rows[b * S + s] = b * T + (real ? globals[b][s] : 0);
      slot_real[b * S + s] = real ? 1.0 : 0.0;
      if (real) keep[b * T + globals[b][s]] = 0.0;
    }
  Tensor rows_idx = Tensor::from_indices(rows, {B * S}, x.device());
  Tensor xg = index_select(x.reshape({B * T, D}), 0, rows_idx).reshape({B, S, D});
  Tensor o_local = windowed_attention(q, k, v, 0, 0, split_heads(k_proj_->forward(xg)),
                                      split_heads(v_proj_->forward(xg)), globals, window_, block_, causal_, band_cache_);

  Tensor qg = mul(split_heads(q_global_proj_->forward(xg)), scale());
  Tensor o_global = global_rows_attention(qg, split_heads(k_global_proj_->forward(x)),
                                          split_heads(v_global_proj_->forward(x)), globals, causal_);
  // Global rows overwrite the local ones: zero those rows, then add the global results there.
  Tensor kept = mul(merge_heads(o_local).reshape({B * T, D}), Tensor::from_vector(keep, {B * T, 1}, x.dtype(), x.device()));
  Tensor placed = mul(merge_heads(o_global).reshape({B * S, D}),
                      Tensor::from_vector(slot_real, {B * S, 1}, x.dtype(), x.device()));
  return out_proj_->forward(scatter_add(kept, 0, rows_idx, placed).reshape({B, T, D}));
}

std::unique_ptr<MixerState> LongformerAttention::init_state(int64_t batch) const {
  MIXLAB_CHECK(causal_, "longformer: causal = false is the encoder form and has no decoding");
  auto s = std::make_unique<LongformerState>();
  s->n_global.assign(batch, n_global_);
  if (!global_mask_.empty()) {
    MIXLAB_CHECK(static_cast<int64_t>(global_mask_.size()) == batch, "longformer.set_global_mask: the mask has ",
                 global_mask_.size(), " rows, but the decode batch has ", batch);
    for (int64_t b = 0; b < batch; ++b) {
      const auto& row = global_mask_[b];
      const int64_t g = std::find(row.begin(), row.end(), false) - row.begin();
      MIXLAB_CHECK(std::find(row.begin() + g, row.end(), true) == row.end(), "longformer.set_global_mask: row ", b,
                   " has a global token after a local one; decoding keeps only leading global tokens");
      s->n_global[b] = g;
    }
  }
  return s;
}

Tensor LongformerAttention::step(const Tensor& x_t, MixerState& state) {
  MIXLAB_CHECK(x_t.ndim() == 2, "longformer.step: x_t must be (B, D), got ", x_t.describe());
  return prefill(x_t.reshape({x_t.size(0), 1, d_model_}), state).reshape({x_t.size(0), d_model_});
}

// x (B,T,D) at positions P..P+T-1 after the P tokens `state` holds -> (B,T,D).
Tensor LongformerAttention::prefill(const Tensor& x, MixerState& state) {
  MIXLAB_CHECK(causal_, "longformer: causal = false is the encoder form and has no decoding");
  MIXLAB_CHECK(x.ndim() == 3 && x.size(2) == d_model_, "longformer.prefill: x must be (B, T, ", d_model_, "), got ",
               x.describe());
  auto& st = dynamic_cast<LongformerState&>(state);
  const int64_t B = x.size(0), T = x.size(1), P = st.position;
  MIXLAB_CHECK(static_cast<int64_t>(st.n_global.size()) == B, "longformer.prefill: the state holds ",
               st.n_global.size(), " rows, x has ", B);
  const int64_t G = *std::max_element(st.n_global.begin(), st.n_global.end());
  Tensor q = mul(split_heads(q_proj_->forward(x)), scale());
  Tensor k = split_heads(k_proj_->forward(x)), v = split_heads(v_proj_->forward(x));

  // New tokens at positions < G join the permanent global caches first, so
  // the queries of this call see them.
  const int64_t n_new_global = std::clamp<int64_t>(G - P, 0, T);
  Tensor xg;
  if (n_new_global > 0) {
    xg = slice(x, 1, 0, n_new_global);
    st.global_k = append(st.global_k, slice(k, 2, 0, n_new_global));
    st.global_v = append(st.global_v, slice(v, 2, 0, n_new_global));
    st.global_kg = append(st.global_kg, split_heads(k_global_proj_->forward(xg)));
    st.global_vg = append(st.global_vg, split_heads(v_global_proj_->forward(xg)));
  }
  Positions globals(B);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < std::min(st.n_global[b], P + T); ++t) globals[b].push_back(t);

  const int64_t r = st.ring_k.defined() ? st.ring_k.size(2) : 0;
  Tensor kw = append(st.ring_k, k), vw = append(st.ring_v, v);
  Tensor o = windowed_attention(q, kw, vw, P, r, st.global_k, st.global_v, globals, window_, block_, true, Tensor());

  if (n_new_global > 0) {  // rows at positions < g_b are global: recompute and overwrite them
    Tensor qg = mul(split_heads(q_global_proj_->forward(xg)), scale());
    Positions query_pos(B);
    std::vector<double> is_global(B * n_new_global);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < n_new_global; ++i) {
        query_pos[b].push_back(P + i);
        is_global[b * n_new_global + i] = P + i < st.n_global[b] ? 1.0 : 0.0;
      }
    Tensor og = global_rows_attention(qg, st.global_kg, st.global_vg, query_pos, true);
    Tensor m = Tensor::from_vector(is_global, {B, 1, n_new_global, 1}, x.dtype(), x.device());
    Tensor head = slice(o, 2, 0, n_new_global);
    head = add(sub(head, mul(head, m)), mul(og, m));
    o = n_new_global < T ? concat({head, slice(o, 2, n_new_global, T)}, 2) : head;
  }

  const int64_t keep = std::min(window_, r + T);  // the next query's window needs the last w keys
  st.ring_k = slice(kw, 2, r + T - keep, r + T);
  st.ring_v = slice(vw, 2, r + T - keep, r + T);
  st.position += T;
  return out_proj_->forward(merge_heads(o));
}

// F32 bytes after L tokens: the ring (min(L, w) tokens) and the leading
// min(L, G) tokens twice (local and global projections), 2·D values each.
int64_t LongformerAttention::state_bytes(int64_t context_len) const {
  if (!causal_) return 0;  // the encoder form does not decode
  int64_t G = n_global_;
  if (!global_mask_.empty()) {
    G = 0;
    for (const auto& row : global_mask_) G = std::max<int64_t>(G, std::count(row.begin(), row.end(), true));
  }
  const int64_t tokens = std::min(context_len, window_) + 2 * std::min(context_len, G);
  return tokens * 2 * d_model_ * 4;
}

// Dense loops straight from the equations at the top of the file: every
// (query, key) pair is visited and tested against the window and global sets.
Tensor LongformerAttention::reference_forward(const Tensor& x) const {
  using namespace reference;
  const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, d = head_dim_;
  const std::vector<double> xs = x.to_vector();
  // (the global projections are absent with n_global = 0: empty, and never read)
  auto mat = [](const std::shared_ptr<Linear>& l) { return l ? host(l->weight) : Matrix{}; };
  auto vec = [](const std::shared_ptr<Linear>& l) { return l ? values(l->bias) : std::vector<double>{}; };
  const Matrix Wq = mat(q_proj_), Wk = mat(k_proj_), Wv = mat(v_proj_), Wqg = mat(q_global_proj_),
               Wkg = mat(k_global_proj_), Wvg = mat(v_global_proj_), Wo = mat(out_proj_);
  const std::vector<double> bq = vec(q_proj_), bk = vec(k_proj_), bv = vec(v_proj_), bqg = vec(q_global_proj_),
                            bkg = vec(k_global_proj_), bvg = vec(v_global_proj_), bo = vec(out_proj_);
  const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(d));
  std::vector<double> out(B * T * D);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<bool> global(T, false);
    for (int64_t t = 0; t < T; ++t)
      global[t] = global_mask_.empty() ? t < n_global_ : static_cast<bool>(global_mask_.at(b).at(t));
    std::vector<std::vector<double>> q(T), k(T), v(T), qg(T), kg(T), vg(T);
    for (int64_t t = 0; t < T; ++t) {
      const double* row = &xs[(b * T + t) * D];
      q[t] = linear(Wq, bq, row), k[t] = linear(Wk, bk, row), v[t] = linear(Wv, bv, row);
      qg[t] = linear(Wqg, bqg, row), kg[t] = linear(Wkg, bkg, row), vg[t] = linear(Wvg, bvg, row);
    }
    for (int64_t i = 0; i < T; ++i) {
      std::vector<double> heads(D, 0.0);
      for (int64_t h = 0; h < H; ++h) {
        // (score, key position) for every key this query attends
        struct Term {
          double score;
          int64_t j;
        };
        std::vector<Term> terms;
        const auto& qi = global[i] ? qg[i] : q[i];
        const auto& keys = global[i] ? kg : k;
        for (int64_t j = 0; j < T; ++j) {
          if (causal_ && j > i) continue;
          bool attended;
          if (global[i]) attended = true;  // a global query sees every (past) key
          else if (global[j]) attended = true;  // a global key is seen by every (later) query
          else attended = causal_ ? i - j <= window_ : std::abs(i - j) <= window_;
          if (!attended) continue;
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += qi[h * d + c] * inv_sqrt_d * keys[j][h * d + c];
          terms.push_back({dot, j});
        }
        double mx = -1e300, z = 0;
        for (const Term& t : terms) mx = std::max(mx, t.score);
        for (const Term& t : terms) z += std::exp(t.score - mx);
        const auto& vals = global[i] ? vg : v;
        for (const Term& t : terms)
          for (int64_t c = 0; c < d; ++c) heads[h * d + c] += std::exp(t.score - mx) / z * vals[t.j][h * d + c];
      }
      const std::vector<double> y = linear(Wo, bo, heads.data());
      std::copy(y.begin(), y.end(), out.begin() + (b * T + i) * D);
    }
  }
  return Tensor::from_vector(out, {B, T, D}, DType::F64);
}

MixerSpec longformer_mixer_spec() {
  using O = LongformerOptions;
  return define_mixer<O>(
      "longformer",
      "Longformer attention: a sliding window of w keys per side plus global tokens (encoder or causal form)",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "attention heads; d_model must divide", at_least(int64_t{1}))
          .add("window", &O::window,
               "w: window keys on EACH side of a query (allenai's attention_window, one side): the encoder form sees "
               "|i-j| <= w, the causal form i-w <= j <= i",
               at_least(int64_t{1}))
          .add("n_global", &O::n_global,
               "global tokens: the first n_global positions of each row (a caller may mark others per row); 0 = "
               "none and no global projections. Causal form: with 1, the global query sees only itself",
               at_least(int64_t{0}))
          .add("causal", &O::causal, "true: causal form with decoding; false: the (bidirectional) encoder form of the paper")
          .add("bias", &O::bias,
               "biases in the query, value and output projections (keys never have one: softmax cancels it)")
          .add("block_size", &O::block_size,
               "query rows per block of the banded computation (raised to window); results do not depend on it",
               at_least(int64_t{1})),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<LongformerAttention>(ctx, o, gen);
      },
      {{"causal=false", "n_global=0", "window=1", "block_size=2"},
       {"n_heads=2", "window=2", "n_global=2", "block_size=2"},
       {"causal=false", "n_heads=2", "window=2", "n_global=3", "bias=false"}});
}

}  // namespace mixlab
