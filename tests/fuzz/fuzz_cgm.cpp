// libFuzzer target: CGM Measurement (0x2AA7) decoder and its samples. The first input byte picks
// the CRC mode (and whether a session start is known); the rest is the notification.

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vitals::fuzz;
  if (size == 0) return 0;
  const auto mode = static_cast<ble::crc_mode>(data[0] % 3);
  std::optional<vitals::core::timestamp> session_start;
  if ((data[0] & 0x04) != 0) {
    session_start = vitals::core::timestamp(std::chrono::milliseconds(1'794'000'000'000));
  }
  const auto frame = bytes(data + 1, size - 1);
  ble::decoded_frame decoded;
  const auto err = ble::decode(ble::characteristic::cgm_measurement, frame, decoded, mode);
  if (err) {
    check_error(*err, frame.size());
    return 0;
  }
  const auto& m = std::get<ble::cgm_measurement>(decoded);
  check(m.count >= 1 && m.count <= ble::max_cgm_records, "record count out of range");
  std::size_t pos = 0;
  std::size_t good = 0;
  for (const auto& rec : m.view()) {
    check(rec.offset == pos, "records are not back to back");
    check(rec.size >= 6, "record shorter than 6 bytes");
    check(rec.size == frame[pos], "record size differs from its size byte");
    if (mode == ble::crc_mode::required) check(rec.e2e_crc.has_value(), "CRC required, none read");
    if (mode == ble::crc_mode::absent) check(!rec.e2e_crc.has_value(), "CRC absent, one read");
    if (!rec.e2e_crc) check(rec.crc_ok, "no CRC, yet a CRC failure");
    if (rec.e2e_crc) {
      const bool match = ble::crc16_mcrf4xx(frame.subspan(pos, rec.size - 2u)) == *rec.e2e_crc;
      check(match == rec.crc_ok, "crc_ok differs from the CRC of the record");
    }
    check((rec.annunciation & 0xFF000000u) == 0, "annunciation wider than 24 bits");
    if (rec.crc_ok) ++good;
    pos += rec.size;
  }
  check(pos == frame.size(), "records do not cover the frame");
  const auto r = check_samples(ble::characteristic::cgm_measurement, decoded, session_start);
  check(r.crc_failures == m.count - good, "crc_failures differs from the records");
  check(r.values + r.condition_only == good, "one sample per record with a good CRC");
  return 0;
}
