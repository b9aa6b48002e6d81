// [cuda]: the main job's model (short conv + attention, through the fused
// flash kernel and through the composed "plain" kernel) runs its forward and
// backward on a GPU and equals the CPU: the loss and every parameter's
// gradient; training it on a GPU reaches the CPU's accuracy; a checkpoint
// written on the GPU evaluates to the same accuracy on the CPU. With no
// device they report themselves skipped.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "tests/cuda_test_util.h"
#include "tests/scratch_dir.h"
#include "train/evaluate.h"
#include "train/experiment.h"
#include "train/objective.h"
#include "train/run_loader.h"
#include "train/trainer.h"

using namespace mixlab;

namespace {

std::string quick_ini() { return std::string(MIXLAB_SOURCE_DIR) + "/experiments/mqar/quick.ini"; }

}  // namespace

TEST_CASE("cuda: the quick MQAR model's forward and backward on a GPU equal the CPU's", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  for (const std::string kernel : {"fused", "plain"}) {
    INFO("mha.kernel = " << kernel);
    const Experiment ex = Experiment::load(quick_ini(), {"--mha.kernel=" + kernel, "--model.embed_dropout=0"});
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
      CHECK(test::relative_difference(gpu_params[i].second.grad(), cpu_params[i].second.grad()) <= 1e-4);
    }
  }
}

TEST_CASE("cuda: the main job trains on a GPU to the CPU's accuracy; its checkpoint evaluates the same on the CPU",
          "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  const std::string out = (test::scratch_dir("cuda_train") / "runs").string();
  std::filesystem::remove_all(out);
  for (const std::string device : {"cpu", "cuda"}) {
    INFO(device);
    Experiment ex = Experiment::load(quick_ini(), {"--train.device=" + device, "--train.out_dir=" + out,
                                                   "--train.name=" + device, "--train.threads=2"});
    const TrainSummary s = run_training(ex, {});
    CHECK(s.final_accuracy >= 0.99);  // quick.ini's target, reached on the CPU in about 400 steps
  }
  // The GPU run's checkpoint on both devices: the same test accuracy.
  LoadedRun on_cpu = load_run(out + "/cuda", Device::cpu()), on_gpu = load_run(out + "/cuda", Device::cuda());
  const EvalResult a = evaluate(*on_cpu.model, *on_cpu.experiment.dataset, 256);
  const EvalResult b = evaluate(*on_gpu.model, *on_gpu.experiment.dataset, 256);
  CHECK(a.accuracy >= 0.99);
  CHECK(std::abs(a.accuracy - b.accuracy) <= 0.002);
  CHECK(std::abs(a.loss - b.loss) <= 1e-4 * std::abs(a.loss) + 1e-6);
}
