// Decoded GATT frames -> core::samples (frame_samples.hpp): canonical values, device status as
// quality flags and technical conditions, condition-only samples, CGM CRC and times.
#include <catch2/catch.hpp>
#include <chrono>
#include <limits>
#include <vector>

#include <vitals/adapters/ble/ble_device.hpp>
#include <vitals/adapters/ble/frame_samples.hpp>

using namespace vitals::adapters::ble;
using namespace std::chrono;
namespace core = vitals::core;
using core::vital_kind;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace frame_samples_test {
namespace {

const core::timestamp receive_at =
    time_point_cast<milliseconds>(sys_days{year{2026} / 11 / 28}) + hours(10);

frame_context context() {
  frame_context ctx;
  ctx.patient = core::short_id::truncate("p001");
  ctx.device = core::short_id::truncate("p001-ox");
  ctx.receive_time = receive_at;
  return ctx;
}

medfloat number(double v) {
  return {v, special::none};
}

medfloat special_value(special s) {
  return {std::numeric_limits<double>::quiet_NaN(), s};
}

plx_continuous plx(double spo2, double pr) {
  plx_continuous p;
  p.normal = {number(spo2), number(pr)};
  return p;
}

cgm_record record(double glucose, std::uint16_t offset_min, std::uint32_t annunciation = 0) {
  cgm_record r;
  r.size = 6;
  r.glucose_mg_dl = number(glucose);
  r.time_offset_min = offset_min;
  r.annunciation = annunciation;
  return r;
}

cgm_measurement cgm(std::initializer_list<cgm_record> records) {
  cgm_measurement m;
  for (const auto& r : records) m.records[m.count++] = r;
  return m;
}

/// Checks that the samples are condition-only, one per vital, with `conditions` each.
void check_condition_only(const std::vector<core::sample>& out, const frame_outcome& r,
                          std::initializer_list<vital_kind> kinds, std::uint16_t conditions) {
  REQUIRE(out.size() == kinds.size());
  CHECK(r.values == 0);
  CHECK(r.condition_only == kinds.size());
  CHECK(r.conditions == conditions);
  std::size_t i = 0;
  for (const auto k : kinds) {
    INFO("sample " << i);
    CHECK(out[i].kind == k);
    CHECK(out[i].quality == core::quality_no_value);
    CHECK(out[i].conditions == conditions);
    CHECK(out[i].value == 0.0);
    CHECK(out[i].patient == core::short_id::truncate("p001"));
    ++i;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Heart Rate

TEST_CASE("heart rate: one sample in bpm at the frame time", "[ble]") {
  auto ctx = context();
  heart_rate_measurement h;
  h.heart_rate_bpm = 72;
  h.sensor_contact = heart_rate_measurement::contact::in_contact;
  std::vector<core::sample> out;
  auto r = to_samples(h, ctx, out);
  REQUIRE(out.size() == 1);
  CHECK(r.values == 1);
  CHECK(r.condition_only == 0);
  CHECK(r.conditions == 0);
  CHECK(out[0].kind == vital_kind::heart_rate);
  CHECK(out[0].value == 72.0);
  CHECK(out[0].quality == core::quality_none);
  CHECK(out[0].conditions == core::condition_none);
  CHECK(out[0].patient == ctx.patient);
  CHECK(out[0].device == ctx.device);
  CHECK(out[0].device_time == receive_at);
  CHECK(out[0].receive_time == receive_at);

  // The gateway's timestamp is the device time when it gives one.
  ctx.frame_time = receive_at - seconds(3);
  h.sensor_contact = heart_rate_measurement::contact::not_supported;
  out.clear();
  r = to_samples(h, ctx, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].value == 72.0);
  CHECK(out[0].device_time == receive_at - seconds(3));
  CHECK(out[0].receive_time == receive_at);
}

TEST_CASE("heart rate: sensor supported but not in contact is probe off, no value", "[ble]") {
  heart_rate_measurement h;
  h.heart_rate_bpm = 0;
  h.sensor_contact = heart_rate_measurement::contact::no_contact;
  std::vector<core::sample> out;
  const auto r = to_samples(h, context(), out);
  check_condition_only(out, r, {vital_kind::heart_rate}, core::condition_sensor_off);
}

TEST_CASE("heart rate: decoded from a frame end to end", "[ble]") {
  decoded_frame f;
  const std::uint8_t no_contact[] = {0x04, 0x48};
  REQUIRE_FALSE(decode(characteristic::heart_rate_measurement, no_contact, f));
  std::vector<core::sample> out;
  const auto r = to_samples(f, context(), out);
  check_condition_only(out, r, {vital_kind::heart_rate}, core::condition_sensor_off);
}

// ---------------------------------------------------------------------------------------------
// PLX

TEST_CASE("PLX: SpO2 and pulse rate of the normal pair, one sample each", "[ble]") {
  auto p = plx(97.0, 64.0);
  p.fast = spo2_pr{number(90.0), number(120.0)};  // not the reading the daemon keeps
  std::vector<core::sample> out;
  const auto r = to_samples(p, context(), out);
  REQUIRE(out.size() == 2);
  CHECK(r.values == 2);
  CHECK(out[0].kind == vital_kind::spo2);
  CHECK(out[0].value == 97.0);
  CHECK(out[1].kind == vital_kind::heart_rate);
  CHECK(out[1].value == 64.0);
  for (const auto& s : out) {
    CHECK(s.quality == core::quality_none);
    CHECK(s.conditions == core::condition_none);
    CHECK(s.device_time == receive_at);
  }
}

TEST_CASE("PLX: sensor unconnected, displaced or disconnected is probe off", "[ble]") {
  for (const std::uint32_t bit :
       {std::uint32_t{plx_ds_sensor_unconnected}, std::uint32_t{plx_ds_sensor_displaced},
        std::uint32_t{plx_ds_sensor_disconnected}}) {
    INFO("device status " << bit);
    auto p = plx(97.0, 64.0);
    p.device_sensor_status = bit;
    std::vector<core::sample> out;
    const auto r = to_samples(p, context(), out);
    check_condition_only(out, r, {vital_kind::spo2, vital_kind::heart_rate},
                         core::condition_sensor_off);
  }
  // The spot-check measurement reads the same bits.
  plx_spot_check s;
  s.reading = {number(95.0), number(70.0)};
  s.device_sensor_status = plx_ds_sensor_displaced;
  std::vector<core::sample> out;
  const auto r = to_samples(s, context(), out);
  check_condition_only(out, r, {vital_kind::spo2, vital_kind::heart_rate},
                       core::condition_sensor_off);
}

TEST_CASE("PLX: equipment or sensor malfunction, unknown sensor is a sensor fault", "[ble]") {
  for (const std::uint32_t bit :
       {std::uint32_t{plx_ds_equipment_malfunction}, std::uint32_t{plx_ds_sensor_malfunction},
        std::uint32_t{plx_ds_unknown_sensor}}) {
    INFO("device status " << bit);
    auto p = plx(97.0, 64.0);
    p.device_sensor_status = bit;
    std::vector<core::sample> out;
    const auto r = to_samples(p, context(), out);
    check_condition_only(out, r, {vital_kind::spo2, vital_kind::heart_rate},
                         core::condition_sensor_fault);
  }
}

TEST_CASE("PLX: low perfusion and poor signal are flagged but stored", "[ble]") {
  for (const std::uint32_t bit :
       {std::uint32_t{plx_ds_low_perfusion}, std::uint32_t{plx_ds_inadequate_signal},
        std::uint32_t{plx_ds_poor_signal}, std::uint32_t{plx_ds_erratic_signal},
        std::uint32_t{plx_ds_non_pulsatile}, std::uint32_t{plx_ds_questionable_pulse},
        std::uint32_t{plx_ds_sensor_interference},
        std::uint32_t{plx_ds_signal_processing_irregularity}}) {
    INFO("device status " << bit);
    auto p = plx(93.0, 88.0);
    p.device_sensor_status = bit;
    std::vector<core::sample> out;
    const auto r = to_samples(p, context(), out);
    REQUIRE(out.size() == 2);
    CHECK(r.values == 2);
    CHECK(r.condition_only == 0);
    CHECK(r.conditions == core::condition_signal_poor);
    CHECK(out[0].value == 93.0);
    CHECK(out[1].value == 88.0);
    for (const auto& s : out) {
      CHECK(s.quality == core::quality_device_flagged);
      CHECK(s.conditions == core::condition_signal_poor);
    }
  }
  // A questionable measurement too.
  auto p = plx(93.0, 88.0);
  p.measurement_status = plx_ms_questionable | plx_ms_measurement_ongoing;
  std::vector<core::sample> out;
  to_samples(p, context(), out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].quality == core::quality_device_flagged);
  CHECK(out[0].conditions == core::condition_signal_poor);
}

TEST_CASE("PLX: early estimate, calibration, demonstration and test data are flagged", "[ble]") {
  for (const std::uint16_t bit :
       {std::uint16_t{plx_ms_early_estimate}, std::uint16_t{plx_ms_calibration_ongoing},
        std::uint16_t{plx_ms_demonstration}, std::uint16_t{plx_ms_testing}}) {
    INFO("measurement status " << bit);
    auto p = plx(96.0, 70.0);
    p.measurement_status = bit;
    std::vector<core::sample> out;
    const auto r = to_samples(p, context(), out);
    REQUIRE(out.size() == 2);
    CHECK(r.values == 2);
    CHECK(r.conditions == 0);
    CHECK(out[0].quality == core::quality_device_flagged);
    CHECK(out[1].quality == core::quality_device_flagged);
    CHECK(out[0].conditions == 0);
  }
  // Validated, fully qualified, ongoing: plain readings.
  auto p = plx(96.0, 70.0);
  p.measurement_status = plx_ms_validated | plx_ms_fully_qualified | plx_ms_measurement_ongoing;
  p.device_sensor_status = 0;
  std::vector<core::sample> out;
  to_samples(p, context(), out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].quality == core::quality_none);
}

TEST_CASE("PLX: a special SFLOAT or an unavailable/invalid measurement is no reading", "[ble]") {
  for (const special s :
       {special::nan, special::nres, special::pos_inf, special::neg_inf, special::reserved}) {
    INFO("special " << to_string(s));
    auto spo2_special = plx(97.0, 64.0);
    spo2_special.normal.spo2_pct = special_value(s);
    std::vector<core::sample> out;
    auto r = to_samples(spo2_special, context(), out);
    check_condition_only(out, r, {vital_kind::spo2, vital_kind::heart_rate},
                         core::condition_no_reading);
    auto pr_special = plx(97.0, 64.0);
    pr_special.normal.pulse_rate_bpm = special_value(s);
    out.clear();
    r = to_samples(pr_special, context(), out);
    check_condition_only(out, r, {vital_kind::spo2, vital_kind::heart_rate},
                         core::condition_no_reading);
  }
  for (const std::uint16_t bit :
       {std::uint16_t{plx_ms_unavailable}, std::uint16_t{plx_ms_invalid}}) {
    auto p = plx(97.0, 64.0);
    p.measurement_status = bit;
    std::vector<core::sample> out;
    const auto r = to_samples(p, context(), out);
    check_condition_only(out, r, {vital_kind::spo2, vital_kind::heart_rate},
                         core::condition_no_reading);
  }
  // Several conditions of one frame all go on every sample of it.
  auto p = plx(97.0, 64.0);
  p.measurement_status = plx_ms_invalid;
  p.device_sensor_status = plx_ds_sensor_displaced | plx_ds_low_perfusion;
  std::vector<core::sample> out;
  const auto r = to_samples(p, context(), out);
  check_condition_only(
      out, r, {vital_kind::spo2, vital_kind::heart_rate},
      core::condition_no_reading | core::condition_sensor_off | core::condition_signal_poor);
}

TEST_CASE("PLX spot-check: its timestamp (UTC) when the device clock is set", "[ble]") {
  auto ctx = context();
  ctx.frame_time = receive_at - seconds(1);
  plx_spot_check s;
  s.reading = {number(95.0), number(70.0)};
  s.timestamp = date_time{2026, 11, 28, 3, 55, 7};
  const auto stamped = time_point_cast<milliseconds>(sys_days{year{2026} / 11 / 28}) + hours(3) +
                       minutes(55) + seconds(7);
  std::vector<core::sample> out;
  to_samples(s, ctx, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].device_time == stamped);
  CHECK(out[1].device_time == stamped);
  CHECK(out[0].receive_time == receive_at);

  // Clock not set: the timestamp is not a time.
  s.device_clock_not_set = true;
  out.clear();
  to_samples(s, ctx, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].device_time == *ctx.frame_time);

  // Year 0: not known.
  s.device_clock_not_set = false;
  s.timestamp->year = 0;
  out.clear();
  to_samples(s, ctx, out);
  CHECK(out[0].device_time == *ctx.frame_time);

  // No timestamp, no gateway time: the receive time.
  s.timestamp.reset();
  ctx.frame_time.reset();
  out.clear();
  to_samples(s, ctx, out);
  CHECK(out[0].device_time == receive_at);
}

// ---------------------------------------------------------------------------------------------
// CGM

TEST_CASE("CGM: one glucose sample per record at session start + offset", "[ble]") {
  auto ctx = context();
  const auto start = receive_at - hours(2);
  ctx.cgm_session_start = start;
  const auto m = cgm({record(120.0, 100), record(118.0, 105), record(115.0, 110)});
  std::vector<core::sample> out;
  const auto r = to_samples(m, ctx, out);
  REQUIRE(out.size() == 3);
  CHECK(r.values == 3);
  CHECK(out[0].kind == vital_kind::glucose);
  CHECK(out[0].value == 120.0);
  CHECK(out[0].device_time == start + minutes(100));
  CHECK(out[1].device_time == start + minutes(105));
  CHECK(out[2].value == 115.0);
  CHECK(out[2].device_time == start + minutes(110));
  for (const auto& s : out) {
    CHECK(s.receive_time == receive_at);
    CHECK(s.quality == core::quality_none);
    CHECK(s.device_status == 0);
  }
}

TEST_CASE("CGM: without a session start the newest record is from the frame time", "[ble]") {
  auto ctx = context();
  // Out of order (backfill): the newest is the middle one.
  const auto m = cgm({record(100.0, 50), record(101.0, 60), record(99.0, 40)});
  std::vector<core::sample> out;
  to_samples(m, ctx, out);
  REQUIRE(out.size() == 3);
  CHECK(out[1].device_time == receive_at);
  CHECK(out[0].device_time == receive_at - minutes(10));
  CHECK(out[2].device_time == receive_at - minutes(20));

  ctx.frame_time = receive_at - seconds(30);
  out.clear();
  to_samples(m, ctx, out);
  CHECK(out[1].device_time == receive_at - seconds(30));
  CHECK(out[2].device_time == receive_at - seconds(30) - minutes(20));
}

TEST_CASE("CGM: a record with a bad CRC is counted and dropped", "[ble]") {
  auto bad = record(300.0, 20);
  bad.e2e_crc = 0x1234;
  bad.crc_ok = false;
  const auto m = cgm({record(120.0, 10), bad, record(122.0, 15)});
  auto ctx = context();
  std::vector<core::sample> out;
  const auto r = to_samples(m, ctx, out);
  CHECK(r.crc_failures == 1);
  CHECK(r.values == 2);
  REQUIRE(out.size() == 2);
  CHECK(out[0].value == 120.0);
  CHECK(out[1].value == 122.0);
  // The dropped record does not set the newest time either.
  CHECK(out[1].device_time == receive_at);

  // End to end: a record whose CRC does not match (vector 2AA7-004).
  decoded_frame f;
  const std::uint8_t wire[] = {0x08, 0x00, 0x0C, 0x10, 0x06, 0x00, 0x58, 0x6F};
  REQUIRE_FALSE(decode(characteristic::cgm_measurement, wire, f));
  out.clear();
  const auto r2 = to_samples(f, ctx, out);
  CHECK(out.empty());
  CHECK(r2.crc_failures == 1);
}

TEST_CASE("CGM: annunciation to conditions and quality flags", "[ble]") {
  struct rule {
    std::uint32_t annunciation;
    bool value;  // false: condition-only
    std::uint16_t conditions;
    std::uint16_t quality;
  };
  const rule rules[] = {
      {cgm_battery_low, true, core::condition_battery_low, 0},
      {cgm_session_stopped, false, core::condition_session_stopped, 0},
      {cgm_sensor_malfunction, false, core::condition_sensor_fault, 0},
      {cgm_sensor_type_incorrect, false, core::condition_sensor_fault, 0},
      {cgm_general_device_fault, false, core::condition_sensor_fault, 0},
      {cgm_calibration_required, true, core::condition_calibration, core::quality_device_flagged},
      {cgm_time_sync_required, true, core::condition_calibration, core::quality_device_flagged},
      {cgm_temperature_too_high, true, core::condition_signal_poor, core::quality_device_flagged},
      {cgm_temperature_too_low, true, core::condition_signal_poor, core::quality_device_flagged},
      {cgm_below_device_range, true, 0, core::quality_device_low},
      {cgm_above_device_range, true, 0, core::quality_device_high},
      // The CGM's own hypo/hyper warnings are annotations, kept in device_status only.
      {cgm_below_hypo | cgm_below_patient_low, true, 0, 0},
      {cgm_above_hyper | cgm_rate_of_increase_exceeded, true, 0, 0},
      {cgm_calibration_recommended, true, 0, 0},
      {cgm_battery_low | cgm_session_stopped, false,
       core::condition_battery_low | core::condition_session_stopped, 0},
  };
  for (const auto& rl : rules) {
    INFO("annunciation " << rl.annunciation);
    auto ctx = context();
    ctx.cgm_session_start = receive_at - hours(1);
    std::vector<core::sample> out;
    const auto r = to_samples(cgm({record(140.0, 30, rl.annunciation)}), ctx, out);
    REQUIRE(out.size() == 1);
    const auto& s = out[0];
    CHECK(s.kind == vital_kind::glucose);
    CHECK(s.device_status == rl.annunciation);
    CHECK(s.conditions == rl.conditions);
    CHECK(r.conditions == rl.conditions);
    CHECK(s.device_time == receive_at - minutes(30));
    if (rl.value) {
      CHECK(r.values == 1);
      CHECK(s.value == 140.0);
      CHECK(s.quality == rl.quality);
    } else {
      CHECK(r.condition_only == 1);
      CHECK(s.value == 0.0);
      CHECK(s.quality == core::quality_no_value);
    }
  }
}

TEST_CASE("CGM: a special SFLOAT glucose is no reading", "[ble]") {
  auto rec = record(0.0, 5, cgm_below_device_range);
  rec.glucose_mg_dl = special_value(special::nres);
  std::vector<core::sample> out;
  const auto r = to_samples(cgm({rec, record(90.0, 10)}), context(), out);
  REQUIRE(out.size() == 2);
  CHECK(r.condition_only == 1);
  CHECK(r.values == 1);
  CHECK(out[0].quality == core::quality_no_value);
  CHECK(out[0].conditions == core::condition_no_reading);
  CHECK(out[0].device_status == cgm_below_device_range);
  CHECK(out[1].value == 90.0);
  CHECK(out[1].conditions == 0);
}

TEST_CASE("CGM session start time: no samples, start in UTC with zone and DST", "[ble]") {
  cgm_session_start_time t;
  t.start = date_time{2026, 11, 28, 9, 30, 0};
  t.time_zone_quarters = 4;  // UTC+1
  t.dst_offset = 4;          // +1 h
  std::vector<core::sample> out;
  const auto r = to_samples(t, context(), out);
  CHECK(out.empty());
  CHECK(r.values == 0);
  CHECK(r.condition_only == 0);

  const auto day = time_point_cast<milliseconds>(sys_days{year{2026} / 11 / 28});
  CHECK(session_start(t) == day + hours(7) + minutes(30));
  t.time_zone_quarters = -20;  // UTC-5
  t.dst_offset = 0;
  CHECK(session_start(t) == day + hours(14) + minutes(30));
  t.time_zone_quarters = -128;  // unknown: taken as UTC
  t.dst_offset = 255;
  CHECK(session_start(t) == day + hours(9) + minutes(30));
  t.start.year = 0;
  CHECK_FALSE(session_start(t));
  t.start = date_time{2026, 2, 30, 0, 0, 0};
  CHECK_FALSE(session_start(t));
}

// ---------------------------------------------------------------------------------------------
// Link state, vitals, device ids

TEST_CASE("link state samples: one per vital of the device, heart rate when none is known",
          "[ble]") {
  const auto patient = core::short_id::truncate("p001");
  const auto device = core::short_id::truncate("p001-ox");
  CHECK(vital_bits(characteristic::plx_continuous) ==
        (vital_bit(vital_kind::heart_rate) | vital_bit(vital_kind::spo2)));
  CHECK(vital_bits(characteristic::cgm_measurement) == vital_bit(vital_kind::glucose));
  CHECK(vital_bits(characteristic::cgm_session_start_time) == 0);

  std::vector<core::sample> out;
  link_state_samples(patient, device, vital_bits(characteristic::plx_spot_check),
                     core::condition_disconnected, receive_at, out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].kind == vital_kind::heart_rate);
  CHECK(out[1].kind == vital_kind::spo2);
  for (const auto& s : out) {
    CHECK(s.conditions == core::condition_disconnected);
    CHECK(s.quality == (core::quality_no_value | core::quality_link_state));
    CHECK(s.device == device);
  }
  out.clear();
  link_state_samples(patient, device, 0, core::condition_gateway_offline, receive_at, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == vital_kind::heart_rate);
  CHECK(out[0].conditions == core::condition_gateway_offline);
}

TEST_CASE("link state sample: no value, link conditions only, at the receive time", "[ble]") {
  const auto patient = core::short_id::truncate("p001");
  const auto device = core::short_id::truncate("p001-cgm");
  auto s = link_state_sample(patient, device, vital_kind::glucose, core::condition_disconnected,
                             receive_at);
  CHECK(s.patient == patient);
  CHECK(s.device == device);
  CHECK(s.kind == vital_kind::glucose);
  CHECK(s.value == 0.0);
  CHECK(s.quality == (core::quality_no_value | core::quality_link_state));
  CHECK(s.conditions == core::condition_disconnected);
  CHECK(s.device_time == receive_at);
  CHECK(s.receive_time == receive_at);
  s = link_state_sample(patient, device, vital_kind::spo2, core::condition_gateway_offline,
                        receive_at);
  CHECK(s.conditions == core::condition_gateway_offline);
  s = link_state_sample(patient, device, vital_kind::spo2, core::condition_none, receive_at);
  CHECK(s.conditions == core::condition_none);  // connected
  CHECK(s.quality == (core::quality_no_value | core::quality_link_state));
  // Only link conditions travel in a link-state report.
  s = link_state_sample(patient, device, vital_kind::spo2,
                        core::condition_disconnected | core::condition_sensor_off, receive_at);
  CHECK(s.conditions == core::condition_disconnected);
}

TEST_CASE("the vitals each characteristic carries", "[ble]") {
  auto v = vitals_of(characteristic::heart_rate_measurement);
  REQUIRE(v.size() == 1);
  CHECK(v[0] == vital_kind::heart_rate);
  for (const auto c : {characteristic::plx_continuous, characteristic::plx_spot_check}) {
    v = vitals_of(c);
    REQUIRE(v.size() == 2);
    CHECK(v[0] == vital_kind::spo2);
    CHECK(v[1] == vital_kind::heart_rate);
  }
  v = vitals_of(characteristic::cgm_measurement);
  REQUIRE(v.size() == 1);
  CHECK(v[0] == vital_kind::glucose);
  CHECK(vitals_of(characteristic::cgm_session_start_time).empty());
}

TEST_CASE("BLE addresses are normalised, default device ids derive from them", "[ble]") {
  CHECK(normalize_address("c0:26:da:01:02:03") == "C0:26:DA:01:02:03");
  CHECK(normalize_address("C0-26-DA-01-02-03") == "C0:26:DA:01:02:03");
  CHECK(normalize_address("c026da010203") == "C0:26:DA:01:02:03");
  CHECK(normalize_address("C0:26:DA:01:02:03") == "C0:26:DA:01:02:03");
  CHECK_FALSE(normalize_address(""));
  CHECK_FALSE(normalize_address("C0:26:DA:01:02"));
  CHECK_FALSE(normalize_address("C0:26:DA:01:02:0G"));
  CHECK_FALSE(normalize_address("C0:26:DA:01:02:031"));
  CHECK_FALSE(normalize_address("C0.26.DA.01.02.03"));
  CHECK_FALSE(normalize_address("C026:DA:01:02:03:"));
  CHECK_FALSE(normalize_address("c026da01020"));
  CHECK(default_device_id("C0:26:DA:01:02:03") == "ble-c026da010203");
  CHECK(default_device_id(*normalize_address("02-00-00-00-00-01")) == "ble-020000000001");
}

}  // namespace frame_samples_test
