#include "train/train_config.h"

#include "autograd/error.h"

namespace mixlab {

void TrainConfig::add_options(po::options_description& desc) {
  const TrainConfig d;
  desc.add_options()
      ("train.name", po::value<std::string>()->default_value(""),
       "run name: the run directory is <out_dir>/<name> (default: the config file's name)")
      ("train.out_dir", po::value<std::string>()->default_value(d.out_dir), "folder holding run directories")
      ("train.seed", po::value<int64_t>()->default_value(0), "seed of the model init and dropout")
      ("train.batch_size", po::value<int64_t>()->default_value(d.batch_size), "sequences per step")
      ("train.epochs", po::value<int64_t>()->default_value(d.epochs), "passes over the training set (0: use max_steps)")
      ("train.max_steps", po::value<int64_t>()->default_value(d.max_steps), "optimizer steps (0: use epochs)")
      ("train.lr", real_value(d.lr), "peak learning rate")
      ("train.schedule", po::value<std::string>()->default_value(d.schedule), "constant | cosine | linear")
      ("train.schedule_unit", po::value<std::string>()->default_value(d.schedule_unit),
       "step | epoch: how often the schedule advances (Zoology: epoch)")
      ("train.warmup", po::value<int64_t>()->default_value(d.warmup), "linear warmup length, in schedule units")
      ("train.min_lr", real_value(d.min_lr), "learning rate at the end of cosine/linear decay")
      ("train.weight_decay", real_value(d.adamw.weight_decay), "AdamW decoupled weight decay")
      ("train.decay_all", po::value<bool>()->default_value(d.adamw.decay_all, d.adamw.decay_all ? "true" : "false"),
       "decay norms, biases and embeddings too (Zoology decays every parameter)")
      ("train.beta1", real_value(d.adamw.beta1), "AdamW beta1")
      ("train.beta2", real_value(d.adamw.beta2), "AdamW beta2")
      ("train.eps", real_value(d.adamw.eps), "AdamW epsilon")
      ("train.grad_clip", real_value(d.grad_clip), "max global gradient norm (0: off)")
      ("train.eval_every", po::value<int64_t>()->default_value(d.eval_every), "steps between evals (0: every epoch)")
      ("train.eval_batch_size", po::value<int64_t>()->default_value(d.eval_batch_size), "test batch size (0: batch_size)")
      ("train.eval_at_start", po::value<bool>()->default_value(d.eval_at_start),
       "evaluate the initial model too: a metrics row at step 0 (its train_loss is nan)")
      ("train.target_accuracy", real_value(d.target_accuracy),
       "stop early once test accuracy reaches this (0: never; Zoology: 0.99)")
      ("train.checkpoint_every", po::value<int64_t>()->default_value(d.checkpoint_every),
       "steps between checkpoints (0: at every eval)")
      ("train.threads", po::value<int>()->default_value(d.threads), "CPU threads (0: all cores)")
      ("train.device", po::value<std::string>()->default_value("cpu"),
       "cpu | cuda | cuda:N (a GPU; its kernels are gated until verified, docs/cuda.md)")
      ("train.tf32", po::value<bool>()->default_value(false, "false"),
       "F32 GEMMs on TF32 tensor cores (cuBLAS; 10-bit mantissa inputs, F32 accumulation)");
}

TrainConfig TrainConfig::from_options(const po::variables_map& vm) {
  TrainConfig c;
  c.name = option<std::string>(vm, "train.name");
  c.out_dir = option<std::string>(vm, "train.out_dir");
  const int64_t seed = option<int64_t>(vm, "train.seed");
  MIXLAB_CHECK(seed >= 0, "train.seed = ", seed, " must be >= 0");
  c.seed = static_cast<uint64_t>(seed);
  c.batch_size = option<int64_t>(vm, "train.batch_size");
  c.epochs = option<int64_t>(vm, "train.epochs");
  c.max_steps = option<int64_t>(vm, "train.max_steps");
  c.lr = option<double>(vm, "train.lr");
  c.schedule = option<std::string>(vm, "train.schedule");
  c.schedule_unit = option<std::string>(vm, "train.schedule_unit");
  c.warmup = option<int64_t>(vm, "train.warmup");
  c.min_lr = option<double>(vm, "train.min_lr");
  c.adamw.weight_decay = option<double>(vm, "train.weight_decay");
  c.adamw.decay_all = option<bool>(vm, "train.decay_all");
  c.adamw.beta1 = option<double>(vm, "train.beta1");
  c.adamw.beta2 = option<double>(vm, "train.beta2");
  c.adamw.eps = option<double>(vm, "train.eps");
  c.grad_clip = option<double>(vm, "train.grad_clip");
  c.eval_every = option<int64_t>(vm, "train.eval_every");
  c.eval_batch_size = option<int64_t>(vm, "train.eval_batch_size");
  c.eval_at_start = option<bool>(vm, "train.eval_at_start");
  c.target_accuracy = option<double>(vm, "train.target_accuracy");
  c.checkpoint_every = option<int64_t>(vm, "train.checkpoint_every");
  c.threads = option<int>(vm, "train.threads");
  c.device = parse_device("train.device", option<std::string>(vm, "train.device"));
  c.tf32 = option<bool>(vm, "train.tf32");
  MIXLAB_CHECK(!c.tf32 || c.device.is_cuda(), "train.tf32 = true needs train.device = cuda (TF32 is a GPU GEMM mode)");
  if (c.eval_batch_size == 0) c.eval_batch_size = c.batch_size;

  MIXLAB_CHECK(c.batch_size > 0, "train.batch_size = ", c.batch_size, " must be > 0");
  MIXLAB_CHECK(c.epochs >= 0 && c.max_steps >= 0, "train.epochs and train.max_steps must be >= 0");
  MIXLAB_CHECK((c.epochs > 0) != (c.max_steps > 0), "set exactly one of train.epochs (", c.epochs,
               ") and train.max_steps (", c.max_steps, ") to a positive value");
  MIXLAB_CHECK(c.lr > 0, "train.lr = ", c.lr, " must be > 0");
  MIXLAB_CHECK(c.schedule == "constant" || c.schedule == "cosine" || c.schedule == "linear", "train.schedule = '",
               c.schedule, "' is not allowed (allowed: constant, cosine, linear)");
  MIXLAB_CHECK(c.schedule_unit == "step" || c.schedule_unit == "epoch", "train.schedule_unit = '", c.schedule_unit,
               "' is not allowed (allowed: step, epoch)");
  MIXLAB_CHECK(c.schedule_unit == "step" || c.epochs > 0, "train.schedule_unit = epoch needs train.epochs");
  MIXLAB_CHECK(c.warmup >= 0, "train.warmup = ", c.warmup, " must be >= 0");
  MIXLAB_CHECK(c.min_lr >= 0 && c.min_lr <= c.lr, "train.min_lr = ", c.min_lr, " must be in [0, train.lr]");
  MIXLAB_CHECK(c.adamw.weight_decay >= 0, "train.weight_decay = ", c.adamw.weight_decay, " must be >= 0");
  MIXLAB_CHECK(c.adamw.beta1 >= 0 && c.adamw.beta1 < 1, "train.beta1 = ", c.adamw.beta1, " must be in [0, 1)");
  MIXLAB_CHECK(c.adamw.beta2 >= 0 && c.adamw.beta2 < 1, "train.beta2 = ", c.adamw.beta2, " must be in [0, 1)");
  MIXLAB_CHECK(c.adamw.eps > 0, "train.eps = ", c.adamw.eps, " must be > 0");
  MIXLAB_CHECK(c.grad_clip >= 0, "train.grad_clip = ", c.grad_clip, " must be >= 0");
  MIXLAB_CHECK(c.eval_every >= 0, "train.eval_every = ", c.eval_every, " must be >= 0");
  MIXLAB_CHECK(c.eval_batch_size > 0, "train.eval_batch_size = ", c.eval_batch_size, " must be > 0");
  MIXLAB_CHECK(c.target_accuracy >= 0 && c.target_accuracy <= 1, "train.target_accuracy = ", c.target_accuracy,
               " must be in [0, 1]");
  MIXLAB_CHECK(c.checkpoint_every >= 0, "train.checkpoint_every = ", c.checkpoint_every, " must be >= 0");
  MIXLAB_CHECK(c.threads >= 0, "train.threads = ", c.threads, " must be >= 0");
  return c;
}

int64_t TrainConfig::total_steps(int64_t batches_per_epoch) const {
  return epochs > 0 ? epochs * batches_per_epoch : max_steps;
}

}  // namespace mixlab
