#pragma once
// Tensor: a cheap handle (shared pointer) to storage + shape + dtype + device +
// autograd metadata. Storage is contiguous row-major; reshape/view share it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/device.h"
#include "autograd/dtype.h"
#include "autograd/shape.h"

namespace mixlab {

struct Storage;
struct TensorImpl;
struct AutogradMeta;
struct Node;
class Generator;

class Tensor {
 public:
  Tensor() = default;  // undefined: no storage

  // ---- creation --------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu()) {
    return full(shape, 1.0, dtype, device);
  }
  static Tensor scalar(double value, DType dtype = DType::F32, Device device = Device::cpu()) {
    return full(Shape{}, value, dtype, device);
  }
  // Values are converted to `dtype` (I64 rounds toward zero).
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::F32,
                            Device device = Device::cpu());
  static Tensor from_indices(const std::vector<int64_t>& values, const Shape& shape, Device device = Device::cpu());
  // Counter-based random fills (see autograd/rng.h): the same generator state
  // gives the same numbers whatever the thread count.
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::F32, Device device = Device::cpu(),
                      double mean = 0.0, double std = 1.0);
  static Tensor uniform(const Shape& shape, Generator& gen, double low, double high, DType dtype = DType::F32,
                        Device device = Device::cpu());

  // ---- metadata --------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int ndim() const { return shape().ndim(); }
  int64_t size(int axis) const { return shape().size(axis); }
  int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }
  std::string describe() const;  // "(2,3) f32 cpu"

  // Raw element pointer (offset applied). Host-dereferenceable only on CPU:
  // code outside kernels/ must not dereference it.
  void* raw() const;
  template <typename T>
  T* data() const {
    MIXLAB_CHECK(dtype() == dtype_of<T>::value, "data<T>(): tensor ", describe(), " accessed as ",
                 dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw());
  }

  // ---- conversions and copies ------------------------------------------
  std::vector<double> to_vector() const;  // any device, any dtype
  std::vector<int64_t> to_indices() const;
  double item() const;
  Tensor to(Device device) const;  // differentiable
  Tensor to(DType dtype) const;    // differentiable between float dtypes
  Tensor clone() const;            // differentiable copy
  Tensor detach() const;           // shares storage, no autograd history
  Tensor reshape(const Shape& shape) const;  // shares storage; one extent may be -1
  Tensor view(const Shape& shape) const { return reshape(shape); }
  // Overwrites this tensor's elements with `src` (same shape, dtype converted).
  // Not recorded on the tape.
  void copy_(const Tensor& src) const;
  void zero_() const;
  bool shares_storage_with(const Tensor& other) const;

  // ---- autograd --------------------------------------------------------
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const;
  Tensor grad() const;  // accumulated gradient of a leaf (undefined until backward)
  void set_grad(const Tensor& g) const;
  void zero_grad() const;
  // Back-propagates from this tensor. Without `grad`, the tensor must hold one element.
  void backward(const Tensor& grad = Tensor()) const;
  std::shared_ptr<Node> grad_fn() const;

  // internals for ops and the tape
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  AutogradMeta& autograd_meta() const;  // created on demand
  std::shared_ptr<AutogradMeta> autograd_meta_ptr() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct Storage {
  void* ptr = nullptr;
  size_t block_bytes = 0;
  Device device;
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                      // accumulated into by backward() (leaves)
  std::shared_ptr<Node> grad_fn;    // the op that produced this tensor, if recorded
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::F32;
  Device device;
  std::shared_ptr<AutogradMeta> autograd;
};

// Gradient recording is on by default and per thread.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace mixlab
