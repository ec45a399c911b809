#include "compact_decoder.hpp"

#include <array>
#include <cmath>
#include <cstdint>

#include <vitals/core/ascii.hpp>
#include <vitals/core/rfc3339.hpp>

namespace vitals::adapters::mqtt::detail {

// decode_reading() and its steps have internal linkage on purpose, and the walk over the
// document is in this file too: GCC then inlines the steps into decode_reading(), with the loop
// over the reading's keys, and passes it the reading object in registers, as it did when the
// decoder was one file. As external functions they cost about half as much again per compact
// message (bench/gatt_bench.cpp).

namespace {

using core::iequals;

/// Factor from `unit` to the canonical unit of `kind`; nullopt when the unit does not fit.
/// Case-insensitive because "mmol/l" and "BPM" are common and never ambiguous here.
std::optional<double> unit_factor(core::vital_kind kind, std::string_view unit) noexcept {
  switch (kind) {
    case core::vital_kind::heart_rate:
      if (iequals(unit, "bpm") || iequals(unit, "beats/min") || unit == "/min" || unit == "1/min")
        return 1.0;
      return std::nullopt;
    case core::vital_kind::spo2:
      if (unit == "%") return 1.0;
      return std::nullopt;
    case core::vital_kind::glucose:
      if (iequals(unit, "mg/dL")) return 1.0;
      if (iequals(unit, "mmol/L")) return core::glucose_mgdl_per_mmol;
      return std::nullopt;
  }
  return std::nullopt;
}

/// One vital found in a reading: its value in canonical units, or why it was rejected.
struct vital_slot {
  bool present = false;
  double value = 0.0;
  std::optional<problem> error;
};

/// What the keys of one reading held.
struct reading {
  std::array<vital_slot, core::vital_kind_count> vitals{};
  reading_ids ids;
  std::optional<core::timestamp> ts;
  std::optional<std::uint64_t> seq;
  first_problem fail;        // the first reading-level problem rejects the whole reading
  omh_point* omh = nullptr;  // set once a "header" or "body" object is seen
};

/// Parses a vital given as a number or as {"value":..,"unit":..}.
vital_slot parse_vital(od::value v, core::vital_kind kind, std::string_view field) {
  vital_slot slot;
  slot.present = true;
  od::json_type type;
  if (auto e = v.type().get(type)) throw broken_json{e};
  double value = 0.0;
  bool have_value = false;
  double factor = 1.0;
  if (type == od::json_type::number) {
    if (v.get_double().get(value)) {
      slot.error = problem{core::reject_reason::bad_value, field, "number out of range"};
      return slot;
    }
    have_value = true;
  } else if (type == od::json_type::object) {
    od::object obj;
    if (auto e = v.get_object().get(obj)) throw broken_json{e};
    std::optional<std::string_view> unit;
    each_field(obj, [&](std::string_view key, od::value& inner) {
      if (key == "value") {
        od::json_type t;
        if (auto e = inner.type().get(t)) throw broken_json{e};
        if (t != od::json_type::number || inner.get_double().get(value)) {
          if (!slot.error)
            slot.error = problem{
                core::reject_reason::bad_value, field,
                t == od::json_type::number ? "number out of range" : "value is not a number"};
        } else {
          have_value = true;
        }
      } else if (key == "unit") {
        std::string_view u;
        if (inner.get_string().get(u)) {
          if (!slot.error)
            slot.error = problem{core::reject_reason::wrong_type, field, "unit is not a string"};
        } else {
          unit = u;
        }
      }
    });
    if (slot.error) return slot;
    if (!have_value) {
      slot.error = problem{core::reject_reason::missing_field, field, "value missing"};
      return slot;
    }
    // No default unit in the object form: 5.4 glucose read as mg/dL instead of mmol/L would
    // look like a severe hypoglycaemia.
    if (!unit) {
      slot.error = problem{core::reject_reason::missing_field, field, "unit missing"};
      return slot;
    }
    const auto f = unit_factor(kind, *unit);
    if (!f) {
      slot.error = problem{core::reject_reason::bad_unit, field, "unit not valid for this vital"};
      return slot;
    }
    factor = *f;
  } else {
    slot.error = problem{core::reject_reason::bad_value, field, "value is not a number"};
    return slot;
  }
  value *= factor;
  if (!std::isfinite(value)) {
    slot.error = problem{core::reject_reason::bad_value, field, "not a finite number"};
    return slot;
  }
  slot.value = value;
  return slot;
}

/// "ts": integer epoch milliseconds or RFC 3339 text.
void read_ts(od::value v, reading& r) {
  od::json_type t;
  if (auto e = v.type().get(t)) throw broken_json{e};
  if (t == od::json_type::number) {
    std::int64_t ms = 0;
    if (v.get_int64().get(ms))
      r.fail({core::reject_reason::bad_timestamp, "ts", "not integer epoch milliseconds"});
    else
      r.ts = core::timestamp{std::chrono::milliseconds{ms}};
  } else if (t == od::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) throw broken_json{e};
    r.ts = core::parse_rfc3339(s);
    if (!r.ts) r.fail({core::reject_reason::bad_timestamp, "ts", "not RFC 3339"});
  } else {
    r.fail({core::reject_reason::wrong_type, "ts", "not a number or string"});
  }
}

/// Open mHealth (format 2): read here, in the same pass, so that compact readings pay nothing
/// for the detection; an object with both parts is decoded by the omh_decoder.
void read_omh_part(std::string_view key, od::value v, reading& r, omh_decoder& omh) {
  od::json_type t;
  if (auto e = v.type().get(t)) throw broken_json{e};
  if (t != od::json_type::object) return;
  if (!r.omh) r.omh = &omh.start_point();
  od::object part;
  if (auto e = v.get_object().get(part)) throw broken_json{e};
  if (key == "header") {
    r.omh->header = true;
    omh_decoder::parse_header(part, *r.omh);
  } else {
    r.omh->body = true;
    omh_decoder::parse_body(part, *r.omh);
  }
}

/// One key of a reading. Keys other than ours (battery, rssi, ...) are ignored so that devices
/// can add fields.
void read_field(std::string_view key, od::value v, const decode_context& ctx, reading& r,
                omh_decoder& omh) {
  if (key == "device" || key == "patient") {
    std::string_view s;
    if (v.get_string().get(s)) {
      r.fail({core::reject_reason::wrong_type, key == "device" ? "device" : "patient",
              "not a string"});
    } else {
      (key == "device" ? r.ids.device : r.ids.patient) = s;
    }
  } else if (key == "ts") {
    read_ts(v, r);
  } else if (key == "seq") {
    std::uint64_t n = 0;
    if (v.get_uint64().get(n))
      r.fail({core::reject_reason::wrong_type, "seq", "not an unsigned integer"});
    else
      r.seq = n;
  } else if (key == "value" && ctx.kind) {
    r.vitals[static_cast<std::size_t>(*ctx.kind)] = parse_vital(v, *ctx.kind, "value");
  } else if (const auto kind = core::parse_vital_kind(key)) {
    r.vitals[static_cast<std::size_t>(*kind)] = parse_vital(v, *kind, core::to_string(*kind));
  } else if (key == "header" || key == "body") {
    read_omh_part(key, v, r, omh);
  }
}

/// The reading-level rules: ids, a time in the window, at least one vital.
void check(reading& r, const decode_context& ctx, const reading_checks& checks) {
  checks.check_ids(ctx, r.ids, "device", "patient", r.fail);
  if (!r.ts && !r.fail.error) r.fail({core::reject_reason::missing_field, "ts", "missing"});
  if (r.ts) checks.check_time(*r.ts, ctx, "ts", r.fail);

  bool any_vital = false;
  for (const auto& v : r.vitals) any_vital = any_vital || v.present;
  if (any_vital) return;
  if (ctx.kind)
    r.fail({core::reject_reason::missing_field, "value", "missing"});
  else if (r.omh)  // half an Open mHealth data point: say so rather than "no device"
    r.fail.error = problem{core::reject_reason::missing_field, r.omh->header ? "body" : "header",
                           "Open mHealth data point needs both header and body objects"};
  else
    r.fail({core::reject_reason::unknown_vital, "", "no known vital (hr, spo2, glucose)"});
}

/// One sample per good vital of a checked reading; a vital with a bad value or unit is one
/// rejection of its own.
void emit(const reading& r, std::optional<std::size_t> index, const decode_context& ctx,
          std::vector<core::sample>& out, std::string& msg, rejection_tally& tally) {
  auto s = checked_sample(r.ids, *r.ts, ctx);
  if (r.seq) {
    s.sequence = *r.seq;
    s.has_sequence = true;
  }
  for (std::size_t k = 0; k < r.vitals.size(); ++k) {
    const auto& v = r.vitals[k];
    if (!v.present) continue;
    if (v.error) {
      tally.note(*v.error, index, msg);
      continue;
    }
    s.kind = static_cast<core::vital_kind>(k);
    s.value = v.value;
    out.push_back(s);
  }
}

/// Decodes one reading object; appends its samples or notes its rejections.
void decode_reading(od::object obj, std::optional<std::size_t> index, const decode_context& ctx,
                    std::vector<core::sample>& out, std::string& msg, const reading_checks& checks,
                    rejection_tally& tally, omh_decoder& omh) {
  reading r;
  // Not each_field(): this loop runs for every compact message, and the helper is not inlined.
  for (auto f : obj) {
    if (f.error()) throw broken_json{f.error()};
    std::string_view key;
    if (auto e = f.unescaped_key().get(key)) throw broken_json{e};
    od::value v;
    if (auto e = f.value().get(v)) throw broken_json{e};
    read_field(key, v, ctx, r, omh);
  }
  if (r.omh && r.omh->header && r.omh->body) {
    omh.decode(*r.omh, index, ctx, out, msg);
    return;
  }
  check(r, ctx, checks);
  if (r.fail.error) {
    tally.note(*r.fail.error, index, msg);
    return;
  }
  emit(r, index, ctx, out, msg, tally);
}

}  // namespace

bool compact_decoder::decode_document(od::document& doc, const decode_context& ctx,
                                      std::vector<core::sample>& out, std::string& msg) {
  od::json_type type;
  if (auto e = doc.type().get(type)) throw broken_json{e};
  if (type == od::json_type::array) {
    od::array arr;
    if (auto e = doc.get_array().get(arr)) throw broken_json{e};
    std::size_t index = 0;
    for (auto element : arr) {
      od::value v;
      if (auto e = element.get(v)) throw broken_json{e};
      od::json_type t;
      if (auto e = v.type().get(t)) throw broken_json{e};
      if (t == od::json_type::object) {
        od::object obj;
        if (auto e = v.get_object().get(obj)) throw broken_json{e};
        decode_reading(obj, index, ctx, out, msg, checks_, tally_, omh_);
      } else {
        tally_.note(problem{core::reject_reason::wrong_type, "", "not an object"}, index, msg);
      }
      ++index;
    }
    return true;
  }
  if (type == od::json_type::object) {
    od::object obj;
    if (auto e = doc.get_object().get(obj)) throw broken_json{e};
    decode_reading(obj, std::nullopt, ctx, out, msg, checks_, tally_, omh_);
    return true;
  }
  return false;
}

}  // namespace vitals::adapters::mqtt::detail
