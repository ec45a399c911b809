// vitals-eval: scores vitalsd's alerts (or another detector's) against vitals-sim's ground truth.
// Thin: parses the command line, reads the inputs, prints the report. Exit codes: 0 ok, 2 bad
// input or options, 1 other errors (files that cannot be opened, database errors).

#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <vitals/simulators/eval.hpp>

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vitals-eval: scores alerts against the ground truth written by vitals-sim --labels.\n"
      "Prints, per event kind, sensitivity, alerts per event and the median and p90 detection\n"
      "delay (negative = before the threshold was crossed); alerts raised on artifacts; and\n"
      "false alerts per patient-day. Alerts come from vitalsd's SQLite file (--db, opened\n"
      "read-only) or from an alerts JSONL file (--alerts).",
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

  app.set_version_flag("--version", std::string("vitals-eval ") + VITALS_VERSION);
  app.add_option("--labels", labels_path, "ground-truth labels (JSONL from vitals-sim --labels)")
      ->required();
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

  try {
    app.parse(argc, argv);
    if (db_opt->count() == 0 && alerts_opt->count() == 0) {
      throw CLI::RequiredError("one of --db or --alerts");
    }
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : exit_bad_input;
  }

  try {
    const auto labels = sim::read_labels_file(labels_path);
    const auto alerts =
        db_path.empty() ? sim::read_alerts_file(alerts_path) : sim::read_alerts_db(db_path);
    sim::eval_options options;
    options.lead = *sim::parse_eval_duration(lead_text);
    options.grace = *sim::parse_eval_duration(grace_text);
    options.patient_days = patient_days;
    const auto report = sim::evaluate(labels, alerts, options);
    const std::string text =
        json_flag || format == "json" ? sim::to_json(report) : sim::format_table(report);
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
  } catch (const std::exception& e) {
    std::cerr << "vitals-eval: " << e.what() << '\n';
    return exit_error;
  }
}
