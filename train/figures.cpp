#include "train/figures.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <gnuplot-iostream.h>
#include <set>
#include <sstream>
#include <tuple>

#include "autograd/error.h"
#include "train/atomic_file.h"
#include "train/experiment.h"
#include "train/metrics_log.h"
#include "train/plot.h"

namespace mixlab {

namespace fs = std::filesystem;

namespace {

bool is_run(const fs::path& p) { return fs::is_regular_file(p / "metrics.csv") && fs::is_regular_file(p / "config.ini"); }

RunRecord load_run_record(const fs::path& dir) {
  RunRecord r;
  r.dir = dir.string();
  r.config = read_ini((dir / "config.ini").string());
  r.metrics = read_metrics_csv((dir / "metrics.csv").string());
  MIXLAB_CHECK(!r.metrics["step"].empty(), "plot: ", (dir / "metrics.csv").string(), " has no rows yet");
  return r;
}

double accuracy(const RunRecord& r, const std::string& column, bool best) {
  const auto it = r.metrics.find(column);
  if (it == r.metrics.end() || it->second.empty()) return std::nan("");
  return best ? *std::max_element(it->second.begin(), it->second.end()) : it->second.back();
}

const std::string& setting(const RunRecord& r, const std::string& key) {
  const auto it = r.config.find(key);
  MIXLAB_CHECK(it != r.config.end(), "plot: run ", r.dir, " has no setting '", key,
               "' in its config.ini (use a section.key such as model.d_model)");
  return it->second;
}

double number(const RunRecord& r, const std::string& key) {
  const std::string& v = setting(r, key);
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size()) return x;
  } catch (const std::exception&) {
  }
  throw Error(detail::concat("plot: setting ", key, " = '", v, "' of run ", r.dir, " is not a number"));
}

// "acc_64x4" -> "L 64, 4 kv pairs"; other names unchanged.
std::string panel_title(const std::string& column) {
  const std::string seg = column.substr(4);
  const auto x = seg.find('x');
  if (x == std::string::npos) return seg;
  return "L " + seg.substr(0, x) + ", " + seg.substr(x + 1) + " kv pairs";
}

// The accuracy columns shown as panels: per-segment ones (acc_*), or the
// overall test accuracy when no run has segments.
std::vector<std::string> panels(const std::vector<RunRecord>& runs) {
  std::set<std::string> cols;
  for (const RunRecord& r : runs)
    for (const auto& [name, values] : r.metrics)
      if (name.starts_with("acc_")) cols.insert(name);
  if (cols.empty()) return {"test_accuracy"};
  // By sequence length, then kv pairs ("acc_64x4" before "acc_128x8").
  auto numbers = [](const std::string& column) {
    const std::string seg = column.substr(4);
    const auto x = seg.find('x');
    try {
      return std::make_pair(std::stoll(seg.substr(0, x)), x == std::string::npos ? 0LL : std::stoll(seg.substr(x + 1)));
    } catch (const std::exception&) {
      return std::make_pair(0LL, 0LL);
    }
  };
  std::vector<std::string> ordered(cols.begin(), cols.end());
  std::stable_sort(ordered.begin(), ordered.end(),
                   [&](const std::string& a, const std::string& b) { return numbers(a) < numbers(b); });
  return ordered;
}

// The value of a run's best-over setting ("" when the run has none, so that
// runs without it are seeds of one group).
std::string group_of(const RunRecord& r, const std::string& key) {
  if (key.empty()) return "";
  const auto it = r.config.find(key);
  return it == r.config.end() ? "" : it->second;
}

// line label -> x -> the values of that point.
using PointData = std::map<std::string, std::map<double, PointBuilder>>;

std::map<std::string, Curve> reduce(const PointData& data) {
  std::map<std::string, Curve> lines;
  for (const auto& [label, by_x] : data)
    for (const auto& [x, builder] : by_x)
      if (!builder.empty()) lines[label][x] = builder.reduce();
  return lines;
}

// A gnuplot single-quoted string: a quote inside is written twice.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Twelve colours that stay apart (Tableau 10, then two more); with the point
// types, twelve lines or more remain distinguishable.
const std::array<const char*, 12> kColours = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                              "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#aec7e8"};

// How the x axis is drawn: linear, log 2 (widths), or log 10 in bytes with SI
// prefixes (state sizes: "10 kB", "1 MB").
enum class XAxis { Linear, Log2, Bytes };

// Draws one panel per entry of `panels`, each with a line per curve: the
// mean with min–max error bars. One legend for all panels, right of them; the
// title once above, the caption once below. Text is printed literally
// (noenhanced: "linear_attn" is not a subscript).
void draw(const std::vector<Panel>& panels, const std::string& title, const std::string& caption,
          const std::string& xlabel, XAxis x_axis, const std::string& png_path) {
  MIXLAB_CHECK(gnuplot_available(), "plot: gnuplot is not installed (scripts/setup.sh installs it)");
  AtomicFile png(png_path);  // gnuplot writes its temp file
  const size_t n = panels.size(), cols = std::min<size_t>(n, 4), rows = (n + cols - 1) / cols;
  // One colour and point type per line label in every panel, even where a
  // panel lacks some lines; the legend lists every label once.
  std::map<std::string, int> style;
  for (const auto& [panel, curves] : panels)
    for (const auto& [line, curve] : curves) style.emplace(line, 0);
  int next = 1;
  size_t longest = 0;
  for (auto& [line, index] : style) {
    index = next++;
    longest = std::max(longest, line.size());
  }
  {
    Gnuplot gp("gnuplot");
    // Canvas: the panels, a strip on the right for the legend (wide enough for
    // the longest label), a band above for the title and below for the caption.
    const double legend_px = 60.0 + 7.5 * static_cast<double>(longest);
    const double panels_px = 480.0 * static_cast<double>(cols);
    const double width = panels_px + legend_px + 40, height = 360.0 * static_cast<double>(rows) + 140;
    const double right = (panels_px + 20) / width, top = 1 - 75 / height, bottom = 65 / height;
    gp << "set terminal pngcairo noenhanced size " << static_cast<int>(width) << "," << static_cast<int>(height)
       << " font 'Sans,10'\n"
       << "set output '" << png.temp_path() << "'\n"
       << "set label 1 " << quoted(title) << " at screen 0.5," << 1 - 16 / height << " center font 'Sans,11'\n"
       << "set label 2 " << quoted(caption) << " at screen 0.01," << 16 / height << " left font 'Sans,9'\n"
       << "set multiplot layout " << rows << "," << cols << " margins 0.07," << right << "," << bottom + 0.06 << ","
       << top << " spacing 0.07,0.12\n"
       << "set grid\nset yrange [0:1.02]\nset ylabel 'accuracy'\nset bars 1.5\n"
       << "set xlabel " << quoted(xlabel) << "\n";
    if (x_axis == XAxis::Log2) gp << "set logscale x 2\nset offsets graph 0.06, graph 0.06, 0, 0\n";
    if (x_axis == XAxis::Bytes) gp << "set logscale x 10\nset format x '%.0s %cB'\n";
    bool legend_drawn = false;
    for (const auto& [panel, curves] : panels) {
      gp << "set title " << quoted(panel) << "\n";
      if (!legend_drawn)
        gp << "set key at screen " << right + 10 / width << "," << top << " left top Left reverse samplen 2\n";
      else
        gp << "unset key\n";
      gp << "plot ";
      bool first = true;
      auto spec = [&](const std::string& line) {
        const int k = style.at(line);
        std::ostringstream o;
        o << " lw 2 pt " << (k - 1) % 13 + 1 << " ps 1.3 lc rgb '" << kColours[(k - 1) % kColours.size()] << "'";
        return o.str();
      };
      for (const auto& [line, curve] : curves) {
        std::vector<std::tuple<double, double, double, double>> pts;
        for (const auto& [x, p] : curve) pts.emplace_back(x, p.mean, p.lo, p.hi);
        gp << (first ? "" : ", ") << gp.file1d(pts) << " using 1:2:3:4 with yerrorlines" << spec(line)
           << (legend_drawn ? " notitle" : " title " + quoted(line));
        first = false;
      }
      if (!legend_drawn)  // the labels this panel lacks, as legend entries only
        for (const auto& [line, index] : style)
          if (!curves.count(line)) {
            gp << (first ? "" : ", ") << "NaN with linespoints" << spec(line) << " title " << quoted(line);
            first = false;
          }
      if (first) gp << "NaN notitle";
      gp << "\n";
      if (!legend_drawn) gp << "unset label 1\nunset label 2\n";  // drawn once, with the first panel
      legend_drawn = true;
    }
    gp << "unset multiplot\nset output\n";
  }
  MIXLAB_CHECK(fs::is_regular_file(png.temp_path()) && fs::file_size(png.temp_path()) > 0, "plot: gnuplot did not write ",
               png_path);
  png.commit();
}

// Widths are drawn on a log 2 axis (64, 128, 256, 512 equally spaced) once
// they span an octave; other settings too when all are positive and span 4x.
XAxis x_axis_for(const std::vector<RunRecord>& runs, const std::string& key) {
  double lo = INFINITY, hi = 0;
  for (const RunRecord& r : runs) {
    const double x = number(r, key);
    if (x <= 0) return XAxis::Linear;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const bool width = key == "model.d_model" || key.ends_with(".d_state") || key.ends_with("head_size");
  return hi >= (width ? 2 : 4) * lo ? XAxis::Log2 : XAxis::Linear;
}

// "a, b and c" of distinct values in first-seen order.
std::string listed(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : i + 1 == values.size() ? " and " : ", ") + values[i];
  return out;
}

std::vector<std::string> distinct(const std::vector<RunRecord>& runs, const std::string& key) {
  std::vector<std::string> values;
  for (const RunRecord& r : runs) {
    const auto it = r.config.find(key);
    if (it != r.config.end() && std::find(values.begin(), values.end(), it->second) == values.end())
      values.push_back(it->second);
  }
  return values;
}

}  // namespace

std::vector<RunRecord> load_runs(const std::vector<std::string>& paths) {
  std::vector<RunRecord> runs;
  for (const std::string& p : paths) {
    const fs::path path(p);
    if (is_run(path)) {
      runs.push_back(load_run_record(path));
      continue;
    }
    MIXLAB_CHECK(fs::is_directory(path), "plot: ", p, " does not exist");
    // A folder of runs: its run subfolders (a sweep's runs/ one level down too).
    std::vector<fs::path> found;
    for (const fs::path& base : {path, path / "runs"})
      if (fs::is_directory(base))
        for (const auto& entry : fs::directory_iterator(base))
          if (entry.is_directory() && is_run(entry.path())) found.push_back(entry.path());
    MIXLAB_CHECK(!found.empty(), "plot: ", p, " is not a run directory and holds none (no metrics.csv + config.ini)");
    std::sort(found.begin(), found.end());
    for (const fs::path& f : found) runs.push_back(load_run_record(f));
  }
  return runs;
}

// "model.pattern,mamba2.d_state" labels "mamba2 d_state=64" and "mha".
std::string line_label(const RunRecord& r, const std::string& line_keys) {
  std::vector<std::string> keys;
  for (size_t begin = 0; begin <= line_keys.size();) {
    const size_t end = std::min(line_keys.find(',', begin), line_keys.size());
    keys.push_back(line_keys.substr(begin, end - begin));
    begin = end + 1;
  }
  const auto pattern = r.config.find("model.pattern");
  auto uses_mixer = [&](const std::string& mixer) {  // a mixer, preset or instance section of the pattern
    if (pattern == r.config.end()) return false;
    const std::vector<std::string> layers = split_list(pattern->second);
    return std::find(layers.begin(), layers.end(), mixer) != layers.end();
  };
  std::string label;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string section = keys[i].substr(0, keys[i].find('.'));
    const bool mixer_key = section != "model" && section != "task" && section != "train";
    if (i > 0 && mixer_key && !uses_mixer(section)) continue;
    const std::string& value = setting(r, keys[i]);
    label += i == 0 ? value : " " + keys[i].substr(keys[i].find('.') + 1) + "=" + value;
  }
  return label;
}

std::vector<Panel> accuracy_panels(const std::vector<RunRecord>& runs, const FigureOptions& o) {
  std::vector<Panel> out;
  for (const std::string& column : panels(runs)) {
    Panel panel{column == "test_accuracy" ? "test accuracy" : panel_title(column), {}};
    PointData data;
    for (const RunRecord& r : runs)
      data[line_label(r, o.line_key)][number(r, o.x_key)].add(group_of(r, o.best_over), accuracy(r, column, o.best));
    panel.lines = reduce(data);
    out.push_back(std::move(panel));
  }
  return out;
}

std::string figure_caption(const std::vector<RunRecord>& runs, const std::vector<Panel>& panels,
                           const FigureOptions& o) {
  int n_lo = 0, n_hi = 0;
  for (const Panel& panel : panels)
    for (const auto& [line, curve] : panel.lines)
      for (const auto& [x, p] : curve) {
        n_lo = n_lo == 0 ? p.n : std::min(n_lo, p.n);
        n_hi = std::max(n_hi, p.n);
      }
  std::string text = n_hi <= 1 ? "one run per point"
                                : "mean of " + (n_lo == n_hi ? std::to_string(n_hi) : std::to_string(n_lo) + "-" +
                                                                                        std::to_string(n_hi)) +
                                      " seeds per point, bars min-max";
  if (!o.best_over.empty()) {
    const std::vector<std::string> values = distinct(runs, o.best_over);
    if (values.size() > 1)
      text += "; the " + o.best_over + " of best mean among " + listed(values);
    else if (values.size() == 1)
      text += "; " + o.best_over + " " + values[0];
  }
  std::vector<std::string> budget;
  for (const char* key : {"train.max_steps", "train.epochs", "train.batch_size"}) {
    std::vector<std::string> values = distinct(runs, key);
    values.erase(std::remove(values.begin(), values.end(), "0"), values.end());  // 0: the key is unused
    if (!values.empty()) budget.push_back(std::string(key).substr(6) + " " + listed(values));
  }
  if (!budget.empty()) text += "; budget: " + listed(budget);
  text += o.best ? "; best eval of each run" : "; final eval of each run";
  if (!o.caption.empty()) text += ". " + o.caption;
  return text;
}

void plot_accuracy_vs_x(const std::vector<RunRecord>& runs, const FigureOptions& o, const std::string& png_path) {
  MIXLAB_CHECK(!runs.empty(), "plot: no runs");
  const std::vector<Panel> panels = accuracy_panels(runs, o);
  draw(panels,
       !o.title.empty() ? o.title
                        : std::string(o.best ? "best" : "final") + " test accuracy by " + o.x_key + ", one line per " +
                              o.line_key,
       figure_caption(runs, panels, o), o.x_key, x_axis_for(runs, o.x_key), png_path);
}

void plot_accuracy_vs_state(const std::vector<RunRecord>& runs, const FigureOptions& o, const std::string& png_path) {
  MIXLAB_CHECK(!runs.empty(), "plot: no runs");
  Panel panel{"decode state at context " + std::to_string(o.context), {}};
  PointData data;
  for (const RunRecord& r : runs) {
    const double bytes = static_cast<double>(Experiment::load(r.dir + "/config.ini").build_model()->state_bytes(o.context));
    data[line_label(r, o.line_key)][bytes].add(group_of(r, o.best_over), accuracy(r, "test_accuracy", o.best));
  }
  panel.lines = reduce(data);
  const std::vector<Panel> one = {panel};
  draw(one, !o.title.empty() ? o.title : std::string(o.best ? "best" : "final") + " test accuracy vs decode state bytes per sequence",
       figure_caption(runs, one, o), "decode state (all layers, F32 bytes)", XAxis::Bytes, png_path);
}

}  // namespace mixlab
