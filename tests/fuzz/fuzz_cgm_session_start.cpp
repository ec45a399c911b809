// libFuzzer target: CGM Session Start Time (0x2AAA) decoder, session_start() and to_samples().

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vitals::fuzz;
  const auto frame = bytes(data, size);
  ble::decoded_frame decoded;
  const auto err = ble::decode(ble::characteristic::cgm_session_start_time, frame, decoded);
  if (err) {
    check_error(*err, size);
    return 0;
  }
  const auto& m = std::get<ble::cgm_session_start_time>(decoded);
  check(size == 9 || size == 11, "session start time is 9 bytes, or 11 with a CRC");
  check(m.e2e_crc.has_value() == (size == 11), "CRC presence differs from the size");
  if (!m.e2e_crc) check(m.crc_ok, "no CRC, yet a CRC failure");
  if (const auto start = ble::session_start(m)) {
    // Year 1..65535 local time, shifted by at most 32 h of time zone and 64 h of DST offset.
    check(*start >= earliest_time && *start <= latest_time, "session start out of range");
  }
  const auto r = check_samples(ble::characteristic::cgm_session_start_time, decoded);
  check(r.values + r.condition_only == 0, "a session start time makes no sample");
  return 0;
}
