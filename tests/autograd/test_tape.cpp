#include <catch2/catch.hpp>

#include "autograd/ops.h"

using namespace mixlab;

TEST_CASE("backward accumulates into leaves across calls and edges", "[autograd][tape]") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}, DType::F64).requires_grad_();
  Tensor y = add(mul(x, x), x);  // dy/dx = 2x + 1: x reaches y along three edges
  sum(y).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{3, 5, 7});
  sum(mul(x, 2.0)).backward();  // a second graph accumulates into the same leaf
  CHECK(x.grad().to_vector() == std::vector<double>{5, 7, 9});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a graph 10,000 ops deep back-propagates and is freed without recursion", "[autograd][tape]") {
  Tensor x = Tensor::from_vector({0.5}, {1}, DType::F64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 10000; ++i) y = add(mul(y, 1.0), 0.0001);
  y.backward();
  CHECK(x.grad().item() == Approx(1.0));
  CHECK(y.item() == Approx(1.5));
  // A deeper graph that is never back-propagated is destroyed iteratively too.
  Tensor z = x;
  for (int i = 0; i < 200000; ++i) z = add(z, 1.0);
  z = Tensor();
  SUCCEED("destroyed a 200,000-node graph");
}

TEST_CASE("backward twice through a freed graph throws naming the op", "[autograd][tape][errors]") {
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::F64).requires_grad_();
  Tensor loss = sum(exp(x));
  loss.backward();
  REQUIRE_THROWS_WITH(loss.backward(), Catch::Contains("sum") && Catch::Contains("already back-propagated"));
}

TEST_CASE("backward from a non-scalar needs a gradient", "[autograd][tape][errors]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::F64).requires_grad_();
  Tensor y = exp(x);
  REQUIRE_THROWS_WITH(y.backward(), Catch::Contains("exp") && Catch::Contains("(2,2)") && Catch::Contains("scalar"));
  REQUIRE_THROWS_WITH(y.backward(Tensor::ones({3}, DType::F64)), Catch::Contains("does not match"));
  y.backward(Tensor::ones({2, 2}, DType::F64));
  CHECK(x.grad().to_vector() == exp(x.detach()).to_vector());
}

TEST_CASE("NoGradGuard stops recording", "[autograd][tape]") {
  Tensor x = Tensor::from_vector({1, 2}, {2}).requires_grad_();
  {
    NoGradGuard guard;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK(grad_enabled());
  CHECK(mul(x, x).requires_grad());
  Tensor z = Tensor::from_vector({1, 2}, {2});
  REQUIRE_THROWS_WITH(sum(z).backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("saved tensors are released after backward", "[autograd][tape]") {
  Tensor x = Tensor::from_vector({1, 2, 3}, {3}, DType::F64).requires_grad_();
  Tensor h = exp(x);
  Tensor loss = sum(mul(h, h));
  auto node = h.grad_fn();
  REQUIRE(node);
  CHECK(node->backward != nullptr);
  loss.backward();
  CHECK(node->released);
  CHECK(node->backward == nullptr);
}

TEST_CASE("reshape shares storage and back-propagates", "[autograd][tensor]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F64).requires_grad_();
  Tensor r = x.reshape({3, -1});
  CHECK(r.shape() == Shape{3, 2});
  CHECK(r.shares_storage_with(x));
  sum(mul(r, Tensor::from_vector({1, 2}, {2}, DType::F64))).backward();
  CHECK(x.grad().to_vector() == std::vector<double>{1, 2, 1, 2, 1, 2});
  REQUIRE_THROWS_WITH(x.reshape({4, 2}), Catch::Contains("reshape") && Catch::Contains("(2,3)"));
}

TEST_CASE("tensor conversions", "[autograd][tensor]") {
  Tensor x = Tensor::from_vector({1.5, -2.25}, {2}, DType::F64).requires_grad_();
  Tensor f = x.to(DType::F32);
  CHECK(f.dtype() == DType::F32);
  sum(mul(f, 3.0)).backward();
  CHECK(x.grad().dtype() == DType::F64);
  CHECK(x.grad().to_vector() == std::vector<double>{3, 3});
  CHECK(Tensor::from_indices({3, 4}, {2}).to_indices() == std::vector<int64_t>{3, 4});
  CHECK(Tensor::full({2, 2}, 7.0).to_vector() == std::vector<double>(4, 7.0));
  REQUIRE_THROWS_AS(Tensor::from_vector({1, 2, 3}, {2}), Error);
  REQUIRE_THROWS_WITH(Tensor::zeros({6}).item(), Catch::Contains("exactly one"));
  REQUIRE_THROWS_AS(Tensor::zeros({1, 1, 1, 1, 1, 1}), Error);  // more than 5 dims
}

TEST_CASE("leaves own their gradients, so in-place updates never alias", "[autograd][tape]") {
  // add's backward hands the same tensor to both inputs; each leaf must get its own.
  Tensor x = Tensor::from_vector({1, 2}, {2}, DType::F64).requires_grad_();
  Tensor y = Tensor::from_vector({3, 4}, {2}, DType::F64).requires_grad_();
  Tensor g = Tensor::from_vector({5, 6}, {2}, DType::F64);
  add(x, y).backward(g);
  CHECK_FALSE(x.grad().shares_storage_with(y.grad()));
  CHECK_FALSE(x.grad().shares_storage_with(g));
  x.grad().zero_();
  CHECK(y.grad().to_vector() == std::vector<double>{5, 6});
}
