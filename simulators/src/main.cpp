// vitals-sim: simulated patients publishing pulse-oximeter and CGM readings over MQTT.
// Thin: parses the command line, wires generator -> run loop -> sink, handles signals.

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <vitals/simulators/ble_frames.hpp>
#include <vitals/simulators/generator.hpp>
#include <vitals/simulators/options.hpp>
#include <vitals/simulators/publisher.hpp>
#include <vitals/simulators/replay.hpp>
#include <vitals/simulators/runner.hpp>

#ifndef VITALS_VERSION
#define VITALS_VERSION "unknown"
#endif

namespace sim = vitals::simulators;
using std::chrono::milliseconds;

namespace {

/// Minutes ("2", "0.5") or "off"; the CLI11 check for --desat-at and --hypo-at.
std::optional<std::optional<milliseconds>> parse_event_time(const std::string& text) {
  if (text == "off") return std::optional<milliseconds>{};
  char* end = nullptr;
  const double minutes = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(minutes >= 0.0) || minutes > 1e6) return std::nullopt;
  return std::optional<milliseconds>(
      std::chrono::round<milliseconds>(std::chrono::duration<double, std::ratio<60>>(minutes)));
}

/// "healthy,t1d" -> the profiles in that order; nullopt when a name is unknown or none given.
std::optional<std::vector<sim::profile_kind>> parse_profiles(const std::string& text) {
  std::vector<sim::profile_kind> out;
  std::size_t from = 0;
  while (from <= text.size()) {
    const auto comma = std::min(text.find(',', from), text.size());
    const auto p = sim::parse_profile(std::string_view(text).substr(from, comma - from));
    if (!p) return std::nullopt;
    out.push_back(*p);
    from = comma + 1;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

/// Blocks SIGINT/SIGTERM in every thread (call before any thread starts) and turns them into a
/// stop request from one dedicated thread; a second signal exits at once.
class signal_thread {
 public:
  explicit signal_thread(sim::stop_signal& stop) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    // A shell without job control starts background commands with SIGINT ignored, and an
    // ignored signal never reaches sigwait: take both back.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, &stop] {
      int signals = 0;
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (done_.load()) return;
        if (++signals == 1) {
          spdlog::info("{} received: stopping (waiting for outstanding deliveries)",
                       sig == SIGINT ? "SIGINT" : "SIGTERM");
          stop.request_stop();
        } else {
          spdlog::warn("second signal: exiting without waiting");
          std::_Exit(130);
        }
      }
    });
  }
  ~signal_thread() {
    done_.store(true);
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  signal_thread(const signal_thread&) = delete;
  signal_thread& operator=(const signal_thread&) = delete;

 private:
  sigset_t set_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

/// Warns when a fast run will send timestamps that vitalsd rejects (> 24 h ahead of its clock).
void warn_future(vitals::core::timestamp now, vitals::core::timestamp start, double speed,
                 std::optional<milliseconds> duration) {
  using hours_d = std::chrono::duration<double, std::ratio<3600>>;
  const auto limit = now + std::chrono::hours(24);
  if (start > limit) {
    spdlog::warn("--start is more than 24 h ahead: vitalsd rejects these timestamps");
    return;
  }
  if (speed <= 1.0) return;
  if (duration && start + *duration <= limit) return;
  if (!std::isfinite(speed)) {
    spdlog::warn(
        "--speed max {}: simulated time can run more than 24 h ahead of the clock, "
        "and vitalsd rejects such timestamps; give --duration or a --start in the past",
        duration ? "with this --start and --duration" : "without --duration");
    return;
  }
  const double lead_h = hours_d(start - now).count();
  const double wall_h = (24.0 - lead_h) / (speed - 1.0);
  spdlog::warn(
      "simulated time runs {}x faster than the clock: after about {:.1f} h of wall "
      "time its timestamps lie more than 24 h ahead and vitalsd rejects them",
      speed, wall_h);
}

/// What `vitals-sim replay` was given (the shared options are the top-level ones).
struct replay_cli {
  std::string csv;
  std::string patient;
  std::string vital = "glucose";
  std::string device;
  std::string utc_offset = "+00:00";
};

/// Settings shared by the simulator and `replay`.
struct shared_cli {
  std::string broker;
  std::string client_id;
  int qos = 1;
  int max_inflight = 1000;
  std::string topic_prefix;
  std::string speed;
  int batch_seconds = 0;
  std::string unit;
  bool dry_run = false;
  double progress_every = 10.0;
};

/// `vitals-sim replay`: reads and checks the whole trace first (exit 2 on any bad line), then
/// publishes it.
int replay_command(const replay_cli& r, const shared_cli& c) {
  const auto vital = *vitals::core::parse_vital_kind(r.vital);
  sim::trace trace;
  try {
    trace = sim::read_trace_file(r.csv, vital, *sim::parse_utc_offset(r.utc_offset));
  } catch (const sim::trace_error& e) {
    for (const auto& p : e.problems()) spdlog::error("{}", p);
    spdlog::error("{}: {} problems, nothing published", r.csv, e.problems().size());
    return 2;
  }
  sim::replay_options opts;
  opts.patient = r.patient;
  opts.device = r.device.empty() ? sim::default_replay_device(r.patient, vital) : r.device;
  opts.topic_prefix = c.topic_prefix;
  opts.unit = c.unit == "mmol/L" ? sim::glucose_unit::mmol_l : sim::glucose_unit::mg_dl;
  opts.speed = *sim::parse_speed(c.speed);
  opts.batch = std::chrono::seconds(c.batch_seconds);
  opts.progress_every =
      std::chrono::round<milliseconds>(std::chrono::duration<double>(c.progress_every));
  if (trace.rows.back().ts > vitals::core::now_ms() + std::chrono::hours(24)) {
    spdlog::warn("{}: rows lie more than 24 h ahead of the clock: vitalsd rejects them", r.csv);
  }

  sim::stop_signal stop;
  signal_thread signals(stop);
  std::unique_ptr<sim::message_sink> sink;
  if (c.dry_run) {
    std::ios::sync_with_stdio(false);
    sink = std::make_unique<sim::stream_sink>(std::cout);
  } else {
    try {
      sink = std::make_unique<sim::mqtt_publisher>(sim::mqtt_settings{
          c.broker, c.client_id, c.qos, c.max_inflight, std::chrono::seconds(10)});
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }
  try {
    const auto result = sim::run_replay(trace, *sink, opts, stop);
    if (result.undelivered > 0) return 1;
  } catch (const std::exception&) {
    return 1;  // already logged by run_replay()
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vitals-sim: simulated patients for vitalsd. Each patient pNNN wears a pulse oximeter\n"
      "pNNN-ox (HR + SpO2 once per simulated second); type 1 diabetics also a CGM pNNN-cgm\n"
      "(glucose every 5 simulated minutes from a UVA/Padova glucose-insulin model). Readings go\n"
      "to <prefix>/<patient>/<device> as compact JSON or Open mHealth data points, or as BLE GATT\n"
      "frames in hex through a simulated BLE-to-MQTT gateway per patient (ble/gw-<patient>/<mac>;\n"
      "--ble-config writes vitalsd's ble_gateway source for them). A scenario (built-in demo, or "
      "a\n"
      "TOML file: see simulators/scenarios/) schedules events, artifacts and delivery faults;\n"
      "--labels writes the ground truth vitals-eval scores against.\n"
      "Same seed and --start => the same messages, byte for byte.",
      "vitals-sim"};
  app.get_formatter()->column_width(34);

  std::string broker = "tcp://localhost:1883";
  std::string client_id = "vitals-sim-" + std::to_string(::getpid());
  int qos = 1;
  int max_inflight = 1000;
  std::string topic_prefix = "vitals";
  int patients = 3;
  std::uint64_t seed = 1;
  std::string speed_text = "1";
  std::string duration_text;
  std::string start_text;
  std::string scenario_name = "demo";
  std::string profiles_text = "healthy,t1d";
  bool no_events = false;
  std::string desat_text = "2";
  std::string hypo_text = "10";
  std::string unit_text;
  std::string format_text;
  std::uint64_t duplicate_every = 0;
  int batch_seconds = 0;
  std::string labels_path;
  std::string truth_path;
  std::string patient_config_path;
  std::string ble_config_path;
  bool dry_run = false;
  std::string log_level = "info";
  double progress_every = 10.0;

  app.set_version_flag("--version", std::string("vitals-sim ") + VITALS_VERSION);
  app.add_option("--broker", broker, "MQTT server URI")->capture_default_str();
  app.add_option("--client-id", client_id, "MQTT client id (default: vitals-sim-<pid>)");
  app.add_option("--qos", qos, "QoS of every publish")
      ->check(CLI::IsMember({0, 1, 2}))
      ->capture_default_str();
  app.add_option("--max-inflight", max_inflight,
                 "unacknowledged publishes at most; the simulator waits when the window is full")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  app.add_option("--topic-prefix", topic_prefix,
                 "topics of the JSON formats are <prefix>/<patient>/<device>")
      ->capture_default_str();
  app.add_option("--scenario", scenario_name,
                 "demo (p001 desaturates, p002 gets an insulin overdose), none (no events), or a "
                 "TOML scenario file (e.g. simulators/scenarios/ward-day.toml)")
      ->capture_default_str();
  auto* patients_opt =
      app.add_option("--patients", patients,
                     "demo/none: number of patients, p001..pNNN (a scenario file says its own)")
          ->check(CLI::Range(1, 100000))
          ->capture_default_str();
  auto* profiles_opt =
      app.add_option("--profiles", profiles_text,
                     "demo/none: profiles assigned in turn, from healthy, copd, t1d, cardiac")
          ->check([](const std::string& s) {
            return parse_profiles(s)
                       ? std::string()
                       : "must be a comma-separated list of healthy, copd, t1d, cardiac";
          })
          ->capture_default_str();
  auto* seed_opt =
      app.add_option("--seed", seed,
                     "random seed; same seed (and --start) => same messages (default: the "
                     "scenario file's seed, else 1)");
  app.add_option("--speed", speed_text,
                 "simulated seconds per wall second: 1 = real time, 60 = an hour a minute, "
                 "max = as fast as the broker acknowledges")
      ->check([](const std::string& s) {
        return sim::parse_speed(s) ? std::string() : "must be a positive number or 'max'";
      })
      ->capture_default_str();
  app.add_option("--duration", duration_text,
                 "simulated time to cover, e.g. 30s, 10m, 2h, 1d, 1h30m (default: the scenario "
                 "file's, else until SIGINT/SIGTERM)")
      ->check([](const std::string& s) {
        return sim::parse_duration(s) ? std::string() : "must be a duration like 30s, 10m, 2h";
      });
  app.add_option("--start", start_text,
                 "simulated time zero: now, epoch milliseconds or RFC 3339 (default: the "
                 "scenario file's; else now when --speed is 1 or there is no --duration, else "
                 "now minus --duration, so that a fast run ends at about the present)")
      ->check([](const std::string& s) {
        return sim::parse_start(s, vitals::core::now_ms())
                   ? std::string()
                   : "must be now, epoch milliseconds or RFC 3339";
      });
  app.add_flag("--no-events", no_events, "no scripted events (same as --scenario none)");
  app.add_option("--desat-at", desat_text,
                 "demo: simulated minute at which p001's desaturation starts, or off")
      ->check([](const std::string& s) {
        return parse_event_time(s) ? std::string() : "must be minutes (>= 0) or 'off'";
      })
      ->capture_default_str();
  app.add_option("--hypo-at", hypo_text,
                 "demo: simulated minute of p002's insulin overdose (glucose below 70 mg/dL "
                 "about 2 h later, as subcutaneous insulin acts), or off")
      ->check([](const std::string& s) {
        return parse_event_time(s) ? std::string() : "must be minutes (>= 0) or 'off'";
      })
      ->capture_default_str();
  app.add_option("--format", format_text,
                 "payload format of every patient: compact (the daemon's JSON), omh (Open "
                 "mHealth data points), ble-generic ({mac,uuid,hex,ts} gateway notifications of "
                 "PLX 0x2A5F and CGM 0x2AA7/0x2AAA frames) or ble-cassia (Cassia-style, ATT "
                 "handles); default: compact, or what the scenario file says")
      ->check(CLI::IsMember({"compact", "omh", "ble-generic", "ble-cassia"}));
  app.add_option("--glucose-unit", unit_text,
                 "CGM payload unit: mg/dL (integer) or mmol/L (one decimal); default mg/dL or the "
                 "scenario file's")
      ->check(CLI::IsMember({"mg/dL", "mmol/L"}));
  app.add_option("--duplicate-every", duplicate_every,
                 "send every Nth reading of each oximeter twice (same payload); 0 = off")
      ->capture_default_str();
  app.add_option("--batch", batch_seconds,
                 "send each device's readings of this many simulated seconds as one JSON array "
                 "message, as phone apps and gateways upload; 0 = one message per reading")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  app.add_option("--labels", labels_path,
                 "write the ground truth (JSON lines: the run, every event, artifact and fault) "
                 "to this file, for vitals-eval");
  app.add_option("--patient-config", patient_config_path,
                 "write the vitalsd [[patients]] settings a clinician would prescribe for the "
                 "scenario's patients (COPD: SpO2 scale 2 and an 85 % low limit) to FILE as TOML, "
                 "and exit without simulating");
  app.add_option(
      "--ble-config", ble_config_path,
      "write vitalsd's [[sources]] table of type ble_gateway for the run's BLE patients (a "
      "[[sources.gateways]] gw-<patient> each, [[sources.devices]] with addresses, patients, "
      "device ids, Cassia handles) to FILE as TOML, and exit without simulating");
  app.add_option("--truth", truth_path,
                 "write every reading's true value next to what the device measured (CSV) to "
                 "this file");
  app.add_flag("--dry-run", dry_run,
               "print \"topic payload\" lines to stdout instead of publishing (logs go to stderr)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--progress-every", progress_every, "seconds of wall time between progress lines")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  // vitals-sim replay: a recorded trace instead of simulated patients. The options shared with
  // the simulator are bound to the same variables, so they may come before or after "replay".
  replay_cli replay;
  auto* replay_cmd = app.add_subcommand(
      "replay",
      "publish a recorded trace (CSV timestamp,value) as one device's compact JSON readings, "
      "with the CSV's own timestamps, paced by --speed; every bad line is reported and nothing "
      "is published (exit 2)");
  replay_cmd->get_formatter()->column_width(34);
  replay_cmd->add_option("--csv", replay.csv, "the trace: timestamp,value lines")
      ->required()
      ->check(CLI::ExistingFile);
  replay_cmd->add_option("--patient", replay.patient, "patient id (topic level only)")
      ->required()
      ->check([](const std::string& s) {
        return sim::valid_replay_id(s) ? std::string()
                                       : "must be 1-64 letters, digits, '_', '-' or '.'";
      });
  replay_cmd
      ->add_option("--vital", replay.vital,
                   "what the values are: hr (bpm), spo2 (%) or glucose (mg/dL)")
      ->check(CLI::IsMember({"hr", "spo2", "glucose"}))
      ->capture_default_str();
  replay_cmd
      ->add_option("--device", replay.device,
                   "device id (default: <patient>-cgm for glucose, <patient>-ox for hr and spo2)")
      ->check([](const std::string& s) {
        return sim::valid_replay_id(s) ? std::string()
                                       : "must be 1-64 letters, digits, '_', '-' or '.'";
      });
  replay_cmd
      ->add_option("--utc-offset", replay.utc_offset,
                   "offset of the CSV's local times without a zone: UTC = local - offset")
      ->check([](const std::string& s) {
        return sim::parse_utc_offset(s) ? std::string() : "must be +HH:MM, -HH:MM or Z";
      })
      ->capture_default_str();
  replay_cmd
      ->add_option("--speed", speed_text,
                   "trace seconds per wall second: 1 = real time (gaps kept), 60 = an hour a "
                   "minute, max = as fast as the broker acknowledges")
      ->check([](const std::string& s) {
        return sim::parse_speed(s) ? std::string() : "must be a positive number or 'max'";
      })
      ->capture_default_str();
  replay_cmd
      ->add_option("--batch", batch_seconds,
                   "send the rows of each window of this many trace seconds as one JSON array; "
                   "0 = one message per row")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  replay_cmd
      ->add_option("--glucose-unit", unit_text,
                   "glucose payload unit: mg/dL (the value as read) or mmol/L (one decimal)")
      ->check(CLI::IsMember({"mg/dL", "mmol/L"}));
  replay_cmd->add_option("--broker", broker, "MQTT server URI")->capture_default_str();
  replay_cmd->add_option("--client-id", client_id, "MQTT client id (default: vitals-sim-<pid>)");
  replay_cmd->add_option("--qos", qos, "QoS of every publish")
      ->check(CLI::IsMember({0, 1, 2}))
      ->capture_default_str();
  replay_cmd->add_option("--max-inflight", max_inflight, "unacknowledged publishes at most")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  replay_cmd->add_option("--topic-prefix", topic_prefix, "topics are <prefix>/<patient>/<device>")
      ->capture_default_str();
  replay_cmd->add_flag("--dry-run", dry_run,
                       "print \"topic payload\" lines to stdout instead of publishing");
  replay_cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  replay_cmd
      ->add_option("--progress-every", progress_every,
                   "seconds of wall time between progress lines")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, not CLI11's own codes.
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto logger = spdlog::stderr_color_mt("vitals-sim");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (*replay_cmd) {
    for (const auto* name : {"--scenario", "--patients", "--profiles", "--seed", "--duration",
                             "--start", "--no-events", "--desat-at", "--hypo-at", "--format",
                             "--duplicate-every", "--labels", "--truth", "--ble-config"}) {
      if (app.get_option(name)->count() > 0) {
        spdlog::error("{} does not apply to replay", name);
        return 2;
      }
    }
    return replay_command(replay, {broker, client_id, qos, max_inflight, topic_prefix, speed_text,
                                   batch_seconds, unit_text, dry_run, progress_every});
  }

  const auto now = vitals::core::now_ms();
  const double speed = *sim::parse_speed(speed_text);
  const std::optional<milliseconds> duration =
      duration_text.empty() ? std::nullopt : sim::parse_duration(duration_text);

  sim::run_overrides run;
  run.now = now;
  run.speed = speed;
  if (*seed_opt) run.seed = seed;
  run.duration = duration;
  if (!start_text.empty()) run.start = sim::parse_start(start_text, now);
  if (!format_text.empty()) run.output = sim::parse_output_format(format_text);
  if (!unit_text.empty()) {
    run.unit = unit_text == "mmol/L" ? sim::glucose_unit::mmol_l : sim::glucose_unit::mg_dl;
  }
  const sim::demo_timing timing{*parse_event_time(desat_text), *parse_event_time(hypo_text)};
  const auto mix = *parse_profiles(profiles_text);

  std::unique_ptr<sim::message_generator> generator;
  try {
    sim::generator_options gen;
    if (no_events || scenario_name == "none") {
      gen.plan = sim::plain_scenario(patients, mix, run);
    } else if (scenario_name == "demo") {
      gen.plan = sim::demo_scenario(patients, mix, run, timing);
    } else {
      gen.plan = sim::load_scenario(scenario_name, run);
      if (*patients_opt || *profiles_opt) {
        spdlog::warn(
            "--patients and --profiles apply to the demo and none scenarios only; {} "
            "says who is simulated",
            scenario_name);
      }
    }
    gen.topic_prefix = topic_prefix;
    gen.duplicate_every = duplicate_every;
    generator = std::make_unique<sim::message_generator>(std::move(gen));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 2;
  }
  const auto& plan = generator->options().plan;
  const auto start = plan.start;

  std::ofstream labels;
  if (!labels_path.empty()) {
    labels.open(labels_path, std::ios::out | std::ios::trunc);
    if (!labels) {
      spdlog::error("cannot write labels to {}", labels_path);
      return 2;
    }
  }
  if (!patient_config_path.empty() || !ble_config_path.empty()) {
    if (!patient_config_path.empty()) {
      std::ofstream out(patient_config_path, std::ios::out | std::ios::trunc);
      out << sim::patient_config(plan);
      if (!out) {
        spdlog::error("cannot write the patient settings to {}", patient_config_path);
        return 2;
      }
    }
    if (!ble_config_path.empty()) {
      const auto text = sim::ble::ble_config(plan, generator->options().ble_topic_root);
      if (text.empty()) {
        spdlog::error(
            "--ble-config: no patient publishes in a BLE format (give --format ble-generic or "
            "ble-cassia, or output = \"ble-generic\" in the scenario file)");
        return 2;
      }
      std::ofstream out(ble_config_path, std::ios::out | std::ios::trunc);
      out << text;
      if (!out) {
        spdlog::error("cannot write the BLE settings to {}", ble_config_path);
        return 2;
      }
    }
    return 0;
  }
  {
    bool ble_cgm = false, ble_any = false;
    for (const auto& p : plan.patients) {
      ble_any = ble_any || sim::is_ble(p.output);
      ble_cgm = ble_cgm || (sim::is_ble(p.output) && sim::has_cgm(p.profile));
    }
    if (ble_any && batch_seconds > 0) {
      spdlog::error(
          "--batch does not apply to the BLE gateway formats: a gateway forwards each "
          "notification on its own");
      return 2;
    }
    if (ble_cgm && start.time_since_epoch() % std::chrono::seconds(1) != milliseconds(0)) {
      spdlog::warn(
          "the simulated start is not on a whole second: BLE CGM times (session start, 1 s, plus "
          "whole minutes) lack the milliseconds of the JSON formats' timestamps; give --start "
          "on a whole second to make them equal");
    }
  }
  std::ofstream truth;
  if (!truth_path.empty()) {
    truth.open(truth_path, std::ios::out | std::ios::trunc);
    if (!truth) {
      spdlog::error("cannot write true values to {}", truth_path);
      return 2;
    }
  }

  {
    std::map<std::string_view, int> profiles;
    std::size_t events = 0, artifacts = 0;
    for (const auto& p : plan.patients) {
      ++profiles[sim::to_string(p.profile)];
      events += p.cardio_events.size() + p.glucose_events.size();
      artifacts += p.oximeter_artifacts.size() + p.cgm_artifacts.size() + p.faults.size();
    }
    std::string mix_text;
    for (const auto& [name, n] : profiles) {
      mix_text += fmt::format("{}{} {}", mix_text.empty() ? "" : ", ", n, name);
    }
    spdlog::info(
        "vitals-sim {}: scenario {}, {} patients ({}), {} scripted events, {} artifacts and "
        "faults, seed {}, speed {}, simulated start {}, duration {}",
        VITALS_VERSION, plan.name, plan.patients.size(), mix_text, events, artifacts, plan.seed,
        speed_text, sim::format_rfc3339(start),
        plan.duration ? sim::format_duration(*plan.duration) : std::string("until stopped"));
  }
  warn_future(now, start, speed, plan.duration);

  // Before Paho starts its threads, so that they inherit the blocked signal mask.
  sim::stop_signal stop;
  signal_thread signals(stop);

  std::unique_ptr<sim::message_sink> sink;
  if (dry_run) {
    std::ios::sync_with_stdio(false);
    sink = std::make_unique<sim::stream_sink>(std::cout);
  } else {
    try {
      sink = std::make_unique<sim::mqtt_publisher>(
          sim::mqtt_settings{broker, client_id, qos, max_inflight, std::chrono::seconds(10)});
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
      return 1;
    }
  }

  sim::run_options run_opts;
  run_opts.speed = speed;
  run_opts.batch = std::chrono::seconds(batch_seconds);
  run_opts.progress_every =
      std::chrono::round<milliseconds>(std::chrono::duration<double>(progress_every));
  try {
    const auto result = sim::run(*generator, *sink, labels_path.empty() ? nullptr : &labels,
                                 run_opts, stop, truth_path.empty() ? nullptr : &truth);
    if (result.undelivered > 0) return 1;
  } catch (const std::exception&) {
    return 1;  // already logged by run()
  }
  return 0;
}
