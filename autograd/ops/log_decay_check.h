#pragma once
// The log-decay input shared by the fused scans (gated_scan, delta_scan):
// one place for its shape and value rules.
#include <cstdint>

#include "autograd/tensor.h"

namespace mixlab::ops_detail {

// log_decay undefined (no decay) -> 0; otherwise it must be (B,H,T,dk) per key
// channel or (B,H,T,1) per head, with every value finite and <= 0 -> its last
// size. Errors name `op`.
int64_t check_log_decay(const char* op, const Tensor& log_decay, int64_t B, int64_t H, int64_t T, int64_t dk);

}  // namespace mixlab::ops_detail
