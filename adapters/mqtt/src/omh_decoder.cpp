#include "omh_decoder.hpp"

#include <cmath>

#include <vitals/core/rfc3339.hpp>

namespace vitals::adapters::mqtt::detail {

// The helpers below have internal linkage, and the small ones are declared inline, so that GCC
// inlines them as it did when they were members defined in one class: the steps of a whole data
// point (schema_of, time_of, value_of) into omh_decoder::decode(), and omh_string() and
// omh_object() into the field loops (out of line, they cost 5% of an Open mHealth message).

namespace {

/// One supported Open mHealth schema and its body measure.
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

/// Reads a string field of an Open mHealth object; wrong_type (named `field`) otherwise.
inline void omh_string(od::value v, std::optional<std::string_view>& to, std::string_view field,
                       std::optional<problem>& error) {
  std::string_view s;
  if (v.get_string().get(s)) {
    if (!error) error = problem{core::reject_reason::wrong_type, field, "not a string"};
  } else {
    to = s;
  }
}

/// Gets `v` as an object; false (after noting wrong_type for `field`) when it is not one.
inline bool omh_object(od::value v, od::object& obj, std::string_view field,
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

void parse_measure(od::value v, const omh_schema& schema, omh_measure& m) {
  m.present = true;
  od::object obj;
  if (!omh_object(v, obj, schema.field, m.error)) return;
  each_field(obj, [&schema, &m](std::string_view key, od::value inner) {
    if (key == "value") {
      od::json_type t;
      if (auto e = inner.type().get(t)) throw broken_json{e};
      if (t != od::json_type::number || inner.get_double().get(m.value)) {
        if (!m.error)
          m.error =
              problem{core::reject_reason::bad_value, schema.value_field,
                      t == od::json_type::number ? "number out of range" : "value is not a number"};
      } else {
        m.have_value = true;
      }
    } else if (key == "unit") {
      omh_string(inner, m.unit, schema.unit_field, m.error);
    }
  });
}

/// Reads body.effective_time_frame: a date_time, or a time_interval's end and start.
inline void parse_time_frame(od::object frame, omh_point& p) {
  p.time_frame = true;
  each_field(frame, [&p](std::string_view k, od::value w) {
    if (k == "date_time") {
      omh_string(w, p.date_time, "body.effective_time_frame.date_time", p.error);
    } else if (k == "time_interval") {
      od::object interval;
      if (!omh_object(w, interval, "body.effective_time_frame.time_interval", p.error)) return;
      p.interval = true;
      each_field(interval, [&p](std::string_view ik, od::value x) {
        if (ik == "end_date_time")
          omh_string(x, p.end_date_time, "body.effective_time_frame.time_interval.end_date_time",
                     p.error);
        else if (ik == "start_date_time")
          omh_string(x, p.start_date_time,
                     "body.effective_time_frame.time_interval.start_date_time", p.error);
      });
    }
  });
}

/// Which measure of the body counts: the schema named in the header, when it is one we read.
const omh_schema* schema_of(const omh_point& p, const decode_context& ctx, std::string& detail,
                            first_problem& fail) {
  if (!p.schema) {
    fail({core::reject_reason::missing_field, "header.schema_id", "missing"});
    return nullptr;
  }
  if (!p.ns || !p.name || !p.version) {
    fail({core::reject_reason::missing_field,
          !p.ns     ? "header.schema_id.namespace"
          : !p.name ? "header.schema_id.name"
                    : "header.schema_id.version",
          "missing"});
    return nullptr;
  }
  const omh_schema* schema = nullptr;
  const auto major = schema_major(*p.version);
  if (*p.ns == "omh") {
    for (const auto& s : omh_schemas)
      if (*p.name == s.name) schema = &s;
  }
  if (!schema || !major || *major < 1 || *major > schema->max_major) {
    detail.assign("schema ");
    append_schema_part(detail, p.ns);
    detail += ':';
    append_schema_part(detail, p.name);
    detail += ':';
    append_schema_part(detail, p.version);
    detail += schema ? " has an unsupported version (heart-rate and oxygen-saturation 1.x-2.x, "
                       "blood-glucose 1.x-4.x)"
                     : " is not supported (omh heart-rate, oxygen-saturation, blood-glucose)";
    fail({core::reject_reason::unknown_vital, "header.schema_id", detail});
    return nullptr;
  }
  if (ctx.kind && *ctx.kind != schema->kind)
    fail({core::reject_reason::unknown_vital, "header.schema_id.name",
          "disagrees with the topic's kind"});
  return schema;
}

/// The measurement time. A reading without it is not trusted, so there is no fallback to
/// header.creation_date_time (the time the data point was made, perhaps hours later).
std::optional<core::timestamp> time_of(const omh_point& p, const decode_context& ctx,
                                       const reading_checks& checks, first_problem& fail) {
  std::string_view field = "body.effective_time_frame";
  std::optional<std::string_view> text;
  if (p.date_time) {
    field = "body.effective_time_frame.date_time";
    text = p.date_time;
  } else if (p.interval) {
    field = p.end_date_time || !p.start_date_time
                ? "body.effective_time_frame.time_interval.end_date_time"
                : "body.effective_time_frame.time_interval.start_date_time";
    text = p.end_date_time ? p.end_date_time : p.start_date_time;
  } else if (p.time_frame) {
    field = "body.effective_time_frame.date_time";
  }
  if (!text) {
    fail({core::reject_reason::missing_field, field, "missing"});
    return std::nullopt;
  }
  const auto ts = core::parse_rfc3339(*text);
  if (!ts)
    fail({core::reject_reason::bad_timestamp, field, "not RFC 3339"});
  else
    checks.check_time(*ts, ctx, field, fail);
  return ts;
}

/// The schema's measure in its canonical unit.
double value_of(const omh_point& p, const omh_schema& schema, first_problem& fail) {
  const auto& m = p.measures[static_cast<std::size_t>(schema.kind)];
  if (!m.present) {
    fail({core::reject_reason::missing_field, schema.field, "missing"});
  } else if (m.error) {
    fail(*m.error);
  } else if (!m.have_value) {
    fail({core::reject_reason::missing_field, schema.value_field, "missing"});
  } else if (!m.unit) {
    fail({core::reject_reason::bad_unit, schema.unit_field, "missing"});
  } else if (const auto factor = omh_unit_factor(schema.kind, *m.unit); !factor) {
    fail({core::reject_reason::bad_unit, schema.unit_field, "unit not valid for this schema"});
  } else {
    const double value = m.value * *factor;
    if (!std::isfinite(value))
      fail({core::reject_reason::bad_value, schema.value_field, "not a finite number"});
    return value;
  }
  return 0.0;
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// Reading the parts.

void omh_decoder::parse_header(od::object header, omh_point& p) {
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

void omh_decoder::parse_body(od::object body, omh_point& p) {
  each_field(body, [&p](std::string_view key, od::value v) {
    if (key == "effective_time_frame") {
      od::object frame;
      if (omh_object(v, frame, "body.effective_time_frame", p.error)) parse_time_frame(frame, p);
      return;
    }
    for (const auto& schema : omh_schemas) {
      if (key == schema.measure) {
        parse_measure(v, schema, p.measures[static_cast<std::size_t>(schema.kind)]);
        break;
      }
    }
    // measurement_method, specimen_source, temporal_relationship_to_meal, ... are not used.
  });
}

// -------------------------------------------------------------------------------------------------
// The whole data point.

void omh_decoder::decode(const omh_point& p, std::optional<std::size_t> index,
                         const decode_context& ctx, std::vector<core::sample>& out,
                         std::string& msg) {
  first_problem fail{p.error};
  const omh_schema* schema = schema_of(p, ctx, detail_, fail);
  reading_ids ids{p.source_name, p.user_id, std::nullopt};
  checks_.check_ids(ctx, ids, "header.acquisition_provenance.source_name", "header.user_id", fail);
  const auto ts = time_of(p, ctx, checks_, fail);
  const double value = schema ? value_of(p, *schema, fail) : 0.0;
  if (fail.error) {
    tally_.note(*fail.error, index, msg);
    return;
  }
  auto s = checked_sample(ids, *ts, ctx);
  s.kind = schema->kind;
  s.value = value;
  out.push_back(s);  // no sequence: header.id is a UUID, not a counter
}

}  // namespace vitals::adapters::mqtt::detail
