#include "train/plot.h"

#include <cstdlib>
#include <filesystem>
#include <gnuplot-iostream.h>

#include "autograd/error.h"
#include "train/atomic_file.h"
#include "train/experiment.h"
#include "train/figures.h"
#include "train/metrics_log.h"

namespace mixlab {

namespace fs = std::filesystem;

bool gnuplot_available() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

namespace {

using Series = std::vector<std::pair<double, double>>;

Series zip(const std::vector<double>& x, const std::vector<double>& y) {
  Series s;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) s.emplace_back(x[i], y[i]);
  return s;
}

std::string label(const std::string& dir) {
  std::string name = fs::path(dir).filename().string();
  if (name.empty()) name = fs::path(dir).parent_path().filename().string();
  return name;  // printed as is: the terminal is noenhanced
}

// The run's training loss of every step (train_loss.csv), or, for runs
// written before that file existed, the mean since each eval (metrics.csv).
Series train_loss_curve(const std::string& dir, std::map<std::string, std::vector<double>>& evals) {
  const std::string steps = dir + "/train_loss.csv";
  if (!fs::is_regular_file(steps)) return zip(evals["step"], evals["train_loss"]);
  auto columns = read_metrics_csv(steps);
  return zip(columns["step"], columns["train_loss"]);
}

}  // namespace

bool trains_with_dropout(const std::map<std::string, std::string>& config) {
  for (const auto& [key, value] : config)
    if (key.ends_with("dropout") && std::atof(value.c_str()) > 0) return true;
  return false;
}

void plot_curves(const std::vector<std::string>& run_dirs, const std::string& png_path, const std::string& color_key) {
  MIXLAB_CHECK(!run_dirs.empty(), "plot: no run directories given");
  MIXLAB_CHECK(gnuplot_available(), "plot: gnuplot is not installed (scripts/setup.sh installs it)");
  std::vector<std::map<std::string, std::vector<double>>> runs;
  for (const std::string& dir : run_dirs) {
    const std::string csv = dir + "/metrics.csv";
    MIXLAB_CHECK(fs::is_regular_file(csv), "plot: ", dir, " is not a run directory (no metrics.csv)");
    runs.push_back(read_metrics_csv(csv));
    MIXLAB_CHECK(!runs.back()["step"].empty(), "plot: ", csv, " has no rows yet");
  }
  std::vector<Series> train_loss;
  bool dropout = false;
  for (size_t r = 0; r < run_dirs.size(); ++r) {
    train_loss.push_back(train_loss_curve(run_dirs[r], runs[r]));
    const std::string config = run_dirs[r] + "/config.ini";
    dropout = dropout || (fs::is_regular_file(config) && trains_with_dropout(read_ini(config)));
  }
  // Colour and legend entry of each run: by run, or by the value of color_key.
  std::vector<size_t> colour(run_dirs.size());
  std::vector<std::string> title(run_dirs.size());
  std::map<std::string, size_t> colour_of;
  for (size_t r = 0; r < run_dirs.size(); ++r) {
    if (color_key.empty()) {
      colour[r] = r + 1;
      title[r] = "title '" + label(run_dirs[r]) + "'";
      continue;
    }
    const std::map<std::string, std::string> config = read_ini(run_dirs[r] + "/config.ini");
    const auto it = config.find(color_key);
    MIXLAB_CHECK(it != config.end(), "plot: run ", run_dirs[r], " has no setting '", color_key, "'");
    const auto [slot, fresh] = colour_of.emplace(it->second, colour_of.size() + 1);
    colour[r] = slot->second;
    title[r] = fresh ? "title '" + color_key + " = " + it->second + "'" : "notitle";
  }
  AtomicFile png(png_path);  // gnuplot writes its temp file
  {
    Gnuplot gp("gnuplot");
    gp << "set terminal pngcairo noenhanced size 1400,560 font 'Sans,11'\n"
       << "set output '" << png.temp_path() << "'\n"
       << "set multiplot layout 1,2 title 'mixlab training curves'\n"
       << "set grid\nset key top right\nset xlabel 'step'\n";
    // Left: losses.
    gp << "set title 'loss (solid: test at evals; thin: train, every step"
       << (dropout ? ", with dropout" : "") << ")'\nset ylabel 'cross-entropy'\nset logscale y\nplot ";
    for (size_t r = 0; r < runs.size(); ++r) {
      // train first, so the test curve is drawn over it
      gp << (r ? ", " : "") << gp.file1d(train_loss[r]) << " with lines lw 0.5 lc " << colour[r] << " notitle";
      gp << ", " << gp.file1d(zip(runs[r]["step"], runs[r]["test_loss"])) << " with lines lw 2 lc " << colour[r]
         << " " << title[r];
    }
    gp << "\nunset logscale y\n";
    // Right: accuracy.
    gp << "set title 'test accuracy'\nset ylabel 'accuracy'\nset yrange [0:1.02]\nset key bottom right\nplot ";
    for (size_t r = 0; r < runs.size(); ++r)
      gp << (r ? ", " : "") << gp.file1d(zip(runs[r]["step"], runs[r]["test_accuracy"]))
         << " with linespoints lw 2 pt 7 ps 0.6 lc " << colour[r] << " " << title[r];
    gp << "\nunset multiplot\nset output\n";
  }  // closing the pipe waits for gnuplot
  MIXLAB_CHECK(fs::is_regular_file(png.temp_path()) && fs::file_size(png.temp_path()) > 0, "plot: gnuplot did not write ",
               png_path);
  png.commit();
}

}  // namespace mixlab
