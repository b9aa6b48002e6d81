// Fused attention with BF16 inputs on tensor cores (WMMA 16×16×16, FP32
// accumulation), forward and backward, with the mask, bias and layout rules
// of flash_attention.cu. The probabilities are rounded to BF16 before they
// multiply V (and dS before it multiplies K or Q), as FlashAttention-2 does;
// the softmax statistics, the output and every gradient stay FP32.
//
// Tiling: a block of 4 warps owns 64 rows; each warp owns 16 of them and
// builds their 16×64 score tile against a 64-key tile with WMMA, then runs
// the online softmax on it in shared memory (the accumulator fragments'
// element order is unspecified, so per-row rescaling reads the tile from
// shared memory). The forward keeps each warp's output rows in shared memory
// for the same reason; the backward's dK/dV and dQ accumulate in fragments.
// The backward is deterministic, as the FP32 one: one kernel per key tile
// (dK, dV over the KV group's heads), one per query tile (dQ).
//
// Needs sm_80 or newer (BF16 WMMA); head dims 64 and 128 (a smaller d is
// zero-padded to 64).
#include <cuda_bf16.h>
#include <mma.h>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/flash_common.cuh"
#include "kernels/cuda/launch.cuh"

namespace mixlab::cuda {

namespace {

using namespace nvcuda;
using flash::key_range;
using flash::masked_score;
using flash::query_range;
using flash::warp_max;
using flash::warp_sum;
using bf16 = __nv_bfloat16;

constexpr int kRows = 64;  // rows per block and keys per tile
constexpr int kWarpRows = 16;
constexpr int kWarps = kRows / kWarpRows;
constexpr int kThreads16 = kWarps * 32;
constexpr int kScoreLd = kRows + 4;  // float score tiles (16 × 64), padded
constexpr int kProbLd = kRows + 8;   // bf16 probability tiles (16 × 64), padded

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragAcc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

template <int D>
struct Lds {
  static constexpr int in = D + 8;   // bf16 input tiles (64 × D)
  static constexpr int out = D + 4;  // float output tiles (16 × D)
};

// 64 × D bf16 tile of a (rows_total, d) bf16 matrix from row r0, zero outside.
template <int D>
__device__ void load_tile_bf16(bf16* tile, const uint16_t* src, int64_t r0, int64_t rows_total, int64_t d) {
  const bf16* s = reinterpret_cast<const bf16*>(src);
  for (int idx = threadIdx.x; idx < kRows * D; idx += kThreads16) {
    const int r = idx / D, x = idx % D;
    tile[r * Lds<D>::in + x] = (r0 + r < rows_total && x < d) ? s[(r0 + r) * d + x] : __float2bfloat16(0.0f);
  }
}

// out (16 × 64, float, ld kScoreLd) = A rows [16 × D] · B rowsᵀ [64 × D]ᵀ.
template <int D>
__device__ void rows_times_rows_t(const bf16* A, const bf16* B, float* out) {
#pragma unroll
  for (int n = 0; n < kRows / 16; ++n) {
    FragAcc acc;
    wmma::fill_fragment(acc, 0.0f);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      FragA a;
      FragBCol b;  // Bᵀ (D × 64): element (k, n) at B[n * ld + k]
      wmma::load_matrix_sync(a, A + kk * 16, Lds<D>::in);
      wmma::load_matrix_sync(b, B + n * 16 * Lds<D>::in + kk * 16, Lds<D>::in);
      wmma::mma_sync(acc, a, b, acc);
    }
    wmma::store_matrix_sync(out + n * 16, acc, kScoreLd, wmma::mem_row_major);
  }
}

// acc[x] (16 × D as D/16 fragments) += P (16 × 64 bf16, ld kProbLd) · M (64 × D bf16).
template <int D>
__device__ void accumulate_p_times(FragAcc (&acc)[D / 16], const bf16* P, const bf16* M) {
#pragma unroll
  for (int kk = 0; kk < kRows / 16; ++kk) {
    FragA a;
    wmma::load_matrix_sync(a, P + kk * 16, kProbLd);
#pragma unroll
    for (int x = 0; x < D / 16; ++x) {
      FragBRow b;
      wmma::load_matrix_sync(b, M + kk * 16 * Lds<D>::in + x * 16, Lds<D>::in);
      wmma::mma_sync(acc[x], a, b, acc[x]);
    }
  }
}

// The forward's shared memory, in bytes from the start: every region (and
// every warp's part of one) starts on a 32-byte boundary, as WMMA needs.
template <int D>
struct ForwardSmem {
  static constexpr size_t q = 0, k = q + kRows * Lds<D>::in * sizeof(bf16), v = k + kRows * Lds<D>::in * sizeof(bf16);
  static constexpr size_t scores = v + kRows * Lds<D>::in * sizeof(bf16);             // float 16 × 64 per warp
  static constexpr size_t probs = scores + kWarps * kWarpRows * kScoreLd * sizeof(float);  // bf16 16 × 64 per warp
  static constexpr size_t out = probs + kWarps * kWarpRows * kProbLd * sizeof(bf16);       // float 16 × D per warp
  static constexpr size_t rescale = out + kWarps * kWarpRows * Lds<D>::out * sizeof(float);  // float 16 per warp
  static constexpr size_t bytes = rescale + kWarps * kWarpRows * sizeof(float);
};

template <int D>
__global__ void __launch_bounds__(kThreads16)
    forward_bf16_kernel(FlashArgs a, const uint16_t* q, const uint16_t* k, const uint16_t* v, float* o, float* lse) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // BF16 WMMA needs sm_80; the host refuses older GPUs before launching
#else
  extern __shared__ __align__(128) unsigned char smem_bytes[];
  using L = ForwardSmem<D>;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  bf16* Qs = reinterpret_cast<bf16*>(smem_bytes + L::q);
  bf16* Ks = reinterpret_cast<bf16*>(smem_bytes + L::k);
  bf16* Vs = reinterpret_cast<bf16*>(smem_bytes + L::v);
  float* S = reinterpret_cast<float*>(smem_bytes + L::scores) + warp * kWarpRows * kScoreLd;
  bf16* P = reinterpret_cast<bf16*>(smem_bytes + L::probs) + warp * kWarpRows * kProbLd;
  float* O = reinterpret_cast<float*>(smem_bytes + L::out) + warp * kWarpRows * Lds<D>::out;
  float* rescale = reinterpret_cast<float*>(smem_bytes + L::rescale) + warp * kWarpRows;

  const int64_t h = blockIdx.y % a.H, b = blockIdx.y / a.H, g = h / (a.H / a.Hkv);
  const int64_t i0 = int64_t(blockIdx.x) * kRows, i1 = min(a.Tq, i0 + kRows);
  const uint16_t* K = k + (b * a.Hkv + g) * a.kv_rows * a.d;
  const uint16_t* V = v + (b * a.Hkv + g) * a.kv_rows * a.d;
  load_tile_bf16<D>(Qs, q + (b * a.H + h) * a.Tq * a.d, i0, a.Tq, a.d);
  for (int e = lane; e < kWarpRows * Lds<D>::out; e += 32) O[e] = 0.0f;
  float row_max[kWarpRows], row_sum[kWarpRows];
#pragma unroll
  for (int r = 0; r < kWarpRows; ++r) {
    row_max[r] = -INFINITY;
    row_sum[r] = 0.0f;
  }

  int64_t lo, hi;
  key_range(a, i0, i1, &lo, &hi);
  for (int64_t j0 = lo; j0 < hi; j0 += kRows) {
    __syncthreads();
    load_tile_bf16<D>(Ks, K, j0, hi, a.d);
    load_tile_bf16<D>(Vs, V, j0, hi, a.d);
    __syncthreads();
    rows_times_rows_t<D>(Qs + warp * kWarpRows * Lds<D>::in, Ks, S);
    __syncwarp();
    // Online softmax: lane l holds keys l and l + 32 of each row.
#pragma unroll
    for (int r = 0; r < kWarpRows; ++r) {
      const int64_t i = i0 + warp * kWarpRows + r;
      float s[2];
      for (int c = 0; c < 2; ++c) {
        const int64_t j = j0 + lane + 32 * c;
        s[c] = masked_score(a, h, i, j, S[r * kScoreLd + lane + 32 * c]);
      }
      const float new_max = fmaxf(row_max[r], warp_max(fmaxf(s[0], s[1])));
      float p[2] = {0.0f, 0.0f}, correction = 1.0f;
      if (new_max != -INFINITY) {
        correction = __expf(row_max[r] - new_max);
        p[0] = __expf(s[0] - new_max);
        p[1] = __expf(s[1] - new_max);
        row_max[r] = new_max;
      }
      row_sum[r] = row_sum[r] * correction + warp_sum(p[0] + p[1]);
      P[r * kProbLd + lane] = __float2bfloat16(p[0]);
      P[r * kProbLd + lane + 32] = __float2bfloat16(p[1]);
      if (lane == 0) rescale[r] = correction;
    }
    __syncwarp();
    for (int e = lane; e < kWarpRows * D; e += 32) O[(e / D) * Lds<D>::out + e % D] *= rescale[e / D];
    __syncwarp();
    FragAcc acc[D / 16];
#pragma unroll
    for (int x = 0; x < D / 16; ++x) wmma::load_matrix_sync(acc[x], O + x * 16, Lds<D>::out, wmma::mem_row_major);
    accumulate_p_times<D>(acc, P, Vs);
#pragma unroll
    for (int x = 0; x < D / 16; ++x) wmma::store_matrix_sync(O + x * 16, acc[x], Lds<D>::out, wmma::mem_row_major);
    __syncwarp();
  }

#pragma unroll
  for (int r = 0; r < kWarpRows; ++r) {
    const int64_t i = i0 + warp * kWarpRows + r;
    if (i >= a.Tq) continue;
    const float inv = row_sum[r] > 0.0f ? 1.0f / row_sum[r] : 0.0f;
    float* out = o + ((b * a.H + h) * a.Tq + i) * a.d;
    for (int x = lane; x < a.d; x += 32) out[x] = O[r * Lds<D>::out + x] * inv;
    if (lane == 0) lse[(b * a.H + h) * a.Tq + i] = row_max[r] + logf(row_sum[r]);
  }
#endif
}

// The probabilities and dS of one warp's 16 × 64 tile from its scores S and
// dP (float, ld kScoreLd), stored as bf16 (ld kProbLd). `key_major`: the
// warp's rows are keys and the columns queries (the dK/dV kernel), else the
// rows are queries and the columns keys (the dQ kernel).
__device__ void probabilities_and_ds(const FlashArgs& a, int64_t h, bool key_major, int64_t row0, int64_t col0,
                                     const float* S, const float* dP, const float* lse_s, const float* D_s,
                                     int lse_offset, bf16* P, bf16* dS) {
  const int lane = threadIdx.x % 32;
  for (int e = lane; e < kWarpRows * kRows; e += 32) {
    const int r = e / kRows, c = e % kRows;
    const int64_t i = key_major ? col0 + c : row0 + r, j = key_major ? row0 + r : col0 + c;
    const int qi = (key_major ? c : r) + lse_offset;  // the query's slot in lse_s and D_s
    const float score = masked_score(a, h, i, j, S[r * kScoreLd + c]);
    const float p = score == -INFINITY ? 0.0f : __expf(score - lse_s[qi]);
    if (P) P[r * kProbLd + c] = __float2bfloat16(p);
    dS[r * kProbLd + c] = __float2bfloat16(p * (dP[r * kScoreLd + c] - D_s[qi]));
  }
}

// The backward kernels' shared memory, as ForwardSmem: four 64 × D input
// tiles (K, V, Q, dO in the dK/dV kernel; Q, dO, K, V in the dQ kernel), two
// float 16 × 64 tiles per warp (S and dP, transposed in the dK/dV kernel),
// two bf16 ones (P and dS; the dQ kernel needs only dS), and the query
// tile's log-sum-exp and D.
template <int D>
struct BackwardSmem {
  static constexpr size_t tile = kRows * Lds<D>::in * sizeof(bf16);
  static constexpr size_t scores = 4 * tile, dscores = scores + kWarps * kWarpRows * kScoreLd * sizeof(float);
  static constexpr size_t probs = dscores + kWarps * kWarpRows * kScoreLd * sizeof(float);
  static constexpr size_t dprobs = probs + kWarps * kWarpRows * kProbLd * sizeof(bf16);
  static constexpr size_t lse = dprobs + kWarps * kWarpRows * kProbLd * sizeof(bf16);
  static constexpr size_t bytes = lse + 2 * kRows * sizeof(float);
};

// Pointers into BackwardSmem; the per-warp tiles already at this warp's part.
template <int D>
struct BackwardViews {
  bf16* tiles[4];
  float *S, *dP, *lse, *row_dot;
  bf16 *P, *dS;
  __device__ explicit BackwardViews(unsigned char* smem) {
    using L = BackwardSmem<D>;
    const int warp = threadIdx.x / 32;
    for (int t = 0; t < 4; ++t) tiles[t] = reinterpret_cast<bf16*>(smem + t * L::tile);
    S = reinterpret_cast<float*>(smem + L::scores) + warp * kWarpRows * kScoreLd;
    dP = reinterpret_cast<float*>(smem + L::dscores) + warp * kWarpRows * kScoreLd;
    P = reinterpret_cast<bf16*>(smem + L::probs) + warp * kWarpRows * kProbLd;
    dS = reinterpret_cast<bf16*>(smem + L::dprobs) + warp * kWarpRows * kProbLd;
    lse = reinterpret_cast<float*>(smem + L::lse);
    row_dot = lse + kRows;
  }
};

// The warp's 16 accumulated rows (D/16 fragments) times `factor` into rows
// row0.. of dst (rows_total × d), skipping rows and columns past the ends,
// through `stage` (the warp's 16 × 64 float score tile, free by now).
template <int D>
__device__ void store_rows(const FragAcc (&acc)[D / 16], float* stage, float* dst, int64_t row0, int64_t rows_total,
                           int64_t d, float factor) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int x0 = 0; x0 < D; x0 += kRows) {
    __syncwarp();
#pragma unroll
    for (int x = x0; x < x0 + kRows && x < D; x += 16)
      wmma::store_matrix_sync(stage + (x - x0), acc[x / 16], kScoreLd, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < kWarpRows * kRows; e += 32) {
      const int r = e / kRows, x = x0 + e % kRows;
      if (row0 + r < rows_total && x < d) dst[(row0 + r) * d + x] = stage[r * kScoreLd + e % kRows] * factor;
    }
  }
}

// One block per (64-key tile, batch, KV head); warp w owns keys 16w..16w+15.
template <int D>
__global__ void __launch_bounds__(kThreads16)
    dkdv_bf16_kernel(FlashArgs a, const uint16_t* q, const uint16_t* k, const uint16_t* v, const float* lse,
                     const float* Drow, const uint16_t* dout, float* dk, float* dv) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();
#else
  extern __shared__ __align__(128) unsigned char smem_bytes[];
  const BackwardViews<D> sm(smem_bytes);
  const int warp = threadIdx.x / 32;
  bf16 *Ks = sm.tiles[0], *Vs = sm.tiles[1], *Qs = sm.tiles[2], *dOs = sm.tiles[3];
  float *ST = sm.S, *dPT = sm.dP, *lse_s = sm.lse, *D_s = sm.row_dot;  // Sᵀ, dPᵀ: keys × queries
  bf16 *PT = sm.P, *dST = sm.dS;

  const int64_t g = blockIdx.y % a.Hkv, b = blockIdx.y / a.Hkv, group = a.H / a.Hkv;
  const int64_t j0 = int64_t(blockIdx.x) * kRows, j1 = min(a.Tk, j0 + kRows);
  load_tile_bf16<D>(Ks, k + (b * a.Hkv + g) * a.Tk * a.d, j0, a.Tk, a.d);
  load_tile_bf16<D>(Vs, v + (b * a.Hkv + g) * a.Tk * a.d, j0, a.Tk, a.d);
  FragAcc dK[D / 16], dV[D / 16];
#pragma unroll
  for (int x = 0; x < D / 16; ++x) {
    wmma::fill_fragment(dK[x], 0.0f);
    wmma::fill_fragment(dV[x], 0.0f);
  }

  int64_t qlo, qhi;
  query_range(a, j0, j1, &qlo, &qhi);
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    const int64_t head = (b * a.H + h) * a.Tq;
    for (int64_t i0 = qlo; i0 < qhi; i0 += kRows) {
      __syncthreads();
      load_tile_bf16<D>(Qs, q + head * a.d, i0, a.Tq, a.d);
      load_tile_bf16<D>(dOs, dout + head * a.d, i0, a.Tq, a.d);
      flash::load_row_stats(lse_s, D_s, lse, Drow, head, i0, a.Tq, kRows);
      __syncthreads();
      rows_times_rows_t<D>(Ks + warp * kWarpRows * Lds<D>::in, Qs, ST);    // Sᵀ = K Qᵀ
      rows_times_rows_t<D>(Vs + warp * kWarpRows * Lds<D>::in, dOs, dPT);  // dPᵀ = V dOᵀ
      __syncwarp();
      probabilities_and_ds(a, h, true, j0 + warp * kWarpRows, i0, ST, dPT, lse_s, D_s, 0, PT, dST);
      __syncwarp();
      accumulate_p_times<D>(dV, PT, dOs);   // dV += Pᵀ dO
      accumulate_p_times<D>(dK, dST, Qs);   // dK += dSᵀ Q
    }
  }
  const float scale = static_cast<float>(a.scale);
  const int64_t kv_head = (b * a.Hkv + g) * a.Tk * a.d;
  store_rows<D>(dK, ST, dk + kv_head, j0 + warp * kWarpRows, a.Tk, a.d, scale);
  store_rows<D>(dV, ST, dv + kv_head, j0 + warp * kWarpRows, a.Tk, a.d, 1.0f);
#endif
}

// One block per (64-row query tile, batch, head); warp w owns rows 16w..16w+15.
template <int D>
__global__ void __launch_bounds__(kThreads16)
    dq_bf16_kernel(FlashArgs a, const uint16_t* q, const uint16_t* k, const uint16_t* v, const float* lse,
                   const float* Drow, const uint16_t* dout, float* dq) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();
#else
  extern __shared__ __align__(128) unsigned char smem_bytes[];
  const BackwardViews<D> sm(smem_bytes);
  const int warp = threadIdx.x / 32;
  bf16 *Qs = sm.tiles[0], *dOs = sm.tiles[1], *Ks = sm.tiles[2], *Vs = sm.tiles[3], *dS = sm.dS;
  float *S = sm.S, *dP = sm.dP, *lse_s = sm.lse, *D_s = sm.row_dot;

  const int64_t h = blockIdx.y % a.H, b = blockIdx.y / a.H, g = h / (a.H / a.Hkv);
  const int64_t i0 = int64_t(blockIdx.x) * kRows, i1 = min(a.Tq, i0 + kRows);
  const int64_t head = (b * a.H + h) * a.Tq;
  load_tile_bf16<D>(Qs, q + head * a.d, i0, a.Tq, a.d);
  load_tile_bf16<D>(dOs, dout + head * a.d, i0, a.Tq, a.d);
  flash::load_row_stats(lse_s, D_s, lse, Drow, head, i0, a.Tq, kRows);
  FragAcc dQ[D / 16];
#pragma unroll
  for (int x = 0; x < D / 16; ++x) wmma::fill_fragment(dQ[x], 0.0f);

  int64_t lo, hi;
  key_range(a, i0, i1, &lo, &hi);
  for (int64_t j0 = lo; j0 < hi; j0 += kRows) {
    __syncthreads();
    load_tile_bf16<D>(Ks, k + (b * a.Hkv + g) * a.Tk * a.d, j0, hi, a.d);
    load_tile_bf16<D>(Vs, v + (b * a.Hkv + g) * a.Tk * a.d, j0, hi, a.d);
    __syncthreads();
    rows_times_rows_t<D>(Qs + warp * kWarpRows * Lds<D>::in, Ks, S);
    rows_times_rows_t<D>(dOs + warp * kWarpRows * Lds<D>::in, Vs, dP);
    __syncwarp();
    probabilities_and_ds(a, h, false, i0 + warp * kWarpRows, j0, S, dP, lse_s, D_s, warp * kWarpRows, nullptr, dS);
    __syncwarp();
    accumulate_p_times<D>(dQ, dS, Ks);  // dQ += dS K
  }
  store_rows<D>(dQ, S, dq + head * a.d, i0 + warp * kWarpRows, a.Tq, a.d, static_cast<float>(a.scale));
#endif
}

__global__ void to_bf16_kernel(const float* x, uint16_t* y, int64_t n) {
  MIXLAB_GRID_STRIDE(i, n) {
    const bf16 b = __float2bfloat16_rn(x[i]);
    y[i] = *reinterpret_cast<const uint16_t*>(&b);
  }
}

int64_t tiles64(int64_t n) { return (n + kRows - 1) / kRows; }

void check_bf16_args(const FlashArgs& a, const char* op) {
  if (a.d > 128)
    throw Error(detail::concat("cuda::", op, ": head dim ", a.d, " exceeds the BF16 kernel's 128"));
  if (a.B * a.H > 65535 || a.B * a.Hkv > 65535)
    throw Error(detail::concat("cuda::", op, ": batch × heads = ", a.B * a.H, " exceeds 65535"));
  int device = 0, major = 0;
  MIXLAB_CUDA_CHECK(cudaGetDevice(&device));
  MIXLAB_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 8)
    throw Error(detail::concat("cuda::", op, ": BF16 tensor cores need compute capability 8.0 or newer, this GPU has ",
                               major, ".x"));
}

}  // namespace

void to_bf16(int device, const float* x, uint16_t* y, int64_t n) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (n == 0) return;
  to_bf16_kernel<<<blocks_for(n), kThreads>>>(x, y, n);
  check_launch("to_bf16");
}

void flash_attention_forward_bf16(int device, const FlashArgs& a, const uint16_t* q, const uint16_t* k,
                                  const uint16_t* v, float* o, float* lse) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const char* op = "flash_attention_forward_bf16";
  check_bf16_args(a, op);
  if (a.Tq == 0) return;
  const dim3 grid(static_cast<unsigned>(tiles64(a.Tq)), static_cast<unsigned>(a.B * a.H));
  if (a.d <= 64) {
    allow_smem(forward_bf16_kernel<64>, ForwardSmem<64>::bytes, device, "a head dim 64 tile", op);
    forward_bf16_kernel<64><<<grid, kThreads16, ForwardSmem<64>::bytes>>>(a, q, k, v, o, lse);
  } else {
    allow_smem(forward_bf16_kernel<128>, ForwardSmem<128>::bytes, device, "a head dim 128 tile", op);
    forward_bf16_kernel<128><<<grid, kThreads16, ForwardSmem<128>::bytes>>>(a, q, k, v, o, lse);
  }
  check_launch(op);
}

void flash_attention_backward_bf16(int device, const FlashArgs& a, const uint16_t* q, const uint16_t* k,
                                   const uint16_t* v, const float* o, const float* lse, const float* dout,
                                   const uint16_t* dout_bf16, float* dq, float* dk, float* dv, float* row_dot) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const char* op = "flash_attention_backward_bf16";
  check_bf16_args(a, op);
  if (a.Tq == 0 || a.Tk == 0) return;
  const int64_t rows = a.B * a.H * a.Tq;
  flash::row_dot_kernel<float><<<blocks_for(rows * 32), kThreads>>>(dout, o, row_dot, rows, a.d);
  check_launch("flash_attention_backward_bf16 (row dot)");
  const dim3 key_grid(static_cast<unsigned>(tiles64(a.Tk)), static_cast<unsigned>(a.B * a.Hkv));
  const dim3 query_grid(static_cast<unsigned>(tiles64(a.Tq)), static_cast<unsigned>(a.B * a.H));
  if (a.d <= 64) {
    allow_smem(dkdv_bf16_kernel<64>, BackwardSmem<64>::bytes, device, "a head dim 64 tile", op);
    dkdv_bf16_kernel<64><<<key_grid, kThreads16, BackwardSmem<64>::bytes>>>(a, q, k, v, lse, row_dot, dout_bf16, dk, dv);
    allow_smem(dq_bf16_kernel<64>, BackwardSmem<64>::bytes, device, "a head dim 64 tile", op);
    dq_bf16_kernel<64><<<query_grid, kThreads16, BackwardSmem<64>::bytes>>>(a, q, k, v, lse, row_dot, dout_bf16, dq);
  } else {
    allow_smem(dkdv_bf16_kernel<128>, BackwardSmem<128>::bytes, device, "a head dim 128 tile", op);
    dkdv_bf16_kernel<128><<<key_grid, kThreads16, BackwardSmem<128>::bytes>>>(a, q, k, v, lse, row_dot, dout_bf16, dk,
                                                                           dv);
    allow_smem(dq_bf16_kernel<128>, BackwardSmem<128>::bytes, device, "a head dim 128 tile", op);
    dq_bf16_kernel<128><<<query_grid, kThreads16, BackwardSmem<128>::bytes>>>(a, q, k, v, lse, row_dot, dout_bf16, dq);
  }
  check_launch(op);
}

}  // namespace mixlab::cuda
