// vitalsctl: tools for people operating vitalsd. `decode` prints what a BLE GATT characteristic
// value means (fields, flags, status bits, and the samples, quality flags and technical
// conditions vitalsd would make of it), or the precise decode error, for debugging a gateway.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/ble/gatt.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/adapters/registry.hpp>
#include <vitals/config/samples.hpp>

#include <vitals/core/ascii.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/rfc3339.hpp>
#include <vitals/core/sample.hpp>
#include "vitalsctl_api.hpp"
#include "vitalsctl_db.hpp"

namespace {

namespace ble = vitals::adapters::ble;
namespace core = vitals::core;
using json = nlohmann::ordered_json;

/// Exit code when at least one payload did not decode.
constexpr int exit_decode_failed = vitals::ctl::exit_failed;

/// Largest ATT attribute value (Core spec): a longer payload cannot be a characteristic value.
constexpr std::size_t max_payload_bytes = 512;

using ble::bit_name;

constexpr bit_name condition_bits[] = {
    {core::condition_sensor_off, "sensor_off"},
    {core::condition_signal_poor, "signal_poor"},
    {core::condition_no_reading, "no_reading"},
    {core::condition_sensor_fault, "sensor_fault"},
    {core::condition_session_stopped, "session_stopped"},
    {core::condition_battery_low, "battery_low"},
    {core::condition_calibration, "calibration"},
    {core::condition_disconnected, "disconnected"},
    {core::condition_gateway_offline, "gateway_offline"},
};

constexpr bit_name quality_bits[] = {
    {core::quality_sensor_contact_lost, "sensor_contact_lost"},
    {core::quality_artifact, "artifact"},
    {core::quality_out_of_order, "out_of_order"},
    {core::quality_backfilled, "backfilled"},
    {core::quality_device_low, "device_low"},
    {core::quality_device_high, "device_high"},
    {core::quality_no_value, "no_value"},
    {core::quality_device_flagged, "device_flagged"},
    {core::quality_link_state, "link_state"},
};

/// Names of the bits set in `value`, unnamed ones as "reserved_bitN".
json bit_names(std::uint32_t value, std::span<const bit_name> table) {
  json names = json::array();
  for (int bit = 0; bit < 32; ++bit) {
    const std::uint32_t mask = 1u << bit;
    if ((value & mask) == 0) continue;
    std::string name = "reserved_bit" + std::to_string(bit);
    for (const auto& b : table) {
      if (b.mask == mask) name = b.name;
    }
    names.push_back(name);
  }
  return names;
}

std::string hex(std::uint32_t value, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", digits, static_cast<unsigned>(value));
  return buf;
}

/// A flags or status field: {"value": n, "hex": "0x..", "bits": [names]}.
json bits_field(std::uint32_t value, int hex_digits, std::span<const bit_name> table) {
  json j;
  j["value"] = value;
  j["hex"] = hex(value, hex_digits);
  j["bits"] = bit_names(value, table);
  return j;
}

/// An SFLOAT / FLOAT: its number, or the special value's name ("NaN", "NRes", ...).
json medfloat_field(const ble::medfloat& m) {
  if (m.is_number()) return m.value;
  return std::string(ble::to_string(m.kind));
}

json date_time_field(const ble::date_time& d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04u-%02u-%02uT%02u:%02u:%02u", unsigned{d.year},
                unsigned{d.month}, unsigned{d.day}, unsigned{d.hours}, unsigned{d.minutes},
                unsigned{d.seconds});
  return buf;
}

json pair_field(const ble::spo2_pr& p) {
  json j;
  j["spo2_pct"] = medfloat_field(p.spo2_pct);
  j["pulse_rate_bpm"] = medfloat_field(p.pulse_rate_bpm);
  return j;
}

std::string format_time(core::timestamp t) {
  const auto ms = t.time_since_epoch().count();
  auto secs = static_cast<std::time_t>(ms / 1000);
  auto frac = static_cast<int>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

/// The decoded fields of one frame, in wire order.
json fields_of(const ble::decoded_frame& frame) {
  json f;
  std::visit(
      [&f](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ble::heart_rate_measurement>) {
          f["flags"] =
              bits_field(m.flags, 2, ble::flag_names(ble::characteristic::heart_rate_measurement));
          f["heart_rate_bpm"] = m.heart_rate_bpm;
          f["heart_rate_u16"] = m.heart_rate_u16;
          using contact = ble::heart_rate_measurement::contact;
          f["sensor_contact"] = m.sensor_contact == contact::in_contact   ? "in_contact"
                                : m.sensor_contact == contact::no_contact ? "no_contact"
                                                                          : "not_supported";
          if (m.energy_expended_kj) f["energy_expended_kj"] = *m.energy_expended_kj;
          if ((m.flags & 0x10) != 0) {
            json raw = json::array();
            json ms = json::array();
            for (std::size_t i = 0; i < m.rr_count(); ++i) {
              raw.push_back(m.rr(i));
              ms.push_back(static_cast<double>(m.rr(i)) * 1000.0 / 1024.0);
            }
            f["rr_intervals_1_1024s"] = std::move(raw);
            f["rr_intervals_ms"] = std::move(ms);
          }
        } else if constexpr (std::is_same_v<T, ble::plx_continuous>) {
          f["flags"] = bits_field(m.flags, 2, ble::flag_names(ble::characteristic::plx_continuous));
          f["normal"] = pair_field(m.normal);
          if (m.fast) f["fast"] = pair_field(*m.fast);
          if (m.slow) f["slow"] = pair_field(*m.slow);
          if (m.measurement_status) {
            f["measurement_status"] =
                bits_field(*m.measurement_status, 4, ble::plx_measurement_status_names());
          }
          if (m.device_sensor_status) {
            f["device_sensor_status"] =
                bits_field(*m.device_sensor_status, 6, ble::plx_device_status_names());
          }
          if (m.pulse_amplitude_index_pct) {
            f["pulse_amplitude_index_pct"] = medfloat_field(*m.pulse_amplitude_index_pct);
          }
        } else if constexpr (std::is_same_v<T, ble::plx_spot_check>) {
          f["flags"] = bits_field(m.flags, 2, ble::flag_names(ble::characteristic::plx_spot_check));
          f["spo2_pct"] = medfloat_field(m.reading.spo2_pct);
          f["pulse_rate_bpm"] = medfloat_field(m.reading.pulse_rate_bpm);
          if (m.timestamp) f["timestamp"] = date_time_field(*m.timestamp);
          if (m.measurement_status) {
            f["measurement_status"] =
                bits_field(*m.measurement_status, 4, ble::plx_measurement_status_names());
          }
          if (m.device_sensor_status) {
            f["device_sensor_status"] =
                bits_field(*m.device_sensor_status, 6, ble::plx_device_status_names());
          }
          if (m.pulse_amplitude_index_pct) {
            f["pulse_amplitude_index_pct"] = medfloat_field(*m.pulse_amplitude_index_pct);
          }
          f["device_clock_not_set"] = m.device_clock_not_set;
        } else if constexpr (std::is_same_v<T, ble::cgm_measurement>) {
          json records = json::array();
          for (const auto& r : m.view()) {
            json j;
            j["offset"] = r.offset;
            j["size"] = r.size;
            j["flags"] =
                bits_field(r.flags, 2, ble::flag_names(ble::characteristic::cgm_measurement));
            j["glucose_mg_dl"] = medfloat_field(r.glucose_mg_dl);
            j["time_offset_min"] = r.time_offset_min;
            if (r.status_octet) j["status_octet"] = hex(*r.status_octet, 2);
            if (r.cal_temp_octet) j["cal_temp_octet"] = hex(*r.cal_temp_octet, 2);
            if (r.warning_octet) j["warning_octet"] = hex(*r.warning_octet, 2);
            if (r.status_octet || r.cal_temp_octet || r.warning_octet) {
              j["annunciation"] = bits_field(r.annunciation, 6, ble::cgm_annunciation_names());
            }
            if (r.trend_mg_dl_min) j["trend_mg_dl_min"] = medfloat_field(*r.trend_mg_dl_min);
            if (r.quality_pct) j["quality_pct"] = medfloat_field(*r.quality_pct);
            if (r.e2e_crc) j["e2e_crc"] = hex(*r.e2e_crc, 4);
            j["crc_ok"] = r.crc_ok;
            records.push_back(std::move(j));
          }
          f["records"] = std::move(records);
        } else if constexpr (std::is_same_v<T, ble::cgm_session_start_time>) {
          f["session_start_time"] = date_time_field(m.start);
          f["time_zone_quarters"] = m.time_zone_quarters;
          f["dst_offset"] = m.dst_offset;
          if (m.e2e_crc) f["e2e_crc"] = hex(*m.e2e_crc, 4);
          f["crc_ok"] = m.crc_ok;
          if (const auto start = ble::session_start(m)) {
            f["session_start_utc"] = format_time(*start);
          } else {
            f["session_start_utc"] = nullptr;
          }
        }
      },
      frame);
  return f;
}

/// Options of `vitalsctl decode`.
struct decode_options {
  std::string characteristic_text;
  std::vector<std::string> payloads;
  bool json_output = false;
  std::string crc = "detect";
  std::string session_start_text;
};

/// Decodes payloads one at a time and prints each; remembers whether any failed.
class decoder {
 public:
  decoder(ble::characteristic c, ble::crc_mode crc, std::optional<core::timestamp> session_start,
          bool json_output)
      : characteristic_(c), crc_(crc), json_(json_output) {
    ctx_.patient = core::short_id::truncate("vitalsctl");
    ctx_.device = core::short_id::truncate("vitalsctl");
    ctx_.cgm_session_start = session_start;
  }

  /// Decodes and prints one payload; `where` says which one in error messages ("line 3").
  void run(std::string_view text, const std::string& where) {
    ++count_;
    json out;
    out["payload"] = std::string(text);
    out["characteristic"] = std::string(ble::to_string(characteristic_));
    out["uuid"] = hex(ble::uuid16(characteristic_), 4).substr(2);

    std::array<std::uint8_t, max_payload_bytes> buffer{};
    std::size_t size = 0;
    auto error = ble::parse_hex(text, buffer, size);
    if (!error) {
      error = ble::decode(characteristic_, std::span<const std::uint8_t>(buffer.data(), size),
                          frame_, crc_);
    }
    if (error) {
      ++failed_;
      out["ok"] = false;
      out["error"] = error->describe();
      out["code"] = std::string(ble::to_string(error->code));
      out["field"] = std::string(error->field);
      out["offset"] = error->offset;
      out["needed"] = error->needed;
      out["available"] = error->available;
      if (json_) {
        print_json(out);
      } else {
        print_header(text, size, true);
        std::fflush(stdout);
        std::fprintf(stderr, "error: %s%s\n", error->describe().c_str(),
                     where.empty() ? "" : (" (" + where + ")").c_str());
      }
      return;
    }

    out["ok"] = true;
    out["fields"] = fields_of(frame_);
    samples_.clear();
    ctx_.receive_time = core::now_ms();
    const auto outcome = ble::to_samples(frame_, ctx_, samples_);
    std::uint16_t quality = 0;
    json samples = json::array();
    for (const auto& s : samples_) {
      quality |= s.quality;
      json j;
      j["kind"] = std::string(core::to_string(s.kind));
      if ((s.quality & core::quality_no_value) != 0) {
        j["value"] = nullptr;
      } else {
        j["value"] = s.value;
      }
      j["unit"] = std::string(core::canonical_unit(s.kind));
      j["time"] = format_time(s.device_time);
      j["quality"] = bit_names(s.quality, quality_bits);
      j["conditions"] = bit_names(s.conditions, condition_bits);
      if (s.device_status != 0) j["device_status"] = hex(s.device_status, 6);
      samples.push_back(std::move(j));
    }
    out["samples"] = std::move(samples);
    if (characteristic_ == ble::characteristic::cgm_measurement) {
      out["crc_failures"] = outcome.crc_failures;
    }
    out["conditions"] = bit_names(outcome.conditions, condition_bits);
    out["quality"] = bit_names(quality, quality_bits);
    if (json_) {
      print_json(out);
    } else {
      print_human(text, size, out);
    }
  }

  /// Payloads seen so far and how many failed.
  std::size_t count() const noexcept { return count_; }
  std::size_t failed() const noexcept { return failed_; }

 private:
  void print_json(const json& out) {
    std::printf("%s\n", out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    std::fflush(stdout);
  }

  void print_header(std::string_view text, std::size_t size, bool failed) {
    if (count_ > 1) std::printf("\n");
    std::printf("payload: %.*s (%s 0x%04X", static_cast<int>(text.size()), text.data(),
                std::string(ble::to_string(characteristic_)).c_str(),
                unsigned{ble::uuid16(characteristic_)});
    if (!failed) std::printf(", %zu byte%s", size, size == 1 ? "" : "s");
    std::printf(")\n");
  }

  static std::string scalar(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "none";
    if (v.is_number_float()) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.10g", v.get<double>());
      return buf;
    }
    return v.dump();
  }

  static std::string names(const json& list) {
    if (list.empty()) return "none";
    std::string s;
    for (const auto& n : list) {
      if (!s.empty()) s += ' ';
      s += n.get<std::string>();
    }
    return s;
  }

  /// "name: value" lines; flags and statuses as "0x.. bit bit", records indented.
  static void print_fields(const json& fields, const std::string& indent) {
    for (const auto& [key, v] : fields.items()) {
      if (v.is_object() && v.contains("bits")) {
        std::printf("%s%s: %s %s\n", indent.c_str(), key.c_str(),
                    v["hex"].get<std::string>().c_str(), names(v["bits"]).c_str());
      } else if (v.is_object()) {
        std::printf("%s%s:\n", indent.c_str(), key.c_str());
        print_fields(v, indent + "  ");
      } else if (v.is_array() && !v.empty() && v.front().is_object()) {
        std::printf("%s%s: %zu\n", indent.c_str(), key.c_str(), v.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
          std::printf("%s%s[%zu]:\n", indent.c_str(), key.c_str(), i);
          print_fields(v[i], indent + "  ");
        }
      } else if (v.is_array()) {
        std::string s;
        for (const auto& e : v) s += (s.empty() ? "" : " ") + scalar(e);
        std::printf("%s%s: %s\n", indent.c_str(), key.c_str(), s.empty() ? "none" : s.c_str());
      } else {
        std::printf("%s%s: %s\n", indent.c_str(), key.c_str(), scalar(v).c_str());
      }
    }
  }

  void print_human(std::string_view text, std::size_t size, const json& out) {
    print_header(text, size, false);
    print_fields(out["fields"], "");
    for (const auto& s : out["samples"]) {
      std::string line = "sample: " + s["kind"].get<std::string>() + " ";
      line += s["value"].is_null() ? "(no value)"
                                   : scalar(s["value"]) + " " + s["unit"].get<std::string>();
      line += ", time " + s["time"].get<std::string>();
      if (!s["conditions"].empty()) line += ", conditions " + names(s["conditions"]);
      if (!s["quality"].empty()) line += ", quality " + names(s["quality"]);
      std::printf("%s\n", line.c_str());
    }
    if (out.contains("crc_failures") && out["crc_failures"].get<std::size_t>() > 0) {
      std::printf("crc_failures: %zu (records dropped)\n", out["crc_failures"].get<std::size_t>());
    }
    std::printf("conditions: %s\n", names(out["conditions"]).c_str());
    std::printf("quality: %s\n", names(out["quality"]).c_str());
    std::fflush(stdout);
  }

  ble::characteristic characteristic_;
  ble::crc_mode crc_;
  bool json_;
  ble::frame_context ctx_;
  ble::decoded_frame frame_;
  std::vector<core::sample> samples_;
  std::size_t count_ = 0;
  std::size_t failed_ = 0;
};

using core::trim;

/// Payloads from stdin, one per line; blank lines and lines starting with '#' are skipped.
void decode_stdin(decoder& d) {
  std::string line;
  std::size_t number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    const auto text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    d.run(text, "line " + std::to_string(number));
  }
}

int run_decode(const decode_options& o) {
  // Validated by the option checks already.
  const auto c = *ble::parse_characteristic(o.characteristic_text);
  const auto crc = o.crc == "required" ? ble::crc_mode::required
                   : o.crc == "absent" ? ble::crc_mode::absent
                                       : ble::crc_mode::detect;
  std::optional<core::timestamp> session_start;
  if (!o.session_start_text.empty()) {
    session_start = vitals::core::parse_rfc3339(o.session_start_text);
  }
  decoder d(c, crc, session_start, o.json_output);
  if (o.payloads.empty()) {
    decode_stdin(d);
  } else {
    std::size_t index = 0;
    for (const auto& p : o.payloads) {
      ++index;
      if (p == "-") {
        decode_stdin(d);
        continue;
      }
      d.run(trim(p), o.payloads.size() > 1 ? "payload " + std::to_string(index) : "");
    }
  }
  return d.failed() == 0 ? 0 : exit_decode_failed;
}

/// Prints the generated blocks (with their markers, ready to paste into a sample.toml).
int run_config_sample(const std::vector<std::string>& ids) {
  const auto& plugins = vitals::adapters::registry();
  std::vector<vitals::config::sample_block> blocks;
  if (ids.empty()) {
    blocks = vitals::config::plugin_samples(plugins);
  } else {
    for (const auto& id : ids) {
      auto b = vitals::config::plugin_sample(plugins, id);
      if (b.text.empty()) {
        std::fprintf(stderr, "vitalsctl: no plugin block '%s' (try without an id for all)\n",
                     id.c_str());
        return vitals::ctl::exit_usage;
      }
      blocks.push_back(std::move(b));
    }
  }
  for (const auto& b : blocks) {
    std::printf("## >>> %s\n%s## <<< %s\n\n", b.id.c_str(), b.text.c_str(), b.id.c_str());
  }
  return 0;
}

/// Rewrites the marked blocks of each file; says which files changed.
int run_config_update(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "vitalsctl: cannot read %s\n", f.c_str());
      return vitals::ctl::exit_usage;
    }
    std::ostringstream text;
    text << in.rdbuf();
    const auto updated =
        vitals::config::with_generated_samples(text.str(), vitals::adapters::registry());
    if (updated == text.str()) continue;
    std::ofstream(f, std::ios::binary | std::ios::trunc) << updated;
    std::printf("updated %s\n", f.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"vitalsctl - tools for operating vitalsd.", "vitalsctl"};
  cli.require_subcommand(1);
  cli.footer(
      "Examples:\n"
      "  vitalsctl decode --char 2a37 0655     decode a Heart Rate Measurement value\n"
      "  vitalsctl decode --help               the decoder's options and more examples\n"
      "  vitalsctl config-sample sources.mqtt  the documented [[sources]] block of a plugin\n"
      "  vitalsctl backup /var/backups/vitalsd.db   copy the database while vitalsd runs\n"
      "  scripts/update_samples.sh             regenerate every plugin block in the tree");

  decode_options o;
  auto* decode =
      cli.add_subcommand("decode", "Decode BLE GATT characteristic values (hex) as vitalsd does");
  decode
      ->add_option("-c,--char", o.characteristic_text,
                   "Characteristic: UUID (2a37, 0x2A5F, 00002aa7-0000-1000-8000-00805f9b34fb) or "
                   "name (hr, plx-cont, plx-spot, cgm, cgm-session-start, heart_rate_measurement, "
                   "plx_continuous, plx_spot_check, cgm_measurement, cgm_session_start_time)")
      ->required()
      ->option_text("UUID|NAME")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (ble::parse_characteristic(text)) return {};
            return "unknown characteristic '" + text +
                   "': expected 2a37, 2a5e, 2a5f, 2aa7, 2aaa or a name (hr, plx-spot, plx-cont, "
                   "cgm, cgm-session-start)";
          },
          "", "characteristic"));
  decode->add_option("payload", o.payloads,
                     "Characteristic values in hex (\"0655\", \"06 55\", \"06:55\"); none or '-': "
                     "read them from stdin, one per line (blank lines and '#' lines skipped)");
  decode->add_flag("--json", o.json_output,
                   "One JSON object per payload per line: fields, samples, conditions, quality; "
                   "or error, code, field, offset");
  decode
      ->add_option("--crc", o.crc,
                   "CGM E2E-CRC: detect (a record 2 bytes longer than its flags imply carries "
                   "one), required (every record must), absent (none may)")
      ->check(CLI::IsMember({"detect", "required", "absent"}))
      ->default_str("detect")
      ->option_text("MODE");
  decode
      ->add_option("--session-start", o.session_start_text,
                   "CGM session start (RFC 3339, e.g. 2026-11-28T00:00:00Z): record time = start "
                   "+ time offset. Without it the newest record of a notification is 'now'")
      ->option_text("TIME")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (vitals::core::parse_rfc3339(text)) return {};
            return "not an RFC 3339 date-time: '" + text + "'";
          },
          "", "rfc3339"));
  decode->footer(
      "Prints the fields, flags and status bits of each value, and the samples with the quality\n"
      "flags and technical conditions vitalsd makes of it (sample times use a dummy receive time\n"
      "of now), or the precise decode error (field and byte offset; on stderr without --json).\n"
      "Exit code: 0 when every payload decoded, 1 when any did not (the others are still decoded\n"
      "and printed), 2 for usage errors such as an unknown characteristic.\n"
      "\n"
      "Examples:\n"
      "  vitalsctl decode --char 2a37 0655               heart rate 85, sensor contact\n"
      "  vitalsctl decode --char hr 0655 1e5532002100    several payloads\n"
      "  vitalsctl decode --char plx-cont --json 1c5f005a00200000000057f0\n"
      "  vitalsctl decode --char cgm --crc required --session-start 2026-11-28T00:00:00Z \\\n"
      "      08000c100600596f\n"
      "  mosquitto_sub -t 'ble/#' | jq -r .value | vitalsctl decode --char 2a5f --json\n"
      "  vitalsctl decode --char 2a37 < frames.txt       one hex payload per line");

  std::vector<std::string> sample_ids;
  auto* sample = cli.add_subcommand(
      "config-sample",
      "Print the documented configuration block of plugins, generated from their option tables");
  sample->add_option("id", sample_ids,
                     "Block ids: \"mqtt\" (a shared section), \"sources.TYPE\", "
                     "\"receivers.TYPE\"; none: every plugin's");
  std::vector<std::string> update_files;
  auto* update = cli.add_subcommand(
      "config-update",
      "Rewrite the blocks between '## >>> ID' and '## <<< ID' lines of files (a plugin folder's "
      "sample.toml, config/vitalsd.example.toml) with the generated ones");
  update->add_option("file", update_files, "Files to rewrite in place")->required();

  vitals::ctl::api_target target;
  vitals::ctl::alerts_args alerts;
  std::string config_path;
  int result = vitals::ctl::exit_ok;
  vitals::ctl::add_api_commands(cli, target, alerts, config_path, result);
  const auto patient_args = vitals::ctl::add_patient_commands(cli, target, result);
  vitals::ctl::db_args db;
  vitals::ctl::add_db_commands(cli, db, result);
  cli.set_version_flag("-V,--version", "vitalsctl " VITALS_VERSION);

  if (argc > 1 && argv[1][0] != '-') {
    // CLI11 would only say "A subcommand is required" for a mistyped command.
    std::vector<std::string> names;
    for (const auto* c : cli.get_subcommands({})) names.push_back(c->get_name());
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::fprintf(stderr, "vitalsctl: unknown command '%s'; commands: %s\n", argv[1],
                   vitals::core::join_names(names).c_str());
      return vitals::ctl::exit_usage;
    }
  }
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every usage error exits 2, not CLI11's own codes.
    const int code = cli.exit(e);
    return code == 0 ? vitals::ctl::exit_ok : vitals::ctl::exit_usage;
  }
  if (decode->parsed()) return run_decode(o);
  if (sample->parsed()) return run_config_sample(sample_ids);
  if (update->parsed()) return run_config_update(update_files);
  return result;
}
