// Ground-truth labels as JSON lines: written by vitals-sim --labels, read back by vitals-eval.

#include <vitals/simulators/ground_truth.hpp>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "eval_detail.hpp"
#include "json_fields.hpp"

namespace vitals::simulators {

namespace {

using json = nlohmann::json;

using detail::epoch_ms;

using json_fields::bad_key;
using json_fields::find;
using json_fields::optional_number;
using json_fields::optional_string;
using json_fields::optional_time;
using json_fields::parse_object;
using json_fields::required_string;
using json_fields::required_time;

}  // namespace

std::optional<label_type> parse_label_type(std::string_view text) noexcept {
  for (const auto t : {label_type::event, label_type::artifact, label_type::cause}) {
    if (text == to_string(t)) return t;
  }
  return std::nullopt;
}

std::string to_json(const label& l) {
  nlohmann::ordered_json j;
  j["type"] = std::string(to_string(l.type));
  j["patient"] = l.patient;
  j["kind"] = l.kind;
  j["vital"] = l.vital ? nlohmann::ordered_json(std::string(core::to_string(*l.vital))) : nullptr;
  if (!l.device.empty()) j["device"] = l.device;
  j["start"] = epoch_ms(l.start);
  j["end"] = epoch_ms(l.end);
  j["severity"] = l.severity;
  j["actionable"] = l.actionable;
  j["threshold"] = l.threshold ? nlohmann::ordered_json(*l.threshold) : nullptr;
  j["crossed"] = l.crossed ? nlohmann::ordered_json(epoch_ms(*l.crossed)) : nullptr;
  j["extreme"] = l.extreme ? nlohmann::ordered_json(*l.extreme) : nullptr;
  if (!l.cause.empty()) j["cause"] = l.cause;
  return j.dump();
}

label label_from_json(std::string_view line) {
  const json j = parse_object(line);
  label l;
  const auto type_text = required_string(j, "type");
  const auto type = parse_label_type(type_text);
  if (!type) bad_key("type", "'" + type_text + "' is not one of event, artifact, cause");
  l.type = *type;
  l.patient = required_string(j, "patient");
  l.kind = required_string(j, "kind");
  if (const json* v = find(j, "vital"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) bad_key("vital", "expected \"hr\", \"spo2\", \"glucose\" or null");
    const auto vital = core::parse_vital_kind(v->get<std::string>());
    if (!vital) bad_key("vital", "'" + v->get<std::string>() + "' is not hr, spo2 or glucose");
    l.vital = vital;
  }
  l.device = optional_string(j, "device");
  l.start = required_time(j, "start");
  l.end = required_time(j, "end");
  if (l.end < l.start) bad_key("end", "before start");
  l.severity = optional_string(j, "severity");
  if (const json* v = find(j, "actionable"); v != nullptr && !v->is_null()) {
    if (!v->is_boolean()) bad_key("actionable", "expected true or false");
    l.actionable = v->get<bool>();
  }
  l.threshold = optional_number(j, "threshold");
  l.crossed = optional_time(j, "crossed");
  l.extreme = optional_number(j, "extreme");
  l.cause = optional_string(j, "cause");
  return l;
}

std::string to_json(const run_record& r) {
  nlohmann::ordered_json j;
  j["type"] = "run";
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["patients"] = r.patients;
  j["start"] = epoch_ms(r.start);
  j["end"] = r.end ? nlohmann::ordered_json(epoch_ms(*r.end)) : nullptr;
  return j.dump();
}

std::string run_end_json(core::timestamp end) {
  nlohmann::ordered_json j;
  j["type"] = "run_end";
  j["end"] = epoch_ms(end);
  return j.dump();
}

}  // namespace vitals::simulators
