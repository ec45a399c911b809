// The patient registry (JSON documents from the database) read by the [[patients]] and
// [[devices]] readers, and merged into the file's settings.
#include <vitals/config/patient_registry.hpp>

#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "sections.hpp"

namespace vitals::config {

namespace {

using json = nlohmann::json;
using detail::context;

/// A JSON value as the TOML node the readers expect; null (with a problem) for a JSON null or
/// an integer beyond int64.
std::unique_ptr<toml::node> node_of(const json& j, const std::string& key, context& c) {
  switch (j.type()) {
    case json::value_t::object: {
      auto t = std::make_unique<toml::table>();
      for (const auto& [k, v] : j.items()) {
        auto n = node_of(v, key.empty() ? k : key + "." + k, c);
        if (n) t->insert(k, std::move(*n));
      }
      return t;
    }
    case json::value_t::array: {
      auto a = std::make_unique<toml::array>();
      for (std::size_t i = 0; i < j.size(); ++i) {
        auto n = node_of(j[i], key + "[" + std::to_string(i) + "]", c);
        if (n) a->push_back(std::move(*n));
      }
      return a;
    }
    case json::value_t::string:
      return std::make_unique<toml::value<std::string>>(j.get<std::string>());
    case json::value_t::boolean:
      return std::make_unique<toml::value<bool>>(j.get<bool>());
    case json::value_t::number_integer:
      return std::make_unique<toml::value<std::int64_t>>(j.get<std::int64_t>());
    case json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) {
        c.errors.push_back(problem{c.source, 0, 0, key, "integer out of range"});
        return nullptr;
      }
      return std::make_unique<toml::value<std::int64_t>>(static_cast<std::int64_t>(u));
    }
    case json::value_t::number_float:
      return std::make_unique<toml::value<double>>(j.get<double>());
    default:
      c.errors.push_back(problem{c.source, 0, 0, key, "null is not a value (leave the key out)"});
      return nullptr;
  }
}

/// The readers name keys "patients[0].rules.x" and "devices[1].id": within one document they
/// are "rules.x" and "devices[1]".
std::string document_key(const std::string& key) {
  static const std::string patient = "patients[0]";
  if (key.rfind(patient, 0) == 0) {
    return key.size() > patient.size() + 1 ? key.substr(patient.size() + 1) : std::string{};
  }
  if (key.rfind("devices[", 0) == 0) {
    const auto end = key.find(']');
    if (end != std::string::npos) return key.substr(0, end + 1);
  }
  return key;
}

/// Reads one entry into `one` (a settings holding that patient only).
void read_entry(context& c, const registry_patient& p, settings& one) {
  json doc;
  try {
    doc = json::parse(p.document);
  } catch (const json::exception& e) {
    c.errors.push_back(problem{c.source, 0, 0, "", std::string("not JSON: ") + e.what()});
    return;
  }
  if (!doc.is_object()) {
    c.errors.push_back(problem{c.source, 0, 0, "", "must be a JSON object"});
    return;
  }
  if (doc.contains("id")) {
    if (!doc["id"].is_string() || doc["id"].get<std::string>() != p.id) {
      c.errors.push_back(problem{c.source, 0, 0, "id",
                                 "differs from the patient's id (leave it out: the registry "
                                 "keeps the id beside the document)"});
      return;
    }
    doc.erase("id");
  }
  json devices = json::array();
  if (doc.contains("devices")) {
    devices = doc["devices"];
    doc.erase("devices");
    if (!devices.is_array()) {
      c.errors.push_back(problem{c.source, 0, 0, "devices", "must be an array of device ids"});
      return;
    }
  }
  auto patient = node_of(doc, "", c);
  if (!patient) return;
  patient->as_table()->insert("id", p.id);
  toml::table root;
  root.insert("patients", toml::array{std::move(*patient->as_table())});
  toml::array device_tables;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (!devices[i].is_string()) {
      c.errors.push_back(problem{c.source, 0, 0, "devices[" + std::to_string(i) + "]",
                                 "must be a device id (string)"});
      continue;
    }
    device_tables.push_back(toml::table{{"id", devices[i].get<std::string>()}, {"patient", p.id}});
  }
  root.insert("devices", std::move(device_tables));
  detail::table_reader r(c, &root, "");
  detail::read_devices(c, r, one);
  detail::read_patients(c, r, one);
  for (auto& e : c.errors) e.key = document_key(e.key);
  if (p.id.empty() && c.errors.empty()) {
    c.errors.push_back(problem{c.source, 0, 0, "id", "must not be empty"});
  }
}

/// Erases every per-patient setting of `id`.
void erase_patient(settings& s, const std::string& id) {
  s.detector.patients.erase(id);
  s.news2.patient_context.erase(id);
  s.baseline.patient_utc_offset_minutes.erase(id);
  s.alerts.lifecycle.care_teams.erase(id);
  s.patient_diabetes.erase(id);
}

/// Copies every per-patient setting of `id` from `from`.
void copy_patient(settings& s, const settings& from, const std::string& id) {
  const auto copy = [&id](auto& to, const auto& source) {
    if (const auto it = source.find(id); it != source.end()) to[id] = it->second;
  };
  copy(s.detector.patients, from.detector.patients);
  copy(s.news2.patient_context, from.news2.patient_context);
  copy(s.baseline.patient_utc_offset_minutes, from.baseline.patient_utc_offset_minutes);
  copy(s.alerts.lifecycle.care_teams, from.alerts.lifecycle.care_teams);
  copy(s.patient_diabetes, from.patient_diabetes);
}

}  // namespace

std::vector<problem> check_registry_patient(const registry_patient& p, std::string_view source) {
  context c;
  c.source = std::string(source);
  settings one;
  read_entry(c, p, one);
  return std::move(c.errors);
}

registry_outcome apply_registry(settings& s, const std::vector<registry_patient>& registry) {
  std::vector<problem> errors;
  // One scratch settings for every entry (the readers key what they read by patient id): a
  // settings per entry, with every default in it, would cost more than the entries.
  settings read;
  std::set<std::string> devices;
  for (std::size_t i = 0; i < registry.size(); ++i) {
    context c;
    c.source = "patient registry, entry " + std::to_string(i + 1);
    const auto first = read.devices.size();
    read_entry(c, registry[i], read);
    for (auto d = first; d < read.devices.size(); ++d) {
      if (!devices.insert(read.devices[d].id).second) {
        c.errors.push_back(problem{c.source, 0, 0, "devices",
                                   "a device is listed by two patients of the registry"});
      }
    }
    for (auto& e : c.errors) errors.push_back(std::move(e));
  }
  if (!errors.empty()) throw config_error(std::move(errors));

  registry_outcome out;
  std::set<std::string> ids;
  for (const auto& p : registry) ids.insert(p.id);
  for (const auto& id : ids) out.replaced += s.detector.patients.count(id);
  std::erase_if(s.devices, [&](const device_mapping& d) {
    return ids.contains(d.patient) || devices.contains(d.id);
  });
  for (std::size_t i = 0; i < registry.size(); ++i) {
    const auto& id = registry[i].id;
    erase_patient(s, id);
    copy_patient(s, read, id);
  }
  for (auto& d : read.devices) s.devices.push_back(std::move(d));
  out.patients = registry.size();
  out.devices = devices.size();
  return out;
}

}  // namespace vitals::config
