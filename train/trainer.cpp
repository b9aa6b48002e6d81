#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "autograd/allocator.h"
#include "autograd/compute_settings.h"
#include "autograd/ops.h"
#include "distributed/data_parallel.h"
#include "train/checkpoint.h"
#include "train/atomic_file.h"
#include "train/evaluate.h"
#include "train/metrics_log.h"
#include "train/progress.h"
#include "train/run_lock.h"
#include "train/train_step.h"
#include "train/tasks/segments.h"

namespace mixlab {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Each MoE layer's routing since the last call, as shares (and resets it).
std::vector<MoELoadRecord> moe_load_since_last_eval(const LanguageModel& model) {
  std::vector<MoELoadRecord> out;
  for (const auto& [layer, moe] : model.moe_layers()) {
    const ExpertLoad l = moe->take_load();
    MoELoadRecord r;
    r.layer = layer;
    for (int64_t a : l.assignments) r.load.push_back(l.routed > 0 ? static_cast<double>(a) / l.routed : 0.0);
    r.dropped = l.routed > 0 ? static_cast<double>(l.dropped) / l.routed : 0.0;
    r.balance_loss = l.forwards > 0 ? l.balance_loss / l.forwards : 0.0;
    r.z_loss = l.forwards > 0 ? l.z_loss / l.forwards : 0.0;
    out.push_back(std::move(r));
  }
  return out;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Keys that say where a run lives or executes, not what it computes: a run
// may be moved or copied (out_dir, name: where it is now) and resumed on
// another device, TF32 setting or thread count (checkpoints hold host tensors).
const std::set<std::string> kNotIdentity = {"train.out_dir", "train.name", "train.device", "train.tf32",
                                            "train.threads"};

// Where a run's config.ini and the config it resumes with first differ, ""
// when they agree, leaving out kNotIdentity. A key the run's config lacks may
// hold its default (an option added since the run started, whose default is
// the behaviour the run had); everything else must match.
std::string first_difference(const std::map<std::string, std::string>& run, const Experiment& ex) {
  const std::map<std::string, std::string> now = ex.resolved_values();
  for (const auto& [key, value] : run) {
    if (kNotIdentity.contains(key)) continue;
    const auto it = now.find(key);
    if (it == now.end()) return "'" + key + " = " + value + "' in the run vs no such key now";
    if (it->second != value) return "'" + key + " = " + value + "' in the run vs '" + key + " = " + it->second + "' now";
  }
  for (const auto& [key, value] : now)
    if (!run.contains(key) && !kNotIdentity.contains(key) && !ex.options.at(key).defaulted())
      return "no '" + key + "' in the run vs '" + key + " = " + value + "' now";
  return "";
}

// The files `mixlab train` writes in a run directory.
const std::vector<std::string> kRunFiles = {"config.ini", "metrics.csv", "metrics.jsonl", "train_loss.csv",
                                            "log.txt",    "curves.png",  "checkpoint.safetensors"};

// Whether `dir` holds a run (or anything else) beyond the lock file and the
// temp files of replacements (which a killed run may leave, and which are
// removed under the lock).
bool holds_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fs::exists(dir, ec);
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == kRunLockFile) continue;
    const bool temp = std::any_of(kRunFiles.begin(), kRunFiles.end(),
                                  [&](const std::string& f) { return name.starts_with(f + ".tmp"); });
    if (!temp) return true;
  }
  return false;
}

// Steps 1..s at which the trainer evaluates: every `every` steps, and the last one.
std::vector<int64_t> eval_steps_up_to(int64_t s, int64_t every, int64_t total) {
  std::vector<int64_t> out;
  for (int64_t k = every; k <= s; k += every) out.push_back(k);
  if (s == total && total % every != 0) out.push_back(total);
  return out;
}

std::string list_text(const std::vector<int64_t>& steps) {
  std::string out;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (i == 4 && steps.size() > 6) {
      out += ", ... " + std::to_string(steps.size() - 5) + " more";
      i = steps.size() - 1;
    }
    out += (out.empty() ? "" : ", ") + std::to_string(steps[i]);
  }
  return "[" + out + "]";
}

// A checkpoint whose step disagrees with the run's metrics (a metadata value
// misread, rows written twice by two processes, files mixed from two runs)
// is refused: resuming would drop or duplicate rows. Up to its step the rows
// must be exactly the evals the schedule made; after it there may be rows of
// evals whose checkpoint a kill prevented, but none past the next checkpoint
// the run would have written (that checkpoint would be the one here).
void check_metrics_agree(const std::string& csv_path, const std::string& ckpt_path, int64_t step,
                         const std::vector<int64_t>& expected, int64_t next_checkpoint) {
  const auto columns = read_metrics_csv(csv_path);
  std::vector<int64_t> rows, later;
  if (const auto it = columns.find("step"); it != columns.end())
    for (double v : it->second) (v <= static_cast<double>(step) ? rows : later).push_back(static_cast<int64_t>(v));
  // The step-0 eval of the initial model (train.eval_at_start) is optional:
  // runs from before it existed, or trained without it, have none.
  if (!rows.empty() && rows.front() == 0) rows.erase(rows.begin());
  const bool later_ok = std::all_of(later.begin(), later.end(), [&](int64_t s) { return s <= next_checkpoint; });
  MIXLAB_CHECK(rows == expected && later_ok, "--resume: ", ckpt_path, " is at step ", step, " but ", csv_path,
               " has eval rows at steps ", list_text(rows), " up to it and ", list_text(later), " after it (expected ",
               list_text(expected), ", then none past step ", next_checkpoint,
               "): the run directory is inconsistent, not resumed");
}

std::vector<std::string> segment_names(const Dataset& data) {
  std::vector<std::string> names;
  for (const Segment& s : data.test_segments()) names.push_back(std::to_string(s.seq_len) + "x" + std::to_string(s.size));
  return names;
}

// Appends every console line to the run's log.
class Console {
 public:
  // Without a log path (ranks other than 0) nothing is printed or written.
  Console(const TrainOptions& opts, const std::string& log_path, int64_t total)
      : progress_(opts.console && !log_path.empty() ? *opts.console : null_, opts.live_progress, total) {
    if (!log_path.empty()) log_.open(log_path, std::ios::app);
  }
  void line(const std::string& text) {
    progress_.line(text);
    log_ << text << "\n" << std::flush;
  }
  ProgressReporter& progress() { return progress_; }

 private:
  std::ofstream null_;  // never opened: writes go nowhere
  std::ofstream log_;
  ProgressReporter progress_;
};

}  // namespace

std::string run_directory(const Experiment& ex) { return (fs::path(ex.train.out_dir) / ex.train.name).string(); }

namespace {

// This rank's rows of a global batch (all of them on one rank): a contiguous
// share of the batch plan's examples, generated from their indices; and the
// tokens of the whole global batch.
struct RankShard {
  Batch batch;
  double global_tokens = 0;
};
RankShard rank_shard(const Dataset& data, int64_t epoch, int64_t batch_in_epoch, int64_t batch_size,
                     Communicator& comm) {
  if (comm.size() == 1) {
    Batch b = data.train_batch(epoch, batch_in_epoch, batch_size);
    const double tokens = static_cast<double>(b.inputs.numel());
    return {std::move(b), tokens};
  }
  const BatchPlan plan = data.train_batch_plan(epoch, batch_in_epoch, batch_size);
  const size_t i = static_cast<size_t>(plan.segment);
  const Segment& segment = data.train_segments()[i];
  const double tokens = static_cast<double>(plan.indices.size()) * static_cast<double>(segment.seq_len);
  const ShardRange r = shard_range(static_cast<int64_t>(plan.indices.size()), comm.rank(), comm.size());
  if (r.first == r.last) return {Batch{Tensor(), Tensor(), plan.segment}, tokens};
  const std::vector<uint64_t> mine(plan.indices.begin() + r.first, plan.indices.begin() + r.last);
  return {make_batch(data.task(), segment, data.train_seed(i), mine, plan.segment), tokens};
}

// Every rank's copy of rank 0's parameters, buffers, optimizer state, dropout
// stream and progress (after rank 0 loaded a checkpoint, or to be sure all
// start from the same init). Rank r > 0 then draws dropout from its own stream.
void share_root_state(Communicator& comm, LanguageModel& model, AdamW& optimizer, TrainProgress& progress) {
  if (comm.size() == 1) return;
  for (const auto& [name, p] : model.named_parameters()) broadcast_tensor(comm, p);
  for (const auto& [name, b] : model.named_buffers()) broadcast_tensor(comm, b);
  std::vector<std::pair<std::string, Tensor>> moments = optimizer.state_tensors();
  for (const auto& [name, m] : moments) broadcast_tensor(comm, m);
  int64_t ints[5] = {progress.step, progress.loss_count, progress.finished ? 1 : 0, optimizer.steps_taken(),
                     static_cast<int64_t>(model.dropout_gen.offset())};
  uint64_t seed = model.dropout_gen.seed();
  double doubles[2] = {progress.loss_sum, progress.best_accuracy};
  comm.broadcast(ints, sizeof ints, 0);
  comm.broadcast(&seed, sizeof seed, 0);
  comm.broadcast(doubles, sizeof doubles, 0);
  progress.step = ints[0];
  progress.loss_count = ints[1];
  progress.finished = ints[2] != 0;
  progress.loss_sum = doubles[0];
  progress.best_accuracy = doubles[1];
  if (comm.rank() != 0) {
    optimizer.load_state(moments, ints[3]);
    // A stream of its own per rank (the golden-ratio stride keeps them apart).
    model.dropout_gen.set_state(seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(comm.rank()),
                                static_cast<uint64_t>(ints[4]));
  }
}

}  // namespace

TrainSummary run_training(const Experiment& ex, const TrainOptions& opts) {
  const TrainConfig& tc = ex.train;
  const Dataset& data = *ex.dataset;
  Communicator& comm = opts.comm ? *opts.comm : world();
  const bool root = comm.rank() == 0;
  const std::string dir = run_directory(ex);
  const std::string config_path = dir + "/config.ini", ckpt_path = dir + "/checkpoint.safetensors";
  const std::string resolved = ex.resolved_ini();
  if (tc.batch_size % comm.size() != 0)
    throw CollectiveError(detail::concat("train.batch_size = ", tc.batch_size, " does not divide over the ",
                                         comm.size(), " ranks (allowed: a multiple of the rank count)"));

  // Everything that can refuse for the config happens before anything is
  // written, on rank 0, which alone touches the run directory.
  std::optional<RunLock> lock;
  std::vector<std::string> stale;
  on_root_for_all(comm, [&] {
    if (opts.resume) {
      MIXLAB_CHECK(fs::is_regular_file(config_path), "--resume: ", dir,
                   fs::exists(dir) ? " is not a run directory (no config.ini)" : " does not exist",
                   ": start it without --resume");
      const std::string diff = first_difference(read_ini(config_path), ex);
      MIXLAB_CHECK(diff.empty(), "--resume: the config differs from the run's ", config_path, ": ", diff);
    }
    auto refuse_existing = [&](bool locked) {
      if (!locked && fs::is_directory(dir)) RunLock::check_free(dir);  // "in use" says more than "already exists"
      MIXLAB_CHECK(!holds_files(dir), "run directory ", dir, " already exists: use --resume to continue it",
                   fs::exists(ckpt_path) ? "" : " (it has no checkpoint yet: --resume starts it again from step 0)",
                   ", or another train.name");
    };
    if (!opts.resume) refuse_existing(false);
    fs::create_directories(dir);
    lock.emplace(dir);  // held until training returns or the process ends
    if (!opts.resume) refuse_existing(true);  // again: another process may have started it meanwhile
    stale = remove_stale_temp_files(dir, kRunFiles);
  });
  int64_t checkpoint_found = root && opts.resume && fs::is_regular_file(ckpt_path) ? 1 : 0;
  comm.broadcast(&checkpoint_found, sizeof checkpoint_found, 0);
  const bool from_checkpoint = checkpoint_found != 0;

  set_compute_threads(tc.threads);
  std::unique_ptr<LanguageModel> model = ex.build_model();
  model->to(tc.device);  // before the optimizer, whose moments live next to the parameters
  set_tf32(tc.tf32);
  AdamW optimizer(model->named_parameters(), tc.adamw);
  const int64_t bpe = data.batches_per_epoch(tc.batch_size);
  const int64_t total = tc.total_steps(bpe);
  const bool per_epoch = tc.schedule_unit == "epoch";
  const Schedule schedule{tc.schedule, tc.lr, tc.min_lr, tc.warmup, per_epoch ? tc.epochs : total};
  MetricsLog metrics(dir, segment_names(data));

  TrainProgress progress;
  on_root_for_all(comm, [&] {
    if (from_checkpoint) {
      progress = load_checkpoint(ckpt_path, *model, &optimizer);
      MIXLAB_CHECK(progress.step <= total, "--resume: ", ckpt_path, " is at step ", progress.step, ", past the run's ",
                   total, " steps");
      const int64_t eval_interval = tc.eval_every > 0 ? tc.eval_every : bpe;
      const int64_t checkpoint_interval = tc.checkpoint_every > 0 ? tc.checkpoint_every : eval_interval;
      check_metrics_agree(dir + "/metrics.csv", ckpt_path, progress.step,
                          eval_steps_up_to(progress.step, eval_interval, total),
                          std::min(total, (progress.step / checkpoint_interval + 1) * checkpoint_interval));
      metrics.truncate_after(progress.step);
      // A moved or copied run records where it is now.
      std::map<std::string, std::string> recorded = read_ini(config_path);
      if (recorded["train.out_dir"] != tc.out_dir || recorded["train.name"] != tc.name) {
        recorded["train.out_dir"] = tc.out_dir;
        recorded["train.name"] = tc.name;
        write_file_atomically(config_path, ini_text(recorded));
      }
    } else {
      // A new run, or one killed before its first checkpoint: from step 0.
      write_file_atomically(config_path, resolved);
      metrics.start();
    }
  });
  share_root_state(comm, *model, optimizer, progress);
  Console console(opts, root ? dir + "/log.txt" : "", total);
  if (!stale.empty()) {
    std::string names;
    for (const std::string& n : stale) names += (names.empty() ? "" : ", ") + n;
    console.line("removed the temp files a killed run left: " + names);
  }
  if (opts.resume && !from_checkpoint)
    console.line("no checkpoint yet (the run stopped before its first one): starting again");
  console.line((from_checkpoint ? "resuming " : "training ") + dir + " at step " + std::to_string(progress.step) + "/" +
               std::to_string(total) + ": " + ex.task->describe() + ", " + std::to_string(model->num_parameters()) +
               " parameters, " + std::to_string(bpe) + " batches per epoch");

  TrainSummary summary;
  summary.run_dir = dir;
  summary.total_steps = total;
  summary.best_accuracy = progress.best_accuracy;
  auto& allocator = CachingAllocator::for_device(tc.device);
  const auto run_start = Clock::now();
  auto window_start = Clock::now();
  double window_tokens = 0, train_seconds = 0, trained_tokens = 0, last_accuracy = 0;
  model->train();

  // The step being trained (1-based) and the last checkpoint written, for
  // the one line that stops a run going non-finite (or failing otherwise):
  // nothing of that step is saved, so the last checkpoint stays what it was.
  int64_t current_step = progress.step;
  int64_t last_saved = from_checkpoint ? progress.step : -1;
  auto guarded = [&](auto&& work) {
    try {
      return work();
    } catch (const Error& e) {
      const std::string line = "step " + std::to_string(current_step) + ": training stopped: " + e.what() + "; " +
                               (last_saved >= 0 ? "the checkpoint of step " + std::to_string(last_saved) + " is kept"
                                                : "no checkpoint was written");
      console.line(line);
      if (dynamic_cast<const CollectiveError*>(&e)) throw CollectiveError(line);
      throw Error(line);
    }
  };
  auto save = [&] {
    if (root) guarded([&] { save_checkpoint(ckpt_path, *model, optimizer, progress); });
    last_saved = progress.step;
  };
  // Evaluates the model as it is now (step progress.step) and writes the
  // metrics row and the log line; train_loss is the mean since the previous eval.
  auto record_eval = [&](double lr, double train_loss, double tps) {
    std::vector<MoELoadRecord> moe = moe_load_since_last_eval(*model);
    const EvalResult ev = guarded([&] {
      EvalResult r = evaluate(*model, data, tc.eval_batch_size, &comm);
      MIXLAB_CHECK(std::isfinite(r.loss), "the test loss is ", r.loss);  // no NaN row in metrics.csv
      return r;
    });
    moe_load_since_last_eval(*model);  // the test forwards are not training load
    last_accuracy = ev.accuracy;
    progress.best_accuracy = std::max(progress.best_accuracy, ev.accuracy);
    MetricsRow row;
    row.step = progress.step;
    row.epoch = static_cast<double>(progress.step) / static_cast<double>(bpe);
    row.lr = lr;
    row.train_loss = train_loss;
    row.test_loss = ev.loss;
    row.test_accuracy = ev.accuracy;
    row.segment_accuracy = ev.segment_accuracy;
    row.tokens_per_s = tps;
    row.elapsed_s = seconds_since(run_start);
    row.peak_bytes = static_cast<int64_t>(allocator.stats().peak_bytes_in_use);
    row.moe = std::move(moe);
    if (root) metrics.append(row);
    char buf[200];
    std::snprintf(buf, sizeof buf, "step %lld | train loss %.4f | test loss %.4f | test acc %.4f | %.1fk tok/s",
                  static_cast<long long>(row.step), row.train_loss, row.test_loss, row.test_accuracy, tps / 1e3);
    std::string line = buf;
    for (const MoELoadRecord& m : row.moe) {  // max expert load against the balanced 1/E
      const double top = *std::max_element(m.load.begin(), m.load.end());
      std::snprintf(buf, sizeof buf, " | moe%d max load %.2fx, dropped %.1f%%", m.layer,
                    top * static_cast<double>(m.load.size()), 100.0 * m.dropped);
      line += buf;
    }
    console.line(line);
    return ev;
  };
  // The initial model's eval: the curves start at the init loss. Not a
  // target check (an untrained model stops nothing) and not a checkpoint.
  if (tc.eval_at_start && progress.step == 0 && !from_checkpoint) {
    record_eval(schedule.at(0), std::numeric_limits<double>::quiet_NaN(), 0.0);
    window_start = Clock::now();  // the first training window's tokens/s leaves the eval out
  }
  while (!progress.finished && progress.step < total) {
    int64_t stop = opts.should_stop && opts.should_stop(progress.step) ? 1 : 0;
    comm.all_reduce_max({&stop, 1});  // a signal reaches the ranks at different steps
    if (stop) {
      summary.interrupted = true;
      break;
    }
    const int64_t step = progress.step;
    current_step = step + 1;
    const RankShard shard = rank_shard(data, step / bpe, step % bpe, tc.batch_size, comm);
    const Batch& batch = shard.batch;
    const double lr = schedule.at(per_epoch ? step / bpe : step);
    const auto step_start = Clock::now();
    const double loss = guarded([&] { return train_step(*model, optimizer, batch, lr, tc.grad_clip, comm); });
    const double step_seconds = seconds_since(step_start);
    train_seconds += step_seconds;
    const double tokens = shard.global_tokens;
    window_tokens += tokens;
    trained_tokens += tokens;
    progress.loss_sum += loss;
    progress.loss_count++;
    progress.step++;
    if (root) metrics.append_step(progress.step, loss);
    const double tps = window_tokens / std::max(seconds_since(window_start), 1e-9);
    console.progress().update(progress.step, loss, last_accuracy, tps);

    const bool last = progress.step == total;
    const bool eval_now = last || (tc.eval_every > 0 ? progress.step % tc.eval_every == 0 : progress.step % bpe == 0);
    if (eval_now) {
      const EvalResult ev =
          record_eval(lr, progress.loss_sum / static_cast<double>(std::max<int64_t>(progress.loss_count, 1)), tps);
      progress.loss_sum = 0;
      progress.loss_count = 0;
      summary.evaluated = true;
      summary.final_accuracy = ev.accuracy;
      summary.final_loss = ev.loss;
      if (tc.target_accuracy > 0 && ev.accuracy >= tc.target_accuracy) {
        summary.reached_target = true;
        progress.finished = true;
        console.line("reached target accuracy " + std::to_string(tc.target_accuracy) + " at step " +
                     std::to_string(progress.step));
      }
      window_tokens = 0;
      window_start = Clock::now();
    }
    if (last) progress.finished = true;
    const bool checkpoint_now = progress.finished ||
                                (tc.checkpoint_every > 0 ? progress.step % tc.checkpoint_every == 0 : eval_now);
    if (checkpoint_now) save();
  }
  if (summary.interrupted) {
    save();
    console.line("interrupted at step " + std::to_string(progress.step) + ": checkpoint saved; continue with --resume");
  }
  console.progress().finish();
  summary.steps = progress.step;
  summary.best_accuracy = progress.best_accuracy;
  summary.train_seconds = train_seconds;
  summary.tokens_per_s = train_seconds > 0 ? trained_tokens / train_seconds : 0;
  summary.peak_bytes = static_cast<int64_t>(allocator.stats().peak_bytes_in_use);
  return summary;
}

}  // namespace mixlab
