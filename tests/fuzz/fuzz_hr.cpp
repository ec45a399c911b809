// libFuzzer target: Heart Rate Measurement (0x2A37) decoder and its samples.

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vitals::fuzz;
  const auto frame = bytes(data, size);
  ble::decoded_frame decoded;
  const auto err = ble::decode(ble::characteristic::heart_rate_measurement, frame, decoded);
  if (err) {
    check_error(*err, size);
    return 0;
  }
  const auto& m = std::get<ble::heart_rate_measurement>(decoded);
  check(m.heart_rate_u16 == ((m.flags & 0x01) != 0), "heart_rate_u16 differs from flags bit 0");
  check(m.energy_expended_kj.has_value() == ((m.flags & 0x08) != 0),
        "energy expended differs from flags bit 3");
  check(m.rr_bytes.size() % 2 == 0, "odd number of RR bytes");
  check(((m.flags & 0x10) != 0) == !m.rr_bytes.empty(), "RR intervals differ from flags bit 4");
  std::uint32_t rr_sum = 0;
  for (std::size_t i = 0; i < m.rr_count(); ++i) rr_sum += m.rr(i);  // in bounds (ASan)
  const std::size_t expected =
      1 + (m.heart_rate_u16 ? 2 : 1) + (m.energy_expended_kj ? 2 : 0) + m.rr_bytes.size();
  check(expected == size, "decoded fields do not add up to the frame");
  const auto r = check_samples(ble::characteristic::heart_rate_measurement, decoded);
  check(r.values + r.condition_only == 1, "a heart rate frame makes exactly one sample");
  (void)rr_sum;
  return 0;
}
