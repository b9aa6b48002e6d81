// `mixlab forward RUN_DIR --tokens in.safetensors --out out.safetensors`:
// logits of the run's checkpoint for given token ids, so results can be
// compared with other frameworks (scripts/peer/torch_model.py does).
#include <cstdio>

#include "autograd/ops.h"
#include "cli/command.h"
#include "train/run_loader.h"
#include "train/safetensors.h"

namespace mixlab::cli {

namespace {

int forward_command(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab forward RUN_DIR --tokens IN --out OUT");
  options.add_options()("help,h", "print this help")("run", po::value<std::string>(), "run directory")(
      "tokens", po::value<std::string>(), "safetensors file with one integer tensor (B, L) of token ids (I32 or I64)")(
      "out", po::value<std::string>(), "safetensors file to write: 'logits' F32 (B, L, V)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu | cuda | cuda:N");
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map vm;
  parse_args("forward", args, options, &positional, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab forward RUN_DIR --tokens in.safetensors --out out.safetensors [--device cpu|cuda]\n");
    return 0;
  }
  for (const char* key : {"run", "tokens", "out"})
    if (!vm.count(key))
      throw UsageError(std::string("forward: missing ") + (std::string(key) == "run" ? "RUN_DIR" : "--" + std::string(key)) +
                       " (usage: mixlab forward RUN_DIR --tokens in.safetensors --out out.safetensors)");
  // Inputs are checked before the model is loaded.
  const Device device = cli_device("forward", vm);
  const std::string tokens_path = vm["tokens"].as<std::string>();
  const SafetensorsFile in = read_safetensors(tokens_path);
  if (in.tensors.size() != 1)
    throw UsageError("forward: " + tokens_path + " must hold exactly one tensor (the token ids), it holds " +
                     std::to_string(in.tensors.size()));
  const Tensor& ids = in.tensors[0].second;
  if (ids.dtype() != DType::I64 || ids.ndim() != 2)
    throw UsageError("forward: " + tokens_path + ": tensor '" + in.tensors[0].first + "' " + ids.describe() +
                     " must be integer token ids of shape (B, L)");
  if (ids.numel() == 0)
    throw UsageError("forward: " + tokens_path + ": tensor '" + in.tensors[0].first + "' " + ids.describe() +
                     " is empty (need B >= 1 and L >= 1)");
  LoadedRun run = load_run(vm["run"].as<std::string>(), device);
  const int64_t V = run.model->vocab_size;
  for (int64_t id : ids.to_indices())
    if (id < 0 || id >= V)
      throw UsageError("forward: token id " + std::to_string(id) + " is outside the model's vocabulary [0, " +
                       std::to_string(V) + ")");
  NoGradGuard no_grad;
  const Tensor logits = run.model->forward(ids.to(device));
  write_safetensors(vm["out"].as<std::string>(), {{"logits", logits}},
                    {{"run", vm["run"].as<std::string>()}, {"step", std::to_string(run.progress.step)}});
  std::printf("wrote logits %s to %s\n", logits.shape().str().c_str(), vm["out"].as<std::string>().c_str());
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(forward, "logits of a run's checkpoint for given token ids (safetensors in and out)",
                        forward_command);

}  // namespace mixlab::cli
