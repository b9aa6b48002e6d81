#pragma once
// Loss and accuracy curves of one or more runs (their metrics.csv), overlaid,
// as a PNG drawn by gnuplot.
#include <map>
#include <string>
#include <vector>

namespace mixlab {

// True when a gnuplot executable is on PATH.
bool gnuplot_available();

// Whether a run's config (config.ini's keys) trains with any dropout > 0.
// Its training loss is then that of a perturbed model and sits above the
// test loss of the same weights, which is no overfitting: the curves say so.
bool trains_with_dropout(const std::map<std::string, std::string>& config);

// Left panel: test loss at the evals and the training loss of every step
// (train_loss.csv; older runs: the eval rows' means), log scale; right panel: test
// accuracy by step. One colour per run, labelled with the run's folder name,
// or, with `color_key` (e.g. "model.pattern"), one colour per value of that
// setting in the runs' config.ini, labelled with the value.
// Throws mixlab::Error naming the run without a readable metrics.csv.
void plot_curves(const std::vector<std::string>& run_dirs, const std::string& png_path,
                 const std::string& color_key = "");

}  // namespace mixlab
