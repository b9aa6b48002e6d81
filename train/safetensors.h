#pragma once
// The safetensors format (a JSON header plus raw little-endian bytes), read and
// written by hand: it is small, and interoperates with PyTorch/HF tooling.
//   [u64 header length N][N bytes of JSON][tensor bytes]
//   JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//          "__metadata__": {"key": "value", ...}}
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;

  // The tensor called `name`; throws naming the file's tensor count when absent.
  const Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const;
};

// Writes atomically (train/atomic_file.h): a temporary file in the same
// folder, synced, then renamed over `path`, so a crash never leaves a
// half-written file.
// Tensors on any device are copied to the host; dtypes F32, F64, I64.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Reads F32, F64, I64 and I32 (converted to I64) tensors onto the CPU. Any
// malformed input throws mixlab::Error with one line naming the file and the
// problem.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace mixlab
