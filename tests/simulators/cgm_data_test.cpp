// The recorded CGM sets of ../shared/data, whole (label cgm_data: dev build only, a few seconds):
// vitals-eval's baselines against the data README's tables, and vitalsd's pipeline replayed
// in-process over every trace: no level-2 episode hidden as artifacts, none missed. Skipped with
// a warning when the data are not there ($VITALS_SHARED_DATA overrides the folder).

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <vitals/simulators/cgm_sets.hpp>

namespace sim = vitals::simulators;
namespace fs = std::filesystem;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace cgm_data_test {
namespace {

/// ../shared/data beside the repository, or $VITALS_SHARED_DATA (a work tree elsewhere).
const fs::path data_root = [] {
  const char* env = std::getenv("VITALS_SHARED_DATA");
  return fs::path(env != nullptr && *env != '\0' ? env : VITALS_SHARED_DATA_DIR);
}();

/// One cell group of a README table row: counts, leads rounded as the README prints them (half
/// to even: 12.5 -> 12, 7.5 -> 8), rates to two decimals. A negative count: not in the table.
struct readme_row {
  sim::baseline b;
  int in_window, active;  ///< level-2 caught
  int lead_w, p10_w;      ///< in window: median (p10)
  int lead_a, p10_a;      ///< +active: median (p10)
  double false_per_day, all_per_day;
};

int rounded(const std::optional<double>& v) {
  REQUIRE(v);
  return static_cast<int>(std::nearbyint(*v));
}

void check_table(const std::string& set_name, sim::cgm_group group,
                 const std::vector<readme_row>& rows) {
  const auto dir = data_root / set_name;
  if (!fs::exists(dir / "hypo_episodes.csv")) {
    WARN("no " << dir.string() << ": skipped");
    return;
  }
  const auto set = sim::load_cgm_set(dir);
  const auto data = sim::group_subset(set, group);
  REQUIRE(data);
  const sim::cgm_eval_options options;
  for (const auto& row : rows) {
    INFO(set_name << " " << sim::group_name(group) << " " << sim::baseline_name(row.b));
    const auto s =
        sim::score_hypo_alerts("b", "b", sim::run_baseline(row.b, *data, options), *data, options);
    CHECK(std::llround(s.false_per_patient_day * 100) == std::llround(row.false_per_day * 100));
    CHECK(std::llround(s.alerts_per_patient_day * 100) == std::llround(row.all_per_day * 100));
    if (row.active < 0) continue;
    CHECK(static_cast<int>(s.caught_in_window) == row.in_window);
    CHECK(static_cast<int>(s.caught) == row.active);
    if (row.in_window > 0) {
      CHECK(rounded(s.median_lead_in_window_min) == row.lead_w);
      CHECK(rounded(s.p10_lead_in_window_min) == row.p10_w);
    }
    CHECK(rounded(s.median_lead_min) == row.lead_a);
    CHECK(rounded(s.p10_lead_min) == row.p10_a);
  }
}

using B = sim::baseline;
constexpr int na = -1;

}  // namespace

TEST_CASE("baselines on HUPA-UCM equal the data README's table", "[cgm_data]") {
  check_table("cgm-hupa-ucm", sim::cgm_group::type1_5min,
              {{B::threshold_55, 268, 305, 5, 0, 5, 0, 0.00, 0.47},
               {B::threshold_70, 124, 305, 20, 10, 40, 15, 0.21, 1.36},
               {B::ar2, 74, 305, 25, 10, 55, 25, 0.93, 1.97},
               {B::linear, 177, 305, 25, 10, 30, 15, 0.59, 1.74}});
}

TEST_CASE("baselines on T1D-UOM 5-min equal the data README's table", "[cgm_data]") {
  check_table("cgm-t1d-uom-5min", sim::cgm_group::type1_5min,
              {{B::threshold_55, 73, 75, 0, 0, 0, 0, 0.01, 0.19},
               {B::threshold_70, 57, 75, 15, 5, 20, 5, 0.21, 0.79},
               {B::ar2, 39, 75, 20, 10, 30, 10, 1.24, 1.79},
               {B::linear, 43, 75, 20, 5, 30, 10, 1.14, 1.75}});
}

TEST_CASE("baselines on T1D-UOM 15-min equal the data README's table but for one episode",
          "[cgm_data]") {
  // The README has 127/141 (reading <= 55) and 141/141 (linear) caught with an active alert;
  // vitals-eval finds 126 and 140: one episode, whose only low readings are on-demand scans
  // that the replay at the 15-min interval skips, is counted caught there and not here. Every
  // other cell agrees; the difference is reported in docs/DETECTION.md.
  check_table("cgm-t1d-uom-15min", sim::cgm_group::type1_15min,
              {{B::threshold_55, 116, 126, 0, 0, 0, 0, 0.00, 0.19},
               {B::threshold_70, 76, 141, 12, 0, 20, 1, 0.00, 0.85},
               {B::ar2, 44, 139, 17, 8, 47, 15, 1.67, 2.41},
               {B::linear, 90, 140, 15, 0, 18, 0, 0.43, 1.24}});
}

TEST_CASE("baselines on Hall 2018 equal the data README's table", "[cgm_data]") {
  check_table("cgm-hall-2018", sim::cgm_group::no_diabetes,
              {{B::threshold_55, na, na, 0, 0, 0, 0, 0.00, 0.07},
               {B::threshold_70, na, na, 0, 0, 0, 0, 0.12, 0.43},
               {B::ar2, na, na, 0, 0, 0, 0, 0.90, 1.15},
               {B::linear, na, na, 0, 0, 0, 0, 0.41, 0.72}});
  check_table("cgm-hall-2018", sim::cgm_group::other,
              {{B::threshold_55, 3, 3, 5, 1, 5, 1, 0.00, 0.02},
               {B::threshold_70, 3, 3, 25, 5, 25, 5, 0.04, 0.12},
               {B::ar2, 1, 3, 5, 5, 40, 12, 0.30, 0.37},
               {B::linear, 2, 3, 15, 3, 30, 6, 0.16, 0.24}});
}

TEST_CASE("baselines on Colas 2019 equal the data README's table", "[cgm_data]") {
  check_table("cgm-colas-2019", sim::cgm_group::no_diabetes,
              {{B::threshold_55, na, na, 0, 0, 0, 0, 0.00, 0.15},
               {B::threshold_70, na, na, 0, 0, 0, 0, 0.05, 0.63},
               {B::ar2, na, na, 0, 0, 0, 0, 0.88, 1.33},
               {B::linear, na, na, 0, 0, 0, 0, 0.10, 0.46}});
  check_table("cgm-colas-2019", sim::cgm_group::other,
              {{B::threshold_55, 2, 2, 8, 2, 8, 2, 0.00, 0.12},
               {B::threshold_70, 1, 2, 15, 15, 35, 19, 0.00, 0.21},
               {B::ar2, 1, 2, 25, 25, 85, 37, 0.41, 0.59},
               {B::linear, 1, 2, 30, 30, 32, 30, 0.09, 0.24}});
}

TEST_CASE("no real low is hidden or missed on any recorded set", "[cgm_data]") {
  // The safety property of issue 18 over every trace of ../shared/data: vitalsd's pipeline
  // (jump filter included) never flags every reading of a level-2 episode as an artifact, and
  // its hypo alerts catch every level-2 episode of the people with type 1 diabetes.
  if (!fs::exists(data_root)) {
    WARN("no " << data_root.string() << ": skipped");
    return;
  }
  std::size_t sets = 0;
  for (const auto& e : fs::directory_iterator(data_root)) {
    if (!e.is_directory() || e.path().filename().string().rfind("cgm-", 0) != 0 ||
        !fs::exists(e.path() / "hypo_episodes.csv")) {
      continue;
    }
    ++sets;
    const auto set = sim::load_cgm_set(e.path());
    INFO(set.key);
    const auto replay = sim::replay_through_pipeline(set, {}, true);
    CHECK(sim::hidden_level2(set.data, replay).empty());
    for (const auto g : {sim::cgm_group::type1_5min, sim::cgm_group::type1_15min}) {
      const auto data = sim::group_subset(set, g);
      if (!data) continue;
      const sim::cgm_eval_options options;
      const auto sel = sim::select_alerts(replay.alerts, *data, options);
      const auto s = sim::score_hypo_alerts("vitalsd", "vitalsd", sel.alerts, *data, options);
      CHECK(s.level2 > 0);
      CHECK(s.caught == s.level2);
    }
  }
  if (sets == 0) WARN("no cgm-* set in " << data_root.string() << ": skipped");
}

}  // namespace cgm_data_test
