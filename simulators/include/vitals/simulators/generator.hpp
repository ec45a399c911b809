#pragma once
/// The message generator: a scenario's patients, their devices, artifacts and delivery faults,
/// turned into the exact MQTT messages (topic + payload) of each simulated second. No broker
/// involved, so tests and --dry-run see the same bytes a publisher sends.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/cardio_model.hpp>
#include <vitals/simulators/glucose_model.hpp>
#include <vitals/simulators/ground_truth.hpp>
#include <vitals/simulators/scenario.hpp>

namespace vitals::simulators {

/// Which device a message comes from.
enum class device_type { oximeter, cgm };

/// Everything that determines the generated stream; same options => same bytes.
struct generator_options {
  scenario plan;                        ///< patients, events, seed, start, duration
  std::string topic_prefix = "vitals";  ///< topic = prefix/patient/device
  std::uint64_t duplicate_every = 0;    ///< re-send every Nth reading of each oximeter; 0 = never
  /// BLE gateway formats: topic = root/gw-<patient>/<device address> (ble_frames.hpp).
  std::string ble_topic_root = "ble";
};

/// One generated message, with the values it carries for tests and logs.
struct message {
  std::string topic;    ///< <prefix>/<patient>/<device>; BLE: <root>/gw-<patient>/<address>
  std::string payload;  ///< compact JSON, an Open mHealth data point or a gateway notification
  std::string patient;  ///< patient id
  std::string device;   ///< device id
  device_type type = device_type::oximeter;
  core::timestamp ts{};                   ///< device time as sent (clock skew included)
  std::chrono::milliseconds elapsed{};    ///< simulated time of the reading since the start
  std::uint64_t seq = 0;                  ///< per device, from 1; a duplicate repeats it
  int hr = 0;                             ///< oximeter: as sent (0 = probe off)
  int spo2 = 0;                           ///< oximeter: as sent (0 = probe off)
  double glucose_mgdl = 0.0;              ///< cgm: the sent value in mg/dL (BLE: as the SFLOAT)
  bool session_start = false;             ///< BLE CGM Session Start Time (no reading, no seq)
  std::optional<core::vital_kind> vital;  ///< omh: the one vital this data point carries
  bool duplicate = false;                 ///< a deliberate second copy
  bool delayed = false;                   ///< delivered after later readings (late, reordered)
};

/// The true value behind one device reading (--truth): sensor error against physiology.
struct truth_row {
  core::timestamp ts{};                                   ///< simulated time of the reading
  const std::string* patient = nullptr;                   ///< patient id (owned by the generator)
  const std::string* device = nullptr;                    ///< device id (owned by the generator)
  core::vital_kind vital = core::vital_kind::heart_rate;  ///< which vital
  double true_value = 0.0;                                ///< the model's value, canonical unit
  std::optional<double> reading;  ///< what the device measured; nullopt: nothing (warm-up)
};

/// Produces the message stream one simulated second at a time.
class message_generator {
 public:
  /// Oximeters report every second.
  static constexpr std::chrono::seconds oximeter_period{1};
  /// CGMs report every five minutes (each at its own phase within the five minutes).
  static constexpr std::chrono::seconds cgm_period{300};
  /// BLE CGMs: their session started this long before their first reading time (whole seconds),
  /// so that reading times are the session start plus whole minutes (the time offset).
  static constexpr std::chrono::minutes cgm_session_lead{60};

  /// Throws std::invalid_argument when the scenario has no patients.
  explicit message_generator(generator_options options);
  ~message_generator();
  message_generator(const message_generator&) = delete;
  message_generator& operator=(const message_generator&) = delete;

  /// Appends the messages delivered in the next simulated second to `out` (patients in order;
  /// per patient oximeter then CGM) and to `labels` the labels of events and artifacts that
  /// ended in it and of delivery faults that started in it (their window is known then); true
  /// values to `truth` when not null. Returns false, appending nothing, once the duration is used
  /// up.
  bool next_tick(std::vector<message>& out, std::vector<label>& labels,
                 std::vector<truth_row>* truth = nullptr);

  /// Ends the run: readings still held back by a fault are delivered, open labels closed.
  void finish(std::vector<message>& out, std::vector<label>& labels);

  /// Simulated time of the next tick.
  std::chrono::milliseconds elapsed() const noexcept { return elapsed_; }

  /// The options it was built with.
  const generator_options& options() const noexcept { return options_; }

  /// The run record of the labels file.
  run_record record() const;

 private:
  struct device_state;
  struct patient_slot;

  void emit(device_state& d, std::vector<message> reading, bool twice, std::vector<message>& out);
  void release(device_state& d, std::vector<message>& out);
  message head(const patient_slot& p, const device_state& d, device_type type,
               core::timestamp ts) const;
  void fault_labels(patient_slot& p, std::vector<label>& labels);

  generator_options options_;
  std::vector<std::unique_ptr<patient_slot>> patients_;
  std::chrono::milliseconds elapsed_{0};
};

/// The compact JSON of an oximeter reading: {"device":..,"ts":..,"seq":..,"hr":..,"spo2":..}.
std::string oximeter_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                             oximeter_reading r);

/// The compact JSON of a CGM reading; mg/dL as an integer, mmol/L as {"value":x.y,"unit":..}.
std::string cgm_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                        double glucose_mgdl, glucose_unit unit);

/// An Open mHealth data point (heart-rate 2.0, oxygen-saturation 2.0 or blood-glucose 4.0) of
/// one reading; `value` in the vital's canonical unit (glucose converted to `unit`).
std::string omh_payload(const std::string& patient, const std::string& device, core::timestamp ts,
                        std::uint64_t seq, core::vital_kind vital, double value, glucose_unit unit);

/// The value a CGM payload carries, back in mg/dL (rounded as the payload rounds it).
double sent_glucose(double mgdl, glucose_unit unit) noexcept;

}  // namespace vitals::simulators
