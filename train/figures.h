#pragma once
// The field's summary figures over many runs (issue 7), as gnuplot PNGs:
// - accuracy against a swept value (d_model by default), one line per mixer
//   (model.pattern by default), one panel per test segment (L, kv): the layout
//   of Zoology's Figure 2;
// - accuracy against decode state bytes at a stated context (log axis), one
//   colour per mixer: the recall-memory tradeoff of Based/Zoology.
// A run's settings come from its resolved config.ini; its accuracy from
// metrics.csv (the best or the final eval). Runs that share a line and an x
// value are one point (train/figure_points.h): grouped by the best-over
// setting (the learning rate), the runs of a group are seeds (mean, min–max,
// sd, n), and the group with the best mean is drawn: "best over learning
// rates", as the papers report, with the seeds' spread as error bars.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "train/figure_points.h"

namespace mixlab {

struct RunRecord {
  std::string dir;
  std::map<std::string, std::string> config;               // "section.key" -> value, from config.ini
  std::map<std::string, std::vector<double>> metrics;      // metrics.csv columns
};

// Run directories, with folders of runs (e.g. a sweep's runs/) expanded to
// the run directories inside them. Throws naming a path that holds no run.
std::vector<RunRecord> load_runs(const std::vector<std::string>& paths);

struct FigureOptions {
  std::string x_key = "model.d_model";     // accuracy-vs-x figure
  std::string line_key = "model.pattern";  // one line (colour) per value
  bool best = true;                        // best eval of each run, else the final one
  int64_t context = 8192;                  // state figure: state bytes after this many tokens
  std::string title;                       // empty: a title saying what is plotted
  std::string best_over = "train.lr";      // runs of a point differing in this are compared, the rest are seeds
  std::string caption;                     // appended to the caption line drawn under the figure
};

// What a figure draws: panels of lines, each line x -> the point of the runs
// at that x.
using Curve = std::map<double, Point>;
struct Panel {
  std::string title;
  std::map<std::string, Curve> lines;  // legend label -> curve
};

// The legend label of a run: the values of opts.line_key's comma-separated
// keys, the first plain, the others as " name=value"; a key of a mixer
// section only where the run's model.pattern uses that mixer.
std::string line_label(const RunRecord& run, const std::string& line_keys);

// The panels of the accuracy figure: one per test segment column (acc_LxD)
// any run has, else one of test_accuracy.
std::vector<Panel> accuracy_panels(const std::vector<RunRecord>& runs, const FigureOptions& opts);

// The caption line under a figure, from what the runs hold: replicates per
// point, the best-over values compared, the training budget (train.max_steps
// or train.epochs, train.batch_size), which eval counts, then opts.caption.
std::string figure_caption(const std::vector<RunRecord>& runs, const std::vector<Panel>& panels,
                           const FigureOptions& opts);

// Accuracy against opts.x_key, a panel per test segment.
void plot_accuracy_vs_x(const std::vector<RunRecord>& runs, const FigureOptions& opts, const std::string& png_path);
// Accuracy against the model's decode state bytes at opts.context (built from
// each run's config), log x axis.
void plot_accuracy_vs_state(const std::vector<RunRecord>& runs, const FigureOptions& opts,
                            const std::string& png_path);

}  // namespace mixlab
