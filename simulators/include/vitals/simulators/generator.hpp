#pragma once
/// The message generator: patients, their devices and the event schedule, turned into the exact
/// MQTT messages (topic + compact JSON) of each simulated second. No broker involved, so tests and
/// --dry-run see the same bytes a publisher sends.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/devices.hpp>
#include <vitals/simulators/patient_model.hpp>
#include <vitals/simulators/scenario.hpp>

namespace vitals::simulators {

/// Unit of the CGM payload.
enum class glucose_unit {
  mg_dl,   ///< "glucose":112 (integer mg/dL)
  mmol_l,  ///< "glucose":{"value":6.2,"unit":"mmol/L"} (one decimal)
};

/// Which device a message comes from.
enum class device_type { oximeter, cgm };

/// Everything that determines the generated stream; same options => same bytes.
struct generator_options {
  std::uint64_t seed = 1;                               ///< drives every random draw
  int patients = 3;                                     ///< p001 .. pNNN
  core::timestamp start{};                              ///< ts of simulated time zero
  std::optional<std::chrono::milliseconds> duration{};  ///< nullopt: endless
  std::string topic_prefix = "vitals";                  ///< topic = prefix/patient/device
  glucose_unit unit = glucose_unit::mg_dl;
  std::uint64_t duplicate_every = 0;  ///< re-send every Nth oximeter message; 0 = never
  scenario events;                    ///< scripted events (make_scenario())
};

/// One generated message, with the values it carries for tests and logs.
struct message {
  std::string topic;
  std::string payload;  ///< compact JSON
  std::string patient;
  std::string device;
  device_type type = device_type::oximeter;
  core::timestamp ts{};
  std::chrono::milliseconds elapsed{};  ///< simulated time since the start
  std::uint64_t seq = 0;                ///< per device, from 1; a duplicate repeats it
  int hr = 0;                           ///< oximeter: as sent
  int spo2 = 0;                         ///< oximeter: as sent
  double glucose_mgdl = 0.0;            ///< cgm: the sent value in mg/dL
  bool duplicate = false;               ///< a deliberate second copy (--duplicate-every)
};

/// Produces the message stream one simulated second at a time.
class message_generator {
 public:
  /// Oximeters report every second, CGMs every five minutes (from simulated time zero).
  static constexpr std::chrono::seconds oximeter_period{1};
  /// Interval between CGM readings.
  static constexpr std::chrono::seconds cgm_period{300};

  /// Throws std::invalid_argument when patients < 1 or an event names an unknown patient.
  explicit message_generator(generator_options options);
  ~message_generator();
  message_generator(const message_generator&) = delete;
  message_generator& operator=(const message_generator&) = delete;

  /// Appends the messages of the next simulated second to `out` (patients in order, each
  /// oximeter then CGM, a duplicate right after its original) and the labels of events starting
  /// in it to `labels`. Returns false, appending nothing, once the duration is used up.
  bool next_tick(std::vector<message>& out, std::vector<label>& labels);

  /// Simulated time of the next tick.
  std::chrono::milliseconds elapsed() const noexcept { return elapsed_; }

  /// The options it was built with.
  const generator_options& options() const noexcept { return options_; }

  /// The model of 0-based patient `index` (tests look at its traits).
  const patient_model& model(std::size_t index) const { return *patients_.at(index).model; }

 private:
  struct patient_slot {
    std::unique_ptr<patient_model> model;
    pulse_oximeter oximeter;
    cgm_sensor cgm;
    std::string oximeter_topic;
    std::string cgm_topic;
    std::uint64_t oximeter_seq = 0;
    std::uint64_t cgm_seq = 0;
  };

  generator_options options_;
  std::vector<patient_slot> patients_;
  std::chrono::milliseconds elapsed_{0};
  std::uint64_t oximeter_count_ = 0;
};

/// The compact JSON of an oximeter reading: {"device":..,"ts":..,"seq":..,"hr":..,"spo2":..}.
std::string oximeter_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                             oximeter_reading r);

/// The compact JSON of a CGM reading; mg/dL as an integer, mmol/L as {"value":x.y,"unit":..}.
std::string cgm_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                        double glucose_mgdl, glucose_unit unit);

}  // namespace vitals::simulators
