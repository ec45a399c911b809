// vitals-eval-cgm's library side: the CGM folders of shared/data, their groups, vitalsd's
// pipeline replayed in-process, pooling, and the detector parameters it may tune.

#include <vitals/simulators/cgm_sets.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <utility>

#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/pipeline.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/core/store.hpp>

namespace vitals::simulators {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::minutes;

std::vector<std::string> csv_fields(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  // A UTF-8 byte order mark before the first column name.
  if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

struct person_meta {
  core::diabetes_type diabetes = core::diabetes_type::type1;
  std::string label = "T1D";  ///< the set's own words
  std::optional<double> interval_min;
};

/// metadata.csv: person_id -> diabetes type and sampling interval; empty when absent.
std::map<std::string, person_meta> read_metadata(const fs::path& path) {
  std::map<std::string, person_meta> out;
  std::ifstream in(path);
  if (!in) return out;
  std::string line;
  if (!std::getline(in, line)) return out;
  const auto header = csv_fields(line);
  const auto column = [&](std::string_view name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    return std::nullopt;
  };
  const auto id_col = column("person_id");
  const auto type_col = column("diabetes_type");
  const auto interval_col = column("sampling_interval_min");
  if (!id_col) throw eval_input_error(path.string() + ": no column 'person_id'");
  while (std::getline(in, line)) {
    const auto f = csv_fields(line);
    if (f.size() <= *id_col || f[*id_col].empty()) continue;
    person_meta m;
    if (type_col && *type_col < f.size()) {
      const auto& t = f[*type_col];
      m.label = t;
      m.diabetes = t == "T1D"   ? core::diabetes_type::type1
                   : t == "T2D" ? core::diabetes_type::type2
                                : core::diabetes_type::none;
    }
    if (interval_col && *interval_col < f.size() && !f[*interval_col].empty()) {
      m.interval_min = std::stod(f[*interval_col]);
    }
    out[f[*id_col]] = m;
  }
  return out;
}

/// Collects the pipeline's output; the pipeline thread writes, the caller reads after stop().
class replay_store final : public core::store {
 public:
  void append(std::span<const core::sample> samples) override {
    std::lock_guard lock(mutex_);
    for (const auto& s : samples) {
      if ((s.quality & core::quality_artifact) != 0 && s.kind == core::vital_kind::glucose) {
        artifacts[std::string(s.patient.view())].push_back(s.device_time);
      }
    }
  }
  void flush() override {}

  std::map<std::string, std::vector<core::timestamp>> artifacts;

 private:
  std::mutex mutex_;
};

}  // namespace

std::string_view group_name(cgm_group g) noexcept {
  switch (g) {
    case cgm_group::type1_5min:
      return "type 1, 5-min CGM";
    case cgm_group::type1_15min:
      return "type 1, 15-min CGM";
    case cgm_group::no_diabetes:
      return "no diabetes";
    case cgm_group::other:
      return "prediabetes or type 2";
  }
  return "?";
}

cgm_set load_cgm_set(const fs::path& dir) {
  cgm_set set;
  set.key = dir.filename().string();
  if (set.key.empty()) set.key = dir.parent_path().filename().string();
  const auto meta = read_metadata(dir / "metadata.csv");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (name.size() == 7 && name.ends_with(".csv") &&
        std::all_of(name.begin(), name.begin() + 3, [](char c) { return c >= '0' && c <= '9'; })) {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw eval_input_error(dir.string() + ": no NNN.csv traces");
  double interval_min = 5.0;
  for (const auto& [id, m] : meta) {
    if (m.interval_min) interval_min = *m.interval_min;
  }
  set.interval = milliseconds(std::llround(interval_min * 60'000.0));
  const patient_mapping mapping;
  std::vector<patient_trace> traces;
  for (const auto& f : files) {
    const auto patient = mapping.patient_of(f.filename().string());
    traces.push_back({patient, read_trace_file(f.string(), core::vital_kind::glucose, minutes(0))});
    const auto it = meta.find(patient);
    const person_meta m = it == meta.end() ? person_meta{} : it->second;
    set.diabetes[patient] = m.diabetes;
    set.group[patient] =
        m.diabetes == core::diabetes_type::type1
            ? (interval_min > 10.0 ? cgm_group::type1_15min : cgm_group::type1_5min)
        : m.label == "No diabetes" ? cgm_group::no_diabetes
                                   : cgm_group::other;
  }
  auto episodes = read_episodes_file((dir / "hypo_episodes.csv").string(), minutes(0), mapping);
  set.data =
      make_cgm_dataset(set.key, std::move(episodes), std::move(traces), minutes(0), set.interval);
  return set;
}

std::optional<cgm_dataset> group_subset(const cgm_set& set, cgm_group g) {
  cgm_dataset out;
  out.name = set.data.name;
  out.utc_offset = set.data.utc_offset;
  for (const auto& t : set.data.traces) {
    if (set.group.at(t.patient) == g) out.traces.push_back(t);
  }
  if (out.traces.empty()) return std::nullopt;
  for (const auto& e : set.data.episodes) {
    if (set.group.at(e.patient) == g) out.episodes.push_back(e);
  }
  return out;
}

pipeline_replay replay_through_pipeline(const cgm_set& set, core::detection_settings settings,
                                        bool use_diabetes) {
  if (use_diabetes) {
    for (const auto& [patient, type] : set.diabetes) {
      core::apply_diabetes_type(settings.thresholds.patients[patient], type);
    }
  }
  // As vitalsd wires them: the glucose detector reads the same per-patient overrides.
  settings.glucose.patients = settings.thresholds.patients;
  replay_store store;
  core::stats counters;
  core::pipeline_options options;
  options.tick_interval = std::chrono::hours(24);  // stale data is not scored here
  core::pipeline pipe(options, core::detector_set(std::move(settings)), store, counters);
  pipeline_replay out;
  std::map<std::pair<std::string, std::string>, std::size_t> open;
  pipe.on_alert([&](const core::alert_event& e) {
    const std::string patient(e.patient.view());
    const auto key = std::pair{patient, e.rule};
    if (e.transition == core::alert_transition::raised) {
      eval_alert a;
      a.patient = patient;
      a.rule = e.rule;
      a.vital = e.kind;
      a.source = e.source;
      a.level = e.level;
      a.raised = e.time;
      open[key] = out.alerts.size();
      out.alerts.push_back(std::move(a));
    } else if (const auto it = open.find(key); it != open.end()) {
      out.alerts[it->second].cleared = e.time;
      open.erase(it);
    }
  });
  auto& port = pipe.open_port("replay", 4096);
  pipe.start();
  for (const auto& t : set.data.traces) {
    const auto patient = core::short_id::truncate(t.patient);
    const auto device = core::short_id::truncate(t.patient + "-cgm");
    for (const auto& r : t.data.rows) {
      core::sample s;
      s.patient = patient;
      s.device = device;
      s.kind = core::vital_kind::glucose;
      s.value = r.value;
      s.device_time = r.ts;
      s.receive_time = r.ts;
      port.push(s);
      ++out.samples;
    }
  }
  pipe.stop();
  out.artifacts = std::move(store.artifacts);
  return out;
}

std::vector<hypo_episode> hidden_level2(const cgm_dataset& data, const pipeline_replay& replay) {
  std::vector<hypo_episode> hidden;
  for (const auto& e : data.episodes) {
    if (e.level != hypo_level::level2) continue;
    const auto a = replay.artifacts.find(e.patient);
    const std::vector<core::timestamp> none;
    const auto& flagged = a == replay.artifacts.end() ? none : a->second;
    bool any_reading = false;
    bool all_flagged = true;
    for (const auto& t : data.traces) {
      if (t.patient != e.patient) continue;
      for (const auto& r : t.data.rows) {
        if (r.ts < e.start || r.ts > e.end) continue;
        any_reading = true;
        if (!std::binary_search(flagged.begin(), flagged.end(), r.ts)) all_flagged = false;
      }
    }
    if (any_reading && all_flagged) hidden.push_back(e);
  }
  return hidden;
}

void pool_into(detector_score& into, const detector_score& more) {
  if (into.id.empty()) {
    into.id = more.id;
    into.name = more.name;
  }
  into.level2 += more.level2;
  into.caught += more.caught;
  into.caught_in_window += more.caught_in_window;
  into.alerts += more.alerts;
  into.false_alerts += more.false_alerts;
  into.patient_days += more.patient_days;
  into.leads.insert(into.leads.end(), more.leads.begin(), more.leads.end());
  into.leads_in_window.insert(into.leads_in_window.end(), more.leads_in_window.begin(),
                              more.leads_in_window.end());
  into.episodes.insert(into.episodes.end(), more.episodes.begin(), more.episodes.end());
  summarise_leads(into);
}

const std::set<std::string>& all_glucose_rules() {
  static const std::set<std::string> rules{"glucose_low",
                                           "glucose_urgent_low",
                                           "glucose_high",
                                           "glucose_urgent_low_soon",
                                           "glucose_falling_fast",
                                           "glucose_rising_fast",
                                           "glucose_persistent_high"};
  return rules;
}

namespace {

using setter = std::function<void(core::detection_settings&, double)>;

const std::vector<std::tuple<std::string, std::string, setter>>& parameters() {
  using core::detection_settings;
  static const std::vector<std::tuple<std::string, std::string, setter>> p{
      {"horizon_min", "forecast horizon of urgent_low_soon, minutes",
       [](detection_settings& s, double v) {
         s.glucose.model.horizon = milliseconds(std::llround(v * 60'000.0));
       }},
      {"limit", "urgent_low_soon: forecast limit, mg/dL",
       [](detection_settings& s, double v) { s.glucose.urgent_low_soon.limit = v; }},
      {"min_readings", "urgent_low_soon: consecutive readings",
       [](detection_settings& s, double v) {
         s.glucose.urgent_low_soon.min_readings = static_cast<std::uint16_t>(v);
       }},
      {"trend_noise", "Kalman trend random walk, (mg/dL/min)^2/min",
       [](detection_settings& s, double v) { s.glucose.model.trend_noise = v; }},
      {"noise_sd_prior", "prior sensor noise, mg/dL at 100",
       [](detection_settings& s, double v) { s.glucose.model.noise_sd_prior = v; }},
      {"noise_sd_floor", "least sensor noise, mg/dL",
       [](detection_settings& s, double v) { s.glucose.model.noise_sd_floor = v; }},
      {"confidence", "urgent_low_soon: probability of being below the limit at the horizon",
       [](detection_settings& s, double v) { s.glucose.model.confidence = v; }},
      {"point_below", "urgent_low_soon: below this reading the point forecast is enough, mg/dL",
       [](detection_settings& s, double v) { s.glucose.urgent_low_soon_point_below = v; }},
      {"sparse_interval_min", "readings this far apart confirm a forecast alone, minutes",
       [](detection_settings& s, double v) { s.glucose.sparse_interval_min = v; }},
  };
  return p;
}

}  // namespace

bool set_parameter(core::detection_settings& s, std::string_view name, double value) {
  for (const auto& [n, what, set] : parameters()) {
    if (n == name) {
      set(s, value);
      return true;
    }
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> tunable_parameters() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [n, what, set] : parameters()) out.emplace_back(n, what);
  return out;
}

}  // namespace vitals::simulators
