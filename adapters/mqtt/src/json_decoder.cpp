#include <vitals/adapters/mqtt/json_decoder.hpp>
#include <vitals/core/rfc3339.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>

#include <simdjson.h>

namespace vitals::adapters::mqtt {

namespace sj = simdjson;
namespace od = simdjson::ondemand;
using namespace std::chrono_literals;

namespace {

/// Oldest device time accepted: anything earlier is a device with an unset clock (1970) or a
/// timestamp sent in seconds instead of milliseconds.
constexpr core::timestamp earliest_ts{
    std::chrono::sys_days{std::chrono::year{2000} / std::chrono::January / 1}};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// Ids end up in logs, the database and notifications: control bytes have no place there.
bool valid_id_text(std::string_view s) noexcept {
  if (s.empty() || s.size() > core::short_id::max_size) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

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

/// A problem found while decoding: the counted reason and a message free of payload data.
struct problem {
  core::reject_reason reason;
  std::string_view field;  ///< a field name of ours (never a key taken from the payload)
  std::string_view what;
};

/// One supported Open mHealth schema (format 2 of reference/formats.md) and its body measure.
struct omh_schema {
  std::string_view name;                            ///< schema_id.name in namespace "omh"
  core::vital_kind kind;                            ///< what its measure becomes
  std::string_view measure;                         ///< key of the measure in the body
  std::string_view field, value_field, unit_field;  ///< our names for messages
  int max_major;  ///< versions 1.x to max_major.x have the same measure shape
};

constexpr std::array<omh_schema, core::vital_kind_count> omh_schemas{{
    {"heart-rate", core::vital_kind::heart_rate, "heart_rate", "body.heart_rate",
     "body.heart_rate.value", "body.heart_rate.unit", 2},
    {"oxygen-saturation", core::vital_kind::spo2, "oxygen_saturation", "body.oxygen_saturation",
     "body.oxygen_saturation.value", "body.oxygen_saturation.unit", 2},
    {"blood-glucose", core::vital_kind::glucose, "blood_glucose", "body.blood_glucose",
     "body.blood_glucose.value", "body.blood_glucose.unit", 4},
}};

/// Factor from an Open mHealth unit to the canonical unit of `kind`. Exact spelling only: the
/// schemas enumerate their units, so anything else is a producer bug, not a variant.
std::optional<double> omh_unit_factor(core::vital_kind kind, std::string_view unit) noexcept {
  switch (kind) {
    case core::vital_kind::heart_rate:
      if (unit == "beats/min") return 1.0;
      return std::nullopt;
    case core::vital_kind::spo2:
      if (unit == "%") return 1.0;
      return std::nullopt;
    case core::vital_kind::glucose:
      if (unit == "mg/dL") return 1.0;
      if (unit == "mmol/L") return core::glucose_mgdl_per_mmol;
      return std::nullopt;
  }
  return std::nullopt;
}

/// Major number of a schema version ("2.0", "4", "1.0.1"); nullopt when it is not one.
std::optional<int> schema_major(std::string_view v) noexcept {
  int major = 0;
  std::size_t pos = 0;
  while (pos < v.size() && v[pos] >= '0' && v[pos] <= '9' && pos < 4)
    major = major * 10 + (v[pos++] - '0');
  if (pos == 0) return std::nullopt;
  for (int parts = 0; pos < v.size(); ++parts) {
    if (parts == 2 || v[pos] != '.') return std::nullopt;
    const std::size_t start = ++pos;
    while (pos < v.size() && v[pos] >= '0' && v[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  return major;
}

/// Appends a schema id part to a message when it is a plain token ("heart-rate", "2.0"); a
/// schema names a format, not a person, but the text still comes from the payload.
void append_schema_part(std::string& out, std::optional<std::string_view> part) {
  bool plain = part && !part->empty() && part->size() <= 40;
  if (plain) {
    for (const char c : *part) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
      plain = plain && ok;
    }
  }
  out += plain ? *part : std::string_view{"?"};
}

}  // namespace

struct json_decoder::impl {
  impl(decoder_options o, core::stats& st) : options(std::move(o)), stats(st) {
    for (const auto& [device, patient] : options.device_patients) {
      if (!valid_id_text(device))
        throw std::invalid_argument("device_patients: device id '" + device +
                                    "' is empty, longer than 47 bytes or has control characters");
      if (!valid_id_text(patient))
        throw std::invalid_argument("device_patients: patient id of device '" + device +
                                    "' is empty, longer than 47 bytes or has control characters");
      patients.emplace(device, *core::short_id::make(patient));
    }
  }

  /// Thrown out of the reading loop when the document itself is broken; no exceptions otherwise.
  struct broken_json {
    sj::error_code code;
  };

  /// Calls `fn(key, value)` for each field of `obj` in document order; throws broken_json when
  /// the document is broken; `return` in `fn` skips to the next field. Used by the Open mHealth
  /// code only: the compact loops keep their own copy, as the helper is not inlined at -O3 and
  /// the out-of-line call measured ~9% slower per compact message.
  template <class Fn>
  static void each_field(od::object& obj, Fn&& fn) {
    for (auto f : obj) {
      if (f.error()) throw broken_json{f.error()};
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) throw broken_json{e};
      od::value v;
      if (auto e = f.value().get(v)) throw broken_json{e};
      fn(key, v);
    }
  }

  /// One vital found in a reading: its value in canonical units, or why it was rejected.
  struct vital_slot {
    bool present = false;
    double value = 0.0;
    std::optional<problem> error;
  };

  void note(const problem& p, std::optional<std::size_t> index, std::string& msg) {
    ++pending[static_cast<std::size_t>(p.reason)];
    if (!first) {
      first = p.reason;
      msg.clear();
      if (index) {
        msg += "reading ";
        msg += std::to_string(*index);
        msg += ": ";
      }
      if (!p.field.empty()) {
        msg += "field '";
        msg += p.field;
        msg += "': ";
      }
      msg += p.what;
    }
  }

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
      for (auto f : obj) {
        if (f.error()) throw broken_json{f.error()};
        std::string_view key;
        if (auto e = f.unescaped_key().get(key)) throw broken_json{e};
        od::value inner;
        if (auto e = f.value().get(inner)) throw broken_json{e};
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
      }
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

  /// One Open mHealth measure ({"value":..,"unit":..}) as read; checked once the schema is known.
  struct omh_measure {
    bool present = false;
    bool have_value = false;
    double value = 0.0;
    std::optional<std::string_view> unit;
    std::optional<problem> error;  // wrong types inside it
  };

  /// What the "header" and "body" of one reading held. Either may come first, so everything is
  /// collected before the schema decides which measure counts.
  struct omh_point {
    bool header = false;           // "header" seen as an object
    bool body = false;             // "body" seen as an object
    std::optional<problem> error;  // first wrong type in the header or the time frame
    bool schema = false;
    std::optional<std::string_view> ns, name, version, user_id, source_name;
    std::array<omh_measure, core::vital_kind_count> measures{};
    bool time_frame = false;
    bool interval = false;
    std::optional<std::string_view> date_time, start_date_time, end_date_time;
  };

  /// Reads a string field of an Open mHealth object; wrong_type (named `field`) otherwise.
  static void omh_string(od::value v, std::optional<std::string_view>& to, std::string_view field,
                         std::optional<problem>& error) {
    std::string_view s;
    if (v.get_string().get(s)) {
      if (!error) error = problem{core::reject_reason::wrong_type, field, "not a string"};
    } else {
      to = s;
    }
  }

  /// Gets `v` as an object; false (after noting wrong_type for `field`) when it is not one.
  static bool omh_object(od::value v, od::object& obj, std::string_view field,
                         std::optional<problem>& error) {
    od::json_type t;
    if (auto e = v.type().get(t)) throw broken_json{e};
    if (t != od::json_type::object) {
      if (!error) error = problem{core::reject_reason::wrong_type, field, "not an object"};
      return false;
    }
    if (auto e = v.get_object().get(obj)) throw broken_json{e};
    return true;
  }

  static void parse_omh_header(od::object header, omh_point& p) {
    each_field(header, [&p](std::string_view key, od::value v) {
      if (key == "schema_id") {
        od::object schema;
        if (!omh_object(v, schema, "header.schema_id", p.error)) return;
        p.schema = true;
        each_field(schema, [&p](std::string_view k, od::value w) {
          if (k == "namespace")
            omh_string(w, p.ns, "header.schema_id.namespace", p.error);
          else if (k == "name")
            omh_string(w, p.name, "header.schema_id.name", p.error);
          else if (k == "version")
            omh_string(w, p.version, "header.schema_id.version", p.error);
        });
      } else if (key == "user_id") {
        omh_string(v, p.user_id, "header.user_id", p.error);
      } else if (key == "acquisition_provenance") {
        od::object prov;
        if (!omh_object(v, prov, "header.acquisition_provenance", p.error)) return;
        each_field(prov, [&p](std::string_view k, od::value w) {
          if (k == "source_name")
            omh_string(w, p.source_name, "header.acquisition_provenance.source_name", p.error);
        });
      }
      // id (a UUID, not a sequence number), creation_date_time and the rest are not used.
    });
  }

  static void parse_omh_measure(od::value v, const omh_schema& schema, omh_measure& m) {
    m.present = true;
    od::object obj;
    if (!omh_object(v, obj, schema.field, m.error)) return;
    each_field(obj, [&schema, &m](std::string_view key, od::value inner) {
      if (key == "value") {
        od::json_type t;
        if (auto e = inner.type().get(t)) throw broken_json{e};
        if (t != od::json_type::number || inner.get_double().get(m.value)) {
          if (!m.error)
            m.error = problem{
                core::reject_reason::bad_value, schema.value_field,
                t == od::json_type::number ? "number out of range" : "value is not a number"};
        } else {
          m.have_value = true;
        }
      } else if (key == "unit") {
        omh_string(inner, m.unit, schema.unit_field, m.error);
      }
    });
  }

  static void parse_omh_body(od::object body, omh_point& p) {
    each_field(body, [&p](std::string_view key, od::value v) {
      if (key == "effective_time_frame") {
        od::object frame;
        if (!omh_object(v, frame, "body.effective_time_frame", p.error)) return;
        p.time_frame = true;
        each_field(frame, [&p](std::string_view k, od::value w) {
          if (k == "date_time") {
            omh_string(w, p.date_time, "body.effective_time_frame.date_time", p.error);
          } else if (k == "time_interval") {
            od::object interval;
            if (!omh_object(w, interval, "body.effective_time_frame.time_interval", p.error))
              return;
            p.interval = true;
            each_field(interval, [&p](std::string_view ik, od::value x) {
              if (ik == "end_date_time")
                omh_string(x, p.end_date_time,
                           "body.effective_time_frame.time_interval.end_date_time", p.error);
              else if (ik == "start_date_time")
                omh_string(x, p.start_date_time,
                           "body.effective_time_frame.time_interval.start_date_time", p.error);
            });
          }
        });
        return;
      }
      for (const auto& schema : omh_schemas) {
        if (key == schema.measure) {
          parse_omh_measure(v, schema, p.measures[static_cast<std::size_t>(schema.kind)]);
          break;
        }
      }
      // measurement_method, specimen_source, temporal_relationship_to_meal, ... are not used.
    });
  }

  /// Device and patient of a reading against the topic and the device map, the same rules for
  /// both formats; `device_field` and `patient_field` name where the payload carries them.
  /// Leaves `patient` unset when the device map supplies it (then `mapped` is set).
  template <class Fail>
  void check_ids(const decode_context& ctx, std::optional<std::string_view>& device,
                 std::optional<std::string_view>& patient, std::optional<core::short_id>& mapped,
                 std::string_view device_field, std::string_view patient_field, Fail&& fail) {
    // Device: from the topic or the payload; both present and different means someone publishes
    // under another device's topic, and attributing the data to either would be a guess.
    if (ctx.device && device && *ctx.device != *device)
      fail({core::reject_reason::bad_id, device_field, "disagrees with the topic"});
    if (!device) device = ctx.device;
    if (!device)
      fail({core::reject_reason::missing_field, device_field, "missing"});
    else if (!valid_id_text(*device))
      fail(
          {core::reject_reason::bad_id, device_field, "empty, too long or has control characters"});

    // Patient: topic, payload, then the configured device map; any disagreement is rejected,
    // because a reading filed under the wrong patient is worse than a lost one.
    if (device && !patients.empty()) {
      if (auto it = patients.find(*device); it != patients.end()) mapped = it->second;
    }
    if (ctx.patient && patient && *ctx.patient != *patient)
      fail({core::reject_reason::bad_id, patient_field, "disagrees with the topic"});
    if (!patient) patient = ctx.patient;
    if (patient && mapped && mapped->view() != *patient)
      fail({core::reject_reason::bad_id, patient_field, "disagrees with the device map"});
    if (patient && !valid_id_text(*patient))
      fail({core::reject_reason::bad_id, patient_field,
            "empty, too long or has control characters"});
    if (!patient && !mapped)
      fail({core::reject_reason::unknown_device, patient_field,
            "not in topic, payload or device map"});
  }

  /// The accepted window of device times, the same for both formats.
  template <class Fail>
  void check_time(core::timestamp ts, const decode_context& ctx, std::string_view field,
                  Fail&& fail) {
    if (ts < earliest_ts) fail({core::reject_reason::bad_timestamp, field, "before 2000-01-01"});
    if (ts > ctx.receive_time + options.max_future)
      fail({core::reject_reason::bad_timestamp, field, "too far ahead of the receive time"});
  }

  /// Finishes an Open mHealth data point: one sample, or one rejection.
  void decode_omh(const omh_point& p, std::optional<std::size_t> index, const decode_context& ctx,
                  std::vector<core::sample>& out, std::string& msg) {
    std::optional<problem> error = p.error;
    auto fail = [&error](problem e) {
      if (!error) error = e;
    };

    // Schema: which measure of the body counts.
    const omh_schema* schema = nullptr;
    if (!p.schema) {
      fail({core::reject_reason::missing_field, "header.schema_id", "missing"});
    } else if (!p.ns || !p.name || !p.version) {
      fail({core::reject_reason::missing_field,
            !p.ns     ? "header.schema_id.namespace"
            : !p.name ? "header.schema_id.name"
                      : "header.schema_id.version",
            "missing"});
    } else {
      const auto major = schema_major(*p.version);
      if (*p.ns == "omh") {
        for (const auto& s : omh_schemas)
          if (*p.name == s.name) schema = &s;
      }
      if (!schema || !major || *major < 1 || *major > schema->max_major) {
        omh_detail.assign("schema ");
        append_schema_part(omh_detail, p.ns);
        omh_detail += ':';
        append_schema_part(omh_detail, p.name);
        omh_detail += ':';
        append_schema_part(omh_detail, p.version);
        omh_detail +=
            schema ? " has an unsupported version (heart-rate and oxygen-saturation 1.x-2.x, "
                     "blood-glucose 1.x-4.x)"
                   : " is not supported (omh heart-rate, oxygen-saturation, blood-glucose)";
        fail({core::reject_reason::unknown_vital, "header.schema_id", omh_detail});
        schema = nullptr;
      } else if (ctx.kind && *ctx.kind != schema->kind) {
        fail({core::reject_reason::unknown_vital, "header.schema_id.name",
              "disagrees with the topic's kind"});
      }
    }

    std::optional<std::string_view> device = p.source_name, patient = p.user_id;
    std::optional<core::short_id> mapped;
    check_ids(ctx, device, patient, mapped, "header.acquisition_provenance.source_name",
              "header.user_id", fail);

    // Time: a reading without its measurement time is not trusted, so no fallback to
    // header.creation_date_time (the time the data point was made, perhaps hours later).
    std::optional<core::timestamp> ts;
    std::string_view ts_field = "body.effective_time_frame";
    std::optional<std::string_view> ts_text;
    if (p.date_time) {
      ts_field = "body.effective_time_frame.date_time";
      ts_text = p.date_time;
    } else if (p.interval) {
      ts_field = p.end_date_time || !p.start_date_time
                     ? "body.effective_time_frame.time_interval.end_date_time"
                     : "body.effective_time_frame.time_interval.start_date_time";
      ts_text = p.end_date_time ? p.end_date_time : p.start_date_time;
    } else if (p.time_frame) {
      ts_field = "body.effective_time_frame.date_time";
    }
    if (!ts_text) {
      fail({core::reject_reason::missing_field, ts_field, "missing"});
    } else {
      ts = core::parse_rfc3339(*ts_text);
      if (!ts)
        fail({core::reject_reason::bad_timestamp, ts_field, "not RFC 3339"});
      else
        check_time(*ts, ctx, ts_field, fail);
    }

    // The measure.
    double value = 0.0;
    if (schema) {
      const auto& m = p.measures[static_cast<std::size_t>(schema->kind)];
      if (!m.present) {
        fail({core::reject_reason::missing_field, schema->field, "missing"});
      } else if (m.error) {
        fail(*m.error);
      } else if (!m.have_value) {
        fail({core::reject_reason::missing_field, schema->value_field, "missing"});
      } else if (!m.unit) {
        fail({core::reject_reason::bad_unit, schema->unit_field, "missing"});
      } else if (const auto factor = omh_unit_factor(schema->kind, *m.unit); !factor) {
        fail({core::reject_reason::bad_unit, schema->unit_field, "unit not valid for this schema"});
      } else {
        value = m.value * *factor;
        if (!std::isfinite(value))
          fail({core::reject_reason::bad_value, schema->value_field, "not a finite number"});
      }
    }

    if (error) {
      note(*error, index, msg);
      return;
    }
    core::sample s;
    s.patient = mapped && !patient ? *mapped : *core::short_id::make(*patient);
    s.device = *core::short_id::make(*device);
    s.device_time = *ts;
    s.receive_time = ctx.receive_time;
    s.kind = schema->kind;
    s.value = value;
    out.push_back(s);  // no sequence: header.id is a UUID, not a counter
  }

  /// Decodes one reading object; appends its samples or notes its rejections.
  void decode_reading(od::object obj, std::optional<std::size_t> index, const decode_context& ctx,
                      std::vector<core::sample>& out, std::string& msg) {
    std::array<vital_slot, core::vital_kind_count> vitals{};
    std::optional<std::string_view> device, patient;
    std::optional<core::timestamp> ts;
    std::optional<std::uint64_t> seq;
    std::optional<problem> error;  // first reading-level problem: rejects the whole reading
    omh_point* omh = nullptr;      // set once a "header" or "body" object is seen
    auto fail = [&error](problem p) {
      if (!error) error = p;
    };

    for (auto f : obj) {
      if (f.error()) throw broken_json{f.error()};
      std::string_view key;
      if (auto e = f.unescaped_key().get(key)) throw broken_json{e};
      od::value v;
      if (auto e = f.value().get(v)) throw broken_json{e};
      if (key == "device" || key == "patient") {
        std::string_view s;
        if (v.get_string().get(s)) {
          fail({core::reject_reason::wrong_type, key == "device" ? "device" : "patient",
                "not a string"});
        } else {
          (key == "device" ? device : patient) = s;
        }
      } else if (key == "ts") {
        od::json_type t;
        if (auto e = v.type().get(t)) throw broken_json{e};
        if (t == od::json_type::number) {
          std::int64_t ms = 0;
          if (v.get_int64().get(ms))
            fail({core::reject_reason::bad_timestamp, "ts", "not integer epoch milliseconds"});
          else
            ts = core::timestamp{std::chrono::milliseconds{ms}};
        } else if (t == od::json_type::string) {
          std::string_view s;
          if (auto e = v.get_string().get(s)) throw broken_json{e};
          ts = core::parse_rfc3339(s);
          if (!ts) fail({core::reject_reason::bad_timestamp, "ts", "not RFC 3339"});
        } else {
          fail({core::reject_reason::wrong_type, "ts", "not a number or string"});
        }
      } else if (key == "seq") {
        std::uint64_t n = 0;
        if (v.get_uint64().get(n))
          fail({core::reject_reason::wrong_type, "seq", "not an unsigned integer"});
        else
          seq = n;
      } else if (key == "value" && ctx.kind) {
        vitals[static_cast<std::size_t>(*ctx.kind)] = parse_vital(v, *ctx.kind, "value");
      } else if (const auto kind = core::parse_vital_kind(key)) {
        vitals[static_cast<std::size_t>(*kind)] = parse_vital(v, *kind, core::to_string(*kind));
      } else if (key == "header" || key == "body") {
        // Open mHealth (format 2): read here, in the same pass, so that compact readings pay
        // nothing for the detection; an object with both is decoded by decode_omh() below.
        od::json_type t;
        if (auto e = v.type().get(t)) throw broken_json{e};
        if (t == od::json_type::object) {
          if (!omh) {
            omh_scratch = omh_point{};
            omh = &omh_scratch;
          }
          od::object part;
          if (auto e = v.get_object().get(part)) throw broken_json{e};
          if (key == "header") {
            omh->header = true;
            parse_omh_header(part, *omh);
          } else {
            omh->body = true;
            parse_omh_body(part, *omh);
          }
        }
      }
      // Other keys (battery, rssi, ...) are ignored so that devices can add fields.
    }

    if (omh && omh->header && omh->body) {
      decode_omh(*omh, index, ctx, out, msg);
      return;
    }

    std::optional<core::short_id> mapped;
    check_ids(ctx, device, patient, mapped, "device", "patient", fail);

    if (!ts && !error) fail({core::reject_reason::missing_field, "ts", "missing"});
    if (ts) check_time(*ts, ctx, "ts", fail);

    bool any_vital = false;
    for (const auto& v : vitals) any_vital = any_vital || v.present;
    if (!any_vital) {
      if (ctx.kind)
        fail({core::reject_reason::missing_field, "value", "missing"});
      else if (omh)  // half an Open mHealth data point: say so rather than "no device"
        error = problem{core::reject_reason::missing_field, omh->header ? "body" : "header",
                        "Open mHealth data point needs both header and body objects"};
      else
        fail({core::reject_reason::unknown_vital, "", "no known vital (hr, spo2, glucose)"});
    }

    if (error) {
      note(*error, index, msg);
      return;
    }

    core::sample s;
    s.patient = mapped && !patient ? *mapped : *core::short_id::make(*patient);
    s.device = *core::short_id::make(*device);
    s.device_time = *ts;
    s.receive_time = ctx.receive_time;
    if (seq) {
      s.sequence = *seq;
      s.has_sequence = true;
    }
    for (std::size_t k = 0; k < vitals.size(); ++k) {
      const auto& v = vitals[k];
      if (!v.present) continue;
      if (v.error) {
        note(*v.error, index, msg);
        continue;
      }
      s.kind = static_cast<core::vital_kind>(k);
      s.value = v.value;
      out.push_back(s);
    }
  }

  decoder_options options;
  core::stats& stats;
  std::unordered_map<std::string, core::short_id, string_hash, std::equal_to<>> patients;
  od::parser parser;
  std::vector<char> buffer;  // payload copy with simdjson's padding
  std::array<std::uint64_t, core::reject_reason_count> pending{};
  std::optional<core::reject_reason> first;
  omh_point omh_scratch;   // reused: compact readings never touch it
  std::string omh_detail;  // message naming an unsupported schema
};

json_decoder::json_decoder(decoder_options options, core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), stats)) {}

json_decoder::~json_decoder() = default;

decode_status json_decoder::decode(std::string_view payload, const decode_context& ctx,
                                   std::vector<core::sample>& out) {
  auto& d = *impl_;
  d.pending.fill(0);
  d.first.reset();
  last_error_.clear();
  const std::size_t out_start = out.size();

  auto reject_payload = [&](core::reject_reason r, std::string_view what) {
    out.resize(out_start);
    d.pending.fill(0);
    d.first.reset();
    d.note(problem{r, "", what}, std::nullopt, last_error_);
  };

  if (payload.size() > d.options.max_payload_bytes) {
    reject_payload(core::reject_reason::too_large, "payload larger than max_payload_bytes");
  } else {
    if (d.buffer.size() < payload.size() + sj::SIMDJSON_PADDING)
      d.buffer.resize(payload.size() + sj::SIMDJSON_PADDING);
    std::memcpy(d.buffer.data(), payload.data(), payload.size());
    std::memset(d.buffer.data() + payload.size(), 0, sj::SIMDJSON_PADDING);
    try {
      od::document doc;
      if (auto e = d.parser.iterate(d.buffer.data(), payload.size(), d.buffer.size()).get(doc))
        throw impl::broken_json{e};
      od::json_type type;
      if (auto e = doc.type().get(type)) throw impl::broken_json{e};
      if (type == od::json_type::array) {
        od::array arr;
        if (auto e = doc.get_array().get(arr)) throw impl::broken_json{e};
        std::size_t index = 0;
        for (auto element : arr) {
          od::value v;
          if (auto e = element.get(v)) throw impl::broken_json{e};
          od::json_type t;
          if (auto e = v.type().get(t)) throw impl::broken_json{e};
          if (t == od::json_type::object) {
            od::object obj;
            if (auto e = v.get_object().get(obj)) throw impl::broken_json{e};
            d.decode_reading(obj, index, ctx, out, last_error_);
          } else {
            d.note(problem{core::reject_reason::wrong_type, "", "not an object"}, index,
                   last_error_);
          }
          ++index;
        }
      } else if (type == od::json_type::object) {
        od::object obj;
        if (auto e = doc.get_object().get(obj)) throw impl::broken_json{e};
        d.decode_reading(obj, std::nullopt, ctx, out, last_error_);
      } else {
        reject_payload(core::reject_reason::wrong_type, "payload is not an object or array");
      }
    } catch (const impl::broken_json& b) {
      // simdjson's messages describe the syntax only, never the payload's content.
      reject_payload(core::reject_reason::invalid_json, sj::error_message(b.code));
    }
  }

  decode_status st;
  st.decoded = out.size() - out_start;
  for (std::size_t i = 0; i < d.pending.size(); ++i) {
    if (d.pending[i] == 0) continue;
    d.stats.rejected[i].fetch_add(d.pending[i], std::memory_order_relaxed);
    st.rejected += d.pending[i];
  }
  if (d.first) st.first_reason = *d.first;
  return st;
}

}  // namespace vitals::adapters::mqtt
