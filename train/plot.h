#pragma once
// Loss and accuracy curves of one or more runs (their metrics.csv), overlaid,
// as a PNG drawn by gnuplot.
#include <string>
#include <vector>

namespace mixlab {

// True when a gnuplot executable is on PATH.
bool gnuplot_available();

// Left panel: train and test loss by step (log scale); right panel: test
// accuracy by step. One colour per run, labelled with the run's folder name,
// or, with `color_key` (e.g. "model.pattern"), one colour per value of that
// setting in the runs' config.ini, labelled with the value.
// Throws mixlab::Error naming the run without a readable metrics.csv.
void plot_curves(const std::vector<std::string>& run_dirs, const std::string& png_path,
                 const std::string& color_key = "");

}  // namespace mixlab
