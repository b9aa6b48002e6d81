#pragma once
// Module: named parameters and named submodules. Names follow the module tree
// with dots (`blocks.0.mixer.q_proj.weight`), the scheme PyTorch state dicts
// use, so checkpoints written from named_parameters() interoperate.
//
// A module's forward is an ordinary member function of the derived class (its
// signature varies: ids for Embedding, x for Linear), so the base declares none.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Parameters are shared handles: a copied module would alias its original's
  // weights, which is never what a caller wants. Hold modules by shared_ptr.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Registers `t` under `name` (no dots, unique within this module) and marks
  // it requires_grad. Returns the same handle.
  Tensor register_parameter(const std::string& name, Tensor t);
  // Registers a buffer: a tensor that is part of the module's state but not
  // trained (a call counter, a random projection). Buffers are saved in
  // checkpoints under the same dotted names as parameters, and no optimizer
  // or gradient check sees them. Returns the same handle.
  Tensor register_buffer(const std::string& name, Tensor t);
  // Registers `child` under `name` (no dots, unique within this module).
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  // Pre-order: this module's parameters in registration order, then each
  // child's, prefixed by the child's name. A tensor reachable under two names
  // (tied weights) is listed once, under the first, as in PyTorch.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  // Pre-order, like named_parameters().
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  int64_t num_parameters() const;  // elements, each tensor counted once
  void zero_grad();

  // The parameter at a dotted path. Throws mixlab::Error naming the path and
  // listing close names (or the parameter count when none is close).
  Tensor parameter(const std::string& dotted_name) const;

  // Training mode (dropout etc.); set on this module and every descendant.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Converts every parameter (and every float buffer) to `dtype` in place: the tensor handles keep their
  // identity, so module members and any optimizer's parameter list see the
  // converted values. Gradients are dropped (they would have the old dtype).
  void to(DType dtype);
  // Moves every parameter and float buffer to `device` in place, the same way
  // (integer buffers are host bookkeeping and stay). Gradients are dropped.
  void to(Device device);

 private:
  // Replaces each parameter and float buffer by convert(it) in place (same
  // handle, new storage); a conversion that returns its input changes nothing.
  void convert_state(const std::function<Tensor(const Tensor&)>& convert);
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void check_new_name(const std::string& name) const;
  // Every module in the tree, pre-order, with its dotted prefix ("" for this
  // one, else ending in a dot). Iterative so no depth limit applies.
  template <typename Self>
  static std::vector<std::pair<std::string, Self*>> named_modules(Self* root);

  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// An ordered list of submodules named "0", "1", ... (`blocks.3.…`).
class ModuleList : public Module {
 public:
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(items_.size()), m);
    items_.push_back(m);
    return m;
  }
  size_t size() const { return items_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return items_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

// A module mapping one tensor to one tensor (norms, feed-forwards, Linear),
// so a model can hold "the configured norm" or "the configured ffn".
class TensorModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) const = 0;
};

// Shared input check for module forwards: x must be a float tensor of the
// parameters' dtype with last extent `last_dim`. `module` describes the
// caller, e.g. "Linear(in=4, out=8)", so the error names it and the shapes.
void check_module_input(const std::string& module, const Tensor& x, int64_t last_dim, DType param_dtype);

}  // namespace mixlab
