// [cuda]: the delta-rule scan on a GPU (recurrent form for every decay) equals
// the CPU's (chunked form for per-head or no decay, recurrent per channel):
// output, final state and the gradients of all seven inputs, for every decay
// kind, T = 1 and T not a multiple of the chunk, and the delta rule's
// transition (a = −β k̂, b = k̂). Never run yet: there has been no GPU.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "tests/cuda_test_util.h"

using namespace mixlab;
using test::relative_difference;

namespace {

struct DeltaCase {
  int64_t B, H, T, dk, dv, decay_width;  // decay_width 0: none, 1: per head, else dk
  bool initial_state;
  int64_t chunk;
};

}  // namespace

TEST_CASE("cuda: the delta-rule scan and its gradients equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  const Device gpu = Device::cuda();
  Generator gen(77);
  const std::vector<DeltaCase> cases = {{1, 1, 1, 4, 4, 0, false, 64},   {2, 2, 70, 16, 24, 0, true, 64},
                                        {2, 4, 65, 8, 32, 1, true, 16},  {1, 2, 100, 32, 64, 32, false, 64},
                                        {2, 2, 33, 64, 64, 64, true, 8}, {1, 2, 50, 40, 150, 1, false, 32}};
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 3e-5 : 1e-11;
    for (const DeltaCase& c : cases) {
      INFO("B " << c.B << " H " << c.H << " T " << c.T << " dk " << c.dk << " dv " << c.dv << " decay width "
                << c.decay_width << " chunk " << c.chunk << " " << dtype_name(dt));
      const Shape key{c.B, c.H, c.T, c.dk};
      Tensor q = Tensor::randn(key, gen, dt), k = Tensor::randn(key, gen, dt);
      k = mul(k, rsqrt(sum(square(k), -1, true)));
      Tensor beta = sigmoid(Tensor::randn({c.B, c.H, c.T, 1}, gen, dt));
      Tensor v = Tensor::randn({c.B, c.H, c.T, c.dv}, gen, dt), up = Tensor::randn({c.B, c.H, c.T, c.dv}, gen, dt);
      Tensor g = c.decay_width ? neg(softplus(Tensor::randn({c.B, c.H, c.T, c.decay_width}, gen, dt))) : Tensor();
      Tensor a = mul(k, neg(beta)), b = k;
      Tensor s0 = c.initial_state ? Tensor::randn({c.B, c.H, c.dk, c.dv}, gen, dt) : Tensor();
      const DeltaScanOptions opts{c.chunk, 0.7};
      auto leaves = [](std::vector<Tensor> ts, Device d) {
        for (Tensor& t : ts) t = test::leaf_on(t, d);
        return ts;
      };
      const std::vector<Tensor> cin = leaves({q, k, v, g, a, b, s0}, Device::cpu());
      const std::vector<Tensor> gin = leaves({q, k, v, g, a, b, s0}, gpu);
      Tensor c_last, g_last;
      Tensor cy = delta_scan(cin[0], cin[1], cin[2], cin[3], cin[4], cin[5], cin[6], opts, &c_last);
      Tensor gy = delta_scan(gin[0], gin[1], gin[2], gin[3], gin[4], gin[5], gin[6], opts, &g_last);
      REQUIRE(gy.device().is_cuda());
      CHECK(relative_difference(gy, cy) <= tol);
      CHECK(relative_difference(g_last, c_last) <= tol);
      cy.backward(up);
      gy.backward(up.to(gpu));
      const char* names[] = {"q", "k", "v", "log_decay", "a", "b", "initial_state"};
      for (int i = 0; i < 7; ++i) {
        if (!cin[i].defined()) continue;
        INFO("d " << names[i]);
        CHECK(relative_difference(gin[i].grad(), cin[i].grad()) <= tol);
      }
    }
  }
}
