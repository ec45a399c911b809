// vitals-eval-cgm --grid: leave-one-dataset-out choice of glucose detector parameters. Every
// combination of the grid is replayed on every set once; for each set left out, the combination
// chosen on the others is reported with its figures on the left-out set.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <vitals/simulators/cgm_sets.hpp>

#include "eval_text.hpp"

namespace sim = vitals::simulators;
namespace core = vitals::core;

using vitals::simulators::eval_text::fixed;

namespace {

using config = std::vector<std::pair<std::string, double>>;

std::string config_text(const config& c) {
  std::string s;
  for (const auto& [n, v] : c) s += (s.empty() ? "" : " ") + n + "=" + fixed(v, 3);
  return s.empty() ? "defaults" : s;
}

std::vector<config> expand(const std::vector<std::string>& grid) {
  std::vector<config> out{{}};
  for (const auto& g : grid) {
    const auto eq = g.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--grid " + g + ": NAME=V1,V2,...");
    const auto name = g.substr(0, eq);
    std::vector<double> values;
    std::stringstream in(g.substr(eq + 1));
    std::string item;
    while (std::getline(in, item, ',')) values.push_back(std::stod(item));
    std::vector<config> next;
    for (const auto& c : out) {
      for (const double v : values) {
        auto d = c;
        d.emplace_back(name, v);
        next.push_back(std::move(d));
      }
    }
    out = std::move(next);
  }
  return out;
}

/// A set's figures under one configuration: its type 1 group's hypo score, or for a set without
/// type 1 people the rate of every glucose rule among those without diabetes.
struct set_result {
  bool type1 = false;
  bool five_min = false;  ///< type 1 people with a 5-minute CGM: the sets tuned on
  sim::detector_score score;
  double any_rule_per_day = 0.0;
};

set_result evaluate_set(const sim::cgm_set& set, const core::detection_settings& settings) {
  set_result r;
  const auto replay = sim::replay_through_pipeline(set, settings, true);
  for (const auto g : {sim::cgm_group::type1_5min, sim::cgm_group::type1_15min}) {
    if (const auto data = sim::group_subset(set, g)) {
      const sim::cgm_eval_options hypo;
      const auto sel = sim::select_alerts(replay.alerts, *data, hypo);
      r.score = sim::score_hypo_alerts("vitalsd", "vitalsd", sel.alerts, *data, hypo);
      r.type1 = true;
      r.five_min = g == sim::cgm_group::type1_5min;
      return r;
    }
  }
  if (const auto data = sim::group_subset(set, sim::cgm_group::no_diabetes)) {
    sim::cgm_eval_options any;
    any.rules = sim::all_glucose_rules();
    const auto sel = sim::select_alerts(replay.alerts, *data, any);
    std::size_t n = 0;
    for (const auto& [p, a] : sel.alerts) n += a.size();
    r.any_rule_per_day = static_cast<double>(n) / sim::patient_days(*data);
    r.score.patient_days = sim::patient_days(*data);
  }
  return r;
}

/// How far pooled figures fall short of issue 18's targets for 5-minute type 1 sets (every
/// level-2 episode caught, median lead >= 25 min, p10 >= 10, <= 0.1 false alerts per
/// patient-day), each shortfall relative to its target; 0 = all met, lower is better. A missed
/// episode outweighs everything else. Ties go to the earlier configuration of the grid.
double shortfall(const sim::detector_score& pooled) {
  const double median = pooled.median_lead_min.value_or(0.0);
  const double p10 = pooled.p10_lead_min.value_or(0.0);
  return 10.0 * static_cast<double>(pooled.level2 - pooled.caught) +
         std::max(0.0, 25.0 - median) / 25.0 + std::max(0.0, 10.0 - p10) / 10.0 +
         std::max(0.0, pooled.false_per_patient_day - 0.1) / 0.1;
}

std::string figures(const set_result& r) {
  if (!r.type1) return "glucose alerts/day " + fixed(r.any_rule_per_day, 2);
  const auto& s = r.score;
  const auto lead = [](const std::optional<double>& m, const std::optional<double>& p) {
    return m && p ? fixed(*m, 1) + " (" + fixed(*p, 1) + ")" : std::string("-");
  };
  return std::to_string(s.caught) + "/" + std::to_string(s.level2) + " lead " +
         lead(s.median_lead_min, s.p10_lead_min) + "; in window " +
         std::to_string(s.caught_in_window) + "/" + std::to_string(s.level2) + " lead " +
         lead(s.median_lead_in_window_min, s.p10_lead_in_window_min) + "; false/day " +
         fixed(s.false_per_patient_day, 2) + ", alerts/day " + fixed(s.alerts_per_patient_day, 2);
}

}  // namespace

int run_grid(const std::vector<sim::cgm_set>& sets, const core::detection_settings& base,
             const std::vector<std::string>& grid, std::ostream& out) {
  const auto configs = expand(grid);
  std::vector<std::vector<set_result>> results;  // [config][set]
  for (const auto& c : configs) {
    auto settings = base;
    for (const auto& [n, v] : c) {
      if (!sim::set_parameter(settings, n, v)) throw std::invalid_argument("unknown " + n);
    }
    std::cerr << "vitals-eval-cgm: " << config_text(c) << "\n";
    std::vector<set_result> per_set;
    for (const auto& set : sets) per_set.push_back(evaluate_set(set, settings));
    results.push_back(std::move(per_set));
  }
  out << "grid: " << configs.size() << " configurations x " << sets.size() << " sets\n";
  for (std::size_t c = 0; c < configs.size(); ++c) {
    out << "  " << config_text(configs[c]) << "\n";
    for (std::size_t s = 0; s < sets.size(); ++s) {
      out << "    " << sets[s].key << ": " << figures(results[c][s]) << "\n";
    }
  }
  const auto choose = [&](std::size_t left_out) {
    std::size_t best = 0;
    double best_value = 0.0;
    for (std::size_t c = 0; c < configs.size(); ++c) {
      sim::detector_score pooled;
      for (std::size_t s = 0; s < sets.size(); ++s) {
        if (s != left_out && results[c][s].five_min) sim::pool_into(pooled, results[c][s].score);
      }
      const double v = shortfall(pooled);
      if (c == 0 || v < best_value) {
        best = c;
        best_value = v;
      }
    }
    return best;
  };
  out << "\nleave-one-dataset-out: chosen on the other sets' type 1 people with a 5-min CGM (the "
         "configuration closest to the targets), scored on the set left out\n";
  for (std::size_t s = 0; s < sets.size(); ++s) {
    const auto c = choose(s);
    out << "  " << sets[s].key << ": " << config_text(configs[c]) << " -> "
        << figures(results[c][s]) << "\n";
  }
  const auto all = choose(sets.size());
  out << "chosen on every set (tuning figures): " << config_text(configs[all]) << "\n";
  return 0;
}
