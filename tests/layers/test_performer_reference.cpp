// performer against numbers computed outside mixlab: the FAVOR+ outputs of
// scripts/peer/performer_reference.py, a plain-Python float64 script written
// from performer-pytorch's equations (softmax_kernel, generalized_kernel,
// linear_attention, causal_linear_attention; Choromanski et al. 2021), for one
// small fixed input with large keys (their features near feature_eps, where
// the stabiliser and eps conventions show). The forward and the F64
// reference_forward must both reproduce them.
#include <catch2/catch.hpp>
#include <cmath>

#include "layers/mixers/performer.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

constexpr int64_t D = 4, T = 5, M = 3;

double sine(double a) { return std::sin(a); }
double cosine(double a) { return std::cos(a); }

// rows×cols values scale·fn(freq·index + phase), as the script's table().
std::vector<double> table(int64_t rows, int64_t cols, double scale, double freq, double phase,
                          double (*fn)(double) = sine) {
  std::vector<double> v(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) v[i] = scale * fn(freq * static_cast<double>(i) + phase);
  return v;
}

// The script's fixed weights and Ω in an F64 performer (one head, d = 4, M = 3).
std::shared_ptr<SequenceMixer> pinned_performer(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"performer.nb_features=3", "performer.fixed_features=true"};
  all.insert(all.end(), args.begin(), args.end());
  auto m = testing::make_f64_mixer("performer", D, all, 7);
  auto set = [&](const std::string& name, const std::vector<double>& v, Shape shape) {
    m->parameter(name).copy_(Tensor::from_vector(v, shape, DType::F64));
  };
  set("to_q.weight", table(D, D, 0.6, 0.9, 1.1), {D, D});
  set("to_q.bias", table(1, D, 0.1, 1.0, 0.2, cosine), {D});
  set("to_k.weight", table(D, D, 2.0, 0.8, 2.3), {D, D});
  set("to_k.bias", table(1, D, 0.1, 1.0, 0.9, cosine), {D});
  set("to_v.weight", table(D, D, 0.7, 1.7, 0.3, cosine), {D, D});
  set("to_v.bias", table(1, D, 0.1, 1.0, 1.6, cosine), {D});
  set("to_out.weight", table(D, D, 0.5, 2.1, 0.7), {D, D});
  set("to_out.bias", table(1, D, 0.1, 1.0, 2.4, cosine), {D});
  performer_load_features(*m, Tensor::from_vector(table(M, D, 1.2, 1.9, 0.4), {M, D}, DType::F64));
  m->eval();
  return m;
}

void check_pinned(const std::vector<std::string>& args, const std::vector<double>& expected) {
  auto m = pinned_performer(args);
  const Tensor x = Tensor::from_vector(table(T, D, 1.0, 1.3, 0.5), {1, T, D}, DType::F64);
  NoGradGuard no_grad;
  CHECK(testing::rel_err(expected, m->forward(x).to_vector()) < 1e-12);
  CHECK(testing::rel_err(expected, m->reference_forward(x).to_vector()) < 1e-12);
}

}  // namespace

TEST_CASE("performer: softmax kernel, causal, equals performer-pytorch run on each prefix", "[performer]") {
  // The key stabiliser is the max of x̂Ωᵀ over the prefix; feature_eps is not
  // rescaled as it grows; eps sits on every feature of the key sums.
  check_pinned({}, {-0.1269618179479821, -0.28941673073925644, 0.22266134211948663, -0.006963712753897497,
      -0.2978356049997054, -0.01103819089811428, 0.10441749459306075, -0.16253687571588665, -0.3009737890937177,
      0.0019247844651517493, 0.09409262662759675, -0.16477667749971603, -0.18948500724297496, 0.02954802700193304,
      -0.046085028101672906, -0.04681458871330396, -0.1370298120084434, -0.020825581800522797, -0.04622333630014901,
      0.0037026638456319205});
}

TEST_CASE("performer: softmax kernel, bidirectional, equals performer-pytorch", "[performer]") {
  check_pinned({"performer.causal=false"}, {-0.09624184601354563, -0.07062337664000179, -0.035292442574703084,
      0.04214788050315223, -0.1663942996045966, -0.0011151739762932794, -0.0373296310062662, -0.025244544482939488,
      -0.1795252514351113, 0.022436471860882254, -0.04865888411379081, -0.037029885123407436, -0.17715596804757455,
      0.022235754651323547, -0.050819707162107944, -0.034584986128758904, -0.13705412556789895, -0.020796441751897224,
      -0.04622928693395684, 0.0036797039902487505});
}

TEST_CASE("performer: relu kernel equals performer-pytorch's generalised attention", "[performer]") {
  check_pinned({"performer.kernel=relu"}, {-0.12700981499410227, -0.28959054466657913, 0.2228898583663791,
      -0.00702723061515996, -0.2809102509220125, -0.038669127452163485, 0.11618900422563928, -0.14713156194988414,
      -0.24480141903377983, 0.13282578611303408, -0.09803055336884962, -0.09614290401765178, -0.16890589426302685,
      0.12913546870855044, -0.1700933982231267, -0.01760975118077311, -0.11685807414814135, -0.000715296546701244,
      -0.08728116008717005, 0.02623410270245516});
  check_pinned({"performer.kernel=relu", "performer.causal=false"}, {-0.00903643103975349, -0.22145954390838524,
      0.03415716303734066, 0.12085526331710968, -0.18548965028240055, 0.09546807244065572, -0.11854344841261706,
      -0.0374809630266434, -0.17281015593167162, 0.1228436788109743, -0.15965462633868743, -0.022159432888200145,
      -0.16876342997120106, 0.12900944910341156, -0.17010498141266273, -0.01747170153782511, -0.11685808467044616,
      -0.0007152731283724123, -0.08728117388661018, 0.02623409361591171});
}
