#pragma once
// How the CUDA entry points are listed once and expanded three times.
//
// Each kernel family has one list, kernels/cuda/<family>.def, next to its
// kernels/cuda/<family>.cu. An entry is one of
//
//   MIXLAB_CUDA_FUNCTION(return type, name, (parameters))
//   MIXLAB_CUDA_TEMPLATE(types, return type, name, (parameters))
//
// where a template's parameters use its scalar type T and `types` names the
// T it is built for: FLOATS (float, double) or FLOATS_AND_I64 (float,
// double, int64_t: the data-movement kernels, which also move indices).
// The lists expand into
//   - the declarations, in kernels/cuda/cuda_api.h, and
//   - the no-CUDA stubs, in autograd/cuda_unavailable.cpp (each throws,
//     naming the entry point), both through kernels/cuda/kernel_lists.def;
//   - the explicit instantiations, in the family's .cu
//     (kernels/cuda/instantiate_kernel_list.h).
// A consumer defines both entry macros, includes the list(s) and undefines
// them. So a new kernel is its entry in the list and its definition in the
// .cu. The few functions that are not "throw without CUDA" are written by
// hand in cuda_api.h, which says why.

// F(name, T) for each scalar type of a list.
#define MIXLAB_CUDA_TYPES_FLOATS(F, name) F(name, float) F(name, double)
#define MIXLAB_CUDA_TYPES_FLOATS_AND_I64(F, name) F(name, float) F(name, double) F(name, int64_t)

// The explicit instantiation of name<T>: its signature is the declared one
// with T substituted, so it is taken from the declaration (decltype) rather
// than written a second time.
#define MIXLAB_CUDA_INSTANTIATE_ONE(name, T) template decltype(name<T>) name<T>;
#define MIXLAB_CUDA_INSTANTIATE(types, name) MIXLAB_CUDA_TYPES_##types(MIXLAB_CUDA_INSTANTIATE_ONE, name)
