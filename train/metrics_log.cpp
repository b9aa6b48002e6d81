#include "train/metrics_log.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/error.h"
#include "train/atomic_file.h"

namespace mixlab {

namespace {

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

int64_t leading_step(const std::string& line) {
  try {
    if (line.empty() || line[0] == '{') return std::stoll(line.substr(line.find(':') + 1));  // {"step":N,...}
    return std::stoll(line.substr(0, line.find(',')));
  } catch (const std::exception&) {
    return -1;
  }
}

// Keeps the header (csv) and the rows whose step is <= `step`.
void keep_rows_up_to(const std::string& path, int64_t step, bool has_header) {
  std::ifstream in(path);
  std::vector<std::string> kept;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if ((first && has_header) || leading_step(line) <= step) kept.push_back(line);
    first = false;
  }
  in.close();
  std::string content;
  for (const std::string& l : kept) content += l + "\n";
  write_file_atomically(path, content);
}

}  // namespace

MetricsLog::MetricsLog(std::string run_dir, std::vector<std::string> segment_names)
    : csv_path_(run_dir + "/metrics.csv"), jsonl_path_(run_dir + "/metrics.jsonl"),
      steps_path_(run_dir + "/train_loss.csv"),
      segment_names_(std::move(segment_names)) {}

void MetricsLog::start() {
  std::ofstream csv(csv_path_, std::ios::trunc);
  csv << "step,epoch,lr,train_loss,test_loss,test_accuracy";
  for (const std::string& s : segment_names_) csv << ",acc_" << s;
  csv << "\n";
  std::ofstream(jsonl_path_, std::ios::trunc);
  std::ofstream(steps_path_, std::ios::trunc) << "step,train_loss\n";
}

void MetricsLog::truncate_after(int64_t step) {
  keep_rows_up_to(csv_path_, step, true);
  keep_rows_up_to(jsonl_path_, step, false);
  // Runs written before train_loss.csv existed resume without one.
  if (std::ifstream(steps_path_).good()) keep_rows_up_to(steps_path_, step, true);
}

void MetricsLog::append_step(int64_t step, double train_loss) {
  std::ofstream(steps_path_, std::ios::app) << step << "," << fmt(train_loss) << "\n";
}

void MetricsLog::append(const MetricsRow& r) {
  std::ofstream csv(csv_path_, std::ios::app);
  csv << r.step << "," << fmt(r.epoch) << "," << fmt(r.lr) << "," << fmt(r.train_loss) << "," << fmt(r.test_loss)
      << "," << fmt(r.test_accuracy);
  for (double a : r.segment_accuracy) csv << "," << fmt(a);
  csv << "\n";
  nlohmann::ordered_json j;
  j["step"] = r.step;
  j["epoch"] = r.epoch;
  j["lr"] = r.lr;
  j["train_loss"] = r.train_loss;
  j["test_loss"] = r.test_loss;
  j["test_accuracy"] = r.test_accuracy;
  for (size_t i = 0; i < r.segment_accuracy.size() && i < segment_names_.size(); ++i)
    j["acc_" + segment_names_[i]] = r.segment_accuracy[i];
  j["tokens_per_s"] = r.tokens_per_s;
  j["elapsed_s"] = r.elapsed_s;
  j["peak_bytes"] = r.peak_bytes;
  if (!r.moe.empty()) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const MoELoadRecord& m : r.moe)
      layers.push_back({{"layer", m.layer}, {"load", m.load}, {"dropped", m.dropped},
                        {"balance_loss", m.balance_loss}, {"z_loss", m.z_loss}});
    j["moe"] = layers;
  }
  std::ofstream(jsonl_path_, std::ios::app) << j.dump() << "\n";
}

std::map<std::string, std::vector<double>> read_metrics_csv(const std::string& path) {
  std::ifstream in(path);
  MIXLAB_CHECK(in.good(), "cannot open ", path);
  std::string line;
  MIXLAB_CHECK(static_cast<bool>(std::getline(in, line)), path, ": empty metrics file");
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) names.push_back(cell);
  std::map<std::string, std::vector<double>> columns;
  int row = 1;
  while (std::getline(in, line)) {
    ++row;
    std::stringstream ss(line);
    size_t col = 0;
    for (std::string cell; std::getline(ss, cell, ','); ++col) {
      MIXLAB_CHECK(col < names.size(), path, ": row ", row, " has more cells than the header");
      try {
        columns[names[col]].push_back(std::stod(cell));
      } catch (const std::exception&) {
        throw Error(detail::concat(path, ": row ", row, ", column ", names[col], ": '", cell, "' is not a number"));
      }
    }
  }
  return columns;
}

}  // namespace mixlab
