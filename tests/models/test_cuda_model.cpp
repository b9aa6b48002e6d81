// [cuda]: the main job's model (short conv + attention through the composed
// "plain" kernel) runs its forward and backward on a GPU and equals the CPU:
// the loss, the MoE-free objective and every parameter's gradient. With no
// device it reports itself skipped.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>

#include <filesystem>

#include "train/experiment.h"
#include "train/objective.h"
#include "train/trainer.h"

using namespace mixlab;

TEST_CASE("cuda: the quick MQAR model's forward and backward on a GPU equal the CPU's", "[cuda]") {
  if (!cuda_available()) {
    WARN("skipped: no CUDA device");
    return;
  }
  ::setenv("MIXLAB_CUDA_UNVERIFIED", "1", 1);  // this test is what verifies the kernels it uses
  const Experiment ex = Experiment::load(std::string(MIXLAB_SOURCE_DIR) + "/experiments/mqar/quick.ini",
                                         {"--mha.kernel=plain", "--model.embed_dropout=0"});
  std::unique_ptr<LanguageModel> cpu_model = ex.build_model(), gpu_model = ex.build_model();
  gpu_model->to(Device::cuda());
  const Batch batch = ex.dataset->train_batch(0, 0, 16);
  const Batch gpu_batch{batch.inputs.to(Device::cuda()), batch.targets, batch.segment};

  ScoredOutput cpu_out = scored_forward(*cpu_model, batch), gpu_out = scored_forward(*gpu_model, gpu_batch);
  CHECK(std::abs(gpu_out.loss.item() - cpu_out.loss.item()) <= 1e-5 * std::abs(cpu_out.loss.item()));
  cpu_out.objective().backward();
  gpu_out.objective().backward();
  const auto cpu_params = cpu_model->named_parameters(), gpu_params = gpu_model->named_parameters();
  REQUIRE(cpu_params.size() == gpu_params.size());
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    INFO(cpu_params[i].first);
    const std::vector<double> a = gpu_params[i].second.grad().to_vector(), b = cpu_params[i].second.grad().to_vector();
    double err = 0, ref = 0;
    for (size_t j = 0; j < a.size(); ++j) {
      err += (a[j] - b[j]) * (a[j] - b[j]);
      ref += b[j] * b[j];
    }
    CHECK(std::sqrt(err / std::max(ref, 1e-300)) <= 1e-4);
  }
}

TEST_CASE("cuda: the main job trains on a GPU to the CPU's accuracy (train.device = cuda)", "[cuda]") {
  if (!cuda_available()) {
    WARN("skipped: no CUDA device");
    return;
  }
  ::setenv("MIXLAB_CUDA_UNVERIFIED", "1", 1);
  const std::string out = (std::filesystem::temp_directory_path() / "mixlab_cuda_train").string();
  std::filesystem::remove_all(out);
  for (const std::string device : {"cpu", "cuda"}) {
    INFO(device);
    Experiment ex = Experiment::load(std::string(MIXLAB_SOURCE_DIR) + "/experiments/mqar/quick.ini",
                                     {"--mha.kernel=plain", "--train.device=" + device, "--train.out_dir=" + out,
                                      "--train.name=" + device, "--train.threads=2"});
    const TrainSummary s = run_training(ex, {});
    CHECK(s.final_accuracy >= 0.99);  // quick.ini's target, reached on the CPU in about 400 steps
  }
}
