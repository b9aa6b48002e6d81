#pragma once
// The [train] section of an experiment config.
#include <string>

#include "autograd/device.h"
#include "layers/options.h"
#include "train/adamw.h"
#include "train/schedule.h"

namespace mixlab {

struct TrainConfig {
  std::string name;            // run directory name under out_dir
  std::string out_dir = "runs";
  uint64_t seed = 0;           // model init and dropout
  int64_t batch_size = 64;
  int64_t epochs = 0;          // 0: run max_steps instead
  int64_t max_steps = 0;       // 0: run epochs instead
  double lr = 1e-3;
  std::string schedule = "cosine";  // constant | cosine | linear
  std::string schedule_unit = "step";  // step | epoch (Zoology steps its cosine per epoch)
  int64_t warmup = 0;          // in schedule units
  double min_lr = 0.0;
  AdamWConfig adamw;
  double grad_clip = 0.0;      // max global norm; 0 = off
  int64_t eval_every = 0;      // steps; 0 = at the end of every epoch
  int64_t eval_batch_size = 0;  // 0 = batch_size
  bool eval_at_start = true;    // a step-0 eval of the initial model (curves start at the init loss)
  double target_accuracy = 0.99;  // stop once test accuracy reaches it; 0 = never
  int64_t checkpoint_every = 0;   // steps; 0 = at every eval
  int threads = 0;             // OpenMP/BLAS threads; 0 = all cores
  Device device = Device::cpu();  // where the model trains (cuda: docs/cuda.md)
  bool tf32 = false;              // cuBLAS F32 GEMMs on TF32 tensor cores

  static void add_options(po::options_description& desc);
  static TrainConfig from_options(const po::variables_map& vm);

  // Steps in the whole run, given the number of batches in one epoch.
  int64_t total_steps(int64_t batches_per_epoch) const;
};

}  // namespace mixlab
