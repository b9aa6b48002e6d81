#include "autograd/tensor.h"

#include <cstring>

#include "autograd/allocator.h"
#include "autograd/rng.h"
#include "autograd/tape.h"
#include "kernels/cpu/fill.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab {

namespace {

thread_local bool g_grad_enabled = true;

// Calls f(T{}) with T the C++ type of `dtype`.
template <typename F>
decltype(auto) with_type(DType dtype, F&& f) {
  switch (dtype) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::I64: return f(int64_t{});
  }
  throw Error("unknown dtype");
}

// Host staging: a CPU tensor with the same contents (no copy when already on CPU).
Tensor on_host(const Tensor& t) { return t.device().is_cpu() ? t : t.detach().to(Device::cpu()); }

// Copies raw bytes between any two devices. Memory and copies branch on the
// device here rather than through an op backend (autograd/ops/backend.h):
// the direction depends on two devices, the CPU side is the C library, and
// these CUDA runtime calls are not a gated kernel family (docs/cuda.md).
void copy_bytes(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu())
    std::memcpy(dst, src, bytes);
  else if (dst_dev.is_cuda() && src_dev.is_cpu())
    cuda::copy_host_to_device(dst_dev.index, dst, src, bytes);
  else if (dst_dev.is_cpu() && src_dev.is_cuda())
    cuda::copy_device_to_host(src_dev.index, dst, src, bytes);
  else {
    MIXLAB_CHECK(dst_dev == src_dev, "copy between ", src_dev.str(), " and ", dst_dev.str(),
                 " is not supported; copy through the CPU");
    cuda::copy_device_to_device(dst_dev.index, dst, src, bytes);
  }
}

}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Storage::Storage(size_t bytes, Device dev) : device(dev) {
  ptr = CachingAllocator::for_device(dev).allocate(bytes, &block_bytes);
}
Storage::~Storage() { CachingAllocator::for_device(device).deallocate(ptr, block_bytes); }

// ---- creation ----------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  MIXLAB_CHECK(device.is_cpu() || device.index < cuda_device_count(), "cannot create a tensor on ", device.str(),
               ": ", cuda::built_with_cuda() ? "no such CUDA device" : "mixlab was built without CUDA");
  for (int64_t extent : shape)
    MIXLAB_CHECK(extent >= 0, "cannot create a tensor of shape ", shape.str(), ": extents must be >= 0");
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->device = device;
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  with_type(dtype, [&](auto v) { cpu::fill(host.data<decltype(v)>(), host.numel(), value); });
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  MIXLAB_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
               " values do not fill shape ", shape.str());
  Tensor host = empty(shape, dtype, Device::cpu());
  with_type(dtype, [&](auto v) { cpu::cast(host.data<decltype(v)>(), values.data(), host.numel()); });
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::from_indices(const std::vector<int64_t>& values, const Shape& shape, Device device) {
  MIXLAB_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_indices: ", values.size(),
               " values do not fill shape ", shape.str());
  Tensor host = empty(shape, DType::I64, Device::cpu());
  if (!values.empty()) std::memcpy(host.raw(), values.data(), values.size() * sizeof(int64_t));
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, Device device, double mean, double std) {
  Tensor host = empty(shape, dtype, Device::cpu());
  uint64_t first = gen.take(static_cast<uint64_t>(host.numel()));
  MIXLAB_DISPATCH_FLOAT(dtype, "randn", [&] {
    cpu::fill_normal(host.data<scalar_t>(), host.numel(), gen.seed(), first, mean, std);
  });
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::uniform(const Shape& shape, Generator& gen, double low, double high, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  uint64_t first = gen.take(static_cast<uint64_t>(host.numel()));
  MIXLAB_DISPATCH_FLOAT(dtype, "uniform", [&] {
    cpu::fill_uniform(host.data<scalar_t>(), host.numel(), gen.seed(), first, low, high);
  });
  return device.is_cpu() ? host : host.to(device);
}

// ---- metadata ----------------------------------------------------------

static const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  MIXLAB_CHECK(impl != nullptr, "use of an undefined tensor");
  return *impl;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).device; }

std::string Tensor::describe() const {
  if (!defined()) return "(undefined)";
  return shape().str() + " " + std::string(dtype_name(dtype())) + " " + device().str();
}

void* Tensor::raw() const {
  const TensorImpl& t = checked(impl_);
  if (t.storage->ptr == nullptr) return nullptr;
  return static_cast<char*>(t.storage->ptr) + t.offset * static_cast<int64_t>(dtype_size(t.dtype));
}

// ---- conversions -------------------------------------------------------

std::vector<double> Tensor::to_vector() const {
  Tensor host = on_host(*this);
  std::vector<double> out(static_cast<size_t>(numel()));
  with_type(dtype(), [&](auto v) { cpu::cast(out.data(), host.data<decltype(v)>(), numel()); });
  return out;
}

std::vector<int64_t> Tensor::to_indices() const {
  Tensor host = on_host(*this);
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  with_type(dtype(), [&](auto v) { cpu::cast(out.data(), host.data<decltype(v)>(), numel()); });
  return out;
}

double Tensor::item() const {
  MIXLAB_CHECK(numel() == 1, "item(): tensor ", describe(), " does not hold exactly one element");
  return to_vector()[0];
}

void Tensor::copy_(const Tensor& src) const {
  MIXLAB_CHECK(src.shape() == shape(), "copy_: source ", src.describe(), " does not match destination ", describe());
  if (src.dtype() == dtype()) {
    copy_bytes(device(), raw(), src.device(), src.raw(), nbytes());
    return;
  }
  MIXLAB_CHECK(device().is_cpu(), "copy_: dtype conversion on ", device().str(), " is not supported yet");
  Tensor host_src = on_host(src);
  with_type(dtype(), [&](auto d) {
    with_type(src.dtype(), [&](auto s) {
      cpu::cast(data<decltype(d)>(), host_src.data<decltype(s)>(), numel());
    });
  });
}

void Tensor::zero_() const {
  if (device().is_cuda())
    cuda::fill_zero(device().index, raw(), nbytes());
  else if (nbytes() > 0)
    std::memset(raw(), 0, nbytes());
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor out = empty(shape(), dtype(), target);
  copy_bytes(target, out.raw(), device(), raw(), nbytes());
  Device source = device();
  record("to_device", out, {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (dtype() == target) return *this;
  MIXLAB_CHECK(!requires_grad() || (is_floating(dtype()) && is_floating(target)), "to(", dtype_name(target),
               "): cannot differentiate a conversion from ", describe());
  Tensor out = empty(shape(), target, device());
  out.copy_(*this);
  DType source = dtype();
  record("to_dtype", out, {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.to(source)}; });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  record("clone", out, {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
  return out;
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>(checked(impl_));
  impl->autograd = nullptr;
  return Tensor(std::move(impl));
}

Tensor Tensor::reshape(const Shape& target) const {
  Shape resolved;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < target.ndim(); ++i) {
    resolved.push_back(target[i]);
    if (target[i] == -1) {
      MIXLAB_CHECK(infer < 0, "reshape ", shape().str(), " -> ", target.str(), ": only one extent may be -1");
      infer = i;
    } else {
      known *= target[i];
    }
  }
  if (infer >= 0) {
    MIXLAB_CHECK(known > 0 && numel() % known == 0, "reshape ", shape().str(), " -> ", target.str(),
                 ": cannot infer the -1 extent");
    resolved[infer] = numel() / known;
  }
  MIXLAB_CHECK(resolved.numel() == numel(), "reshape ", shape().str(), " -> ", target.str(),
               ": element counts differ (", numel(), " vs ", resolved.numel(), ")");
  auto impl = std::make_shared<TensorImpl>(checked(impl_));
  impl->shape = resolved;
  impl->autograd = nullptr;
  Tensor out(std::move(impl));
  Shape source = shape();
  record("reshape", out, {*this}, [source](const Tensor& g) { return std::vector<Tensor>{g.reshape(source)}; });
  return out;
}

// ---- autograd ----------------------------------------------------------

AutogradMeta& Tensor::autograd_meta() const { return *autograd_meta_ptr(); }

std::shared_ptr<AutogradMeta> Tensor::autograd_meta_ptr() const {
  MIXLAB_CHECK(defined(), "autograd on an undefined tensor");
  if (!impl_->autograd) impl_->autograd = std::make_shared<AutogradMeta>();
  return impl_->autograd;
}

bool Tensor::requires_grad() const { return defined() && impl_->autograd && impl_->autograd->requires_grad; }

Tensor& Tensor::requires_grad_(bool on) {
  MIXLAB_CHECK(!on || is_floating(dtype()), "requires_grad_: ", describe(), " is not a floating tensor");
  MIXLAB_CHECK(is_leaf(), "requires_grad_: only leaf tensors can be marked, not the output of ",
               grad_fn()->describe());
  autograd_meta().requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return !defined() || !impl_->autograd || !impl_->autograd->grad_fn; }
std::shared_ptr<Node> Tensor::grad_fn() const { return defined() && impl_->autograd ? impl_->autograd->grad_fn : nullptr; }
Tensor Tensor::grad() const { return defined() && impl_->autograd ? impl_->autograd->grad : Tensor(); }
void Tensor::set_grad(const Tensor& g) const { autograd_meta().grad = g; }
void Tensor::zero_grad() const {
  if (defined() && impl_->autograd) impl_->autograd->grad = Tensor();
}
void Tensor::backward(const Tensor& grad) const { run_backward(*this, grad); }

bool cuda_available() { return cuda::device_count() > 0; }

int cuda_device_count() { return cuda::device_count(); }

Device parse_device(const std::string& what, const std::string& name) {
  if (name == "cpu") return Device::cpu();
  int index = -1;
  if (name == "cuda") {
    index = 0;
  } else if (name.starts_with("cuda:") && name.size() > 5 && name.size() < 9 &&
             name.find_first_not_of("0123456789", 5) == std::string::npos) {
    index = std::stoi(name.substr(5));
  }
  MIXLAB_CHECK(index >= 0, what, " = '", name, "' is not a device (allowed: cpu, cuda, cuda:N)");
  MIXLAB_CHECK(index < cuda::device_count(), what, " = ", name, ": ",
               cuda::built_with_cuda() ? "no such CUDA device is visible here (" + std::to_string(cuda::device_count()) +
                                             " visible)"
                                       : std::string("mixlab was built without CUDA"));
  return Device::cuda(index);
}

}  // namespace mixlab
