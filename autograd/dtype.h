#pragma once
// Element types. F32 and F64 are the differentiable float types (F64 for gradient
// checks and references); I64 holds indices (token ids, targets, gather indices)
// and never carries a gradient.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "autograd/error.h"

namespace mixlab {

enum class DType : uint8_t { F32, F64, I64 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I64: return 8;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I64: return "i64";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::F32 || t == DType::F64; }

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::I64; };

}  // namespace mixlab

// Runs BODY with `scalar_t` bound to the C++ type of a floating dtype.
#define MIXLAB_DISPATCH_FLOAT(DTYPE, OPNAME, ...)                                  \
  [&] {                                                                            \
    switch (DTYPE) {                                                               \
      case ::mixlab::DType::F32: { using scalar_t = float; return __VA_ARGS__(); }  \
      case ::mixlab::DType::F64: { using scalar_t = double; return __VA_ARGS__(); } \
      default:                                                                     \
        throw ::mixlab::Error(::mixlab::detail::concat(                            \
            OPNAME, ": dtype ", ::mixlab::dtype_name(DTYPE), " is not supported (allowed: f32, f64)")); \
    }                                                                              \
  }()
