#pragma once
// The define-by-run tape. Each op that needs a gradient records a Node: its
// backward rule (a closure over only the tensors the rule needs, saved
// detached) and edges to its inputs' autograd metadata. backward() walks the
// graph with an iterative topological sort, never recursion.
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

// Given the gradient of the op's output, returns one gradient per input
// (an undefined Tensor where the input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  const char* op = "?";
  std::vector<Shape> input_shapes;
  Shape output_shape;
  std::vector<std::shared_ptr<AutogradMeta>> inputs;  // null where no gradient is needed
  BackwardFn backward;
  bool released = false;  // backward ran and freed the saved tensors

  std::string describe() const;  // "matmul(a (2,3), b (3,4)) -> (2,4)"
  ~Node();                       // iterative, so deep graphs do not overflow the stack
};

// True when any input requires a gradient and recording is on.
bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Records `output` as the result of `op` applied to `inputs`, when needs_grad.
// Closures must capture saved tensors through `saved()` (detached), never the
// inputs themselves, so a node does not keep the graph behind it alive.
void record(const char* op, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward);

inline Tensor saved(const Tensor& t) { return t.detach(); }

// Back-propagates `grad` (or 1 for a one-element root) from `root`.
void run_backward(const Tensor& root, const Tensor& grad);

}  // namespace mixlab
