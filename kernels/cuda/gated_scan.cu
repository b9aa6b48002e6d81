// The gated linear recurrence on the device, in its recurrent form (the
// per-token math is gated_scan_step.h's, shared with a CPU test):
//   S_t = diag(a_t) S_{t-1} + k_t v_tᵀ,  a_t = exp(g_t) <= 1,
// one block per (batch, head) walking the tokens in order with the whole
// (dk, dv) state in shared memory. Every factor is a single a_t <= 1, so this
// form needs none of the chunked form's care with decay differences
// (kernels/cpu/gated_scan.cpp); it equals it up to rounding.
//
// The backward walks the tokens in reverse carrying dS. It needs S_{t-1} at
// each step: per chunk (in reverse) it recomputes the chunk's states from the
// state the forward saved at the chunk's entry into a global scratch buffer,
// then reads them back from the end. Every sum runs in a fixed order (rows or
// columns by one thread each; heads sharing q/k and batches sharing u summed
// by a second kernel in order), so the result is deterministic.
#include <algorithm>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/gated_scan_step.h"
#include "kernels/cuda/launch.cuh"

namespace mixlab::cuda {

namespace {

using scan::TokenVectors;

constexpr int kScanThreads = 256;

// The shared-memory layout of one block: the state (dk rows of dv + 1, the
// pad keeping row and column walks free of bank conflicts), a second state
// for the backward, and the token's vectors.
struct ScanLayout {
  int64_t dk, dv, ld;
  __host__ __device__ ScanLayout(int64_t dk_, int64_t dv_) : dk(dk_), dv(dv_), ld(dv_ + 1) {}
  __host__ __device__ int64_t state() const { return dk * ld; }
  // states, then q, k, a, u, row scratch (dk each), v, G (dv each), 2 scalars
  __host__ __device__ int64_t elements(int states) const { return states * state() + 5 * dk + 2 * dv + 2; }
};

template <typename T>
__device__ TokenVectors<T> carve(T* base, const ScanLayout& L, int states) {
  T* p = base + states * L.state();
  TokenVectors<T> tv;
  tv.q = p;
  tv.k = tv.q + L.dk;
  tv.a = tv.k + L.dk;
  tv.u = tv.a + L.dk;
  tv.row = tv.u + L.dk;
  tv.v = tv.row + L.dk;
  tv.G = tv.v + L.dv;
  tv.scalars = tv.G + L.dv;
  return tv;
}

// Loads token t's q, k, decay factors (broadcast when per head, 1 without
// decay) and v; G = scale · dout when dout is given.
template <typename T>
__device__ void load_token(const GatedScanArgs& s, const TokenVectors<T>& tv, const T* q, const T* k, const T* v,
                           const T* g, const T* dout, int64_t qk_row, int64_t v_row, int64_t g_row) {
  for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) {
    tv.q[i] = q ? q[qk_row + i] : T(0);
    tv.k[i] = k[qk_row + i];
    tv.a[i] = g ? exp(g[g_row + (s.decay_width == 1 ? 0 : i)]) : T(1);
  }
  for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x) {
    tv.v[j] = v[v_row + j];
    if (dout) tv.G[j] = static_cast<T>(s.scale) * dout[v_row + j];
  }
}

struct HeadOffsets {
  int64_t qk, v, g, state;  // of token 0 / of the head's state
};
__device__ HeadOffsets head_offsets(const GatedScanArgs& s, int64_t bh) {
  const int64_t b = bh / s.H, h = bh % s.H, hq = h / (s.H / s.Hq);
  return {(b * s.Hq + hq) * s.T * s.dk, bh * s.T * s.dv, bh * s.T * s.decay_width, bh * s.dk * s.dv};
}

// S = diag(a) S + k vᵀ over the block's elements.
template <typename T>
__device__ void update_state(T* S, const TokenVectors<T>& tv, const ScanLayout& L) {
  for (int64_t e = threadIdx.x; e < L.dk * L.dv; e += blockDim.x) scan::update_element(S, L.ld, tv, L.dv, e);
}

template <typename T>
__device__ void copy_state(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, const ScanLayout& L) {
  for (int64_t e = threadIdx.x; e < L.dk * L.dv; e += blockDim.x) {
    const int64_t i = e / L.dv, j = e % L.dv;
    dst[i * dst_ld + j] = src[i * src_ld + j];
  }
}

// The token's scalars, each by one thread in a fixed order: q·(u∘k), and v·G
// when the backward needs it.
template <typename T>
__device__ void token_scalars(const TokenVectors<T>& tv, const ScanLayout& L, bool with_grad) {
  if (threadIdx.x == 0) tv.scalars[0] = scan::bonus_weight(tv, L.dk);
  if (with_grad && threadIdx.x == 32) tv.scalars[1] = scan::value_grad_dot(tv, L.dv);
}

template <typename T>
__global__ void __launch_bounds__(kScanThreads)
    scan_forward_kernel(GatedScanArgs s, const T* q, const T* k, const T* v, const T* g, const T* u, const T* s0,
                        T* o, T* final_state, T* chunk_states) {
  extern __shared__ unsigned char smem_bytes[];
  const ScanLayout L(s.dk, s.dv);
  T* S = reinterpret_cast<T*>(smem_bytes);
  const TokenVectors<T> tv = carve(S, L, 1);
  const int64_t bh = blockIdx.x, h = bh % s.H, N = (s.T + s.chunk - 1) / s.chunk;
  const HeadOffsets off = head_offsets(s, bh);

  for (int64_t e = threadIdx.x; e < s.dk * s.dv; e += blockDim.x)
    S[(e / s.dv) * L.ld + e % s.dv] = s0 ? s0[off.state + e] : T(0);
  if (s.bonus)
    for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) tv.u[i] = u[h * s.dk + i];
  for (int64_t t = 0; t < s.T; ++t) {
    __syncthreads();  // the previous token is done with the vectors and S
    if (chunk_states && t % s.chunk == 0)
      copy_state(chunk_states + (bh * N + t / s.chunk) * s.dk * s.dv, s.dv, S, L.ld, L);
    load_token<T>(s, tv, q, k, v, g, nullptr, off.qk + t * s.dk, off.v + t * s.dv, off.g + t * s.decay_width);
    __syncthreads();
    if (s.bonus) {  // o_t reads S_{t-1} and the bonus term, before the update
      token_scalars(tv, L, false);
      __syncthreads();
      for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x)
        o[off.v + t * s.dv + j] = scan::output_column(S, L.ld, tv, s.dk, j, s.scale, true);
      __syncthreads();
      update_state(S, tv, L);
    } else {
      update_state(S, tv, L);
      __syncthreads();
      for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x)
        o[off.v + t * s.dv + j] = scan::output_column(S, L.ld, tv, s.dk, j, s.scale, false);
    }
  }
  __syncthreads();
  if (final_state) copy_state(final_state + off.state, s.dv, S, L.ld, L);
}

// Per (batch, head): dq, dk of this head (into head_dq/head_dk, laid out
// (B, H, T, dk)), dv, dg, this head's du (head_du, (B, H, dk)) and ds0.
// `replay` is (B·H, chunk, dk, dv) scratch: replay[m] = S_{t0+m-1}.
template <typename T>
__global__ void __launch_bounds__(kScanThreads)
    scan_backward_kernel(GatedScanArgs s, const T* q, const T* k, const T* v, const T* g, const T* u,
                         const T* chunk_states, const T* dout, T* head_dq, T* head_dk, T* dv_out, T* dg, T* head_du,
                         T* ds0, T* replay) {
  extern __shared__ unsigned char smem_bytes[];
  const ScanLayout L(s.dk, s.dv);
  T* dS = reinterpret_cast<T*>(smem_bytes);
  T* Sp = dS + L.state();  // S_{t-1}
  const TokenVectors<T> tv = carve(dS, L, 2);
  const int64_t bh = blockIdx.x, h = bh % s.H, N = (s.T + s.chunk - 1) / s.chunk;
  const HeadOffsets off = head_offsets(s, bh);
  const int64_t head_qk = bh * s.T * s.dk;  // this head's rows in head_dq / head_dk
  T* my_replay = replay + bh * min(s.chunk, s.T) * s.dk * s.dv;  // the scratch holds min(chunk, T) states per head

  for (int64_t e = threadIdx.x; e < s.dk * s.dv; e += blockDim.x) dS[(e / s.dv) * L.ld + e % s.dv] = T(0);
  for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) {
    if (s.bonus) tv.u[i] = u[h * s.dk + i];
    if (head_du) head_du[bh * s.dk + i] = T(0);
  }
  for (int64_t ci = N - 1; ci >= 0; --ci) {
    const int64_t t0 = ci * s.chunk, len = min(s.chunk, s.T - t0);
    // Replay the chunk's states from its entry state.
    __syncthreads();
    copy_state(Sp, L.ld, chunk_states + (bh * N + ci) * s.dk * s.dv, s.dv, L);
    for (int64_t m = 0; m < len; ++m) {
      __syncthreads();
      copy_state(my_replay + m * s.dk * s.dv, s.dv, Sp, L.ld, L);
      if (m + 1 == len) break;
      const int64_t t = t0 + m;
      load_token<T>(s, tv, nullptr, k, v, g, nullptr, off.qk + t * s.dk, off.v + t * s.dv, off.g + t * s.decay_width);
      __syncthreads();
      update_state(Sp, tv, L);
    }
    for (int64_t t = t0 + len - 1; t >= t0; --t) {
      __syncthreads();  // the previous step is done with dS, Sp and the vectors
      copy_state(Sp, L.ld, my_replay + (t - t0) * s.dk * s.dv, s.dv, L);
      load_token<T>(s, tv, q, k, v, g, dout, off.qk + t * s.dk, off.v + t * s.dv, off.g + t * s.decay_width);
      __syncthreads();
      if (s.bonus) {
        token_scalars(tv, L, true);
      } else {  // o_t reads S_t: dS gains q Gᵀ before the sums
        for (int64_t e = threadIdx.x; e < s.dk * s.dv; e += blockDim.x) scan::add_output_grad(dS, L.ld, tv, s.dv, e);
      }
      __syncthreads();
      // Row sums (one thread per key channel i) and column sums (one per value column j).
      for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) {
        const scan::RowGrads<T> r = scan::row_grads(dS, Sp, L.ld, tv, s.dv, i, s.bonus);
        if (head_du) head_du[bh * s.dk + i] += r.du;
        head_dq[head_qk + t * s.dk + i] = r.dq;
        head_dk[head_qk + t * s.dk + i] = r.dk;
        tv.row[i] = r.dg;
      }
      for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x)
        dv_out[off.v + t * s.dv + j] = scan::column_grad(dS, L.ld, tv, s.dk, j, s.bonus);
      __syncthreads();
      if (dg) {
        if (s.decay_width == 1) {
          if (threadIdx.x == 0) {
            T acc = T(0);
            for (int64_t i = 0; i < s.dk; ++i) acc += tv.row[i];
            dg[off.g + t] = acc;
          }
        } else {
          for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) dg[off.g + t * s.dk + i] = tv.row[i];
        }
      }
      // The gradient of S_{t-1}: through S_t's decay, and o_t's read with the bonus.
      for (int64_t e = threadIdx.x; e < s.dk * s.dv; e += blockDim.x) scan::carry_element(dS, L.ld, tv, s.dv, e, s.bonus);
    }
  }
  __syncthreads();
  if (ds0) copy_state(ds0 + off.state, s.dv, dS, L.ld, L);
}

// out[(b, hq)] = Σ_{j < group} per_head[(b, hq·group + j)], rows of `per_head` elements, in head order.
template <typename T>
__global__ void sum_groups_kernel(const T* per_head, T* out, int64_t outer, int64_t group, int64_t per) {
  MIXLAB_GRID_STRIDE(e, outer * per) {
    const int64_t o = e / per, x = e % per;
    T acc = T(0);
    for (int64_t j = 0; j < group; ++j) acc += per_head[(o * group + j) * per + x];
    out[e] = acc;
  }
}

// du[h, i] = Σ_b head_du[b, h, i], in batch order.
template <typename T>
__global__ void sum_batches_kernel(const T* head_du, T* du, int64_t B, int64_t per) {
  MIXLAB_GRID_STRIDE(e, per) {
    T acc = T(0);
    for (int64_t b = 0; b < B; ++b) acc += head_du[b * per + e];
    du[e] = acc;
  }
}

template <typename T>
size_t scan_smem(const GatedScanArgs& s, int states) {
  return sizeof(T) * static_cast<size_t>(ScanLayout(s.dk, s.dv).elements(states));
}

// What the scan's shared memory holds, for allow_smem's error.
std::string state_shape(const GatedScanArgs& s) { return detail::concat("a (", s.dk, ", ", s.dv, ") state"); }

}  // namespace

template <typename T>
void gated_scan_forward(int device, const GatedScanArgs& s, const T* q, const T* k, const T* v, const T* g,
                        const T* u, const T* s0, T* o, T* final_state, T* chunk_states) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const size_t smem = scan_smem<T>(s, 1);
  allow_smem(scan_forward_kernel<T>, smem, device, state_shape(s), "gated_scan_forward");
  scan_forward_kernel<T><<<static_cast<unsigned>(s.B * s.H), kScanThreads, smem>>>(s, q, k, v, g, u, s0, o,
                                                                                     final_state, chunk_states);
  check_launch("gated_scan_forward");
}

int64_t gated_scan_backward_scratch(const GatedScanArgs& s) {
  const int64_t heads = s.B * s.H;
  // replay states, per-head dq and dk, per-head du
  return heads * std::min(s.chunk, s.T) * s.dk * s.dv + 2 * heads * s.T * s.dk + heads * s.dk;
}

template <typename T>
void gated_scan_backward(int device, const GatedScanArgs& s, const T* q, const T* k, const T* v, const T* g,
                         const T* u, const T* chunk_states, const T* dout, T* dq, T* dk, T* dv, T* dg, T* du, T* ds0,
                         T* scratch) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const int64_t heads = s.B * s.H, group = s.H / s.Hq;
  T* replay = scratch;
  T* head_dq = replay + heads * std::min(s.chunk, s.T) * s.dk * s.dv;
  T* head_dk = head_dq + heads * s.T * s.dk;
  T* head_du = head_dk + heads * s.T * s.dk;
  const size_t smem = scan_smem<T>(s, 2);
  allow_smem(scan_backward_kernel<T>, smem, device, state_shape(s), "gated_scan_backward");
  scan_backward_kernel<T><<<static_cast<unsigned>(heads), kScanThreads, smem>>>(
      s, q, k, v, g, u, chunk_states, dout, head_dq, head_dk, dv, dg, du ? head_du : nullptr, ds0, replay);
  check_launch("gated_scan_backward");
  const int64_t per = s.T * s.dk;
  sum_groups_kernel<T><<<blocks_for(s.B * s.Hq * per), kThreads>>>(head_dq, dq, s.B * s.Hq, group, per);
  sum_groups_kernel<T><<<blocks_for(s.B * s.Hq * per), kThreads>>>(head_dk, dk, s.B * s.Hq, group, per);
  check_launch("gated_scan_backward (head sums)");
  if (du) {
    sum_batches_kernel<T><<<blocks_for(s.H * s.dk), kThreads>>>(head_du, du, s.B, s.H * s.dk);
    check_launch("gated_scan_backward (du)");
  }
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/gated_scan.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
