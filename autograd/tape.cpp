#include "autograd/tape.h"

#include <unordered_map>

#include "autograd/ops.h"

namespace mixlab {

std::string Node::describe() const {
  std::string s = std::string(op) + "(";
  for (size_t i = 0; i < input_shapes.size(); ++i) s += (i ? ", " : "") + input_shapes[i].str();
  return s + ") -> " + output_shape.str();
}

Node::~Node() {
  // Unlink uniquely owned predecessors into an explicit stack so destroying a
  // 10,000-op chain does not recurse 10,000 destructors deep.
  std::vector<std::shared_ptr<Node>> pending;
  auto detach_inputs = [&pending](std::vector<std::shared_ptr<AutogradMeta>>& metas) {
    for (auto& meta : metas)
      if (meta && meta.use_count() == 1 && meta->grad_fn) pending.push_back(std::move(meta->grad_fn));
    metas.clear();
  };
  detach_inputs(inputs);
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    if (node.use_count() == 1) detach_inputs(node->inputs);
  }
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* op, Tensor& output, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->output_shape = output.shape();
  node->input_shapes.reserve(inputs.size());
  node->inputs.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->inputs.push_back(t.defined() && t.requires_grad() ? t.autograd_meta_ptr() : nullptr);
  }
  node->backward = std::move(backward);
  AutogradMeta& meta = output.autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
}

namespace {

// Into a node's pending gradient: out of place, since `g` may be aliased by
// another edge's gradient (add's backward hands one tensor to both inputs).
void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? add(slot, g) : g; }

// Into a leaf's .grad(): a leaf owns its gradient outright, because
// optimizers and clipping update gradients in place.
void accumulate_leaf(Tensor& slot, const Tensor& g) { slot = slot.defined() ? add(slot, g) : g.clone(); }

// Nodes reachable from `root`, each after every node that consumes its output.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> post_order;
  std::unordered_map<Node*, bool> visited;
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  visited[root] = true;
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const auto& meta = node->inputs[next_input++];
      Node* child = meta ? meta->grad_fn.get() : nullptr;
      if (child && !visited[child]) {
        visited[child] = true;
        stack.emplace_back(child, 0);
      }
    } else {
      post_order.push_back(node);
      stack.pop_back();
    }
  }
  return {post_order.rbegin(), post_order.rend()};
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_in) {
  MIXLAB_CHECK(root.defined(), "backward: called on an undefined tensor");
  MIXLAB_CHECK(root.requires_grad(), "backward: tensor ", root.describe(),
               " does not require grad (no parameter or input with requires_grad reached it)");
  std::shared_ptr<Node> root_fn = root.grad_fn();
  const std::string origin = root_fn ? "output of " + root_fn->describe() : "leaf " + root.describe();
  Tensor grad = grad_in;
  if (!grad.defined()) {
    MIXLAB_CHECK(root.numel() == 1, "backward: ", origin, " is not a scalar; pass a gradient of shape ",
                 root.shape().str(), " or reduce it first (e.g. sum or mean)");
    grad = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  MIXLAB_CHECK(grad.shape() == root.shape() && grad.dtype() == root.dtype() && grad.device() == root.device(),
               "backward: gradient ", grad.describe(), " does not match ", origin, " ", root.describe());

  NoGradGuard no_grad;
  if (!root_fn) {
    accumulate_leaf(root.autograd_meta().grad, grad);
    return;
  }
  MIXLAB_CHECK(!root_fn->released, "backward: ", root_fn->describe(),
               " was already back-propagated and its saved tensors freed; run the forward pass again");

  std::unordered_map<Node*, Tensor> pending{{root_fn.get(), grad}};
  for (Node* node : topological_order(root_fn.get())) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient flowed into this node
    Tensor g = std::move(it->second);
    pending.erase(it);
    MIXLAB_CHECK(!node->released, "backward: ", node->describe(),
                 " was already back-propagated and its saved tensors freed; run the forward pass again");
    std::vector<Tensor> input_grads = node->backward(g);
    MIXLAB_CHECK(input_grads.size() == node->inputs.size(), "backward of ", node->describe(), " returned ",
                 input_grads.size(), " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      const auto& meta = node->inputs[i];
      const Tensor& gi = input_grads[i];
      if (!meta || !gi.defined()) continue;
      MIXLAB_CHECK(gi.shape() == node->input_shapes[i], "backward of ", node->describe(), ": gradient ",
                   gi.shape().str(), " for input ", i, " has the wrong shape");
      if (meta->grad_fn)
        accumulate(pending[meta->grad_fn.get()], gi);
      else
        accumulate_leaf(meta->grad, gi);
    }
    node->backward = nullptr;  // frees the saved tensors
    node->released = true;
  }
}

}  // namespace mixlab
