// Shape ops: F64 gradient checks, forward values against hand-computed
// expectations and naive loops, multi-threaded paths, i64 tensors, F32, errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>

#include "autograd/ops.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using mixlab::testing::GradCase;

namespace {

// 0, 1, 2, ... in the given shape.
Tensor arange(const Shape& s, DType dtype = DType::F64) {
  std::vector<double> v(static_cast<size_t>(s.numel()));
  std::iota(v.begin(), v.end(), 0.0);
  return Tensor::from_vector(v, s, dtype);
}

Tensor ids(const std::vector<int64_t>& v) { return Tensor::from_indices(v, Shape{static_cast<int64_t>(v.size())}); }

// Reference permute by explicit index arithmetic, one element at a time.
std::vector<double> naive_permute(const std::vector<double>& x, const Shape& s, const std::vector<int>& dims) {
  const int nd = s.ndim();
  Shape out_shape;
  for (int k = 0; k < nd; ++k) out_shape.push_back(s[dims[k]]);
  std::vector<double> out(x.size());
  for (int64_t flat = 0; flat < out_shape.numel(); ++flat) {
    std::vector<int64_t> out_idx(nd), in_idx(nd);
    int64_t rem = flat;
    for (int k = nd - 1; k >= 0; --k) {
      out_idx[k] = rem % out_shape[k];
      rem /= out_shape[k];
    }
    for (int k = 0; k < nd; ++k) in_idx[dims[k]] = out_idx[k];
    int64_t in_flat = 0;
    for (int k = 0; k < nd; ++k) in_flat = in_flat * s[k] + in_idx[k];
    out[flat] = x[in_flat];
  }
  return out;
}

}  // namespace

// Both that it throws mixlab::Error and that the message says `text`.
#define REQUIRE_ERROR(expr, text)                          \
  do {                                                     \
    REQUIRE_THROWS_AS(expr, mixlab::Error);                \
    REQUIRE_THROWS_WITH(expr, Catch::Contains(text));      \
  } while (0)

// ---- gradient checks (F64, central differences) ----------------------------

TEST_CASE("permute and transpose gradients", "[ops][shape][grad]") {
  auto perm = [](std::vector<int> dims) {
    return [dims](const std::vector<Tensor>& in) { return permute(in[0], dims); };
  };
  auto tr = [](int a, int b) { return [a, b](const std::vector<Tensor>& in) { return transpose(in[0], a, b); }; };
  mixlab::testing::check_all({
      GradCase{"permute 3-D (2,0,1)", {Shape{2, 3, 4}}, perm({2, 0, 1})},
      GradCase{"permute 3-D (1,2,0)", {Shape{2, 3, 4}}, perm({1, 2, 0})},
      GradCase{"permute 3-D negative dims", {Shape{2, 3, 4}}, perm({-1, 0, -2})},
      GradCase{"permute 4-D (0,2,1,3)", {Shape{2, 3, 2, 4}}, perm({0, 2, 1, 3})},
      GradCase{"permute 4-D (3,1,0,2)", {Shape{2, 3, 2, 4}}, perm({3, 1, 0, 2})},
      GradCase{"permute with unit extents", {Shape{1, 3, 1, 2}}, perm({3, 2, 0, 1})},
      GradCase{"transpose 2-D", {Shape{3, 4}}, tr(0, 1)},
      GradCase{"transpose 3-D axes 0,2", {Shape{2, 3, 4}}, tr(0, 2)},
      GradCase{"transpose 3-D axes -1,-2", {Shape{2, 3, 4}}, tr(-1, -2)},
      GradCase{"transpose 4-D axes 1,3", {Shape{2, 3, 2, 2}}, tr(1, 3)},
      GradCase{"transpose same axis", {Shape{2, 3}}, tr(1, 1)},
  });
}

TEST_CASE("slice gradients", "[ops][shape][grad]") {
  auto sl = [](int axis, int64_t b, int64_t e) {
    return [=](const std::vector<Tensor>& in) { return slice(in[0], axis, b, e); };
  };
  mixlab::testing::check_all({
      GradCase{"slice axis 0", {Shape{4, 3, 5}}, sl(0, 1, 3)},
      GradCase{"slice axis 1 negative start", {Shape{4, 3, 5}}, sl(1, -2, 3)},
      GradCase{"slice axis 2 negative end", {Shape{4, 3, 5}}, sl(2, 0, -1)},
      GradCase{"slice axis -1 negative bounds", {Shape{4, 3, 5}}, sl(-1, -4, -2)},
      GradCase{"slice whole axis", {Shape{2, 3}}, sl(0, 0, 2)},
      GradCase{"slice of a slice", {Shape{5, 4}},
               [](const std::vector<Tensor>& in) { return slice(slice(in[0], 0, 1, 5), 1, 1, -1); }},
  });
}

TEST_CASE("concat gradients", "[ops][shape][grad]") {
  auto cat = [](int axis) {
    return [axis](const std::vector<Tensor>& in) { return concat(in, axis); };
  };
  mixlab::testing::check_all({
      GradCase{"concat axis 0, 2 inputs", {Shape{2, 3}, Shape{1, 3}}, cat(0)},
      GradCase{"concat axis 1, 3 inputs", {Shape{2, 1}, Shape{2, 3}, Shape{2, 2}}, cat(1)},
      GradCase{"concat axis 0 of 3-D, 3 inputs", {Shape{1, 2, 3}, Shape{2, 2, 3}, Shape{1, 2, 3}}, cat(0)},
      GradCase{"concat axis 1 of 3-D", {Shape{2, 1, 3}, Shape{2, 2, 3}}, cat(1)},
      GradCase{"concat axis 2 of 3-D", {Shape{2, 2, 1}, Shape{2, 2, 3}}, cat(2)},
      GradCase{"concat axis -1, 3 inputs", {Shape{3, 2}, Shape{3, 1}, Shape{3, 2}}, cat(-1)},
      GradCase{"concat then permute", {Shape{2, 3}, Shape{2, 2}},
               [](const std::vector<Tensor>& in) { return transpose(concat(in, 1), 0, 1); }},
  });
}

TEST_CASE("index_select, scatter_add and embedding gradients", "[ops][shape][grad]") {
  const Tensor rows = ids({2, 0, 2, 3, 2});  // repeated 2: its gradient sums three rows
  const Tensor cols = ids({4, 4, 1});
  const Tensor targets = ids({1, 3, 1, 1, 0});
  const Tensor inner = ids({3, 0, 3});
  const Tensor tokens = Tensor::from_indices({0, 5, 2, 5, 5, 1}, Shape{2, 3});
  mixlab::testing::check_all({
      GradCase{"index_select axis 0 repeated", {Shape{4, 3}},
               [=](const std::vector<Tensor>& in) { return index_select(in[0], 0, rows); }},
      GradCase{"index_select axis 1 repeated", {Shape{2, 5, 3}},
               [=](const std::vector<Tensor>& in) { return index_select(in[0], 1, cols); }},
      GradCase{"index_select axis -1", {Shape{2, 3, 5}},
               [=](const std::vector<Tensor>& in) { return index_select(in[0], -1, cols); }},
      GradCase{"scatter_add axis 0 repeated (x and src)", {Shape{4, 3}, Shape{5, 3}},
               [=](const std::vector<Tensor>& in) { return scatter_add(in[0], 0, targets, in[1]); }},
      GradCase{"scatter_add axis 1 repeated (x and src)", {Shape{2, 4, 3}, Shape{2, 3, 3}},
               [=](const std::vector<Tensor>& in) { return scatter_add(in[0], 1, inner, in[1]); }},
      GradCase{"scatter_add axis -1", {Shape{2, 4}, Shape{2, 3}},
               [=](const std::vector<Tensor>& in) { return scatter_add(in[0], -1, inner, in[1]); }},
      GradCase{"embedding 2-D ids", {Shape{6, 4}},
               [=](const std::vector<Tensor>& in) { return embedding(in[0], tokens); }},
  });
}

// ---- forward values ---------------------------------------------------------

TEST_CASE("transpose and permute move elements", "[ops][shape]") {
  Tensor t = transpose(arange({2, 3}), 0, 1);
  CHECK(t.shape() == Shape{3, 2});
  CHECK(t.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});

  // x[i][j][k] = 12i + 4j + k; permute (2,0,1) puts k first.
  Tensor p = permute(arange({2, 3, 4}), {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.to_vector() == std::vector<double>{0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21,
                                             2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23});
  CHECK(!p.shares_storage_with(arange({2, 3, 4})));

  SECTION("every 4-D permutation matches index arithmetic") {
    const Shape s{2, 3, 1, 4};
    Tensor x = arange(s);
    std::vector<int> dims{0, 1, 2, 3};
    do {
      INFO("dims " << dims[0] << dims[1] << dims[2] << dims[3]);
      CHECK(permute(x, dims).to_vector() == naive_permute(x.to_vector(), s, dims));
    } while (std::next_permutation(dims.begin(), dims.end()));
  }
  SECTION("0-D and 1-D") {
    CHECK(permute(Tensor::scalar(7.0), {}).item() == 7.0);
    CHECK(permute(arange({3}), {0}).to_vector() == std::vector<double>{0, 1, 2});
  }
}

TEST_CASE("slice takes the half-open range start to end along an axis", "[ops][shape]") {
  Tensor x = arange({3, 4});
  CHECK(slice(x, 1, 1, 3).to_vector() == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(slice(x, -1, -3, -1).to_vector() == std::vector<double>{1, 2, 5, 6, 9, 10});
  CHECK(slice(x, 0, 2, 3).to_vector() == std::vector<double>{8, 9, 10, 11});
  Tensor empty = slice(x, 1, 2, 2);
  CHECK(empty.shape() == Shape{3, 0});
  CHECK(empty.numel() == 0);

  SECTION("backward writes the gradient into zeros at the slice") {
    Tensor leaf = arange({3, 4});
    leaf.requires_grad_();
    slice(leaf, 1, 1, 3).backward(Tensor::ones({3, 2}, DType::F64));
    CHECK(leaf.grad().to_vector() == std::vector<double>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
  }
}

TEST_CASE("concat joins along an axis", "[ops][shape]") {
  Tensor a = arange({2, 2});
  Tensor b = Tensor::from_vector({10, 11}, {2, 1}, DType::F64);
  Tensor c1 = concat({a, b}, 1);
  CHECK(c1.shape() == Shape{2, 3});
  CHECK(c1.to_vector() == std::vector<double>{0, 1, 10, 2, 3, 11});
  Tensor c0 = concat({a, Tensor::from_vector({7, 8}, {1, 2}, DType::F64), a}, 0);
  CHECK(c0.shape() == Shape{5, 2});
  CHECK(c0.to_vector() == std::vector<double>{0, 1, 2, 3, 7, 8, 0, 1, 2, 3});
  CHECK(concat({a}, 0).to_vector() == a.to_vector());
  Tensor with_empty = concat({a, slice(b, 1, 0, 0)}, 1);
  CHECK(with_empty.to_vector() == a.to_vector());

  SECTION("only inputs that need a gradient get one") {
    Tensor leaf = arange({2, 2});
    leaf.requires_grad_();
    Tensor out = concat({a, leaf}, 0);
    out.backward(arange({4, 2}));
    CHECK(leaf.grad().to_vector() == std::vector<double>{4, 5, 6, 7});
    CHECK(!a.grad().defined());
  }
}

TEST_CASE("index_select gathers and scatters back", "[ops][shape]") {
  Tensor x = arange({3, 2});
  CHECK(index_select(x, 0, ids({2, 0, 2})).to_vector() == std::vector<double>{4, 5, 0, 1, 4, 5});
  Tensor cols = index_select(x, 1, ids({1, 1, 0}));
  CHECK(cols.shape() == Shape{3, 3});
  CHECK(cols.to_vector() == std::vector<double>{1, 1, 0, 3, 3, 2, 5, 5, 4});
  CHECK(index_select(x, 0, ids({})).shape() == Shape{0, 2});

  SECTION("repeated indices accumulate in backward") {
    Tensor leaf = arange({3, 2});
    leaf.requires_grad_();
    index_select(leaf, 0, ids({2, 0, 2, 2})).backward(Tensor::ones({4, 2}, DType::F64));
    CHECK(leaf.grad().to_vector() == std::vector<double>{1, 1, 0, 0, 3, 3});
  }
}

TEST_CASE("scatter_add adds rows at indices", "[ops][shape]") {
  Tensor x = Tensor::from_vector({100, 200, 0, 0, 0, 0}, {3, 2}, DType::F64);
  Tensor src = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2}, DType::F64);
  Tensor out = scatter_add(x, 0, ids({0, 2, 0}), src);
  CHECK(out.to_vector() == std::vector<double>{106, 208, 0, 0, 3, 4});
  CHECK(x.to_vector() == std::vector<double>{100, 200, 0, 0, 0, 0});  // not in place

  Tensor along1 = scatter_add(Tensor::zeros({2, 3}, DType::F64), 1, ids({2, 2}), arange({2, 2}));
  CHECK(along1.to_vector() == std::vector<double>{0, 0, 1, 0, 0, 5});
}

TEST_CASE("embedding looks up rows", "[ops][shape]") {
  Tensor w = arange({3, 2});
  Tensor out = embedding(w, Tensor::from_indices({2, 0, 1, 2}, {2, 2}));
  CHECK(out.shape() == Shape{2, 2, 2});
  CHECK(out.to_vector() == std::vector<double>{4, 5, 0, 1, 2, 3, 4, 5});
  CHECK(embedding(w, Tensor::from_indices({1}, Shape{})).shape() == Shape{2});

  SECTION("backward counts each id") {
    Tensor leaf = arange({3, 2});
    leaf.requires_grad_();
    embedding(leaf, Tensor::from_indices({2, 0, 2, 2}, {2, 2})).backward(Tensor::ones({2, 2, 2}, DType::F64));
    CHECK(leaf.grad().to_vector() == std::vector<double>{1, 1, 0, 0, 3, 3});
  }
}

TEST_CASE("shape ops record their own name on the tape", "[ops][shape]") {
  Tensor x = arange({2, 3});
  x.requires_grad_();
  CHECK(std::string(transpose(x, 0, 1).grad_fn()->op) == "transpose");
  CHECK(std::string(permute(x, {1, 0}).grad_fn()->op) == "permute");
  CHECK(std::string(slice(x, 0, 0, 1).grad_fn()->op) == "slice");
  CHECK(std::string(concat({x, x}, 0).grad_fn()->op) == "concat");
  CHECK(std::string(index_select(x, 1, ids({0})).grad_fn()->op) == "index_select");
  CHECK(std::string(embedding(x, ids({1})).grad_fn()->op) == "embedding");
  NoGradGuard no_grad;
  CHECK(!permute(x, {1, 0}).requires_grad());
}

// ---- sizes that take the OpenMP paths ---------------------------------------

TEST_CASE("large shape ops match naive loops", "[ops][shape]") {
  Generator gen(7);
  SECTION("permute (B,T,H,D) -> (B,H,T,D) and a full reversal") {
    const Shape s{4, 64, 8, 32};
    Tensor x = Tensor::randn(s, gen, DType::F64);
    for (const std::vector<int>& dims : {std::vector<int>{0, 2, 1, 3}, std::vector<int>{3, 2, 1, 0}})
      CHECK(permute(x, dims).to_vector() == naive_permute(x.to_vector(), s, dims));
  }
  SECTION("embedding backward with many repeated ids is exact and ordered") {
    const int64_t V = 50, D = 300, n = 4096;
    std::vector<int64_t> tok(n);
    for (int64_t i = 0; i < n; ++i) tok[i] = (i * 37) % V;
    Tensor w = Tensor::randn({V, D}, gen, DType::F64);
    w.requires_grad_();
    Tensor g = Tensor::randn({n, D}, gen, DType::F64);
    embedding(w, ids(tok)).backward(g);
    // Reference: serial accumulation in ascending position, as the kernel promises.
    std::vector<double> gv = g.to_vector(), expect(static_cast<size_t>(V * D), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < D; ++c) expect[tok[i] * D + c] += gv[i * D + c];
    CHECK(w.grad().to_vector() == expect);
  }
  SECTION("slice and concat round-trip") {
    Tensor x = Tensor::randn({16, 100, 48}, gen, DType::F64);
    Tensor back = concat({slice(x, 1, 0, 30), slice(x, 1, 30, 31), slice(x, 1, 31, 100)}, 1);
    CHECK(back.to_vector() == x.to_vector());
  }
}

// ---- dtypes -----------------------------------------------------------------

TEST_CASE("shape ops work in F32", "[ops][shape]") {
  Generator gen(3);
  Tensor x64 = Tensor::randn({3, 4, 5}, gen, DType::F64);
  Tensor x32 = x64.to(DType::F32);
  const Tensor idx = ids({3, 0, 3});
  // Data movement is exact, so F32 results equal the F64 ones rounded.
  auto same = [](const Tensor& f32, const Tensor& f64) {
    REQUIRE(f32.dtype() == DType::F32);
    CHECK(f32.to_vector() == f64.to(DType::F32).to_vector());
  };
  same(permute(x32, {2, 0, 1}), permute(x64, {2, 0, 1}));
  same(transpose(x32, 0, 2), transpose(x64, 0, 2));
  same(slice(x32, 1, 1, -1), slice(x64, 1, 1, -1));
  same(concat({x32, x32}, 2), concat({x64, x64}, 2));
  same(index_select(x32, 1, idx), index_select(x64, 1, idx));
  Tensor w32 = x32.reshape({12, 5});
  same(embedding(w32, Tensor::from_indices({11, 0, 5, 11}, {2, 2})),
       embedding(x64.reshape({12, 5}), Tensor::from_indices({11, 0, 5, 11}, {2, 2})));
  // scatter_add rounds its sums, so compare on integers, which F32 holds exactly.
  Tensor sa = scatter_add(arange({3, 4, 5}, DType::F32), 1, ids({1, 1}), arange({3, 2, 5}, DType::F32));
  CHECK(sa.dtype() == DType::F32);
  CHECK(sa.to_vector() == scatter_add(arange({3, 4, 5}), 1, ids({1, 1}), arange({3, 2, 5})).to_vector());

  SECTION("F32 backward") {
    Tensor leaf = Tensor::ones({4, 3}, DType::F32);
    leaf.requires_grad_();
    Tensor picked = transpose(index_select(leaf, 0, ids({1, 1, 3})), 0, 1);  // (3,3): rows 1, 1, 3
    Tensor out = concat({picked, slice(transpose(leaf, 0, 1), 1, 0, 1)}, 1);    // + row 0
    out.backward(Tensor::ones(out.shape(), DType::F32));
    CHECK(leaf.grad().dtype() == DType::F32);
    CHECK(leaf.grad().to_vector() == std::vector<double>{1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1});
  }
}

TEST_CASE("data-movement shape ops move i64 index tensors", "[ops][shape]") {
  Tensor t = Tensor::from_indices({0, 1, 2, 3, 4, 5}, {2, 3});
  CHECK(transpose(t, 0, 1).to_indices() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(permute(t, {1, 0}).dtype() == DType::I64);
  CHECK(slice(t, 1, 1, 3).to_indices() == std::vector<int64_t>{1, 2, 4, 5});
  CHECK(concat({t, t}, 0).to_indices() == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
  CHECK(index_select(t, 1, ids({2, 2})).to_indices() == std::vector<int64_t>{2, 2, 5, 5});
}

// ---- errors -----------------------------------------------------------------

TEST_CASE("shape ops reject bad axes and shapes", "[ops][shape][errors]") {
  Tensor x = arange({2, 3});
  REQUIRE_ERROR(permute(x, {0}), "permute: dims (0) are not a permutation of the 2 axes of (2,3)");
  REQUIRE_ERROR(permute(x, {1, 1}), "permute");
  REQUIRE_ERROR(permute(x, {0, 2}), "permute");
  REQUIRE_ERROR(transpose(x, 0, 2), "transpose: axis 2 is out of range for (2,3)");
  REQUIRE_ERROR(transpose(Tensor(), 0, 1), "transpose");
  REQUIRE_ERROR(slice(x, 1, 2, 4), "slice: [2, 4) is out of range for axis 1 of (2,3)");
  REQUIRE_ERROR(slice(x, 0, 2, 1), "slice");
  REQUIRE_ERROR(slice(x, 0, -3, 1), "slice");
  REQUIRE_ERROR(slice(x, 2, 0, 1), "slice: axis 2");
  REQUIRE_ERROR(concat({}, 0), "concat: no inputs");
  REQUIRE_ERROR(concat({x, arange({2, 4})}, 0), "concat: input 1 (2,4) does not match (2,3) outside axis 0");
  REQUIRE_ERROR(concat({x, arange({2, 3, 1})}, 1), "concat: input 1 (2,3,1) does not match (2,3) outside axis 1");
  REQUIRE_ERROR(concat({x, arange({2, 3}, DType::F32)}, 0), "concat: input 1");
  REQUIRE_ERROR(concat({x, x}, -3), "concat: axis -3");
}

TEST_CASE("index ops reject bad indices", "[ops][shape][errors]") {
  Tensor x = arange({2, 4});
  REQUIRE_ERROR(index_select(x, 1, ids({0, 4})), "index_select: index 4 at position 1 is out of range [0, 4)");
  REQUIRE_ERROR(index_select(x, 0, ids({-1})), "index_select: index -1 at position 0 is out of range [0, 2)");
  REQUIRE_ERROR(index_select(x, 0, Tensor::from_vector({0}, {1}, DType::F64)), "index_select: indices must be an i64");
  REQUIRE_ERROR(index_select(x, 0, Tensor::from_indices({0, 1}, {1, 2})), "index_select: indices must be 1-D");
  REQUIRE_ERROR(index_select(x, 2, ids({0})), "index_select: axis 2");

  Tensor src = arange({2, 2});
  REQUIRE_ERROR(scatter_add(x, 1, ids({0, 9}), src), "scatter_add: index 9 at position 1 is out of range [0, 4)");
  REQUIRE_ERROR(scatter_add(x, 1, ids({0, 1, 2}), src), "scatter_add: src (2,2) does not match (2,3)");
  REQUIRE_ERROR(scatter_add(x, 1, ids({0, 1}), src.to(DType::F32)), "scatter_add: dtype mismatch");
  REQUIRE_ERROR(scatter_add(Tensor::from_indices({0, 0}, {1, 2}), 1, ids({0}), Tensor::from_indices({1}, {1, 1})),
                "scatter_add");

  Tensor w = arange({5, 3});
  REQUIRE_ERROR(embedding(w, Tensor::from_indices({0, 5}, {1, 2})),
                "embedding: index 5 at position 1 is out of range [0, 5) for weight (5,3)");
  REQUIRE_ERROR(embedding(arange({5}), ids({0})), "embedding: weight must be 2-D");
  REQUIRE_ERROR(embedding(w, Tensor::from_vector({0}, {1}, DType::F64)), "embedding: indices must be an i64");
  REQUIRE_ERROR(embedding(w, Tensor::from_indices(std::vector<int64_t>(32, 0), {2, 2, 2, 2, 2})),
                "embedding: ids (2,2,2,2,2) has 5 dims");
}
