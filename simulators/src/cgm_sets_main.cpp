// vitals-eval-cgm: hypoglycaemia alerting on every recorded CGM set of shared/data at once.
// vitalsd's detection is replayed in-process (core::pipeline), scored with vitals-eval's rules
// next to the baselines, per set and per group pooled over the sets; --grid chooses the glucose
// detector's parameters leave-one-dataset-out. Thin: options, loading, printing.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <vitals/simulators/cgm_sets.hpp>

#include "eval_text.hpp"

namespace sim = vitals::simulators;
namespace core = vitals::core;
namespace fs = std::filesystem;

using vitals::simulators::eval_text::fixed;

namespace {

/// One row of a table: a detector's score plus, for vitalsd, the rate of every glucose rule.
struct row {
  sim::detector_score score;
  std::optional<double> any_rule_per_day;
};

std::string lead_text(const std::optional<double>& median, const std::optional<double>& p10) {
  if (!median || !p10) return "-";
  return fixed(*median, 1) + " (" + fixed(*p10, 1) + ")";
}

void print_rows(std::ostream& out, const std::vector<row>& rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"detector", "L2 in window", "lead (p10)", "L2 +active", "lead (p10)",
                   "false/day", "alerts/day", "any glucose rule/day"});
  for (const auto& r : rows) {
    const auto& d = r.score;
    const auto of = [&](std::size_t n) {
      return std::to_string(n) + "/" + std::to_string(d.level2);
    };
    cells.push_back({d.name, of(d.caught_in_window),
                     lead_text(d.median_lead_in_window_min, d.p10_lead_in_window_min), of(d.caught),
                     lead_text(d.median_lead_min, d.p10_lead_min),
                     fixed(d.false_per_patient_day, 2), fixed(d.alerts_per_patient_day, 2),
                     r.any_rule_per_day ? fixed(*r.any_rule_per_day, 2) : "-"});
  }
  std::vector<std::size_t> width(cells[0].size(), 0);
  for (const auto& c : cells) {
    for (std::size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  }
  for (const auto& c : cells) {
    out << "  ";
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::string pad(width[i] - c[i].size(), ' ');
      out << (i == 0 ? c[i] + pad : pad + c[i]) << (i + 1 < c.size() ? "  " : "\n");
    }
  }
}

/// Scores of one group of one set: vitalsd (as configured, and with type 1 rules for everyone
/// when the group is not type 1), then the baselines.
std::vector<row> score_group(const sim::cgm_dataset& data, const sim::pipeline_replay& with,
                             const sim::pipeline_replay* without, bool baselines) {
  const sim::cgm_eval_options hypo;
  sim::cgm_eval_options any = hypo;
  any.rules = sim::all_glucose_rules();
  std::vector<row> rows;
  const auto vitalsd = [&](const sim::pipeline_replay& r, std::string name) {
    auto sel = sim::select_alerts(r.alerts, data, hypo);
    auto score = sim::score_hypo_alerts("vitalsd", std::move(name), sel.alerts, data, hypo);
    const auto all = sim::select_alerts(r.alerts, data, any);
    std::size_t n = 0;
    for (const auto& [p, a] : all.alerts) n += a.size();
    rows.push_back({std::move(score), static_cast<double>(n) / sim::patient_days(data)});
  };
  vitalsd(with, "vitalsd");
  if (without != nullptr) vitalsd(*without, "vitalsd, type 1 rules for all");
  if (baselines) {
    for (const auto b : sim::all_baselines) {
      rows.push_back({sim::score_hypo_alerts(std::string(sim::baseline_id(b)),
                                             std::string(sim::baseline_name(b)),
                                             sim::run_baseline(b, data, hypo), data, hypo),
                      std::nullopt});
    }
  }
  return rows;
}

std::vector<fs::path> find_sets(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(root)) {
    const auto name = e.path().filename().string();
    if (e.is_directory() && name.rfind("cgm-", 0) == 0 &&
        fs::exists(e.path() / "hypo_episodes.csv")) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int run_tables(const std::vector<sim::cgm_set>& sets, const core::detection_settings& settings,
               bool use_diabetes, std::ostream& out) {
  std::map<sim::cgm_group, std::vector<row>> pooled;
  std::size_t hidden_total = 0;
  for (const auto& set : sets) {
    const auto with = sim::replay_through_pipeline(set, settings, use_diabetes);
    std::optional<sim::pipeline_replay> without;
    const bool mixed = std::any_of(set.diabetes.begin(), set.diabetes.end(), [](const auto& d) {
      return d.second != core::diabetes_type::type1;
    });
    if (use_diabetes && mixed) without = sim::replay_through_pipeline(set, settings, false);
    const auto hidden = sim::hidden_level2(set.data, with);
    hidden_total += hidden.size();
    out << "== " << set.key << ": " << set.data.traces.size() << " people, "
        << fixed(sim::patient_days(set.data), 1) << " patient-days, a reading every "
        << set.interval.count() / 60000.0
        << " min; level-2 episodes hidden as artifacts: " << hidden.size() << "\n";
    for (const auto& e : hidden) {
      out << "  hidden: " << e.file << ", episode at line " << e.line << " of hypo_episodes.csv\n";
    }
    for (const auto g : sim::all_groups) {
      const auto data = sim::group_subset(set, g);
      if (!data) continue;
      out << " " << sim::group_name(g) << ": " << data->traces.size() << " people, "
          << fixed(sim::patient_days(*data), 1) << " patient-days\n";
      const auto rows = score_group(*data, with, without ? &*without : nullptr, true);
      print_rows(out, rows);
      if (g != sim::cgm_group::no_diabetes) {
        for (const auto& e : rows.front().score.episodes) {
          if (!e.lead_min)
            out << "  vitalsd missed the level-2 episode of " << e.patient << " at "
                << e.start.time_since_epoch().count() / 1000 << " (epoch s)\n";
        }
      }
      auto& into = pooled[g];
      if (into.empty()) into.resize(rows.size());
      for (std::size_t i = 0; i < rows.size() && i < into.size(); ++i) {
        sim::pool_into(into[i].score, rows[i].score);
        if (rows[i].any_rule_per_day) {
          const double before = into[i].any_rule_per_day.value_or(0.0) *
                                (into[i].score.patient_days - rows[i].score.patient_days);
          into[i].any_rule_per_day =
              (before + *rows[i].any_rule_per_day * rows[i].score.patient_days) /
              into[i].score.patient_days;
        }
      }
    }
    out << "\n";
  }
  out << "== pooled by group (every set above)\n";
  for (const auto& [g, rows] : pooled) {
    out << " " << sim::group_name(g) << ":\n";
    print_rows(out, rows);
  }
  out << "\nlevel-2 episodes whose every reading was flagged an artifact: " << hidden_total << "\n";
  return hidden_total == 0 ? 0 : 3;
}

}  // namespace

int run_grid(const std::vector<sim::cgm_set>& sets, const core::detection_settings& base,
             const std::vector<std::string>& grid, std::ostream& out);

int main(int argc, char** argv) {
  CLI::App app{
      "vitals-eval-cgm: hypoglycaemia alerting on every recorded CGM set at once. Replays each\n"
      "trace through vitalsd's pipeline in-process (validation, jump filter, every detector)\n"
      "with each person's diabetes type from metadata.csv, scores the level-2 episodes and false\n"
      "alerts as vitals-eval --episodes does, next to the baselines, per set and per group.\n"
      "--grid NAME=V1,V2 ... chooses parameters leave-one-dataset-out instead.",
      "vitals-eval-cgm"};
  std::string root = "../shared/data";
  std::vector<std::string> dirs;
  std::vector<std::string> params;
  std::vector<std::string> grid;
  bool no_diabetes_types = false;
  bool list_params = false;
  app.add_option("--data-root", root, "folder whose cgm-* subfolders are scored")
      ->capture_default_str();
  app.add_option("--set", dirs, "score only this folder (repeatable), instead of --data-root");
  app.add_option("--param", params, "NAME=VALUE: a glucose detector parameter (--list-params)");
  app.add_option("--grid", grid, "NAME=V1,V2,...: leave-one-dataset-out over these values");
  app.add_flag("--no-diabetes-types", no_diabetes_types,
               "ignore metadata.csv's diabetes types (type 1 rules for everyone)");
  app.add_flag("--list-params", list_params, "list the parameters --param and --grid know");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, not CLI11's own codes.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (list_params) {
    for (const auto& [n, what] : sim::tunable_parameters()) std::cout << n << ": " << what << "\n";
    return 0;
  }
  try {
    core::detection_settings settings;
    for (const auto& p : params) {
      const auto eq = p.find('=');
      if (eq == std::string::npos ||
          !sim::set_parameter(settings, p.substr(0, eq), std::stod(p.substr(eq + 1)))) {
        std::cerr << "vitals-eval-cgm: bad --param '" << p << "' (try --list-params)\n";
        return 2;
      }
    }
    std::vector<fs::path> paths;
    for (const auto& d : dirs) paths.emplace_back(d);
    if (paths.empty()) paths = find_sets(root);
    if (paths.empty()) {
      std::cerr << "vitals-eval-cgm: no cgm-* folder with hypo_episodes.csv in " << root << "\n";
      return 2;
    }
    std::vector<sim::cgm_set> sets;
    for (const auto& p : paths) {
      std::cerr << "vitals-eval-cgm: reading " << p.string() << "\n";
      sets.push_back(sim::load_cgm_set(p));
    }
    if (!grid.empty()) return run_grid(sets, settings, grid, std::cout);
    return run_tables(sets, settings, !no_diabetes_types, std::cout);
  } catch (const std::exception& e) {
    std::cerr << "vitals-eval-cgm: " << e.what() << "\n";
    return 1;
  }
}
