#include <catch2/catch.hpp>

#include "kernels/cpu/gemm.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using testing::GradCase;
using V = std::vector<Tensor>;

TEST_CASE("reductions: gradients over each axis", "[ops][reduce][grad]") {
  std::vector<GradCase> cases;
  for (int axis = -3; axis < 3; ++axis) {
    const std::string a = std::to_string(axis);
    cases.push_back({"sum axis " + a, {{2, 3, 4}}, [axis](const V& x) { return sum(x[0], axis); }});
    cases.push_back({"mean keepdim axis " + a, {{2, 3, 4}}, [axis](const V& x) { return mean(x[0], axis, true); }});
    cases.push_back({"max axis " + a, {{2, 3, 4}}, [axis](const V& x) { return max(x[0], axis); }});
  }
  cases.push_back({"sum all", {{2, 3, 4}}, [](const V& x) { return sum(x[0]); }});
  cases.push_back({"mean all", {{5, 2}}, [](const V& x) { return mean(x[0]); }});
  testing::check_all(cases);
}

TEST_CASE("reductions: values", "[ops][reduce]") {
  Tensor x = Tensor::from_vector({1, 5, 3, 4, 2, 6}, {2, 3});
  CHECK(sum(x, 1).to_vector() == std::vector<double>{9, 12});
  CHECK(sum(x, 0, true).shape() == Shape{1, 3});
  CHECK(mean(x, 0).to_vector() == std::vector<double>{2.5, 3.5, 4.5});
  CHECK(max(x, 1).to_vector() == std::vector<double>{5, 6});
  CHECK(argmax(x, 1).to_indices() == std::vector<int64_t>{1, 2});
  CHECK(argmax(Tensor::from_vector({3, 3, 1}, {3}), 0).to_indices() == std::vector<int64_t>{0});
  CHECK(sum(x).item() == 21);
  CHECK(sum(x).shape().ndim() == 0);
  // Ties send the gradient to the first maximal element.
  Tensor t = Tensor::from_vector({2, 2, 1}, {3}, DType::F64).requires_grad_();
  max(t, 0).backward();
  CHECK(t.grad().to_vector() == std::vector<double>{1, 0, 0});
}

TEST_CASE("matmul: gradients for every transpose and batching pattern", "[ops][linalg][grad]") {
  std::vector<GradCase> cases;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const std::string flags = std::string(ta ? "T" : "N") + (tb ? "T" : "N");
      Shape a2 = ta ? Shape{4, 3} : Shape{3, 4}, b2 = tb ? Shape{5, 4} : Shape{4, 5};
      Shape a3 = ta ? Shape{2, 4, 3} : Shape{2, 3, 4}, b3 = tb ? Shape{2, 5, 4} : Shape{2, 4, 5};
      auto fn = [ta, tb](const V& x) { return matmul(x[0], x[1], ta, tb); };
      cases.push_back({"2-D " + flags, {a2, b2}, fn});
      cases.push_back({"batched " + flags, {a3, b3}, fn});
      cases.push_back({"batched a, shared b " + flags, {a3, b2}, fn});
      cases.push_back({"shared a, batched b " + flags, {a2, b3}, fn});
    }
  cases.push_back({"4-D batch", {{2, 2, 3, 4}, {2, 2, 4, 2}}, [](const V& x) { return matmul(x[0], x[1]); }});
  testing::check_all(cases);
}

TEST_CASE("matmul: values and shape errors", "[ops][linalg]") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector({1, 0, 0, 1, 1, 1}, {3, 2});
  CHECK(matmul(a, b).to_vector() == std::vector<double>{4, 5, 10, 11});
  CHECK(matmul(a, a, false, true).to_vector() == std::vector<double>{14, 32, 32, 77});
  CHECK(matmul(a, a, true, false).shape() == Shape{3, 3});
  REQUIRE_THROWS_WITH(matmul(a, a), Catch::Contains("matmul") && Catch::Contains("(2,3)"));
  REQUIRE_THROWS_WITH(matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 5})), Catch::Contains("batch"));
}

TEST_CASE("matmul: OpenBLAS and Eigen backends agree", "[ops][linalg]") {
  Generator gen(3);
  Tensor a = Tensor::randn({37, 53}, gen), b = Tensor::randn({53, 29}, gen);
  Tensor c1 = Tensor::zeros({37, 29}), c2 = Tensor::zeros({37, 29});
  for (auto backend : {cpu::GemmBackend::OpenBLAS, cpu::GemmBackend::Eigen}) {
    if (!cpu::gemm_backend_available(backend)) continue;
    Tensor& c = backend == cpu::GemmBackend::Eigen ? c2 : c1;
    cpu::gemm_with<float>(backend, false, false, 37, 29, 53, 1.f, a.data<float>(), 0, b.data<float>(), 0, 0.f,
                          c.data<float>(), 0, 1);
  }
  Tensor ref = matmul(a.to(DType::F64), b.to(DType::F64));
  for (const Tensor& c : {c1, c2}) {
    if (sum(c).item() == 0) continue;  // backend not built
    double err = sum(square(sub(c.to(DType::F64), ref))).item(), norm = sum(square(ref)).item();
    CHECK(std::sqrt(err / norm) < 1e-6);
  }
}
