#include "layers/embedding.h"

#include "autograd/ops.h"

namespace mixlab {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, double init_std)
    : num_embeddings(num_embeddings), dim(dim) {
  MIXLAB_CHECK(num_embeddings > 0 && dim > 0, "Embedding: num (", num_embeddings, ") and dim (", dim,
               ") must be positive");
  weight = register_parameter("weight", Tensor::empty({num_embeddings, dim}));
  normal_(weight, init_std, gen);
}

std::string Embedding::describe() const {
  return detail::concat("Embedding(num=", num_embeddings, ", dim=", dim, ")");
}

Tensor Embedding::forward(const Tensor& ids) const {
  MIXLAB_CHECK(ids.defined() && ids.dtype() == DType::I64, describe(), ": ids must be an i64 tensor, got ",
               ids.defined() ? ids.describe() : std::string("undefined"));
  return embedding(weight, ids);
}

}  // namespace mixlab
