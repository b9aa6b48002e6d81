// The delta-rule scan on the device, in its recurrent form for every decay
// width (kernels/cpu/delta_scan.h for the math and layout):
//   x = S_{t-1}ᵀ b_t,  S_t = diag(e^{g_t}) S_{t-1} + a_t xᵀ + k_t v_tᵀ,  o_t = scale S_tᵀ q_t,
// one block per (batch, head) walking the tokens in order with the whole
// (dk, dv) state in shared memory (rows padded to dv + 1 against bank
// conflicts). The CPU's chunked WY/UT form equals it up to rounding.
//
// The backward walks the tokens in reverse carrying dS, with the equations of
// kernels/cpu/delta_scan.cpp. Per chunk (in reverse) it first replays the
// chunk's states from the saved entry state into global scratch
// (replay[m] = S_{t0+m-1}, m = 0..len), then reads S_t and S_{t-1} from there.
// Every sum runs in a fixed order (a row or a column by one thread), so the
// result is deterministic.
//
// Never run on a GPU yet: the family stays off behind the verification gate
// (autograd/cuda_verification.cpp) until scripts/gpu-check.sh passes it.
#include <algorithm>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/launch.cuh"

namespace mixlab::cuda {

namespace {

constexpr int kDeltaThreads = 256;

// Shared memory of one block: `states` states of dk rows of ld = dv + 1,
// then the token's vectors q, k, a, b, decay, row scratch (dk each) and
// v, G, x, dx (dv each).
struct DeltaLayout {
  int64_t dk, dv, ld;
  __host__ __device__ DeltaLayout(int64_t dk_, int64_t dv_) : dk(dk_), dv(dv_), ld(dv_ + 1) {}
  __host__ __device__ int64_t state() const { return dk * ld; }
  __host__ __device__ int64_t elements(int states) const { return states * state() + 6 * dk + 4 * dv; }
};

template <typename T>
struct DeltaVectors {
  T *q, *k, *a, *b, *decay, *row, *v, *G, *x, *dx;
};

template <typename T>
__device__ DeltaVectors<T> carve(T* base, const DeltaLayout& L, int states) {
  DeltaVectors<T> tv;
  T* p = base + states * L.state();
  tv.q = p;
  tv.k = tv.q + L.dk;
  tv.a = tv.k + L.dk;
  tv.b = tv.a + L.dk;
  tv.decay = tv.b + L.dk;
  tv.row = tv.decay + L.dk;
  tv.v = tv.row + L.dk;
  tv.G = tv.v + L.dv;
  tv.x = tv.G + L.dv;
  tv.dx = tv.x + L.dv;
  return tv;
}

struct HeadOffsets {
  int64_t key, value, decay, state;
};
__device__ HeadOffsets head_offsets(const DeltaScanArgs& s, int64_t bh) {
  return {bh * s.T * s.dk, bh * s.T * s.dv, bh * s.T * s.decay_width, bh * s.dk * s.dv};
}

// Token t's vectors; G = scale · dout when dout is given.
template <typename T>
__device__ void load_token(const DeltaScanArgs& s, const DeltaVectors<T>& tv, const HeadOffsets& off, int64_t t,
                           const T* q, const T* k, const T* v, const T* g, const T* a, const T* b, const T* dout) {
  const int64_t kt = off.key + t * s.dk, vt = off.value + t * s.dv, gt = off.decay + t * s.decay_width;
  for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) {
    tv.q[i] = q ? q[kt + i] : T(0);
    tv.k[i] = k[kt + i];
    tv.a[i] = a[kt + i];
    tv.b[i] = b[kt + i];
    tv.decay[i] = g ? exp(g[gt + (s.decay_width == 1 ? 0 : i)]) : T(1);
  }
  for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x) {
    tv.v[j] = v[vt + j];
    if (dout) tv.G[j] = static_cast<T>(s.scale) * dout[vt + j];
  }
}

// x_j = Σ_i b_i S_ij, one thread per column.
template <typename T>
__device__ void read_state(const T* S, int64_t ld, const DeltaVectors<T>& tv, const DeltaLayout& L) {
  for (int64_t j = threadIdx.x; j < L.dv; j += blockDim.x) {
    T acc = T(0);
    for (int64_t i = 0; i < L.dk; ++i) acc += tv.b[i] * S[i * ld + j];
    tv.x[j] = acc;
  }
}

// next = diag(decay) prev + a xᵀ + k vᵀ (next may be prev).
template <typename T>
__device__ void update_state(T* next, int64_t next_ld, const T* prev, int64_t prev_ld, const DeltaVectors<T>& tv,
                             const DeltaLayout& L) {
  for (int64_t e = threadIdx.x; e < L.dk * L.dv; e += blockDim.x) {
    const int64_t i = e / L.dv, j = e % L.dv;
    next[i * next_ld + j] = tv.decay[i] * prev[i * prev_ld + j] + tv.a[i] * tv.x[j] + tv.k[i] * tv.v[j];
  }
}

template <typename T>
__device__ void copy_state(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, const DeltaLayout& L) {
  for (int64_t e = threadIdx.x; e < L.dk * L.dv; e += blockDim.x) {
    const int64_t i = e / L.dv, j = e % L.dv;
    dst[i * dst_ld + j] = src[i * src_ld + j];
  }
}

template <typename T>
__global__ void __launch_bounds__(kDeltaThreads)
    delta_forward_kernel(DeltaScanArgs s, const T* q, const T* k, const T* v, const T* g, const T* a, const T* b,
                         const T* s0, T* o, T* final_state, T* chunk_states) {
  extern __shared__ unsigned char smem_bytes[];
  const DeltaLayout L(s.dk, s.dv);
  T* S = reinterpret_cast<T*>(smem_bytes);
  const DeltaVectors<T> tv = carve(S, L, 1);
  const int64_t bh = blockIdx.x, N = (s.T + s.chunk - 1) / s.chunk;
  const HeadOffsets off = head_offsets(s, bh);
  for (int64_t e = threadIdx.x; e < s.dk * s.dv; e += blockDim.x)
    S[(e / s.dv) * L.ld + e % s.dv] = s0 ? s0[off.state + e] : T(0);
  for (int64_t t = 0; t < s.T; ++t) {
    __syncthreads();  // the previous token is done with the vectors and S
    if (chunk_states && t % s.chunk == 0)
      copy_state(chunk_states + (bh * N + t / s.chunk) * s.dk * s.dv, s.dv, S, L.ld, L);
    load_token<T>(s, tv, off, t, q, k, v, g, a, b, nullptr);
    __syncthreads();
    read_state(S, L.ld, tv, L);
    __syncthreads();
    update_state(S, L.ld, S, L.ld, tv, L);
    __syncthreads();
    for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x) {
      T acc = T(0);
      for (int64_t i = 0; i < s.dk; ++i) acc += tv.q[i] * S[i * L.ld + j];
      o[off.value + t * s.dv + j] = static_cast<T>(s.scale) * acc;
    }
  }
  __syncthreads();
  if (final_state) copy_state(final_state + off.state, s.dv, S, L.ld, L);
}

// `replay` is (B·H, min(chunk, T) + 1, dk, dv) scratch.
template <typename T>
__global__ void __launch_bounds__(kDeltaThreads)
    delta_backward_kernel(DeltaScanArgs s, const T* q, const T* k, const T* v, const T* g, const T* a, const T* b,
                          const T* chunk_states, const T* dout, T* dq, T* dk, T* dv, T* dg, T* da, T* db, T* ds0,
                          T* replay) {
  extern __shared__ unsigned char smem_bytes[];
  const DeltaLayout L(s.dk, s.dv);
  T* dS = reinterpret_cast<T*>(smem_bytes);
  const DeltaVectors<T> tv = carve(dS, L, 1);
  const int64_t bh = blockIdx.x, N = (s.T + s.chunk - 1) / s.chunk, per = s.dk * s.dv;
  const HeadOffsets off = head_offsets(s, bh);
  T* my_replay = replay + bh * (min(s.chunk, s.T) + 1) * per;

  for (int64_t e = threadIdx.x; e < per; e += blockDim.x) dS[(e / s.dv) * L.ld + e % s.dv] = T(0);
  for (int64_t ci = N - 1; ci >= 0; --ci) {
    const int64_t t0 = ci * s.chunk, len = min(s.chunk, s.T - t0);
    __syncthreads();
    copy_state(my_replay, s.dv, chunk_states + (bh * N + ci) * per, s.dv, L);
    for (int64_t m = 0; m < len; ++m) {
      __syncthreads();
      load_token<T>(s, tv, off, t0 + m, nullptr, k, v, g, a, b, nullptr);
      __syncthreads();
      read_state(my_replay + m * per, s.dv, tv, L);
      __syncthreads();
      update_state(my_replay + (m + 1) * per, s.dv, my_replay + m * per, s.dv, tv, L);
    }
    for (int64_t t = t0 + len - 1; t >= t0; --t) {
      const T* Sp = my_replay + (t - t0) * per;  // S_{t-1}
      const T* St = Sp + per;                    // S_t
      const int64_t kt = off.key + t * s.dk, vt = off.value + t * s.dv;
      __syncthreads();  // the previous step is done with dS and the vectors
      load_token<T>(s, tv, off, t, q, k, v, g, a, b, dout);
      __syncthreads();
      read_state(Sp, s.dv, tv, L);
      for (int64_t e = threadIdx.x; e < per; e += blockDim.x) {  // o_t reads S_t
        const int64_t i = e / s.dv, j = e % s.dv;
        dS[i * L.ld + j] += tv.q[i] * tv.G[j];
      }
      __syncthreads();
      for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) {
        T q_acc = T(0), k_acc = T(0), a_acc = T(0), g_acc = T(0);
        for (int64_t j = 0; j < s.dv; ++j) {
          const T d = dS[i * L.ld + j];
          q_acc += St[i * s.dv + j] * tv.G[j];
          k_acc += d * tv.v[j];
          a_acc += d * tv.x[j];
          g_acc += d * Sp[i * s.dv + j];
        }
        dq[kt + i] = q_acc;
        dk[kt + i] = k_acc;
        da[kt + i] = a_acc;
        tv.row[i] = tv.decay[i] * g_acc;
      }
      for (int64_t j = threadIdx.x; j < s.dv; j += blockDim.x) {
        T v_acc = T(0), x_acc = T(0);
        for (int64_t i = 0; i < s.dk; ++i) {
          const T d = dS[i * L.ld + j];
          v_acc += tv.k[i] * d;
          x_acc += tv.a[i] * d;
        }
        dv[vt + j] = v_acc;
        tv.dx[j] = x_acc;
      }
      __syncthreads();
      for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) {
        T acc = T(0);
        for (int64_t j = 0; j < s.dv; ++j) acc += Sp[i * s.dv + j] * tv.dx[j];
        db[kt + i] = acc;
      }
      if (dg) {
        if (s.decay_width == 1) {
          if (threadIdx.x == 0) {
            T acc = T(0);
            for (int64_t i = 0; i < s.dk; ++i) acc += tv.row[i];
            dg[off.decay + t] = acc;
          }
        } else {
          for (int64_t i = threadIdx.x; i < s.dk; i += blockDim.x) dg[off.decay + t * s.dk + i] = tv.row[i];
        }
      }
      // The gradient of S_{t-1}.
      for (int64_t e = threadIdx.x; e < per; e += blockDim.x) {
        const int64_t i = e / s.dv, j = e % s.dv;
        dS[i * L.ld + j] = tv.decay[i] * dS[i * L.ld + j] + tv.b[i] * tv.dx[j];
      }
    }
  }
  __syncthreads();
  if (ds0) copy_state(ds0 + off.state, s.dv, dS, L.ld, L);
}

template <typename T>
size_t delta_smem(const DeltaScanArgs& s) {
  return sizeof(T) * static_cast<size_t>(DeltaLayout(s.dk, s.dv).elements(1));
}

// What the scan's shared memory holds, for allow_smem's error.
std::string state_shape(const DeltaScanArgs& s) { return detail::concat("a (", s.dk, ", ", s.dv, ") state"); }

}  // namespace

template <typename T>
void delta_scan_forward(int device, const DeltaScanArgs& s, const T* q, const T* k, const T* v, const T* g,
                        const T* a, const T* b, const T* s0, T* o, T* final_state, T* chunk_states) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const size_t smem = delta_smem<T>(s);
  allow_smem(delta_forward_kernel<T>, smem, device, state_shape(s), "delta_scan_forward");
  delta_forward_kernel<T><<<static_cast<unsigned>(s.B * s.H), kDeltaThreads, smem>>>(s, q, k, v, g, a, b, s0, o,
                                                                                       final_state, chunk_states);
  check_launch("delta_scan_forward");
}

int64_t delta_scan_backward_scratch(const DeltaScanArgs& s) {
  return s.B * s.H * (std::min(s.chunk, s.T) + 1) * s.dk * s.dv;  // the replayed states
}

template <typename T>
void delta_scan_backward(int device, const DeltaScanArgs& s, const T* q, const T* k, const T* v, const T* g,
                         const T* a, const T* b, const T* chunk_states, const T* dout, T* dq, T* dk, T* dv, T* dg,
                         T* da, T* db, T* ds0, T* scratch) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const size_t smem = delta_smem<T>(s);
  allow_smem(delta_backward_kernel<T>, smem, device, state_shape(s), "delta_scan_backward");
  delta_backward_kernel<T><<<static_cast<unsigned>(s.B * s.H), kDeltaThreads, smem>>>(
      s, q, k, v, g, a, b, chunk_states, dout, dq, dk, dv, dg, da, db, ds0, scratch);
  check_launch("delta_scan_backward");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/delta_scan.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
