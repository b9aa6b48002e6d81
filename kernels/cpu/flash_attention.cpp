#include "kernels/cpu/flash_attention.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>

namespace mixlab::cpu {

namespace {

constexpr int64_t kRowsQ = 64;  // query rows per tile
constexpr int64_t kRowsK = 128;  // key rows per tile

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const Mat<T>>;
template <typename T>
using MutMap = Eigen::Map<Mat<T>>;

// Applies mask and bias to a score tile whose rows are queries i0.. and
// columns keys j0..: masked entries become -inf.
template <typename T>
void mask_tile(const kernels::AttentionVisibility& rule, double slope, int64_t i0, int64_t j0, Mat<T>& S) {
  // Most tiles lie wholly inside every row's visible range: nothing to do.
  if (slope == 0.0 && rule.all_visible(i0, i0 + S.rows(), j0, j0 + S.cols())) return;
  const T neg_inf = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < S.rows(); ++r) {
    const int64_t i = i0 + r, pos = rule.position(i);
    for (int64_t c = 0; c < S.cols(); ++c) {
      const int64_t j = j0 + c;
      if (!rule.visible(i, j))
        S(r, c) = neg_inf;
      else if (slope != 0.0)
        S(r, c) -= static_cast<T>(slope * static_cast<double>(pos - j));
    }
  }
}

}  // namespace

template <typename T>
void flash_attention_forward(const FlashAttentionShape& s, const FlashAttentionMask& m, const T* q, const T* k,
                             const T* v, T* o, T* lse) {
  const int64_t d = s.d, group = s.H / s.Hkv;
  const int64_t q_blocks = (s.Tq + kRowsQ - 1) / kRowsQ;
  const T scale = static_cast<T>(m.scale);
  const kernels::AttentionVisibility rule = visibility(s, m);
  // Always a parallel region, even for one task: inside one, Eigen runs the
  // tile products on the calling thread; outside, it would fork threads for
  // every small product (a decode step's single query block).
#pragma omp parallel for schedule(dynamic)
  for (int64_t w = 0; w < s.B * s.H * q_blocks; ++w) {
    // Last query blocks first: under a causal mask they see the most keys, and
    // handing out the longest tasks first keeps the threads' finish times even.
    const int64_t b = w / (s.H * q_blocks), h = (w / q_blocks) % s.H, qb = q_blocks - 1 - w % q_blocks;
    const int64_t i0 = qb * kRowsQ, i1 = std::min(s.Tq, i0 + kRowsQ), rows = i1 - i0;
    const int64_t g = h / group;
    const double slope = m.alibi_slopes.empty() ? 0.0 : m.alibi_slopes[h];
    ConstMap<T> Q(q + ((b * s.H + h) * s.Tq + i0) * d, rows, d);
    const T* K = k + (b * s.Hkv + g) * s.key_rows() * d;
    const T* V = v + (b * s.Hkv + g) * s.key_rows() * d;
    Mat<T> acc = Mat<T>::Zero(rows, d);
    Eigen::Array<T, Eigen::Dynamic, 1> row_max =
        Eigen::Array<T, Eigen::Dynamic, 1>::Constant(rows, -std::numeric_limits<T>::infinity());
    Eigen::Array<T, Eigen::Dynamic, 1> row_sum = Eigen::Array<T, Eigen::Dynamic, 1>::Zero(rows);
    int64_t lo, hi;
    rule.key_range(i0, i1, &lo, &hi);
    Mat<T> S;
    for (int64_t j0 = lo; j0 < hi; j0 += kRowsK) {
      const int64_t j1 = std::min(hi, j0 + kRowsK), cols = j1 - j0;
      S.noalias() = (Q * ConstMap<T>(K + j0 * d, cols, d).transpose()) * scale;
      mask_tile(rule, slope, i0, j0, S);
      for (int64_t r = 0; r < rows; ++r) {
        const T tile_max = S.row(r).maxCoeff();
        const T new_max = std::max(row_max[r], tile_max);
        if (new_max == -std::numeric_limits<T>::infinity()) {  // nothing visible yet in this row
          S.row(r).setZero();
          continue;
        }
        const T correction = std::exp(row_max[r] - new_max);  // exp(-inf) = 0 on the first tile
        S.row(r) = (S.row(r).array() - new_max).exp().matrix();
        row_sum[r] = row_sum[r] * correction + S.row(r).sum();
        acc.row(r) *= correction;
        row_max[r] = new_max;
      }
      acc.noalias() += S * ConstMap<T>(V + j0 * d, cols, d);
    }
    MutMap<T> O(o + ((b * s.H + h) * s.Tq + i0) * d, rows, d);
    for (int64_t r = 0; r < rows; ++r) {
      O.row(r) = acc.row(r) / row_sum[r];
      lse[(b * s.H + h) * s.Tq + i0 + r] = row_max[r] + std::log(row_sum[r]);
    }
  }
}

template <typename T>
void flash_attention_backward(const FlashAttentionShape& s, const FlashAttentionMask& m, const T* q, const T* k,
                              const T* v, const T* o, const T* lse, const T* dout, T* dq, T* dk, T* dv) {
  const int64_t d = s.d, group = s.H / s.Hkv;
  const T scale = static_cast<T>(m.scale);
  const kernels::AttentionVisibility rule = visibility(s, m);
  // One task per (batch, KV head): it owns dK/dV of that head and dQ of the
  // query heads reading it, so no two threads write the same gradient.
#pragma omp parallel for schedule(dynamic)
  for (int64_t w = 0; w < s.B * s.Hkv; ++w) {
    const int64_t b = w / s.Hkv, g = w % s.Hkv;
    MutMap<T> dK(dk + (b * s.Hkv + g) * s.Tk * d, s.Tk, d), dV(dv + (b * s.Hkv + g) * s.Tk * d, s.Tk, d);
    dK.setZero();
    dV.setZero();
    const T* K = k + (b * s.Hkv + g) * s.Tk * d;
    const T* V = v + (b * s.Hkv + g) * s.Tk * d;
    for (int64_t h = g * group; h < (g + 1) * group; ++h) {
      const int64_t head = (b * s.H + h) * s.Tq;
      const double slope = m.alibi_slopes.empty() ? 0.0 : m.alibi_slopes[h];
      MutMap<T> dQ(dq + head * d, s.Tq, d);
      dQ.setZero();
      // D_i = <dO_i, O_i>: the row term of the softmax backward.
      Eigen::Array<T, Eigen::Dynamic, 1> D =
          (ConstMap<T>(dout + head * d, s.Tq, d).array() * ConstMap<T>(o + head * d, s.Tq, d).array()).rowwise().sum();
      Mat<T> S, dP;
      for (int64_t i0 = 0; i0 < s.Tq; i0 += kRowsQ) {
        const int64_t i1 = std::min(s.Tq, i0 + kRowsQ), rows = i1 - i0;
        ConstMap<T> Q(q + (head + i0) * d, rows, d), dO(dout + (head + i0) * d, rows, d);
        int64_t lo, hi;
        rule.key_range(i0, i1, &lo, &hi);
        for (int64_t j0 = lo; j0 < hi; j0 += kRowsK) {
          const int64_t j1 = std::min(hi, j0 + kRowsK), cols = j1 - j0;
          ConstMap<T> Kb(K + j0 * d, cols, d), Vb(V + j0 * d, cols, d);
          S.noalias() = (Q * Kb.transpose()) * scale;
          mask_tile(rule, slope, i0, j0, S);
          for (int64_t r = 0; r < rows; ++r)  // P = exp(S - lse): the forward's probabilities
            S.row(r) = (S.row(r).array() - lse[head + i0 + r]).exp().matrix();
          dV.middleRows(j0, cols).noalias() += S.transpose() * dO;
          dP.noalias() = dO * Vb.transpose();
          for (int64_t r = 0; r < rows; ++r)  // dS = P ∘ (dP − D)
            S.row(r).array() *= dP.row(r).array() - D[i0 + r];
          dQ.middleRows(i0, rows).noalias() += (S * Kb) * scale;
          dK.middleRows(j0, cols).noalias() += (S.transpose() * Q) * scale;
        }
      }
    }
  }
}

template void flash_attention_forward<float>(const FlashAttentionShape&, const FlashAttentionMask&, const float*,
                                             const float*, const float*, float*, float*);
template void flash_attention_forward<double>(const FlashAttentionShape&, const FlashAttentionMask&, const double*,
                                              const double*, const double*, double*, double*);
template void flash_attention_backward<float>(const FlashAttentionShape&, const FlashAttentionMask&, const float*,
                                              const float*, const float*, const float*, const float*, const float*,
                                              float*, float*, float*);
template void flash_attention_backward<double>(const FlashAttentionShape&, const FlashAttentionMask&, const double*,
                                               const double*, const double*, const double*, const double*,
                                               const double*, double*, double*, double*);

}  // namespace mixlab::cpu
