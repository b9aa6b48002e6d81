// Instantiates the templates of one kernel list for the scalar types the list
// names (kernels/cuda/kernel_list.h). Included at the end of a family's .cu,
// inside namespace mixlab::cuda, after its definitions:
//
//   #define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/<family>.def"
//   #include "kernels/cuda/instantiate_kernel_list.h"
//
// No include guard: each .cu includes it once, for its own list.
#include "kernels/cuda/kernel_list.h"

#define MIXLAB_CUDA_FUNCTION(ret, name, params)
#define MIXLAB_CUDA_TEMPLATE(types, ret, name, params) MIXLAB_CUDA_INSTANTIATE(types, name)
#include MIXLAB_CUDA_KERNEL_LIST
#undef MIXLAB_CUDA_FUNCTION
#undef MIXLAB_CUDA_TEMPLATE
#undef MIXLAB_CUDA_KERNEL_LIST
