#pragma once
// The run's metric files: metrics.csv (one row per eval, deterministic
// columns only, so two runs with one seed give identical files),
// metrics.jsonl (the same rows plus timing and memory) and train_loss.csv
// (step,train_loss: the loss of every training step, for the curves; the
// eval rows hold its mean since the previous eval).
#include <map>
#include <string>
#include <vector>

namespace mixlab {

// Routing of one MoE layer over the training steps since the previous eval.
struct MoELoadRecord {
  int layer = 0;
  std::vector<double> load;  // share of the routed assignments per expert (sums to 1)
  double dropped = 0;        // share of assignments over capacity
  double balance_loss = 0, z_loss = 0;  // mean unweighted auxiliary losses
};

struct MetricsRow {
  int64_t step = 0;
  double epoch = 0, lr = 0, train_loss = 0, test_loss = 0, test_accuracy = 0;
  std::vector<double> segment_accuracy;
  // jsonl only: measured, so they vary between runs
  double tokens_per_s = 0, elapsed_s = 0;
  int64_t peak_bytes = 0;
  std::vector<MoELoadRecord> moe;  // jsonl only ("moe"), one per MoE layer
};

class MetricsLog {
 public:
  // segment_names label the per-segment accuracy columns ("acc_64x4").
  MetricsLog(std::string run_dir, std::vector<std::string> segment_names);
  // New run: writes the CSV header (and an empty jsonl).
  void start();
  // Resume: drops rows after `step` (written after the checkpoint being resumed).
  void truncate_after(int64_t step);
  void append(const MetricsRow& row);
  // The loss of training step `step` (1-based) into train_loss.csv.
  void append_step(int64_t step, double train_loss);

 private:
  std::string csv_path_, jsonl_path_, steps_path_;
  std::vector<std::string> segment_names_;
};

// Reads metrics.csv into columns by header name (for plots and tests).
std::map<std::string, std::vector<double>> read_metrics_csv(const std::string& path);

}  // namespace mixlab
