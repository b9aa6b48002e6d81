// The data behind `mixlab plot --figure accuracy`: panels per test segment,
// legend labels from several keys, and what a point is: seeds averaged, the
// learning rate of best mean chosen (train/figure_points.h), and the caption.
#include <catch2/catch.hpp>
#include <cmath>

#include "train/figures.h"
#include "train/plot.h"

using namespace mixlab;

namespace {

RunRecord run(const std::string& pattern, double d_model, double lr, double d_state,
              std::map<std::string, std::vector<double>> metrics, int seed = 0) {
  RunRecord r;
  r.dir = pattern + "-" + std::to_string(lr) + "-" + std::to_string(seed);
  r.config = {{"model.pattern", pattern},
              {"model.d_model", std::to_string(static_cast<int>(d_model))},
              {"train.lr", std::to_string(lr)},
              {"train.seed", std::to_string(seed)},
              {"train.max_steps", "1500"},
              {"train.epochs", "0"},
              {"train.batch_size", "64"},
              {"mamba2.d_state", std::to_string(static_cast<int>(d_state))}};
  r.metrics = std::move(metrics);
  return r;
}

// A point of one run: mean = min = max = the value, n 1.
Point single(double value, const std::string& lr) {
  Point p;
  p.mean = p.lo = p.hi = value;
  p.n = 1;
  p.candidates = 1;
  p.chosen = lr;
  return p;
}

double mean(const Curve& c, double x) { return c.at(x).mean; }

}  // namespace

TEST_CASE("line labels show a mixer's key only for runs that use the mixer", "[figures]") {
  const RunRecord mamba = run("shortconv,mamba2", 64, 1e-3, 64, {});
  const RunRecord attention = run("mha", 64, 1e-3, 16, {});
  CHECK(line_label(mamba, "model.pattern") == "shortconv,mamba2");
  CHECK(line_label(mamba, "model.pattern,mamba2.d_state") == "shortconv,mamba2 d_state=64");
  CHECK(line_label(attention, "model.pattern,mamba2.d_state") == "mha");
  CHECK(line_label(attention, "mamba2.d_state") == "16");  // the first key is always shown
  CHECK(line_label(mamba, "model.pattern,model.d_model") == "shortconv,mamba2 d_model=64");
  // An instance section is a mixer of the pattern too, written with spaces or not.
  RunRecord instance = run("shortconv, local", 64, 1e-3, 16, {});
  instance.config["local.window"] = "16";
  CHECK(line_label(instance, "model.pattern,local.window") == "shortconv, local window=16");
  CHECK(line_label(mamba, "model.pattern,local.window") == "shortconv,mamba2");
}

TEST_CASE("accuracy panels: one per test segment, best run per line and x", "[figures]") {
  FigureOptions o;
  o.line_key = "model.pattern,mamba2.d_state";
  const std::vector<RunRecord> runs = {
      // Two learning rates of one model at one width: the better one is the point.
      run("mamba2", 64, 1e-3, 64, {{"step", {1, 2}}, {"acc_64x4", {0.2, 0.5}}, {"acc_128x8", {0.1, 0.3}}}),
      run("mamba2", 64, 3e-3, 64, {{"step", {1, 2}}, {"acc_64x4", {0.7, 0.6}}, {"acc_128x8", {0.2, 0.1}}}),
      run("mamba2", 128, 1e-3, 64, {{"step", {1}}, {"acc_64x4", {0.9}}}),  // no L 128 column: not in that panel
      run("mha", 64, 1e-3, 16, {{"step", {1}}, {"acc_64x4", {1.0}}, {"acc_128x8", {0.95}}}),
  };
  const std::vector<Panel> panels = accuracy_panels(runs, o);
  REQUIRE(panels.size() == 2);
  CHECK(panels[0].title == "L 64, 4 kv pairs");  // ordered by L, not as text
  CHECK(panels[1].title == "L 128, 8 kv pairs");
  const Curve& mamba_64 = panels[0].lines.at("mamba2 d_state=64");
  REQUIRE(mamba_64.size() == 2);
  CHECK(mean(mamba_64, 64) == 0.7);  // best eval of the best lr
  CHECK(mamba_64.at(64).chosen == std::to_string(3e-3));
  CHECK(mamba_64.at(64).candidates == 2);
  CHECK(mamba_64.at(128) == single(0.9, std::to_string(1e-3)));
  Point l128 = single(0.3, std::to_string(1e-3));  // lr 1e-3's best 0.3 beats lr 3e-3's 0.2
  l128.candidates = 2;
  CHECK(panels[1].lines.at("mamba2 d_state=64") == Curve{{64, l128}});
  CHECK(mean(panels[0].lines.at("mha"), 64) == 1.0);
  CHECK(panels[0].lines.size() == 2);

  o.best = false;  // the final eval of each run instead
  const Curve final_evals = accuracy_panels(runs, o)[0].lines.at("mamba2 d_state=64");
  CHECK(mean(final_evals, 64) == 0.6);
  CHECK(mean(final_evals, 128) == 0.9);
}

TEST_CASE("a point averages the seeds of the learning rate with the best mean", "[figures]") {
  FigureOptions o;
  auto acc = [](double a) { return std::map<std::string, std::vector<double>>{{"step", {1}}, {"test_accuracy", {a}}}; };
  // lr 1e-3: seeds 0.9, 0.1, 0.2 (one lucky seed, mean 0.4); lr 3e-3: 0.5, 0.6, 0.7 (mean 0.6).
  std::vector<RunRecord> runs;
  const double lucky[] = {0.9, 0.1, 0.2}, steady[] = {0.5, 0.6, 0.7};
  for (int s = 0; s < 3; ++s) {
    runs.push_back(run("mha", 64, 1e-3, 16, acc(lucky[s]), s));
    runs.push_back(run("mha", 64, 3e-3, 16, acc(steady[s]), s));
  }
  const std::vector<Panel> panels = accuracy_panels(runs, o);
  REQUIRE(panels.size() == 1);
  CHECK(panels[0].title == "test accuracy");
  const Point p = panels[0].lines.at("mha").at(64);
  CHECK(p.chosen == std::to_string(3e-3));  // the best mean, not the best single run (0.9)
  CHECK(p.mean == Approx(0.6));
  CHECK(p.sd == Approx(0.1));  // sample standard deviation
  CHECK(p.lo == 0.5);
  CHECK(p.hi == 0.7);
  CHECK(p.n == 3);
  CHECK(p.candidates == 2);

  const std::string caption = figure_caption(runs, panels, o);
  CHECK(caption.find("mean of 3 seeds per point, bars min-max") != std::string::npos);
  CHECK(caption.find("the train.lr of best mean among " + std::to_string(1e-3) + " and " + std::to_string(3e-3)) !=
        std::string::npos);
  CHECK(caption.find("budget: max_steps 1500 and batch_size 64") != std::string::npos);  // epochs 0 is not shown
  CHECK(caption.find("best eval of each run") != std::string::npos);

  // Without a best-over key every run of the point is a seed.
  o.best_over = "";
  const Point all = accuracy_panels(runs, o)[0].lines.at("mha").at(64);
  CHECK(all.n == 6);
  CHECK(all.mean == Approx(0.5));
  CHECK(all.lo == 0.1);
  CHECK(all.hi == 0.9);
  CHECK(figure_caption(runs, accuracy_panels(runs, o), o).find("mean of 6 seeds") != std::string::npos);
}

TEST_CASE("summarise: mean, sample sd, min, max of replicates", "[figures]") {
  const Point one = summarise({0.25});
  CHECK(one.mean == 0.25);
  CHECK(one.sd == 0);
  CHECK(one.n == 1);
  const Point two = summarise({1.0, 3.0});
  CHECK(two.mean == 2.0);
  CHECK(two.sd == Approx(std::sqrt(2.0)));
  CHECK(two.lo == 1.0);
  CHECK(two.hi == 3.0);
  PointBuilder b;
  b.add("a", std::nan(""));  // a run without the column is not a replicate
  CHECK(b.empty());
  b.add("a", 0.5);
  CHECK(b.reduce().n == 1);
}

TEST_CASE("curves: the loss panel notes dropout when any dropout key is above 0", "[train][plot]") {
  CHECK_FALSE(trains_with_dropout({{"model.embed_dropout", "0"}, {"model.d_model", "64"}}));
  CHECK(trains_with_dropout({{"model.embed_dropout", "0.1"}}));
  CHECK(trains_with_dropout({{"model.embed_dropout", "0"}, {"mha.attn_dropout", "0.05"}}));
  CHECK_FALSE(trains_with_dropout({{"train.lr", "0.1"}}));
}
