#include "layers/mixers/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace mixlab {

namespace {

// Copies `rows` rows of d elements for every (b, head) from src (…, src_cap, d)
// at row src_row to dst (…, dst_cap, d) at row dst_row (memmove: may overlap).
void copy_rows(const Tensor& src, int64_t src_row, const Tensor& dst, int64_t dst_row, int64_t rows) {
  const int64_t heads = src.size(0) * src.size(1), d = src.size(3);
  const size_t elem = dtype_size(src.dtype()), row_bytes = static_cast<size_t>(d) * elem;
  const auto* s = static_cast<const char*>(src.raw());
  auto* t = static_cast<char*>(dst.raw());
  for (int64_t h = 0; h < heads; ++h)
    std::memmove(t + static_cast<size_t>(h * dst.size(2) + dst_row) * row_bytes,
                 s + static_cast<size_t>(h * src.size(2) + src_row) * row_bytes, static_cast<size_t>(rows) * row_bytes);
}

}  // namespace

std::vector<Tensor> KVBuffer::visible_rows() const {
  if (!k_.defined()) return {};
  const int64_t first = window_ > 0 ? std::max<int64_t>(0, length_ - window_) : 0;
  std::vector<Tensor> rows = {slice(k_, 2, first, length_)};
  if (with_values_) rows.push_back(slice(v_, 2, first, length_));
  return rows;
}

void KVBuffer::reserve(int64_t rows, const Tensor& like) {
  const int64_t capacity = k_.defined() ? k_.size(2) : 0;
  if (rows <= capacity) return;
  // Full caches double; a windowed one needs W rows plus the incoming piece
  // (2W leaves room for W single-token steps between slides).
  const int64_t grown = window_ > 0 ? std::max(rows, 2 * window_) : std::max<int64_t>({rows, 2 * capacity, 16});
  const Shape shape{like.size(0), like.size(1), grown, like.size(3)};
  Tensor k = Tensor::empty(shape, like.dtype(), like.device());
  Tensor v = with_values_ ? Tensor::empty(shape, like.dtype(), like.device()) : Tensor();
  if (length_ > 0) {
    copy_rows(k_, 0, k, 0, length_);
    if (with_values_) copy_rows(v_, 0, v, 0, length_);
  }
  k_ = k;
  v_ = v;
}

void KVBuffer::append(const Tensor& k, const Tensor& v) {
  MIXLAB_CHECK(k.ndim() == 4 && (!v.defined() || k.shape() == v.shape()), "kv cache: keys ", k.describe(),
               " and values ", v.defined() ? v.describe() : "(none)", " must both be (B, Hkv, T, d)");
  MIXLAB_CHECK(!k_.defined() || v.defined() == with_values_, "kv cache: appending ",
               v.defined() ? "values to a keys-only cache" : "keys only to a cache with values");
  with_values_ = v.defined();
  MIXLAB_CHECK(!k_.defined() || (k.size(0) == k_.size(0) && k.size(1) == k_.size(1) && k.size(3) == k_.size(3) &&
                                 k.dtype() == k_.dtype()),
               "kv cache: appending ", k.describe(), " to a cache of ", k_.describe());
  const int64_t T = k.size(2);
  if (window_ > 0 && k_.defined() && length_ + T > k_.size(2) && length_ > 0) {
    // Slide instead of growing: only the last W rows are ever read again.
    const int64_t kept = std::min(length_, window_);
    copy_rows(k_, length_ - kept, k_, 0, kept);
    if (with_values_) copy_rows(v_, length_ - kept, v_, 0, kept);
    length_ = kept;
  }
  reserve(length_ + T, k);
  copy_rows(k.detach(), 0, k_, length_, T);
  if (with_values_) copy_rows(v.detach(), 0, v_, length_, T);
  length_ += T;
}

}  // namespace mixlab
