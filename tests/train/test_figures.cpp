// The data behind `mixlab plot --figure accuracy`: panels per test segment,
// legend labels from several keys, and the best run kept per point.
#include <catch2/catch.hpp>

#include "train/figures.h"

using namespace mixlab;

namespace {

RunRecord run(const std::string& pattern, double d_model, double lr, double d_state,
              std::map<std::string, std::vector<double>> metrics) {
  RunRecord r;
  r.dir = pattern + "-" + std::to_string(lr);
  r.config = {{"model.pattern", pattern},
              {"model.d_model", std::to_string(static_cast<int>(d_model))},
              {"train.lr", std::to_string(lr)},
              {"mamba2.d_state", std::to_string(static_cast<int>(d_state))}};
  r.metrics = std::move(metrics);
  return r;
}

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
  CHECK(mamba_64 == Curve{{64, 0.7}, {128, 0.9}});  // best eval of the best lr
  CHECK(panels[1].lines.at("mamba2 d_state=64") == Curve{{64, 0.3}});
  CHECK(panels[0].lines.at("mha") == Curve{{64, 1.0}});
  CHECK(panels[0].lines.size() == 2);

  o.best = false;  // the final eval of each run instead
  CHECK(accuracy_panels(runs, o)[0].lines.at("mamba2 d_state=64") == Curve{{64, 0.6}, {128, 0.9}});
}
