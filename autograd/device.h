#pragma once
// Where a tensor's storage lives. Ops dispatch on it to kernels/cpu or kernels/cuda.
#include <string>

namespace mixlab {

enum class DeviceKind : uint8_t { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;

  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int index = 0) { return {DeviceKind::CUDA, index}; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// True when mixlab was built with CUDA and at least one device is visible.
bool cuda_available();
int cuda_device_count();

// The device a user named ("cpu", "cuda" = "cuda:0", "cuda:N"), checked: an
// unknown name or a GPU that is not visible here throws one line that starts
// with `what` (e.g. "train.device", "eval: --device").
Device parse_device(const std::string& what, const std::string& name);

}  // namespace mixlab
