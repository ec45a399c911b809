#pragma once
/// Simulated devices: they measure a patient's true state with their own noise and rounding and
/// number their readings. Artifacts and faults belong here later.

#include <cstdint>
#include <string>

#include <vitals/simulators/patient_model.hpp>
#include <vitals/simulators/random.hpp>

namespace vitals::simulators {

/// One pulse-oximeter reading as sent: integer bpm and integer percent.
struct oximeter_reading {
  int hr = 0;
  int spo2 = 0;
};

/// A fingertip pulse oximeter ("<patient>-ox"): HR noise ~1 bpm, SpO2 noise ~0.3 %.
class pulse_oximeter {
 public:
  /// `seed` is the run's seed; the device's stream is derived from it and `device`.
  pulse_oximeter(std::string device, std::uint64_t seed);

  /// Measures `truth`; SpO2 is capped at 100.
  oximeter_reading measure(const vitals_state& truth) noexcept;

  /// The device id.
  const std::string& device() const noexcept { return device_; }

 private:
  std::string device_;
  random rng_;
};

/// A continuous glucose monitor ("<patient>-cgm"): noise ~1.5 mg/dL, reads 40-400 mg/dL.
class cgm_sensor {
 public:
  /// `seed` is the run's seed; the device's stream is derived from it and `device`.
  cgm_sensor(std::string device, std::uint64_t seed);

  /// Measures `truth` in mg/dL, not yet rounded (the unit decides the rounding).
  double measure(const vitals_state& truth) noexcept;

  /// The device id.
  const std::string& device() const noexcept { return device_; }

 private:
  std::string device_;
  random rng_;
};

}  // namespace vitals::simulators
