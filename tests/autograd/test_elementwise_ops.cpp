#include <catch2/catch.hpp>

#include "autograd/ops/periodic.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using testing::GradCase;
using V = std::vector<Tensor>;

TEST_CASE("elementwise binary ops: gradients with broadcasting", "[ops][elementwise][grad]") {
  testing::check_all({
      {"add same shape", {{3, 4}, {3, 4}}, [](const V& x) { return add(x[0], x[1]); }},
      {"add row broadcast", {{2, 3, 4}, {4}}, [](const V& x) { return add(x[0], x[1]); }},
      {"add column broadcast", {{3, 4}, {3, 1}}, [](const V& x) { return add(x[0], x[1]); }},
      {"add both broadcast", {{3, 1, 4}, {2, 1}}, [](const V& x) { return add(x[0], x[1]); }},
      {"sub middle broadcast", {{2, 3, 4}, {2, 1, 4}}, [](const V& x) { return sub(x[0], x[1]); }},
      {"mul scalar tensor", {{2, 3}, {}}, [](const V& x) { return mul(x[0], x[1]); }},
      {"mul 5-D broadcast", {{2, 1, 3, 1, 2}, {1, 2, 1, 2, 1}}, [](const V& x) { return mul(x[0], x[1]); }},
      {"div broadcast", {{3, 4}, {4}}, [](const V& x) { return div(x[0], x[1]); }, 0.5, 2.0},
      {"add/mul scalar", {{3, 2}}, [](const V& x) { return mul(add(x[0], 0.5), -3.0); }},
      {"neg", {{5}}, [](const V& x) { return neg(x[0]); }},
      {"expand", {{3, 1}}, [](const V& x) { return expand(x[0], {2, 3, 4}); }},
      {"reuse of one input", {{4}}, [](const V& x) { return mul(x[0], x[0]); }},
  });
}

TEST_CASE("elementwise unary ops: gradients", "[ops][elementwise][grad]") {
  testing::check_all({
      {"exp", {{3, 4}}, [](const V& x) { return exp(x[0]); }},
      {"log", {{3, 4}}, [](const V& x) { return log(x[0]); }, 0.2, 3.0},
      {"sqrt", {{3, 4}}, [](const V& x) { return sqrt(x[0]); }, 0.2, 3.0},
      {"rsqrt", {{3, 4}}, [](const V& x) { return rsqrt(x[0]); }, 0.2, 3.0},
      {"square", {{3, 4}}, [](const V& x) { return square(x[0]); }},
      {"tanh", {{3, 4}}, [](const V& x) { return tanh(x[0]); }, -3, 3},
      {"sigmoid", {{3, 4}}, [](const V& x) { return sigmoid(x[0]); }, -4, 4},
      {"silu", {{3, 4}}, [](const V& x) { return silu(x[0]); }, -4, 4},
      {"gelu tanh", {{3, 4}}, [](const V& x) { return gelu(x[0], GeluForm::Tanh); }, -3, 3},
      {"gelu erf", {{3, 4}}, [](const V& x) { return gelu(x[0], GeluForm::Erf); }, -3, 3},
      {"softplus", {{3, 4}}, [](const V& x) { return softplus(x[0]); }, -4, 4},
      {"softplus beta 2 threshold 1", {{3, 4}}, [](const V& x) { return softplus(x[0], 2.0, 1.0); }, -2, 2},
      {"elu", {{3, 4}}, [](const V& x) { return elu(x[0], 0.7); }, -2, 2},
      {"relu", {{3, 4}}, [](const V& x) { return relu(x[0]); }, -2, 2},
      {"sin", {{3, 4}}, [](const V& x) { return sin(x[0]); }, -4, 4},
      {"cos", {{3, 4}}, [](const V& x) { return cos(x[0]); }, -4, 4},
  });
}

TEST_CASE("elementwise forward values", "[ops][elementwise]") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector({10, 20, 30}, {3});
  CHECK(add(a, b).to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
  CHECK(sub(a, Tensor::from_vector({1, 2}, {2, 1})).to_vector() == std::vector<double>{0, 1, 2, 2, 3, 4});
  CHECK(relu(Tensor::from_vector({-1, 0, 2}, {3})).to_vector() == std::vector<double>{0, 0, 2});
  CHECK(softplus(Tensor::from_vector({30.0}, {1})).item() == Approx(30.0));  // linear above the threshold
  CHECK(gelu(Tensor::from_vector({1.0}, {1}, DType::F64), GeluForm::Erf).item() ==
        Approx(0.8413447460685429).epsilon(1e-12));
  CHECK(sigmoid(Tensor::from_vector({0.0}, {1})).item() == Approx(0.5));
}

TEST_CASE("elementwise errors name the op and the shapes", "[ops][elementwise][errors]") {
  Tensor a = Tensor::zeros({2, 3});
  Tensor b = Tensor::zeros({4});
  REQUIRE_THROWS_WITH(add(a, b), Catch::Contains("add") && Catch::Contains("(2,3)") && Catch::Contains("(4)"));
  Tensor c = Tensor::zeros({2, 3}, DType::F64);
  REQUIRE_THROWS_WITH(mul(a, c), Catch::Contains("mul") && Catch::Contains("dtype"));
  Tensor idx = Tensor::from_indices({0, 1}, {2});
  REQUIRE_THROWS_AS(exp(idx), Error);
}
