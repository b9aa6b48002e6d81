// [cuda] tests: compare the CUDA device abstraction with the CPU path. With no
// device at run time they report themselves skipped.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "autograd/allocator.h"
#include "autograd/ops.h"
#include "train/adamw.h"
#include "kernels/cuda/cuda_api.h"
#include "tests/cuda_test_util.h"

using namespace mixlab;

using test::allow_unverified_kernels;
using test::leaf_on;
using test::relative_difference;

TEST_CASE("cuda: host <-> device copies round-trip", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  Generator gen(5);
  Tensor host = Tensor::randn({3, 257}, gen);
  Tensor dev = host.to(Device::cuda());
  CHECK(dev.device().is_cuda());
  CHECK(dev.to_vector() == host.to_vector());
  Tensor copy = dev.clone();
  CHECK(copy.to(Device::cpu()).to_vector() == host.to_vector());
  Tensor z = Tensor::zeros({100}, DType::F32, Device::cuda());
  CHECK(z.to_vector() == std::vector<double>(100, 0.0));
}

TEST_CASE("cuda: the device memory pool reuses blocks", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  auto& pool = CachingAllocator::for_device(Device::cuda());
  { Tensor warm = Tensor::empty({1 << 16}, DType::F32, Device::cuda()); }
  const uint64_t allocs = pool.stats().system_allocs;
  for (int i = 0; i < 10; ++i) Tensor t = Tensor::empty({1 << 16}, DType::F32, Device::cuda());
  CHECK(pool.stats().system_allocs == allocs);
}

TEST_CASE("cuda: cuBLAS matmul equals the CPU GEMM, all transposes and batching", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(9);
  for (DType dt : {DType::F32, DType::F64})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Tensor a = Tensor::randn(ta ? Shape{3, 33, 17} : Shape{3, 17, 33}, gen, dt);
        Tensor b = Tensor::randn(tb ? Shape{65, 33} : Shape{33, 65}, gen, dt);
        Tensor cpu_out = matmul(a, b, ta, tb);
        Tensor gpu_out = matmul(a.to(Device::cuda()), b.to(Device::cuda()), ta, tb);
        CHECK(relative_difference(gpu_out, cpu_out) < (dt == DType::F32 ? 1e-5 : 1e-12));
      }
}

TEST_CASE("cuda: mixed devices are rejected", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  Tensor d = Tensor::ones({4}, DType::F32, Device::cuda());
  REQUIRE_THROWS_WITH(add(d, Tensor::ones({4})), Catch::Contains("device mismatch"));
}

TEST_CASE("cuda: elementwise ops and their gradients equal the CPU's, broadcasting and odd sizes", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(21);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{1}, {1}}, {{257}, {257}}, {{70001}, {1}}, {{3, 1, 5}, {4, 5}}, {{2, 3, 4, 5, 6}, {3, 1, 5, 1}}, {{7, 1}, {1, 9}}};
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 2e-6 : 1e-14;
    for (const auto& [sa, sb] : shapes) {
      Tensor a = Tensor::randn(sa, gen, dt), b = add(Tensor::uniform(sb, gen, 0.5, 2.0, dt), 0.0);
      Tensor da = a.to(Device::cuda()), db = b.to(Device::cuda());
      CHECK(relative_difference(add(da, db), add(a, b)) <= tol);
      CHECK(relative_difference(sub(da, db), sub(a, b)) <= tol);
      CHECK(relative_difference(mul(da, db), mul(a, b)) <= tol);
      CHECK(relative_difference(div(da, db), div(a, b)) <= tol);
      CHECK(relative_difference(mul(add(da, 0.5), -3.0), mul(add(a, 0.5), -3.0)) <= tol);
      const Shape both = broadcast_shape("test", sa, sb);
      CHECK(relative_difference(expand(da, both), expand(a, both)) == 0);
    }
    // Unary functions on a range that exercises both branches of relu, elu
    // and softplus (log and sqrt on positive inputs), forward and backward.
    Tensor x = Tensor::uniform({1031}, gen, -3.0, 3.0, dt), pos = Tensor::uniform({1031}, gen, 0.1, 3.0, dt);
    Tensor up = Tensor::randn({1031}, gen, dt);
    using Fn = std::function<Tensor(const Tensor&)>;
    const std::vector<std::pair<std::string, Fn>> fns = {
        {"exp", [](const Tensor& t) { return exp(t); }},         {"tanh", [](const Tensor& t) { return tanh(t); }},
        {"sigmoid", [](const Tensor& t) { return sigmoid(t); }}, {"silu", [](const Tensor& t) { return silu(t); }},
        {"square", [](const Tensor& t) { return square(t); }},   {"gelu", [](const Tensor& t) { return gelu(t); }},
        {"relu", [](const Tensor& t) { return relu(t); }},       {"elu", [](const Tensor& t) { return elu(t); }},
        {"softplus", [](const Tensor& t) { return softplus(t); }}};
    const std::vector<std::pair<std::string, Fn>> positive = {
        {"log", [](const Tensor& t) { return log(t); }},
        {"sqrt", [](const Tensor& t) { return sqrt(t); }},
        {"rsqrt", [](const Tensor& t) { return rsqrt(t); }}};
    for (const auto& [list, input] : {std::make_pair(&fns, x), std::make_pair(&positive, pos)})
      for (const auto& [name, f] : *list) {
        INFO(name << " " << dtype_name(dt));
        Tensor cpu_in = input.detach().requires_grad_(true), gpu_in = input.to(Device::cuda()).requires_grad_(true);
        Tensor cpu_out = f(cpu_in), gpu_out = f(gpu_in);
        CHECK(relative_difference(gpu_out, cpu_out) <= 4 * tol);
        cpu_out.backward(up);
        gpu_out.backward(up.to(Device::cuda()));
        CHECK(relative_difference(gpu_in.grad(), cpu_in.grad()) <= 4 * tol);
      }
  }
}

TEST_CASE("cuda: sum, mean and max over any axis, and their gradients, equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(33);
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 1e-5 : 1e-13;
    for (const Shape& shape : {Shape{1}, Shape{70001}, Shape{3, 5, 7}, Shape{2, 4097}, Shape{257, 3}})
      for (int axis = 0; axis < shape.ndim(); ++axis) {
        INFO(shape.str() << " axis " << axis << " " << dtype_name(dt));
        Tensor x = Tensor::randn(shape, gen, dt);
        Tensor cx = x.detach().requires_grad_(true), gx = x.to(Device::cuda()).requires_grad_(true);
        Tensor cs = sum(cx, axis), gs = sum(gx, axis);
        CHECK(relative_difference(gs, cs) <= tol);
        CHECK(relative_difference(mean(gx, axis, true), mean(cx, axis, true)) <= tol);
        Tensor cm = max(cx, axis), gm = max(gx, axis);
        CHECK(relative_difference(gm, cm) == 0);
        CHECK(relative_difference(argmax(gx, axis), argmax(cx, axis)) == 0);
        // Backward through both: expand (sum) and the scatter to the argmax (max).
        Tensor up_s = Tensor::randn(cs.shape(), gen, dt), up_m = Tensor::randn(cm.shape(), gen, dt);
        add(mul(cs, up_s), mul(cm, up_m)).backward(Tensor::ones(cs.shape(), dt));
        add(mul(gs, up_s.to(Device::cuda())), mul(gm, up_m.to(Device::cuda())))
            .backward(Tensor::ones(cs.shape(), dt, Device::cuda()));
        CHECK(relative_difference(gx.grad(), cx.grad()) <= tol);
      }
  }
}

TEST_CASE("cuda: softmax, log-softmax and cross-entropy, and their gradients, equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(45);
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 1e-5 : 1e-13;
    for (const Shape& shape : {Shape{1, 1}, Shape{3, 8193}, Shape{4, 5, 6}, Shape{300, 7}})
      for (int axis = 0; axis < shape.ndim(); ++axis)
        for (bool log_form : {false, true}) {
          INFO(shape.str() << " axis " << axis << (log_form ? " log_softmax " : " softmax ") << dtype_name(dt));
          Tensor x = mul(Tensor::randn(shape, gen, dt), 4.0), up = Tensor::randn(shape, gen, dt);
          Tensor cx = x.detach().requires_grad_(true), gx = x.to(Device::cuda()).requires_grad_(true);
          Tensor cy = log_form ? log_softmax(cx, axis) : softmax(cx, axis);
          Tensor gy = log_form ? log_softmax(gx, axis) : softmax(gx, axis);
          CHECK(relative_difference(gy, cy) <= tol);
          cy.backward(up);
          gy.backward(up.to(Device::cuda()));
          CHECK(relative_difference(gx.grad(), cx.grad()) <= tol);
        }
    // Cross-entropy over a vocabulary wider than a block, with ignored rows.
    for (int64_t V : {int64_t(1), int64_t(7), int64_t(8192)}) {
      INFO("V " << V << " " << dtype_name(dt));
      const int64_t N = 37;
      Tensor logits = mul(Tensor::randn({N, V}, gen, dt), 3.0);
      std::vector<int64_t> t(N);
      for (int64_t i = 0; i < N; ++i) t[i] = i % 5 == 0 ? -100 : (i * 7919) % V;
      Tensor targets = Tensor::from_indices(t, {N});
      Tensor cl = logits.detach().requires_grad_(true), gl = logits.to(Device::cuda()).requires_grad_(true);
      Tensor closs = cross_entropy(cl, targets), gloss = cross_entropy(gl, targets.to(Device::cuda()));
      CHECK(relative_difference(gloss, closs) <= tol);
      closs.backward();
      gloss.backward();
      CHECK(relative_difference(gl.grad(), cl.grad()) <= tol);
      t[3] = V;  // out of range: refused with the row named, as on the CPU
      REQUIRE_THROWS_WITH(cross_entropy(gl, Tensor::from_indices(t, {N}).to(Device::cuda())),
                          Catch::Contains("row 3"));
    }
  }
}

TEST_CASE("cuda: layer norm, RMS norm and dropout, and their gradients, equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(57);
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 2e-5 : 1e-12;
    for (const Shape& shape : {Shape{1, 1}, Shape{5, 7}, Shape{2, 3, 1000}, Shape{1025, 64}})
      for (bool affine : {false, true}) {
        INFO(shape.str() << (affine ? " affine " : " plain ") << dtype_name(dt));
        const int64_t C = shape[shape.ndim() - 1];
        Tensor x = add(mul(Tensor::randn(shape, gen, dt), 3.0), 1.5), up = Tensor::randn(shape, gen, dt);
        Tensor w = affine ? Tensor::randn({C}, gen, dt) : Tensor(), b = affine ? Tensor::randn({C}, gen, dt) : Tensor();
        for (bool rms : {false, true}) {
          Tensor cx = leaf_on(x, Device::cpu()), cw = leaf_on(w, Device::cpu()), cb = leaf_on(b, Device::cpu());
          Tensor gx = leaf_on(x, Device::cuda()), gw = leaf_on(w, Device::cuda()), gb = leaf_on(b, Device::cuda());
          Tensor cy = rms ? rms_norm(cx, cw, 1e-5) : layer_norm(cx, cw, cb, 1e-5);
          Tensor gy = rms ? rms_norm(gx, gw, 1e-5) : layer_norm(gx, gw, gb, 1e-5);
          CHECK(relative_difference(gy, cy) <= tol);
          cy.backward(up);
          gy.backward(up.to(Device::cuda()));
          CHECK(relative_difference(gx.grad(), cx.grad()) <= tol);
          if (affine) CHECK(relative_difference(gw.grad(), cw.grad()) <= tol);
          if (affine && !rms) CHECK(relative_difference(gb.grad(), cb.grad()) <= tol);
        }
      }
    // Dropout: the same Philox counters drop the same elements on both devices.
    Tensor x = Tensor::randn({3, 70001}, gen, dt);
    Generator cpu_gen(7), gpu_gen(7);
    Tensor cx = x.detach().requires_grad_(true), gx = x.to(Device::cuda()).requires_grad_(true);
    Tensor cy = dropout(cx, 0.3, cpu_gen, true), gy = dropout(gx, 0.3, gpu_gen, true);
    CHECK(relative_difference(gy, cy) == 0);
    cy.backward(x);
    gy.backward(x.to(Device::cuda()));
    CHECK(relative_difference(gx.grad(), cx.grad()) == 0);
  }
}

TEST_CASE("cuda: permute, slice, concat, gathers, scatter-adds and embeddings, with gradients, equal the CPU's",
          "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(69);
  const Device gpu = Device::cuda();
  for (DType dt : {DType::F32, DType::F64}) {
    INFO(dtype_name(dt));
    Tensor x = Tensor::randn({2, 3, 5, 7, 4}, gen, dt), up;
    auto both = [&](const std::function<Tensor(const Tensor&)>& f) {
      Tensor cx = x.detach().requires_grad_(true), gx = x.to(gpu).requires_grad_(true);
      Tensor cy = f(cx), gy = f(gx);
      CHECK(relative_difference(gy, cy) == 0);
      Tensor u = Tensor::randn(cy.shape(), gen, dt);
      cy.backward(u);
      gy.backward(u.to(gpu));
      CHECK(relative_difference(gx.grad(), cx.grad()) <= (dt == DType::F32 ? 1e-6 : 1e-14));
    };
    both([](const Tensor& t) { return permute(t, {4, 2, 0, 3, 1}); });
    both([](const Tensor& t) { return transpose(t, 1, 3); });
    both([](const Tensor& t) { return slice(t, 2, 1, 4); });
    both([](const Tensor& t) { return concat({t, slice(t, 3, 2, 7), t}, 3); });
    const std::vector<int64_t> picks = {4, 0, 4, 2, 2, 1};  // repeats: the backward adds them up
    both([&](const Tensor& t) { return index_select(t, 2, Tensor::from_indices(picks, {6}, t.device())); });
    both([&](const Tensor& t) {
      Tensor src = mul(index_select(t, 2, Tensor::from_indices(picks, {6}, t.device())), 2.0);
      return scatter_add(t, 2, Tensor::from_indices(picks, {6}, t.device()), src);
    });
    // An embedding table read by ids with repeats, as the model's first layer.
    Tensor table = Tensor::randn({50, 16}, gen, dt);
    std::vector<int64_t> ids(3 * 33);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>((i * 17) % 50);
    Tensor ct = table.detach().requires_grad_(true), gt = table.to(gpu).requires_grad_(true);
    Tensor ce = embedding(ct, Tensor::from_indices(ids, {3, 33})), ge = embedding(gt, Tensor::from_indices(ids, {3, 33}, gpu));
    CHECK(relative_difference(ge, ce) == 0);
    Tensor u = Tensor::randn(ce.shape(), gen, dt);
    ce.backward(u);
    ge.backward(u.to(gpu));
    CHECK(relative_difference(gt.grad(), ct.grad()) <= (dt == DType::F32 ? 1e-6 : 1e-14));
    ids[5] = 50;  // out of range: refused before any kernel reads it
    REQUIRE_THROWS_WITH(embedding(gt, Tensor::from_indices(ids, {3, 33}, gpu)), Catch::Contains("position 5"));
  }
}

TEST_CASE("cuda: cumsum and the causal depthwise conv1d, with gradients, equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(81);
  const Device gpu = Device::cuda();
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 1e-5 : 1e-13;
    for (const Shape& shape : {Shape{1}, Shape{3, 1025}, Shape{2, 9, 5}})
      for (int axis = 0; axis < shape.ndim(); ++axis)
        for (bool reverse : {false, true}) {
          INFO(shape.str() << " axis " << axis << (reverse ? " reverse " : " ") << dtype_name(dt));
          Tensor x = Tensor::randn(shape, gen, dt), up = Tensor::randn(shape, gen, dt);
          Tensor cx = x.detach().requires_grad_(true), gx = x.to(gpu).requires_grad_(true);
          Tensor cy = cumsum(cx, axis, reverse), gy = cumsum(gx, axis, reverse);
          CHECK(relative_difference(gy, cy) <= tol);
          cy.backward(up);
          gy.backward(up.to(gpu));
          CHECK(relative_difference(gx.grad(), cx.grad()) <= tol);
        }
    // Kernels wider than the sequence (K > T) and the usual K = 4.
    for (const auto& [T, K] : {std::pair<int64_t, int64_t>{1, 3}, {5, 7}, {333, 4}}) {
      INFO("T " << T << " K " << K << " " << dtype_name(dt));
      const int64_t B = 2, C = 19;
      Tensor x = Tensor::randn({B, T, C}, gen, dt), w = Tensor::randn({C, K}, gen, dt), b = Tensor::randn({C}, gen, dt);
      Tensor up = Tensor::randn({B, T, C}, gen, dt);
      Tensor cx = leaf_on(x, Device::cpu()), cw = leaf_on(w, Device::cpu()), cb = leaf_on(b, Device::cpu());
      Tensor gx = leaf_on(x, gpu), gw = leaf_on(w, gpu), gb = leaf_on(b, gpu);
      Tensor cy = causal_conv1d(cx, cw, cb), gy = causal_conv1d(gx, gw, gb);
      CHECK(relative_difference(gy, cy) <= tol);
      cy.backward(up);
      gy.backward(up.to(gpu));
      CHECK(relative_difference(gx.grad(), cx.grad()) <= tol);
      CHECK(relative_difference(gw.grad(), cw.grad()) <= tol);
      CHECK(relative_difference(gb.grad(), cb.grad()) <= tol);
    }
  }
}

TEST_CASE("cuda: AdamW (one launch over all parameters) and gradient clipping equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  allow_unverified_kernels();
  Generator gen(93);
  for (DType dt : {DType::F32, DType::F64}) {
    INFO(dtype_name(dt));
    const double tol = dt == DType::F32 ? 1e-6 : 1e-14;
    // A matrix (decayed), a bias (not decayed), an embedding (not decayed) and one without a gradient.
    const std::vector<std::pair<std::string, Shape>> shapes = {
        {"layer.weight", {33, 70}}, {"layer.bias", {33}}, {"embed.weight", {5000, 8}}, {"unused.weight", {3, 3}}};
    std::vector<std::pair<std::string, Tensor>> cpu_params, gpu_params;
    for (const auto& [name, shape] : shapes) {
      Tensor p = Tensor::randn(shape, gen, dt);
      cpu_params.emplace_back(name, p.detach().requires_grad_(true));
      gpu_params.emplace_back(name, p.to(Device::cuda()).requires_grad_(true));
    }
    AdamWConfig cfg;
    cfg.weight_decay = 0.1;
    AdamW cpu_opt(cpu_params, cfg), gpu_opt(gpu_params, cfg);
    for (int step = 0; step < 3; ++step) {
      std::vector<Tensor> cpu_list, gpu_list;
      for (size_t i = 0; i + 1 < shapes.size(); ++i) {  // the last parameter gets no gradient
        Tensor g = mul(Tensor::randn(shapes[i].second, gen, dt), 10.0);
        cpu_params[i].second.zero_grad();
        gpu_params[i].second.zero_grad();
        sum(mul(cpu_params[i].second, g)).backward();
        sum(mul(gpu_params[i].second, g.to(Device::cuda()))).backward();
      }
      for (auto& [name, p] : cpu_params) cpu_list.push_back(p);
      for (auto& [name, p] : gpu_params) gpu_list.push_back(p);
      const double cpu_norm = clip_grad_norm(cpu_list, 5.0), gpu_norm = clip_grad_norm(gpu_list, 5.0);
      CHECK(std::abs(gpu_norm - cpu_norm) <= tol * cpu_norm);
      cpu_opt.step(1e-2);
      gpu_opt.step(1e-2);
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
      INFO(shapes[i].first);
      CHECK(relative_difference(gpu_params[i].second, cpu_params[i].second) <= tol);
    }
  }
}

TEST_CASE("cuda: unverified kernel families refuse to run unless enabled, naming the flag", "[cuda][nocuda]") {
  // The gate is plain C++: it is tested with or without a device.
  ::unsetenv("MIXLAB_CUDA_UNVERIFIED");
  REQUIRE_THROWS_WITH(cuda::require_verified("elementwise", "exp"),
                      Catch::Contains("exp") && Catch::Contains("MIXLAB_CUDA_UNVERIFIED=1") &&
                          Catch::Contains("gpu-check.sh"));
  ::setenv("MIXLAB_CUDA_UNVERIFIED", "1", 1);
  CHECK_NOTHROW(cuda::require_verified("elementwise", "exp"));
  ::unsetenv("MIXLAB_CUDA_UNVERIFIED");
}

TEST_CASE("cuda: without a device, creating a CUDA tensor is a clear error", "[cuda][nocuda]") {
  if (cuda_available()) return;
  REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::F32, Device::cuda()), Catch::Contains("cuda"));
}

TEST_CASE("cuda test helpers: leaf_on makes independent leaves, even of a tensor on the same device",
          "[cuda][nocuda]") {
  Tensor x = Tensor::ones({3});
  Tensor a = leaf_on(x, Device::cpu()), b = leaf_on(x, Device::cpu());
  mul(a, 2.0).backward(Tensor::ones({3}));
  CHECK(a.grad().to_vector() == std::vector<double>(3, 2.0));
  CHECK_FALSE(b.grad().defined());
  CHECK_FALSE(x.requires_grad());
  CHECK_FALSE(leaf_on(Tensor(), Device::cpu()).defined());
}
