#include <vitals/simulators/ble_frames.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace vitals::simulators::ble {

namespace {

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v & 0xFF));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put_sfloat(std::vector<std::uint8_t>& out, double v, int max_decimals = 0) {
  put_u16(out, encode_sfloat(v, max_decimals));
}

double pow10(int e) noexcept {
  static constexpr std::array<double, 17> table{1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,
                                                1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8};
  return table[static_cast<std::size_t>(e + 8)];
}

}  // namespace

std::uint16_t encode_sfloat(double value, int max_decimals) noexcept {
  if (std::isnan(value)) return sfloat_nan;
  if (std::isinf(value)) return value > 0 ? sfloat_pos_inf : sfloat_neg_inf;
  const int lowest = -std::clamp(max_decimals, 0, 8);
  for (int e = lowest; e <= 7; ++e) {
    // Multiplying by an exact power of ten for negative exponents keeps 111.7 -> 1117 exact.
    const double scaled = e < 0 ? value * pow10(-e) : value / pow10(e);
    const double m = std::round(scaled);
    if (std::abs(m) > sfloat_max_mantissa) continue;
    auto mantissa = static_cast<int>(m);
    int exponent = e;
    while (mantissa != 0 && mantissa % 10 == 0 && exponent < 0) {
      mantissa /= 10;
      ++exponent;
    }
    if (mantissa == 0) exponent = 0;
    return static_cast<std::uint16_t>(((static_cast<unsigned>(exponent) & 0xFu) << 12) |
                                      (static_cast<unsigned>(mantissa) & 0x0FFFu));
  }
  return value > 0 ? sfloat_pos_inf : sfloat_neg_inf;
}

double sfloat_value(std::uint16_t raw) noexcept {
  switch (raw) {
    case sfloat_nan:
    case sfloat_nres:
    case sfloat_pos_inf:
    case sfloat_neg_inf:
    case 0x0801:  // reserved
      return std::nan("");
    default:
      break;
  }
  int exponent = raw >> 12;
  if (exponent >= 8) exponent -= 16;
  int mantissa = raw & 0x0FFF;
  if (mantissa >= 0x800) mantissa -= 0x1000;
  return exponent < 0 ? mantissa / pow10(-exponent) : mantissa * pow10(exponent);
}

std::uint16_t crc16_mcrf4xx(std::span<const std::uint8_t> bytes) noexcept {
  std::uint16_t crc = 0xFFFF;
  for (const auto b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 1u) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0x8408)
                            : static_cast<std::uint16_t>(crc >> 1);
    }
  }
  return crc;
}

std::vector<std::uint8_t> encode(const plx_continuous& m) {
  std::vector<std::uint8_t> out;
  out.reserve(10);
  std::uint8_t flags = 0;
  if (m.measurement_status != 0) flags |= 1u << 2;
  if (m.device_status != 0) flags |= 1u << 3;
  out.push_back(flags);
  put_sfloat(out, m.spo2_pct.value_or(std::nan("")));
  put_sfloat(out, m.pulse_rate_bpm.value_or(std::nan("")));
  if (m.measurement_status != 0) put_u16(out, m.measurement_status);
  if (m.device_status != 0) {
    out.push_back(static_cast<std::uint8_t>(m.device_status & 0xFF));
    out.push_back(static_cast<std::uint8_t>((m.device_status >> 8) & 0xFF));
    out.push_back(static_cast<std::uint8_t>((m.device_status >> 16) & 0xFF));
  }
  return out;
}

std::vector<std::uint8_t> encode(const heart_rate& m) {
  std::vector<std::uint8_t> out;
  const auto bpm = static_cast<unsigned>(std::clamp(m.bpm, 0, 0xFFFF));
  std::uint8_t flags = 0;
  if (bpm > 0xFF) flags |= 1u << 0;
  if (m.contact) flags |= static_cast<std::uint8_t>((*m.contact ? 3u : 2u) << 1);
  if (m.energy_kj) flags |= 1u << 3;
  if (!m.rr_1024.empty()) flags |= 1u << 4;
  out.push_back(flags);
  if (bpm > 0xFF) {
    put_u16(out, static_cast<std::uint16_t>(bpm));
  } else {
    out.push_back(static_cast<std::uint8_t>(bpm));
  }
  if (m.energy_kj) put_u16(out, *m.energy_kj);
  for (const auto rr : m.rr_1024) put_u16(out, rr);
  return out;
}

std::vector<std::uint8_t> encode(const cgm_record& r) {
  std::vector<std::uint8_t> out;
  out.reserve(16);
  std::uint8_t flags = 0;
  if (r.trend_mgdl_min) flags |= 1u << 0;
  if (r.quality_pct) flags |= 1u << 1;
  const auto status = static_cast<std::uint8_t>(r.annunciation & 0xFF);
  const auto cal_temp = static_cast<std::uint8_t>((r.annunciation >> 8) & 0xFF);
  const auto warning = static_cast<std::uint8_t>((r.annunciation >> 16) & 0xFF);
  if (warning != 0) flags |= 1u << 5;
  if (cal_temp != 0) flags |= 1u << 6;
  if (status != 0) flags |= 1u << 7;
  out.push_back(0);  // size, set below
  out.push_back(flags);
  put_sfloat(out, r.glucose_mgdl, 1);
  put_u16(out, r.time_offset_min);
  // Least significant octet first, only the octets the flags announce.
  if (status != 0) out.push_back(status);
  if (cal_temp != 0) out.push_back(cal_temp);
  if (warning != 0) out.push_back(warning);
  if (r.trend_mgdl_min) put_sfloat(out, *r.trend_mgdl_min, 1);
  if (r.quality_pct) put_sfloat(out, *r.quality_pct);
  out[0] = static_cast<std::uint8_t>(out.size() + (r.e2e_crc ? 2 : 0));
  if (r.e2e_crc) put_u16(out, crc16_mcrf4xx(out));
  return out;
}

std::vector<std::uint8_t> encode_session_start(core::timestamp start, bool e2e_crc) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(start);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> tod{secs - day};
  std::vector<std::uint8_t> out;
  out.reserve(11);
  put_u16(out, static_cast<std::uint16_t>(static_cast<int>(ymd.year())));
  out.push_back(static_cast<std::uint8_t>(static_cast<unsigned>(ymd.month())));
  out.push_back(static_cast<std::uint8_t>(static_cast<unsigned>(ymd.day())));
  out.push_back(static_cast<std::uint8_t>(tod.hours().count()));
  out.push_back(static_cast<std::uint8_t>(tod.minutes().count()));
  out.push_back(static_cast<std::uint8_t>(tod.seconds().count()));
  out.push_back(0);  // time zone: UTC
  out.push_back(0);  // DST offset: standard time
  if (e2e_crc) put_u16(out, crc16_mcrf4xx(out));
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}

std::uint16_t handle_of(std::uint16_t uuid) noexcept {
  switch (uuid) {
    case uuid_plx_continuous:
      return handle_plx_continuous;
    case uuid_heart_rate:
      return handle_heart_rate;
    case uuid_cgm_measurement:
      return handle_cgm_measurement;
    case uuid_cgm_session_start:
      return handle_cgm_session_start;
    default:
      return 0;
  }
}

std::string device_address(std::size_t patient_index, int slot) {
  const auto i = static_cast<std::uint32_t>(patient_index);
  return fmt::format("02:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", (i >> 24) & 0xFF, (i >> 16) & 0xFF,
                     (i >> 8) & 0xFF, i & 0xFF, slot & 0xFF);
}

std::string gateway_name(std::string_view patient) {
  return "gw-" + std::string(patient);
}

std::string topic(std::string_view root, std::string_view gateway, std::string_view address) {
  std::string out;
  out.reserve(root.size() + gateway.size() + address.size() + 2);
  out += root;
  out += '/';
  out += gateway;
  out += '/';
  out += address;
  return out;
}

std::string generic_message(std::string_view address, std::uint16_t uuid,
                            std::span<const std::uint8_t> value, core::timestamp ts) {
  return fmt::format(R"({{"mac":"{}","uuid":"{:04x}","hex":"{}","ts":{}}})", address, uuid,
                     to_hex(value), ts.time_since_epoch().count());
}

std::string cassia_message(std::string_view gateway_address, std::string_view address,
                           std::uint16_t handle, std::span<const std::uint8_t> value) {
  return fmt::format(
      R"({{"dataType":"notification","ap":"{}","device":"{}","handle":{},"value":"{}"}})",
      gateway_address, address, handle, to_hex(value));
}

std::string ble_config(const scenario& s, std::string_view topic_root) {
  std::string out;
  for (std::size_t i = 0; i < s.patients.size(); ++i) {
    const auto& p = s.patients[i];
    if (!is_ble(p.output)) continue;
    const bool cassia = p.output == output_format::ble_cassia;
    if (out.empty()) {
      out += fmt::format(
          "# The BLE gateways and devices of vitals-sim scenario \"{}\" (seed {}): append to "
          "vitalsd's config.\n"
          "[[sources]]\ntype = \"ble_gateway\"\n",
          s.name, s.seed);
    }
    const auto gateway = gateway_name(p.id);
    out += fmt::format(
        "\n[[sources.gateways]]\nname = \"{}\"\npreset = \"{}\"\ntopics = [\"{}/{}/#\"]\n", gateway,
        cassia ? "cassia" : "generic", topic_root, gateway);
    const auto device = [&](int slot, const std::string& id, std::string_view handles, bool cgm) {
      out += fmt::format(
          "\n[[sources.devices]]\naddress = \"{}\"\npatient = \"{}\"\ndevice = \"{}\"\n"
          "gateway = \"{}\"\n",
          device_address(i + 1, slot), p.id, id, gateway);
      if (cassia) out += fmt::format("handles = {{ {} }}\n", handles);
      if (cgm) out += fmt::format("cgm_crc = \"{}\"\n", cgm_e2e_crc ? "required" : "absent");
    };
    device(slot_oximeter, p.id + "-ox", fmt::format(R"("{}" = "2a5f")", handle_plx_continuous),
           false);
    if (has_cgm(p.profile)) {
      device(slot_cgm, p.id + "-cgm",
             fmt::format(R"("{}" = "2aa7", "{}" = "2aaa")", handle_cgm_measurement,
                         handle_cgm_session_start),
             true);
    }
  }
  return out;
}

}  // namespace vitals::simulators::ble
