// The CUDA device abstraction for builds without CUDA: no device is visible,
// and any call that would need one says how to get it.
#ifndef MIXLAB_WITH_CUDA
#include "autograd/error.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {
[[noreturn]] void unavailable(const char* what) {
  throw Error(detail::concat(what, ": mixlab was built without CUDA (configure with -DMIXLAB_CUDA=ON and nvcc on PATH)"));
}
}  // namespace

bool built_with_cuda() { return false; }
int device_count() { return 0; }
void* device_malloc(int, size_t) { unavailable("cuda::device_malloc"); }
void device_free(int, void*) { unavailable("cuda::device_free"); }
void copy_host_to_device(int, void*, const void*, size_t) { unavailable("cuda::copy_host_to_device"); }
void copy_device_to_host(int, void*, const void*, size_t) { unavailable("cuda::copy_device_to_host"); }
void copy_device_to_device(int, void*, const void*, size_t) { unavailable("cuda::copy_device_to_device"); }
void fill_zero(int, void*, size_t) { unavailable("cuda::fill_zero"); }
void synchronize(int) { unavailable("cuda::synchronize"); }
int64_t first_index_outside(int, const int64_t*, int64_t, int64_t, int64_t*) {
  unavailable("cuda::first_index_outside");
}
void gemm_f32(int, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t, float,
              float*, int64_t, int64_t) {
  unavailable("cuda::gemm_f32");
}
void set_tf32(bool) {}  // no GPU GEMMs to switch
bool tf32_enabled() { return false; }
void gemm_f64(int, bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*, int64_t,
              double, double*, int64_t, int64_t) {
  unavailable("cuda::gemm_f64");
}

template <typename T>
void binary(int, kernels::BinaryOp, const kernels::BroadcastIndex&, const T*, const T*, T*) {
  unavailable("cuda::binary");
}
template <typename T>
void broadcast_copy(int, const kernels::BroadcastIndex&, const T*, T*) {
  unavailable("cuda::broadcast_copy");
}
template <typename T>
void affine(int, const T*, T*, int64_t, double, double) {
  unavailable("cuda::affine");
}
template <typename T>
void unary_forward(int, kernels::UnaryOp, kernels::UnaryParams, const T*, T*, int64_t) {
  unavailable("cuda::unary_forward");
}
template <typename T>
void unary_backward(int, kernels::UnaryOp, kernels::UnaryParams, const T*, const T*, const T*, T*, int64_t) {
  unavailable("cuda::unary_backward");
}
#define MIXLAB_NO_CUDA_ELEMENTWISE(T)                                                                            \
  template void binary<T>(int, kernels::BinaryOp, const kernels::BroadcastIndex&, const T*, const T*, T*);      \
  template void broadcast_copy<T>(int, const kernels::BroadcastIndex&, const T*, T*);                            \
  template void affine<T>(int, const T*, T*, int64_t, double, double);                                          \
  template void unary_forward<T>(int, kernels::UnaryOp, kernels::UnaryParams, const T*, T*, int64_t);           \
  template void unary_backward<T>(int, kernels::UnaryOp, kernels::UnaryParams, const T*, const T*, const T*, T*, \
                                  int64_t);
MIXLAB_NO_CUDA_ELEMENTWISE(float)
MIXLAB_NO_CUDA_ELEMENTWISE(double)
#undef MIXLAB_NO_CUDA_ELEMENTWISE

template <typename T>
void sum_axis(int, const T*, T*, int64_t, int64_t, int64_t, double) {
  unavailable("cuda::sum_axis");
}
template <typename T>
void max_axis(int, const T*, T*, int64_t*, int64_t, int64_t, int64_t) {
  unavailable("cuda::max_axis");
}
template <typename T>
void max_axis_backward(int, const T*, const int64_t*, T*, int64_t, int64_t, int64_t) {
  unavailable("cuda::max_axis_backward");
}
#define MIXLAB_NO_CUDA_REDUCE(T)                                                       \
  template void sum_axis<T>(int, const T*, T*, int64_t, int64_t, int64_t, double);    \
  template void max_axis<T>(int, const T*, T*, int64_t*, int64_t, int64_t, int64_t);  \
  template void max_axis_backward<T>(int, const T*, const int64_t*, T*, int64_t, int64_t, int64_t);
MIXLAB_NO_CUDA_REDUCE(float)
MIXLAB_NO_CUDA_REDUCE(double)
#undef MIXLAB_NO_CUDA_REDUCE

template <typename T>
void softmax_forward(int, const T*, T*, int64_t, int64_t, int64_t, bool) {
  unavailable("cuda::softmax_forward");
}
template <typename T>
void softmax_backward(int, const T*, const T*, T*, int64_t, int64_t, int64_t, bool) {
  unavailable("cuda::softmax_backward");
}
template <typename T>
void cross_entropy_forward(int, const T*, const int64_t*, double*, double*, int64_t, int64_t, int64_t) {
  unavailable("cuda::cross_entropy_forward");
}
template <typename T>
void cross_entropy_backward(int, const T*, const int64_t*, const double*, double, T*, int64_t, int64_t, int64_t) {
  unavailable("cuda::cross_entropy_backward");
}
#define MIXLAB_NO_CUDA_NN(T)                                                                                  \
  template void softmax_forward<T>(int, const T*, T*, int64_t, int64_t, int64_t, bool);                      \
  template void softmax_backward<T>(int, const T*, const T*, T*, int64_t, int64_t, int64_t, bool);           \
  template void cross_entropy_forward<T>(int, const T*, const int64_t*, double*, double*, int64_t, int64_t,   \
                                         int64_t);                                                           \
  template void cross_entropy_backward<T>(int, const T*, const int64_t*, const double*, double, T*, int64_t,  \
                                          int64_t, int64_t);
MIXLAB_NO_CUDA_NN(float)
MIXLAB_NO_CUDA_NN(double)
#undef MIXLAB_NO_CUDA_NN

template <typename T>
void layer_norm_forward(int, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double) {
  unavailable("cuda::layer_norm_forward");
}
template <typename T>
void layer_norm_backward(int, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t) {
  unavailable("cuda::layer_norm_backward");
}
template <typename T>
void rms_norm_forward(int, const T*, const T*, T*, T*, int64_t, int64_t, double) {
  unavailable("cuda::rms_norm_forward");
}
template <typename T>
void rms_norm_backward(int, const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t) {
  unavailable("cuda::rms_norm_backward");
}
template <typename T>
void dropout_apply(int, const T*, T*, int64_t, double, uint64_t, uint64_t) {
  unavailable("cuda::dropout_apply");
}
#define MIXLAB_NO_CUDA_NORMS(T)                                                                                \
  template void layer_norm_forward<T>(int, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double); \
  template void layer_norm_backward<T>(int, const T*, const T*, const T*, const T*, const T*, T*, T*, T*,      \
                                       int64_t, int64_t);                                                      \
  template void rms_norm_forward<T>(int, const T*, const T*, T*, T*, int64_t, int64_t, double);                 \
  template void rms_norm_backward<T>(int, const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t);    \
  template void dropout_apply<T>(int, const T*, T*, int64_t, double, uint64_t, uint64_t);
MIXLAB_NO_CUDA_NORMS(float)
MIXLAB_NO_CUDA_NORMS(double)
#undef MIXLAB_NO_CUDA_NORMS

template <typename T>
void permute_copy(int, const T*, T*, const PermuteIndex&) {
  unavailable("cuda::permute_copy");
}
template <typename T>
void copy_axis_range(int, const T*, int64_t, int64_t, T*, int64_t, int64_t, int64_t, int64_t, int64_t) {
  unavailable("cuda::copy_axis_range");
}
template <typename T>
void index_select(int, const T*, const int64_t*, T*, int64_t, int64_t, int64_t, int64_t) {
  unavailable("cuda::index_select");
}
template <typename T>
void scatter_add(int, T*, const int64_t*, const T*, int64_t, int64_t, int64_t, int64_t) {
  unavailable("cuda::scatter_add");
}
#define MIXLAB_NO_CUDA_MOVEMENT(T)                                                                            \
  template void permute_copy<T>(int, const T*, T*, const PermuteIndex&);                                      \
  template void copy_axis_range<T>(int, const T*, int64_t, int64_t, T*, int64_t, int64_t, int64_t, int64_t,  \
                                   int64_t);                                                                  \
  template void index_select<T>(int, const T*, const int64_t*, T*, int64_t, int64_t, int64_t, int64_t);
MIXLAB_NO_CUDA_MOVEMENT(float)
MIXLAB_NO_CUDA_MOVEMENT(double)
MIXLAB_NO_CUDA_MOVEMENT(int64_t)
#undef MIXLAB_NO_CUDA_MOVEMENT
template void scatter_add<float>(int, float*, const int64_t*, const float*, int64_t, int64_t, int64_t, int64_t);
template void scatter_add<double>(int, double*, const int64_t*, const double*, int64_t, int64_t, int64_t, int64_t);

template <typename T>
void cumsum(int, const T*, T*, int64_t, int64_t, int64_t, bool) {
  unavailable("cuda::cumsum");
}
template <typename T>
void causal_conv1d_forward(int, const T*, const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t) {
  unavailable("cuda::causal_conv1d_forward");
}
template <typename T>
void causal_conv1d_backward(int, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, int64_t, int64_t) {
  unavailable("cuda::causal_conv1d_backward");
}
#define MIXLAB_NO_CUDA_SCAN(T)                                                                                \
  template void cumsum<T>(int, const T*, T*, int64_t, int64_t, int64_t, bool);                               \
  template void causal_conv1d_forward<T>(int, const T*, const T*, const T*, T*, int64_t, int64_t, int64_t,   \
                                         int64_t);                                                           \
  template void causal_conv1d_backward<T>(int, const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t,   \
                                          int64_t, int64_t);
MIXLAB_NO_CUDA_SCAN(float)
MIXLAB_NO_CUDA_SCAN(double)
#undef MIXLAB_NO_CUDA_SCAN

template <typename T>
void adamw_update_all(int, const AdamWTensor<T>*, int64_t, int64_t, const AdamWHyper&) {
  unavailable("cuda::adamw_update_all");
}
template <typename T>
double sum_of_squares(int, const T*, int64_t) {
  unavailable("cuda::sum_of_squares");
}
template void adamw_update_all<float>(int, const AdamWTensor<float>*, int64_t, int64_t, const AdamWHyper&);
template void adamw_update_all<double>(int, const AdamWTensor<double>*, int64_t, int64_t, const AdamWHyper&);
template double sum_of_squares<float>(int, const float*, int64_t);
template double sum_of_squares<double>(int, const double*, int64_t);

template <typename T>
void flash_attention_forward(int, const FlashArgs&, const T*, const T*, const T*, T*, T*) {
  unavailable("cuda::flash_attention_forward");
}
template <typename T>
void flash_attention_backward(int, const FlashArgs&, const T*, const T*, const T*, const T*, const T*, const T*, T*,
                              T*, T*, T*) {
  unavailable("cuda::flash_attention_backward");
}
#define MIXLAB_NO_CUDA_FLASH(T)                                                                                 \
  template void flash_attention_forward<T>(int, const FlashArgs&, const T*, const T*, const T*, T*, T*);        \
  template void flash_attention_backward<T>(int, const FlashArgs&, const T*, const T*, const T*, const T*,      \
                                            const T*, const T*, T*, T*, T*, T*);
MIXLAB_NO_CUDA_FLASH(float)
MIXLAB_NO_CUDA_FLASH(double)
#undef MIXLAB_NO_CUDA_FLASH

void to_bf16(int, const float*, uint16_t*, int64_t) { unavailable("cuda::to_bf16"); }
void flash_attention_forward_bf16(int, const FlashArgs&, const uint16_t*, const uint16_t*, const uint16_t*, float*,
                                  float*) {
  unavailable("cuda::flash_attention_forward_bf16");
}
void flash_attention_backward_bf16(int, const FlashArgs&, const uint16_t*, const uint16_t*, const uint16_t*,
                                   const float*, const float*, const float*, const uint16_t*, float*, float*, float*,
                                   float*) {
  unavailable("cuda::flash_attention_backward_bf16");
}

template <typename T>
void gated_scan_forward(int, const GatedScanArgs&, const T*, const T*, const T*, const T*, const T*, const T*, T*, T*,
                        T*) {
  unavailable("cuda::gated_scan_forward");
}
int64_t gated_scan_backward_scratch(const GatedScanArgs&) { unavailable("cuda::gated_scan_backward_scratch"); }
template <typename T>
void gated_scan_backward(int, const GatedScanArgs&, const T*, const T*, const T*, const T*, const T*, const T*,
                         const T*, T*, T*, T*, T*, T*, T*, T*) {
  unavailable("cuda::gated_scan_backward");
}
#define MIXLAB_NO_CUDA_GATED_SCAN(T)                                                                            \
  template void gated_scan_forward<T>(int, const GatedScanArgs&, const T*, const T*, const T*, const T*,       \
                                      const T*, const T*, T*, T*, T*);                                         \
  template void gated_scan_backward<T>(int, const GatedScanArgs&, const T*, const T*, const T*, const T*,      \
                                       const T*, const T*, const T*, T*, T*, T*, T*, T*, T*, T*);
MIXLAB_NO_CUDA_GATED_SCAN(float)
MIXLAB_NO_CUDA_GATED_SCAN(double)
#undef MIXLAB_NO_CUDA_GATED_SCAN

int64_t moe_route_scratch(int64_t, int64_t, int64_t) { unavailable("cuda::moe_route_scratch"); }
template <typename T>
void moe_route(int, const T*, int64_t, int64_t, int64_t, int64_t, int64_t*, int64_t*, int64_t*, int64_t*, int64_t*,
               int64_t*) {
  unavailable("cuda::moe_route");
}
template void moe_route<float>(int, const float*, int64_t, int64_t, int64_t, int64_t, int64_t*, int64_t*, int64_t*,
                               int64_t*, int64_t*, int64_t*);
template void moe_route<double>(int, const double*, int64_t, int64_t, int64_t, int64_t, int64_t*, int64_t*,
                                int64_t*, int64_t*, int64_t*, int64_t*);

}  // namespace mixlab::cuda
#endif
