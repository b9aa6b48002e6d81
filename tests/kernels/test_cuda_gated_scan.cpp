// [cuda]: the gated scan on a GPU (recurrent form) equals the CPU's chunked
// form, output, final state and the gradients of all six inputs, for every
// decay kind, the RWKV-6 bonus, grouped q/k heads, T = 1 and T not a multiple
// of the chunk, and a log decay strong enough that the chunked form's care
// matters.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "tests/cuda_test_util.h"

using namespace mixlab;
using test::relative_difference;

namespace {

struct ScanCase {
  int64_t B, H, Hq, T, dk, dv, decay_width;  // decay_width 0: none, 1: per head, else dk
  bool bonus, initial_state;
  int64_t chunk;
  double temperature;  // log decay = -softplus(randn) / temperature (= logsigmoid)
};

}  // namespace

TEST_CASE("cuda: the gated scan and its gradients equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  const Device gpu = Device::cuda();
  Generator gen(99);
  const std::vector<ScanCase> cases = {
      {1, 1, 1, 1, 4, 4, 0, false, false, 64, 1.0},    {2, 2, 2, 70, 16, 24, 0, false, true, 64, 1.0},
      {2, 4, 1, 65, 8, 32, 1, false, true, 16, 1.0},   {1, 2, 2, 100, 32, 64, 32, false, false, 64, 1.0},
      {2, 2, 2, 33, 64, 64, 64, true, true, 8, 1.0},   {1, 4, 2, 129, 12, 20, 12, false, true, 64, 0.1},
      {1, 2, 1, 50, 40, 150, 40, true, false, 32, 1.0}};
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 3e-5 : 1e-11;
    for (const ScanCase& c : cases) {
      INFO("B " << c.B << " H " << c.H << " Hq " << c.Hq << " T " << c.T << " dk " << c.dk << " dv " << c.dv
                << " decay width " << c.decay_width << (c.bonus ? " bonus" : "") << " chunk " << c.chunk << " "
                << dtype_name(dt));
      Tensor q = Tensor::randn({c.B, c.Hq, c.T, c.dk}, gen, dt), k = Tensor::randn({c.B, c.Hq, c.T, c.dk}, gen, dt);
      Tensor v = Tensor::randn({c.B, c.H, c.T, c.dv}, gen, dt), up = Tensor::randn({c.B, c.H, c.T, c.dv}, gen, dt);
      Tensor g = c.decay_width ? mul(neg(softplus(Tensor::randn({c.B, c.H, c.T, c.decay_width}, gen, dt))),
                                     1.0 / c.temperature)
                               : Tensor();
      Tensor u = c.bonus ? Tensor::randn({c.H, c.dk}, gen, dt) : Tensor();
      Tensor s0 = c.initial_state ? Tensor::randn({c.B, c.H, c.dk, c.dv}, gen, dt) : Tensor();
      const GatedScanOptions opts{c.chunk, c.bonus, 0.7};
      auto leaves = [](std::vector<Tensor> ts, Device d) {
        for (Tensor& t : ts) t = test::leaf_on(t, d);
        return ts;
      };
      const std::vector<Tensor> cin = leaves({q, k, v, g, u, s0}, Device::cpu());
      const std::vector<Tensor> gin = leaves({q, k, v, g, u, s0}, gpu);
      Tensor c_last, g_last;
      Tensor cy = gated_scan(cin[0], cin[1], cin[2], cin[3], cin[4], cin[5], opts, &c_last);
      Tensor gy = gated_scan(gin[0], gin[1], gin[2], gin[3], gin[4], gin[5], opts, &g_last);
      REQUIRE(gy.device().is_cuda());
      CHECK(relative_difference(gy, cy) <= tol);
      CHECK(relative_difference(g_last, c_last) <= tol);
      cy.backward(up);
      gy.backward(up.to(gpu));
      const char* names[] = {"q", "k", "v", "log_decay", "u", "initial_state"};
      for (int i = 0; i < 6; ++i) {
        if (!cin[i].defined()) continue;
        INFO("d " << names[i]);
        CHECK(relative_difference(gin[i].grad(), cin[i].grad()) <= tol);
      }
    }
  }
}

TEST_CASE("cuda: the gated scan rejects a positive log decay on a GPU too", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  Tensor q = Tensor::zeros({1, 1, 4, 2}, DType::F32, Device::cuda());
  Tensor v = Tensor::zeros({1, 1, 4, 3}, DType::F32, Device::cuda());
  Tensor g = Tensor::full({1, 1, 4, 1}, 0.5, DType::F32, Device::cuda());
  REQUIRE_THROWS_WITH(gated_scan(q, q, v, g, Tensor(), Tensor(), GatedScanOptions{}),
                      Catch::Contains("log_decay") && Catch::Contains("<= 0"));
}
