// libFuzzer target: PLX Continuous Measurement (0x2A5F) decoder and its samples.

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vitals::fuzz;
  const auto frame = bytes(data, size);
  ble::decoded_frame decoded;
  const auto err = ble::decode(ble::characteristic::plx_continuous, frame, decoded);
  if (err) {
    check_error(*err, size);
    return 0;
  }
  const auto& m = std::get<ble::plx_continuous>(decoded);
  const std::size_t expected = 5 + (m.fast ? 4 : 0) + (m.slow ? 4 : 0) +
                               (m.measurement_status ? 2 : 0) + (m.device_sensor_status ? 3 : 0) +
                               (m.pulse_amplitude_index_pct ? 2 : 0);
  check(expected == size, "decoded fields do not add up to the frame");
  check(!m.device_sensor_status || *m.device_sensor_status <= 0xFFFFFF,
        "status wider than 24 bits");
  const auto r = check_samples(ble::characteristic::plx_continuous, decoded);
  check(r.values + r.condition_only == 2, "a PLX frame makes an SpO2 and a pulse rate sample");
  check(r.values == 0 || r.condition_only == 0, "half a PLX frame condition-only");
  return 0;
}
