#pragma once
/// Scenarios: who is simulated (profiles, output formats) and what happens to them (scripted
/// physiological events, device artifacts, delivery faults), from the built-in demo or a TOML
/// scenario file (simulators/scenarios/*.toml; format in simulators/README.md).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/simulators/cardio_model.hpp>
#include <vitals/simulators/glucose_model.hpp>
#include <vitals/simulators/profile.hpp>

namespace vitals::simulators {

/// The payload format a patient's devices publish.
enum class output_format {
  compact,      ///< the daemon's compact JSON, one message per device reading
  omh,          ///< Open mHealth data points, one message per vital per reading
  ble_generic,  ///< GATT frames in hex through a generic BLE-to-MQTT gateway ({mac, uuid, hex, ts})
  ble_cassia,   ///< GATT frames in hex through a Cassia-style gateway (numeric ATT handles)
};

/// "compact", "omh", "ble-generic", "ble-cassia".
constexpr std::string_view to_string(output_format f) noexcept {
  switch (f) {
    case output_format::omh:
      return "omh";
    case output_format::ble_generic:
      return "ble-generic";
    case output_format::ble_cassia:
      return "ble-cassia";
    case output_format::compact:
      break;
  }
  return "compact";
}

/// Parses to_string(output_format); nullopt for anything else.
std::optional<output_format> parse_output_format(std::string_view text) noexcept;

/// True for the BLE gateway formats.
constexpr bool is_ble(output_format f) noexcept {
  return f == output_format::ble_generic || f == output_format::ble_cassia;
}

/// Unit of the CGM payload.
enum class glucose_unit {
  mg_dl,   ///< "glucose":112 (integer mg/dL)
  mmol_l,  ///< "glucose":{"value":6.2,"unit":"mmol/L"} (one decimal)
};

/// Which of a patient's devices something concerns.
enum class device_slot {
  all,       ///< every device of the patient (the gateway or phone they hang off)
  oximeter,  ///< "<patient>-ox"
  cgm,       ///< "<patient>-cgm"
};

/// Delivery faults, applied between a device and the broker.
enum class fault_kind {
  dropout,             ///< readings in the window are lost
  gateway_disconnect,  ///< every device silent; readings delivered late on reconnect (backfill)
  late,                ///< readings held back and delivered (backfilled) when the window ends
  out_of_order,        ///< consecutive readings delivered in swapped pairs
  duplicate,           ///< every reading delivered twice
  clock_skew,          ///< the device's timestamps are off by `offset`
};

/// "dropout", "gateway_disconnect", "late", "out_of_order", "duplicate", "clock_skew".
std::string_view to_string(fault_kind k) noexcept;

/// Parses to_string(fault_kind); nullopt for anything else.
std::optional<fault_kind> parse_fault(std::string_view text) noexcept;

/// One delivery fault. Times are offsets from simulated time zero.
struct fault {
  fault_kind kind = fault_kind::dropout;
  device_slot device = device_slot::all;
  std::chrono::milliseconds at{};
  std::chrono::milliseconds duration{};
  std::chrono::milliseconds offset{};  ///< clock_skew: added to the device's timestamps
  bool backfill = true;                ///< gateway_disconnect: deliver held readings afterwards
};

/// CGM artifacts (the CGM device applies them).
enum class cgm_artifact_kind { compression_low, sensor_warmup };

/// "compression_low", "sensor_warmup".
constexpr std::string_view to_string(cgm_artifact_kind k) noexcept {
  return k == cgm_artifact_kind::compression_low ? "compression_low" : "sensor_warmup";
}

/// One CGM artifact; offsets from simulated time zero.
struct cgm_artifact {
  cgm_artifact_kind kind = cgm_artifact_kind::compression_low;
  std::chrono::milliseconds at{};
  std::chrono::milliseconds duration{};
  double depth = 0.0;  ///< compression_low: mg/dL the reading sags by
};

/// A scripted cardio event with its time as an offset (resolved against the start later).
struct cardio_script {
  cardio_event_kind kind{};
  std::chrono::milliseconds at{};
  std::chrono::milliseconds duration{};
  double level = 0.0;
};

/// A scripted glucose cause with its time as an offset.
struct glucose_script {
  glucose_event_kind kind{};
  std::chrono::milliseconds at{};
  double magnitude = 0.0;
};

/// An oximeter artifact with its time as an offset.
struct oximeter_script {
  oximeter_artifact_kind kind{};
  std::chrono::milliseconds at{};
  std::chrono::milliseconds duration{};
};

/// Everything about one simulated patient.
struct patient_spec {
  std::string id;  ///< "p001"
  profile_kind profile = profile_kind::healthy;
  output_format output = output_format::compact;
  std::size_t glucose_params = 0;  ///< which virtual adult (t1d only), modulo 10
  std::vector<cardio_script> cardio_events;
  std::vector<glucose_script> glucose_events;
  std::vector<oximeter_script> oximeter_artifacts;
  std::vector<cgm_artifact> cgm_artifacts;
  std::vector<fault> faults;
};

/// A whole scenario, with the run's seed, start and duration resolved.
struct scenario {
  std::string name = "none";
  std::uint64_t seed = 1;
  core::timestamp start{};
  std::optional<std::chrono::milliseconds> duration;  ///< nullopt: until stopped
  std::chrono::minutes utc_offset{0};                 ///< local time = UTC + this (meals, sleep)
  glucose_unit unit = glucose_unit::mg_dl;
  std::vector<patient_spec> patients;
};

/// What the command line says about the run; given values win over the scenario file's.
struct run_overrides {
  std::optional<std::uint64_t> seed;                  ///< --seed
  std::optional<std::chrono::milliseconds> duration;  ///< --duration
  std::optional<core::timestamp> start;               ///< --start
  std::optional<output_format> output;                ///< --format (every patient)
  std::optional<glucose_unit> unit;                   ///< --glucose-unit
  core::timestamp now{};                              ///< the wall clock
  double speed = 1.0;                                 ///< --speed (picks the default start)
};

/// How long random schedules reach when the run has no duration.
inline constexpr std::chrono::hours open_ended_horizon{24 * 30};

/// Patient id of the 1-based `index`: 1 -> "p001", 1234 -> "p1234".
std::string patient_id(int index);

/// Where the demo places its events; nullopt leaves an event out.
struct demo_timing {
  std::optional<std::chrono::milliseconds> desat_at = std::chrono::minutes(2);  ///< p001
  std::optional<std::chrono::milliseconds> hypo_at = std::chrono::minutes(10);  ///< p002
};

/// `patients` patients with profiles cycling through `mix` (healthy, t1d when empty) and no
/// events, named "none".
scenario plain_scenario(int patients, const std::vector<profile_kind>& mix,
                        const run_overrides& run);

/// Local time of day at the start of a demo run (its patients' clock, see demo_scenario()).
inline constexpr std::chrono::minutes demo_local_start{9 * 60 + 30};

/// The demo: plain_scenario() plus a desaturation of p001 (SpO2 to 85 for 90 s) and, when p002
/// is type 1 diabetic, an insulin overdose that brings a hypoglycaemia about two hours later.
scenario demo_scenario(int patients, const std::vector<profile_kind>& mix, const run_overrides& run,
                       const demo_timing& timing = {});

/// Reads a TOML scenario file. Every mistake is reported at once in one std::invalid_argument,
/// one line each as FILE:LINE:COL: key 'name': problem. Random schedules (`rates`) are drawn from
/// the seed over the run's duration, so the same seed gives the same schedule.
scenario load_scenario(const std::filesystem::path& file, const run_overrides& run);

/// The same from a string (`origin` names it in messages); for tests.
scenario parse_scenario(std::string_view text, const std::string& origin, const run_overrides& run);

/// Every kind name a scenario's `events` and `rates` accept, for messages and --help.
std::vector<std::string> scenario_kinds();

/// The vitalsd settings a clinician would give the scenario's patients, as TOML [[patients]]
/// tables: a COPD patient (prescribed 88-92 % SpO2) gets NEWS2 SpO2 scale 2 and an SpO2 low
/// limit of 85 %. Empty text when no patient needs anything.
std::string patient_config(const scenario& s);

}  // namespace vitals::simulators
