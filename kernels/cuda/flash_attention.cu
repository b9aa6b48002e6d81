// Fused attention on the device in the FlashAttention-2 style, forward and
// backward, as kernels/cpu/flash_attention.h computes it: query and key tiles
// in shared memory, the online softmax in registers, no T×T buffer; the
// backward recomputes the probabilities from the saved log-sum-exp.
//
// Tiling: a block of 4 warps owns 32 rows of one (batch, head). A warp owns 8
// of those rows and its 32 lanes hold one 32-key tile's scores of a row, so a
// row's max and sum are warp shuffles and no block barrier sits inside the
// softmax. The output accumulators live in registers: lane l holds columns
// l, l+32, … of its warp's rows.
//
// The backward runs without atomics, so it is deterministic: one kernel per
// key tile accumulates dK and dV over every query head of its KV group (GQA)
// and every visible query tile; a second kernel per query tile accumulates
// dQ. Both recompute the scores; FA2 instead adds dQ with atomics in one pass.
//
// Head dims up to 128 (templates for 32, 64 and 128 columns; a smaller d is
// zero-padded). FP32 and FP64 on CUDA cores; the BF16 tensor-core form is
// flash_attention_bf16.cu.
#include <cfloat>
#include <cmath>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/flash_common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mixlab::cuda {

namespace {

using flash::key_range;
using flash::masked_score;
using flash::probability;
using flash::query_range;
using flash::warp_max;
using flash::warp_sum;

constexpr int kTileRows = 32;  // query rows per block, keys per tile
constexpr int kWarps = 4;
constexpr int kRowsPerWarp = kTileRows / kWarps;
constexpr int kBlockThreads = kWarps * 32;

template <typename T>
__device__ inline T neg_infinity() {
  return -static_cast<T>(INFINITY);
}

// rows × D tile of a (rows_total, d) matrix starting at row r0, zero outside.
template <typename T, int D>
__device__ inline void load_tile(T* tile, const T* src, int64_t r0, int64_t rows_total, int64_t d) {
  for (int idx = threadIdx.x; idx < kTileRows * D; idx += kBlockThreads) {
    const int r = idx / D, x = idx % D;
    tile[r * (D + 1) + x] = (r0 + r < rows_total && x < d) ? src[(r0 + r) * d + x] : T(0);
  }
}

// out[r] = Σ_x rows[(warp·8 + r), x] · lane_rows[lane, x] for the warp's 8
// rows of `rows` against this lane's row of `lane_rows` (both (32, D + 1)
// tiles): the score-like products every kernel here builds.
template <typename T, int D>
__device__ inline void warp_rows_dot_lane(const T* rows, const T* lane_rows, T (&out)[kRowsPerWarp]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) out[r] = T(0);
  for (int x = 0; x < D; ++x) {
    const T lx = lane_rows[lane * (D + 1) + x];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) out[r] += rows[(warp * kRowsPerWarp + r) * (D + 1) + x] * lx;
  }
}

// acc[r][c] += Σ_m W[(warp·8 + r), m] · M[m, lane + 32c]: the warp's 8 rows
// of a 32 × 32 weight tile W (ld 33: probabilities or dS) times a (32, D + 1)
// tile M, into this lane's output columns.
template <typename T, int D>
__device__ inline void warp_rows_times_tile(const T* W, const T* M, T (&acc)[kRowsPerWarp][D / 32]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int m = 0; m < kTileRows; ++m) {
    T mx[D / 32];
#pragma unroll
    for (int c = 0; c < D / 32; ++c) mx[c] = M[m * (D + 1) + lane + 32 * c];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const T w = W[(warp * kRowsPerWarp + r) * (kTileRows + 1) + m];
#pragma unroll
      for (int c = 0; c < D / 32; ++c) acc[r][c] += w * mx[c];
    }
  }
}

template <typename T, int D>
constexpr size_t forward_smem() {
  return sizeof(T) * (3 * kTileRows * (D + 1) + kTileRows * (kTileRows + 1));
}

template <typename T, int D>
__global__ void __launch_bounds__(kBlockThreads)
    forward_kernel(FlashArgs a, const T* q, const T* k, const T* v, T* o, T* lse) {
  extern __shared__ unsigned char smem_bytes[];
  T* Qs = reinterpret_cast<T*>(smem_bytes);
  T* Ks = Qs + kTileRows * (D + 1);
  T* Vs = Ks + kTileRows * (D + 1);
  T* Ps = Vs + kTileRows * (D + 1);  // kTileRows × (kTileRows + 1)
  constexpr int kCols = D / 32;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t h = blockIdx.y % a.H, b = blockIdx.y / a.H, g = h / (a.H / a.Hkv);
  const int64_t i0 = int64_t(blockIdx.x) * kTileRows, i1 = min(a.Tq, i0 + kTileRows);
  const T* Q = q + (b * a.H + h) * a.Tq * a.d;
  const T* K = k + (b * a.Hkv + g) * a.kv_rows * a.d;
  const T* V = v + (b * a.Hkv + g) * a.kv_rows * a.d;

  load_tile<T, D>(Qs, Q, i0, a.Tq, a.d);
  T row_max[kRowsPerWarp], row_sum[kRowsPerWarp], acc[kRowsPerWarp][kCols];
#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    row_max[rr] = neg_infinity<T>();
    row_sum[rr] = T(0);
#pragma unroll
    for (int c = 0; c < kCols; ++c) acc[rr][c] = T(0);
  }

  int64_t lo, hi;
  key_range(a, i0, i1, &lo, &hi);
  for (int64_t j0 = lo; j0 < hi; j0 += kTileRows) {
    __syncthreads();  // the previous tile is consumed (and Qs is loaded, the first time)
    load_tile<T, D>(Ks, K, j0, hi, a.d);
    load_tile<T, D>(Vs, V, j0, hi, a.d);
    __syncthreads();

    T s[kRowsPerWarp];
    warp_rows_dot_lane<T, D>(Qs, Ks, s);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr;
      const int64_t i = i0 + r;
      const T score = masked_score(a, h, i, j, s[rr]);
      const T new_max = max(row_max[rr], warp_max(score));
      T p = T(0), correction = T(1);
      if (new_max != neg_infinity<T>()) {  // else nothing visible in this row yet
        correction = exp(row_max[rr] - new_max);  // 0 on the row's first visible tile
        p = exp(score - new_max);
        row_max[rr] = new_max;
      }
      row_sum[rr] = row_sum[rr] * correction + warp_sum(p);
      Ps[r * (kTileRows + 1) + lane] = p;
#pragma unroll
      for (int c = 0; c < kCols; ++c) acc[rr][c] *= correction;
    }
    __syncwarp();
    warp_rows_times_tile<T, D>(Ps, Vs, acc);  // O += P V
  }

#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int64_t i = i0 + warp * kRowsPerWarp + rr;
    if (i >= a.Tq) continue;
    const T inv = row_sum[rr] > T(0) ? T(1) / row_sum[rr] : T(0);
    T* O = o + ((b * a.H + h) * a.Tq + i) * a.d;
#pragma unroll
    for (int c = 0; c < kCols; ++c)
      if (lane + 32 * c < a.d) O[lane + 32 * c] = acc[rr][c] * inv;
    if (lane == 0) lse[(b * a.H + h) * a.Tq + i] = row_max[rr] + log(row_sum[rr]);
  }
}

template <typename T, int D>
constexpr size_t dkdv_smem() {
  return sizeof(T) * (4 * kTileRows * (D + 1) + 2 * kTileRows * (kTileRows + 1) + 2 * kTileRows);
}

// One block per (key tile, batch, KV head): warp w owns keys 8w..8w+7 of the
// tile, lane l is query row l of the current query tile.
template <typename T, int D>
__global__ void __launch_bounds__(kBlockThreads)
    dkdv_kernel(FlashArgs a, const T* q, const T* k, const T* v, const T* lse, const T* Drow, const T* dout, T* dk,
                T* dv) {
  extern __shared__ unsigned char smem_bytes[];
  T* Ks = reinterpret_cast<T*>(smem_bytes);
  T* Vs = Ks + kTileRows * (D + 1);
  T* Qs = Vs + kTileRows * (D + 1);
  T* dOs = Qs + kTileRows * (D + 1);
  T* PT = dOs + kTileRows * (D + 1);          // P transposed: key × query
  T* dST = PT + kTileRows * (kTileRows + 1);  // dS transposed
  T* lse_s = dST + kTileRows * (kTileRows + 1);
  T* D_s = lse_s + kTileRows;
  constexpr int kCols = D / 32;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t g = blockIdx.y % a.Hkv, b = blockIdx.y / a.Hkv, group = a.H / a.Hkv;
  const int64_t j0 = int64_t(blockIdx.x) * kTileRows, j1 = min(a.Tk, j0 + kTileRows);
  const T scale = static_cast<T>(a.scale);
  load_tile<T, D>(Ks, k + (b * a.Hkv + g) * a.Tk * a.d, j0, a.Tk, a.d);
  load_tile<T, D>(Vs, v + (b * a.Hkv + g) * a.Tk * a.d, j0, a.Tk, a.d);

  T dK[kRowsPerWarp][kCols], dV[kRowsPerWarp][kCols];
#pragma unroll
  for (int kk = 0; kk < kRowsPerWarp; ++kk)
#pragma unroll
    for (int c = 0; c < kCols; ++c) dK[kk][c] = dV[kk][c] = T(0);

  int64_t qlo, qhi;
  query_range(a, j0, j1, &qlo, &qhi);
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    const int64_t head = (b * a.H + h) * a.Tq;
    for (int64_t i0 = qlo; i0 < qhi; i0 += kTileRows) {
      __syncthreads();  // the previous query tile is consumed (and K, V are loaded)
      load_tile<T, D>(Qs, q + head * a.d, i0, a.Tq, a.d);
      load_tile<T, D>(dOs, dout + head * a.d, i0, a.Tq, a.d);
      flash::load_row_stats(lse_s, D_s, lse, Drow, head, i0, a.Tq, kTileRows);
      __syncthreads();

      T s[kRowsPerWarp], dp[kRowsPerWarp];
      warp_rows_dot_lane<T, D>(Ks, Qs, s);   // the warp's keys against this lane's query
      warp_rows_dot_lane<T, D>(Vs, dOs, dp);
      const int64_t i = i0 + lane;
#pragma unroll
      for (int kk = 0; kk < kRowsPerWarp; ++kk) {
        const int key = warp * kRowsPerWarp + kk;
        const int64_t j = j0 + key;
        const T p = probability(masked_score(a, h, i, j, s[kk]), lse_s[lane]);
        PT[key * (kTileRows + 1) + lane] = p;
        dST[key * (kTileRows + 1) + lane] = p * (dp[kk] - D_s[lane]);
      }
      __syncwarp();
      warp_rows_times_tile<T, D>(PT, dOs, dV);  // dV += Pᵀ dO
      warp_rows_times_tile<T, D>(dST, Qs, dK);  // dK += dSᵀ Q
    }
  }

#pragma unroll
  for (int kk = 0; kk < kRowsPerWarp; ++kk) {
    const int64_t j = j0 + warp * kRowsPerWarp + kk;
    if (j >= a.Tk) continue;
    const int64_t row = ((b * a.Hkv + g) * a.Tk + j) * a.d;
#pragma unroll
    for (int c = 0; c < kCols; ++c)
      if (lane + 32 * c < a.d) {
        dk[row + lane + 32 * c] = dK[kk][c] * scale;
        dv[row + lane + 32 * c] = dV[kk][c];
      }
  }
}

template <typename T, int D>
constexpr size_t dq_smem() {
  return sizeof(T) * (4 * kTileRows * (D + 1) + kTileRows * (kTileRows + 1) + 2 * kTileRows);
}

// One block per (query tile, batch, head), laid out as the forward.
template <typename T, int D>
__global__ void __launch_bounds__(kBlockThreads)
    dq_kernel(FlashArgs a, const T* q, const T* k, const T* v, const T* lse, const T* Drow, const T* dout, T* dq) {
  extern __shared__ unsigned char smem_bytes[];
  T* Qs = reinterpret_cast<T*>(smem_bytes);
  T* dOs = Qs + kTileRows * (D + 1);
  T* Ks = dOs + kTileRows * (D + 1);
  T* Vs = Ks + kTileRows * (D + 1);
  T* dS = Vs + kTileRows * (D + 1);  // query × key
  T* lse_s = dS + kTileRows * (kTileRows + 1);
  T* D_s = lse_s + kTileRows;
  constexpr int kCols = D / 32;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t h = blockIdx.y % a.H, b = blockIdx.y / a.H, g = h / (a.H / a.Hkv);
  const int64_t i0 = int64_t(blockIdx.x) * kTileRows, i1 = min(a.Tq, i0 + kTileRows);
  const int64_t head = (b * a.H + h) * a.Tq;
  const T* K = k + (b * a.Hkv + g) * a.Tk * a.d;
  const T* V = v + (b * a.Hkv + g) * a.Tk * a.d;
  const T scale = static_cast<T>(a.scale);
  load_tile<T, D>(Qs, q + head * a.d, i0, a.Tq, a.d);
  load_tile<T, D>(dOs, dout + head * a.d, i0, a.Tq, a.d);
  flash::load_row_stats(lse_s, D_s, lse, Drow, head, i0, a.Tq, kTileRows);

  T dQ[kRowsPerWarp][kCols];
#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr)
#pragma unroll
    for (int c = 0; c < kCols; ++c) dQ[rr][c] = T(0);

  int64_t lo, hi;
  key_range(a, i0, i1, &lo, &hi);
  for (int64_t j0 = lo; j0 < hi; j0 += kTileRows) {
    __syncthreads();
    load_tile<T, D>(Ks, K, j0, hi, a.d);
    load_tile<T, D>(Vs, V, j0, hi, a.d);
    __syncthreads();

    T s[kRowsPerWarp], dp[kRowsPerWarp];
    warp_rows_dot_lane<T, D>(Qs, Ks, s);  // the warp's queries against this lane's key
    warp_rows_dot_lane<T, D>(dOs, Vs, dp);
    const int64_t j = j0 + lane;
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr;
      const int64_t i = i0 + r;
      const T p = probability(masked_score(a, h, i, j, s[rr]), lse_s[r]);
      dS[r * (kTileRows + 1) + lane] = p * (dp[rr] - D_s[r]);
    }
    __syncwarp();
    warp_rows_times_tile<T, D>(dS, Ks, dQ);  // dQ += dS K
  }

#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int64_t i = i0 + warp * kRowsPerWarp + rr;
    if (i >= a.Tq) continue;
#pragma unroll
    for (int c = 0; c < kCols; ++c)
      if (lane + 32 * c < a.d) dq[(head + i) * a.d + lane + 32 * c] = dQ[rr][c] * scale;
  }
}

int64_t tiles(int64_t n) { return (n + kTileRows - 1) / kTileRows; }

// Launches KERNEL<T, D> with D the smallest supported width >= a.d, after
// raising its dynamic shared memory limit to what SMEM<T, D>() needs.
#define MIXLAB_FLASH_LAUNCH(KERNEL, SMEM, GRID, ...)                                              \
  [&] {                                                                                           \
    auto launch = [&](auto kernel, size_t smem) {                                                 \
      MIXLAB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, \
                                             static_cast<int>(smem)));                            \
      kernel<<<GRID, kBlockThreads, smem>>>(__VA_ARGS__);                                         \
    };                                                                                            \
    if (a.d <= 32)                                                                                \
      launch(KERNEL<T, 32>, SMEM<T, 32>());                                                       \
    else if (a.d <= 64)                                                                           \
      launch(KERNEL<T, 64>, SMEM<T, 64>());                                                       \
    else                                                                                          \
      launch(KERNEL<T, 128>, SMEM<T, 128>());                                                     \
  }()

void check_args(const FlashArgs& a, const char* op) {
  if (a.d > kFlashMaxHeadDim)
    throw Error(detail::concat("cuda::", op, ": head dim ", a.d, " exceeds the CUDA kernel's ", kFlashMaxHeadDim));
  if (a.B * a.H > 65535 || a.B * a.Hkv > 65535)
    throw Error(detail::concat("cuda::", op, ": batch × heads = ", a.B * a.H, " exceeds 65535"));
}

}  // namespace

template <typename T>
void flash_attention_forward(int device, const FlashArgs& a, const T* q, const T* k, const T* v, T* o, T* lse) {
  check_args(a, "flash_attention_forward");
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (a.Tq == 0) return;
  const dim3 grid(static_cast<unsigned>(tiles(a.Tq)), static_cast<unsigned>(a.B * a.H));
  MIXLAB_FLASH_LAUNCH(forward_kernel, forward_smem, grid, a, q, k, v, o, lse);
  check_launch("flash_attention_forward");
}

template <typename T>
void flash_attention_backward(int device, const FlashArgs& a, const T* q, const T* k, const T* v, const T* o,
                              const T* lse, const T* dout, T* dq, T* dk, T* dv, T* row_dot) {
  check_args(a, "flash_attention_backward");
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (a.Tq == 0 || a.Tk == 0) return;
  const int64_t rows = a.B * a.H * a.Tq;
  flash::row_dot_kernel<T><<<blocks_for(rows * 32), kThreads>>>(dout, o, row_dot, rows, a.d);
  check_launch("flash_attention_backward (row dot)");
  const dim3 key_grid(static_cast<unsigned>(tiles(a.Tk)), static_cast<unsigned>(a.B * a.Hkv));
  MIXLAB_FLASH_LAUNCH(dkdv_kernel, dkdv_smem, key_grid, a, q, k, v, lse, row_dot, dout, dk, dv);
  check_launch("flash_attention_backward (dK, dV)");
  const dim3 query_grid(static_cast<unsigned>(tiles(a.Tq)), static_cast<unsigned>(a.B * a.H));
  MIXLAB_FLASH_LAUNCH(dq_kernel, dq_smem, query_grid, a, q, k, v, lse, row_dot, dout, dq);
  check_launch("flash_attention_backward (dQ)");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/flash_attention.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
