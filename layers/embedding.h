#pragma once
// Embedding: a lookup table of row vectors, as torch.nn.Embedding.
#include <string>

#include "autograd/rng.h"
#include "layers/init.h"
#include "layers/module.h"

namespace mixlab {

class Embedding : public Module {
 public:
  // weight ~ N(0, init_std)
  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen, double init_std = kDefaultInitStd);

  // ids i64 of any shape S -> S + (dim)
  Tensor forward(const Tensor& ids) const;
  std::string describe() const;  // "Embedding(num=100, dim=16)"

  const int64_t num_embeddings, dim;
  Tensor weight;  // (num, dim)
};

}  // namespace mixlab
