// vitals-eval: scores vitalsd's alerts (or another detector's) against vitals-sim's ground truth
// (--labels), or against the hypoglycaemia episodes of recorded CGM traces (--episodes), with
// baselines replayed on the same traces. Thin: parses the command line, reads the inputs, prints
// the report. Exit codes: 0 ok, 2 bad input or options, 1 other errors (files that cannot be
// opened, database errors).

#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <vitals/simulators/cgm_eval.hpp>
#include <vitals/simulators/eval.hpp>
#include <vitals/simulators/replay.hpp>

#ifndef VITALS_VERSION
#define VITALS_VERSION "unknown"
#endif

namespace sim = vitals::simulators;

namespace {

constexpr int exit_bad_input = 2;
constexpr int exit_error = 1;

std::string check_duration(const std::string& s) {
  return sim::parse_eval_duration(s) ? std::string()
                                     : "must be a duration like 30m, 90s, 1h or plain seconds";
}

std::string check_offset(const std::string& s) {
  return sim::parse_utc_offset(s) ? std::string() : "must be +HH:MM, -HH:MM or Z";
}

std::string check_map_entry(const std::string& s) {
  return sim::parse_patient_map_entry(s) ? std::string()
                                         : "must be FILE=ID (ID: 1-64 letters, digits, _ - .)";
}

/// "a,b, c" -> {a, b, c}; empty items dropped.
std::set<std::string> split_rules(const std::string& text) {
  std::set<std::string> rules;
  std::size_t from = 0;
  for (;;) {
    const auto comma = text.find(',', from);
    auto item = text.substr(from, comma == std::string::npos ? comma : comma - from);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) rules.insert(item);
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return rules;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vitals-eval: scores alerts against the ground truth written by vitals-sim --labels.\n"
      "Prints, per event kind, sensitivity, alerts per event and the median and p90 detection\n"
      "delay (negative = before the threshold was crossed); alerts raised on artifacts; and\n"
      "false alerts per patient-day. Alerts come from vitalsd's SQLite file (--db, opened\n"
      "read-only) or from an alerts JSONL file (--alerts).\n"
      "With --episodes instead of --labels: hypoglycaemia alerting on recorded CGM traces\n"
      "(--trace, as replayed by vitals-sim replay) against an episodes file such as\n"
      "shared/data/cgm-d1namo/hypo_episodes.csv: level-2 episodes caught, median and least\n"
      "lead, false and all alerts per patient-day, for vitalsd's alerts (--db/--alerts, rules\n"
      "--rules) and, with --baselines, for baseline detectors replayed on the same traces.",
      "vitals-eval"};
  app.get_formatter()->column_width(30);

  std::string labels_path;
  std::string db_path;
  std::string alerts_path;
  std::string lead_text = "30m";
  std::string grace_text = "0";
  bool json_flag = false;
  std::string format = "table";
  std::optional<double> patient_days;
  std::string out_path;
  std::string episodes_path;
  std::vector<std::string> trace_paths;
  std::string utc_offset_text = "+00:00";
  std::string patient_prefix;
  std::vector<std::string> patient_map;
  std::string rules_text = "glucose_urgent_low,glucose_urgent_low_soon";
  bool baselines = false;
  std::string margin_text = "30m";
  std::string rearm_text = "15m";

  app.set_version_flag("--version", std::string("vitals-eval ") + VITALS_VERSION);
  auto* labels_opt = app.add_option("--labels", labels_path,
                                    "ground-truth labels (JSONL from vitals-sim --labels)");
  auto* db_opt =
      app.add_option("--db", db_path, "vitalsd's SQLite database: its alerts are scored");
  auto* alerts_opt = app.add_option(
      "--alerts", alerts_path,
      "alerts JSONL instead of --db: {\"patient\",\"rule\",\"vital\",\"source\",\"priority\","
      "\"raised\",\"cleared\"} per line");
  db_opt->excludes(alerts_opt);
  app.add_option("--lead", lead_text,
                 "how long before an event's start an alert still matches it (30m, 90s, 1h or "
                 "seconds)")
      ->check(check_duration)
      ->capture_default_str();
  app.add_option("--grace", grace_text, "how long after an event's end an alert still matches it")
      ->check(check_duration)
      ->capture_default_str();
  auto* json_opt = app.add_flag("--json", json_flag, "print JSON instead of the table");
  app.add_option("--format", format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->excludes(json_opt)
      ->capture_default_str();
  app.add_option("--patient-days", patient_days,
                 "patient-days to divide by, instead of patients x run duration")
      ->check(CLI::PositiveNumber);
  app.add_option("--out", out_path, "write the report to this file instead of stdout");

  // --episodes mode.
  auto* episodes_opt =
      app.add_option("--episodes", episodes_path,
                     "instead of --labels: hypoglycaemia episodes of recorded CGM traces, CSV "
                     "dataset,file,level,threshold_mg_dl,start,end,... (hypo_episodes.csv)");
  episodes_opt->excludes(labels_opt);
  auto* trace_opt = app.add_option("--trace", trace_paths,
                                   "--episodes: a replayed trace (timestamp,value CSV), its "
                                   "patient from its file name as for the episodes; repeatable");
  auto* offset_opt = app.add_option("--utc-offset", utc_offset_text,
                                    "--episodes: offset of zone-less times in the episodes and "
                                    "traces, as given to vitals-sim replay")
                         ->check(check_offset)
                         ->capture_default_str();
  auto* prefix_opt = app.add_option("--patient-prefix", patient_prefix,
                                    "--episodes: patient id = this + file stem (001.csv -> "
                                    "<prefix>001; default: the stem)");
  auto* map_opt = app.add_option("--patient-map", patient_map,
                                 "--episodes: FILE=ID, the patient of one file (wins over the "
                                 "prefix); repeatable")
                      ->check(check_map_entry);
  auto* rules_opt = app.add_option("--rules", rules_text,
                                   "--episodes: rules whose alerts (--db/--alerts) form the "
                                   "hypo alert stream, comma-separated")
                        ->capture_default_str();
  auto* baselines_opt = app.add_flag(
      "--baselines", baselines,
      "--episodes: also score baselines on the traces: reading <= 55, reading < 70, Nightscout "
      "AR2 predictive low, linear 20-min extrapolation to 55");
  auto* margin_opt = app.add_option("--margin", margin_text,
                                    "--episodes: level-1 episodes widened by this on both "
                                    "sides; alerts starting outside all of them are false")
                         ->check(check_duration)
                         ->capture_default_str();
  std::string interval_text;
  auto* interval_opt =
      app.add_option("--interval", interval_text,
                     "--episodes: the traces' nominal reading interval (default: the median "
                     "spacing of each trace); readings closer than half of it to the previous "
                     "kept one are skipped")
          ->check(check_duration);
  auto* rearm_opt = app.add_option("--rearm", rearm_text,
                                   "--episodes: clear time after which a detector's next alert "
                                   "is a new one")
                        ->check(check_duration)
                        ->capture_default_str();

  try {
    app.parse(argc, argv);
    const bool episodes_mode = episodes_opt->count() > 0;
    if (!episodes_mode && labels_opt->count() == 0) {
      throw CLI::RequiredError("one of --labels or --episodes");
    }
    if (episodes_mode) {
      if (trace_opt->count() == 0) throw CLI::RequiredError("--trace (with --episodes)");
      if (db_opt->count() == 0 && alerts_opt->count() == 0 && !baselines) {
        throw CLI::RequiredError("one of --db, --alerts or --baselines (with --episodes)");
      }
      for (const auto* o : {app.get_option("--grace"), app.get_option("--patient-days")}) {
        if (o->count() > 0) {
          throw CLI::ValidationError(o->get_name(), "applies to --labels, not --episodes");
        }
      }
      if (split_rules(rules_text).empty()) {
        throw CLI::ValidationError("--rules", "names no rule");
      }
    } else {
      if (db_opt->count() == 0 && alerts_opt->count() == 0) {
        throw CLI::RequiredError("one of --db or --alerts");
      }
      for (const auto* o : {trace_opt, offset_opt, prefix_opt, map_opt, rules_opt, baselines_opt,
                            margin_opt, rearm_opt, interval_opt}) {
        if (o->count() > 0) {
          throw CLI::ValidationError(o->get_name(), "applies to --episodes, not --labels");
        }
      }
    }
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : exit_bad_input;
  }

  try {
    const bool as_json = json_flag || format == "json";
    std::string text;
    if (!episodes_path.empty()) {
      const auto offset = *sim::parse_utc_offset(utc_offset_text);
      sim::patient_mapping mapping;
      mapping.prefix = patient_prefix;
      for (const auto& entry : patient_map) {
        auto [file, id] = *sim::parse_patient_map_entry(entry);
        mapping.by_file[file] = id;
      }
      auto episodes = sim::read_episodes_file(episodes_path, offset, mapping);
      std::vector<sim::patient_trace> traces;
      for (const auto& path : trace_paths) {
        if (!std::ifstream(path)) throw std::runtime_error("cannot open '" + path + "'");
        traces.push_back({mapping.patient_of(path),
                          sim::read_trace_file(path, vitals::core::vital_kind::glucose, offset)});
      }
      std::optional<std::chrono::milliseconds> interval;
      if (!interval_text.empty()) interval = *sim::parse_eval_duration(interval_text);
      const auto data = sim::make_cgm_dataset(episodes_path, std::move(episodes), std::move(traces),
                                              offset, interval);
      sim::cgm_eval_options options;
      options.lead = *sim::parse_eval_duration(lead_text);
      options.margin = *sim::parse_eval_duration(margin_text);
      options.rearm = *sim::parse_eval_duration(rearm_text);
      options.rules = split_rules(rules_text);
      std::optional<std::vector<sim::eval_alert>> alerts;
      if (!db_path.empty()) alerts = sim::read_alerts_db(db_path);
      if (!alerts_path.empty()) alerts = sim::read_alerts_file(alerts_path);
      const auto report =
          sim::evaluate_cgm(data, alerts ? &*alerts : nullptr,
                            db_path.empty() ? alerts_path : db_path, baselines, options);
      text = as_json ? sim::to_json(report) : sim::format_table(report);
    } else {
      const auto labels = sim::read_labels_file(labels_path);
      const auto alerts =
          db_path.empty() ? sim::read_alerts_file(alerts_path) : sim::read_alerts_db(db_path);
      sim::eval_options options;
      options.lead = *sim::parse_eval_duration(lead_text);
      options.grace = *sim::parse_eval_duration(grace_text);
      options.patient_days = patient_days;
      const auto report = sim::evaluate(labels, alerts, options);
      text = as_json ? sim::to_json(report) : sim::format_table(report);
    }
    if (out_path.empty()) {
      std::cout << text << std::flush;
      if (!std::cout) {
        std::cerr << "vitals-eval: cannot write to stdout\n";
        return exit_error;
      }
    } else {
      std::ofstream out(out_path, std::ios::trunc);
      out << text;
      out.close();
      if (!out) {
        std::cerr << "vitals-eval: cannot write '" << out_path << "'\n";
        return exit_error;
      }
    }
    return 0;
  } catch (const sim::eval_input_error& e) {
    std::cerr << "vitals-eval: " << e.what() << '\n';
    return exit_bad_input;
  } catch (const sim::trace_error& e) {
    std::cerr << "vitals-eval: " << e.what() << '\n';
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::cerr << "vitals-eval: " << e.what() << '\n';
    return exit_error;
  }
}
