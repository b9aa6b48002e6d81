#include <algorithm>
#include <omp.h>

#include <catch2/catch.hpp>

#include "autograd/allocator.h"
#include "autograd/ops.h"

using namespace mixlab;

namespace {

// A training-like step: forward through two layers, loss, backward, and an
// in-place parameter update.
void train_step(const Tensor& w1, const Tensor& w2, const Tensor& x) {
  Tensor h = tanh(matmul(x, w1));
  Tensor loss = mean(square(matmul(h, w2)));
  loss.backward();
  NoGradGuard no_grad;
  for (const Tensor& w : {w1, w2}) {
    w.copy_(sub(w, mul(w.grad(), 0.01)));
    w.zero_grad();
  }
}

}  // namespace

TEST_CASE("caching allocator: a repeated training step allocates nothing new", "[autograd][allocator]") {
  Generator gen(11);
  Tensor w1 = Tensor::randn({32, 64}, gen).requires_grad_();
  Tensor w2 = Tensor::randn({64, 8}, gen).requires_grad_();
  Tensor x = Tensor::randn({16, 32}, gen);
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  train_step(w1, w2, x);
  const AllocatorStats after_first = alloc.stats();
  for (int i = 0; i < 5; ++i) train_step(w1, w2, x);
  const AllocatorStats after = alloc.stats();
  CHECK(after.system_allocs == after_first.system_allocs);
  CHECK(after.bytes_in_use == after_first.bytes_in_use);
  CHECK(after.peak_bytes_in_use >= after.bytes_in_use);
}

TEST_CASE("caching allocator: bytes in use and peak are tracked", "[autograd][allocator]") {
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  alloc.reset_peak();
  const size_t before = alloc.stats().bytes_in_use;
  {
    Tensor big = Tensor::empty({1 << 20});  // 4 MiB
    CHECK(alloc.stats().bytes_in_use >= before + (4u << 20));
  }
  CHECK(alloc.stats().bytes_in_use == before);
  CHECK(alloc.stats().peak_bytes_in_use >= before + (4u << 20));
  alloc.empty_cache();
  CHECK(alloc.stats().bytes_reserved == alloc.stats().bytes_in_use);
}

TEST_CASE("caching allocator: ever-growing requests do not pile up cached blocks", "[autograd][allocator]") {
  // A decode history appended token by token: each block a little larger
  // than the last, freed after the next one is made. Without the trim the
  // cache would hold every size seen (here ~1 GiB); with it, about what is
  // in use plus the 64 MiB it may keep.
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  alloc.empty_cache();
  const size_t base = alloc.stats().bytes_in_use;
  Tensor previous;
  for (int64_t n = 1; n <= 512; ++n) {
    Tensor grown = Tensor::empty({n * 2048});  // n x 8 KiB
    previous = grown;
  }
  const AllocatorStats s = alloc.stats();
  CHECK(s.bytes_in_use - base < (size_t{8} << 20));
  CHECK(s.bytes_reserved - s.bytes_in_use <= std::max(s.bytes_in_use, size_t{64} << 20) + (size_t{8} << 20));
  CHECK(s.system_frees > 0);
}

TEST_CASE("Philox RNG: same seed, same numbers, whatever the thread count", "[autograd][rng]") {
  const int threads = omp_get_max_threads();
  auto draw = [](int n_threads) {
    omp_set_num_threads(n_threads);
    Generator gen(1234);
    Tensor a = Tensor::randn({300000}, gen);  // above the parallel threshold
    Tensor b = Tensor::uniform({1000}, gen, -1, 1);
    std::vector<double> out = a.to_vector(), tail = b.to_vector();
    out.insert(out.end(), tail.begin(), tail.end());
    return out;
  };
  std::vector<double> one = draw(1), two = draw(2), four = draw(4);
  omp_set_num_threads(threads);
  CHECK(one == two);
  CHECK(one == four);
  // Successive draws differ; different seeds differ.
  Generator g1(1), g2(2);
  CHECK(Tensor::randn({8}, g1).to_vector() != Tensor::randn({8}, g1).to_vector());
  Generator g1b(1);
  CHECK(Tensor::randn({8}, g1b).to_vector() != Tensor::randn({8}, g2).to_vector());
}

TEST_CASE("Philox RNG: moments of normal and uniform fills", "[autograd][rng]") {
  Generator gen(7);
  std::vector<double> n = Tensor::randn({200000}, gen, DType::F64).to_vector();
  double m = 0, v = 0;
  for (double x : n) m += x;
  m /= n.size();
  for (double x : n) v += (x - m) * (x - m);
  v /= n.size();
  CHECK(std::abs(m) < 0.01);
  CHECK(std::abs(v - 1.0) < 0.02);
  std::vector<double> u = Tensor::uniform({100000}, gen, 2.0, 3.0, DType::F64).to_vector();
  double mu = 0, lo = 10, hi = -10;
  for (double x : u) {
    mu += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  CHECK(mu / u.size() == Approx(2.5).margin(0.01));
  CHECK(lo >= 2.0);
  CHECK(hi < 3.0);
}
