// vitals-eval-cardio: a leave-one-profile-out check of the personal-baseline rules on the
// simulator. Patients of the healthy, COPD and cardiac profiles are simulated for some days
// (cardio_model, a pulse oximeter without artifacts, a reading every 10 s); half of them
// deteriorate (+30 /min over 6 h from day 2.5). For every combination of the grid, each
// profile's false alerts (patients without an event) and detected deteriorations are counted;
// for each profile left out, the combination chosen on the other two is reported with its
// figures on the left-out profile.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <vitals/core/baseline_detector.hpp>
#include <vitals/simulators/cardio_model.hpp>

#include "eval_text.hpp"

namespace sim = vitals::simulators;
namespace core = vitals::core;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

using vitals::simulators::eval_text::fixed;

namespace {

const core::timestamp t0{std::chrono::milliseconds(1'767'225'600'000)};  // 2026-01-01

/// One simulated patient: its readings and, for those who deteriorate, the onset.
struct patient_run {
  std::vector<core::sample> samples;
  std::optional<core::timestamp> onset;
};

std::vector<patient_run> simulate(sim::profile_kind profile, int patients, int days,
                                  std::uint64_t seed) {
  std::vector<patient_run> out;
  for (int i = 0; i < patients; ++i) {
    const auto id = std::string(sim::to_string(profile)) + "-" + std::to_string(i);
    patient_run run;
    std::vector<sim::cardio_event> events;
    if (i % 2 == 1) {
      run.onset = t0 + hours(60);
      events.push_back({sim::cardio_event_kind::deterioration, *run.onset, {}, 0.0});
    }
    sim::cardio_model model(id, profile, seed, t0, minutes(0), events);
    sim::oximeter_device ox(id + "-ox", id, seed, {});
    const auto end = t0 + hours(24 * days);
    for (auto t = t0; t < end; t += seconds(10)) {
      const auto truth = model.advance(t);
      const auto r = ox.measure(t, truth);
      if (!r.contact) continue;
      for (const auto kind : {core::vital_kind::heart_rate, core::vital_kind::spo2}) {
        core::sample s;
        s.patient = core::short_id::truncate(id);
        s.device = core::short_id::truncate(id + "-ox");
        s.kind = kind;
        s.value = kind == core::vital_kind::heart_rate ? r.hr : r.spo2;
        s.device_time = t;
        s.receive_time = t;
        run.samples.push_back(s);
      }
    }
    out.push_back(std::move(run));
  }
  return out;
}

struct profile_result {
  double false_per_day = 0.0;  ///< alerts of patients without an event, per patient-day
  int detected = 0;            ///< deteriorations with an alert within 12 h of onset
  int events = 0;
  std::vector<double> delays_h;  ///< onset to first alert, hours
  double median_delay_h() const {
    if (delays_h.empty()) return 1e9;
    auto d = delays_h;
    std::sort(d.begin(), d.end());
    const auto n = d.size();
    return n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2.0;
  }
};

profile_result evaluate(const std::vector<patient_run>& runs, const core::baseline_settings& bs,
                        int days) {
  profile_result r;
  int quiet_patients = 0;
  int false_alerts = 0;
  for (const auto& run : runs) {
    core::baseline_detector d(bs);
    std::vector<core::alert_event> out;
    for (const auto& s : run.samples) d.observe(s, out);
    std::optional<core::timestamp> first_after;
    int raised = 0;
    for (const auto& e : out) {
      if (e.transition != core::alert_transition::raised) continue;
      ++raised;
      if (run.onset && e.time >= *run.onset && (!first_after || e.time < *first_after)) {
        first_after = e.time;
      }
    }
    if (!run.onset) {
      ++quiet_patients;
      false_alerts += raised;
      continue;
    }
    ++r.events;
    if (first_after && *first_after - *run.onset <= hours(12)) {
      ++r.detected;
      r.delays_h.push_back(std::chrono::duration<double>(*first_after - *run.onset).count() /
                           3600.0);
    }
  }
  r.false_per_day = quiet_patients == 0 ? 0.0
                                        : static_cast<double>(false_alerts) /
                                              (static_cast<double>(quiet_patients) * days);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vitals-eval-cardio: leave-one-profile-out check of the personal-baseline rules "
      "on simulated healthy, COPD and cardiac patients",
      "vitals-eval-cardio"};
  int patients = 20;
  int days = 4;
  std::uint64_t seed = 1000;
  app.add_option("--patients", patients, "patients per profile (half deteriorate)")
      ->capture_default_str();
  app.add_option("--days", days, "simulated days per patient")->capture_default_str();
  app.add_option("--seed", seed, "simulation seed")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, not CLI11's own codes.
    return app.exit(e) == 0 ? 0 : 2;
  }

  const sim::profile_kind profiles[] = {sim::profile_kind::healthy, sim::profile_kind::copd,
                                        sim::profile_kind::cardiac};
  std::vector<std::vector<patient_run>> runs;
  for (const auto p : profiles) runs.push_back(simulate(p, patients, days, seed));

  // The grid: the HR rule's limit (/min above the norm) and both rules' duration (min).
  struct config {
    double hr_limit;
    int duration_min;
  };
  std::vector<config> grid;
  for (const double l : {15.0, 20.0, 25.0}) {
    for (const int m : {30, 60, 90}) grid.push_back({l, m});
  }
  std::vector<std::vector<profile_result>> results;  // [config][profile]
  for (const auto& c : grid) {
    core::baseline_settings bs;
    bs.hr_limit = c.hr_limit;
    bs.hr_min_duration = minutes(c.duration_min);
    bs.cardio_min_duration = minutes(c.duration_min);
    std::vector<profile_result> per;
    for (const auto& r : runs) per.push_back(evaluate(r, bs, days));
    results.push_back(std::move(per));
  }
  const auto text = [&](const profile_result& r) {
    return std::to_string(r.detected) + "/" + std::to_string(r.events) + " detected, median " +
           (r.delays_h.empty() ? std::string("-") : fixed(r.median_delay_h(), 1) + " h") +
           " after onset; false " + fixed(r.false_per_day, 3) + "/patient-day";
  };
  std::cout << "vitals-eval-cardio: " << patients << " patients x " << days
            << " days per profile, seed " << seed << ", a reading every 10 s\n";
  for (std::size_t c = 0; c < grid.size(); ++c) {
    std::cout << "  hr_limit " << grid[c].hr_limit << ", duration " << grid[c].duration_min
              << " min\n";
    for (std::size_t p = 0; p < runs.size(); ++p) {
      std::cout << "    " << sim::to_string(profiles[p]) << ": " << text(results[c][p]) << "\n";
    }
  }
  // Chosen on the others: every deterioration found and at most 0.01 false alerts per
  // patient-day pooled, then the shortest median delay; else the fewest false alerts.
  std::cout << "\nleave-one-profile-out\n";
  for (std::size_t left = 0; left <= runs.size(); ++left) {
    std::size_t best = 0;
    double best_score = 1e18;
    for (std::size_t c = 0; c < grid.size(); ++c) {
      int missed = 0;
      double false_sum = 0.0;
      std::vector<double> delays;
      for (std::size_t p = 0; p < runs.size(); ++p) {
        if (p == left) continue;
        const auto& r = results[c][p];
        missed += r.events - r.detected;
        false_sum += r.false_per_day;
        delays.insert(delays.end(), r.delays_h.begin(), r.delays_h.end());
      }
      profile_result pooled;
      pooled.delays_h = delays;
      const double score = missed > 0 || false_sum / 2.0 > 0.01 ? 1e6 + 1e3 * missed + false_sum
                                                                : pooled.median_delay_h();
      if (score < best_score) {
        best_score = score;
        best = c;
      }
    }
    if (left == runs.size()) {
      std::cout << "chosen on all three: hr_limit " << grid[best].hr_limit << ", duration "
                << grid[best].duration_min << " min\n";
    } else {
      std::cout << "  " << sim::to_string(profiles[left]) << " left out: hr_limit "
                << grid[best].hr_limit << ", duration " << grid[best].duration_min << " min -> "
                << text(results[best][left]) << "\n";
    }
  }
  return 0;
}
