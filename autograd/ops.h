#pragma once
// Every differentiable op, grouped by kind. Each op's forward and backward sit
// side by side in autograd/ops/<kind>.cpp.
#include "autograd/ops/attention.h"
#include "autograd/ops/delta_scan.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/gated_scan.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/nn.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/scan.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/tape.h"
#include "autograd/tensor.h"
