// `vitalsctl patient`: the patient registry through vitalsd's API (/api/v1/patients).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "vitalsctl_api.hpp"

namespace vitals::ctl {

/// `vitalsctl patient ...` arguments.
struct patient_args {
  std::string id;
  std::string care_team;
  std::string diabetes;
  int spo2_scale = 0;  ///< 0: not given
  std::string on_oxygen;
  std::optional<int> utc_offset_min;
  std::vector<std::string> devices;
  std::vector<std::string> remove_devices;
  std::vector<std::string> rules;        ///< NAME.KEY=VALUE
  std::vector<std::string> clear_rules;  ///< NAME
  std::string file;                      ///< import: a TOML file
  bool json_out = false;
};

namespace {

using json = nlohmann::json;

/// %-encodes a path segment (ids may hold ':' or '/').
std::string segment(const std::string& id) {
  std::string out;
  for (const unsigned char c : id) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

/// "86" -> 86, "85.5" -> 85.5, "true" -> true, anything else a string.
json rule_value(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  std::int64_t i = 0;
  if (auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), i);
      ec == std::errc{} && end == v.data() + v.size()) {
    return i;
  }
  double d = 0;
  if (auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
      ec == std::errc{} && end == v.data() + v.size()) {
    return d;
  }
  return v;
}

/// The options of add/update applied to a document.
void apply_options(const patient_args& a, json& doc) {
  if (!a.care_team.empty()) doc["care_team"] = a.care_team;
  if (!a.diabetes.empty()) doc["diabetes"] = a.diabetes;
  if (a.spo2_scale != 0) doc["spo2_scale"] = a.spo2_scale;
  if (!a.on_oxygen.empty()) doc["on_oxygen"] = a.on_oxygen == "true";
  if (a.utc_offset_min) doc["utc_offset_min"] = *a.utc_offset_min;
  if (!a.devices.empty() || !a.remove_devices.empty()) {
    auto list = doc.value("devices", json::array());
    for (const auto& d : a.devices) {
      if (std::find(list.begin(), list.end(), d) == list.end()) list.push_back(d);
    }
    for (const auto& d : a.remove_devices)
      list.erase(std::remove(list.begin(), list.end(), d), list.end());
    doc["devices"] = list;
  }
  for (const auto& r : a.rules) {
    const auto eq = r.find('=');
    const auto dot = r.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 ||
        dot + 1 == eq) {
      throw usage_error("--rule takes NAME.KEY=VALUE (e.g. spo2_low.limit=86), not '" + r + "'");
    }
    doc["rules"][r.substr(0, dot)][r.substr(dot + 1, eq - dot - 1)] = rule_value(r.substr(eq + 1));
  }
  for (const auto& name : a.clear_rules) {
    if (doc.contains("rules")) doc["rules"].erase(name);
  }
  if (doc.contains("rules") && doc["rules"].empty()) doc.erase("rules");
}

/// Prints vitalsd's refusal (with the problems it lists); exit 1.
int refused(const reply& r) {
  std::fprintf(stderr, "vitalsctl: %s\n", error_of(r).c_str());
  const auto j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("problems")) {
    std::fprintf(stderr, "%s\n", text(j, "problems").c_str());
  }
  return exit_failed;
}

int put(const api_target& t, const std::string& id, const json& doc) {
  const auto r = call(t, "PUT", "/api/v1/patients/" + segment(id), doc.dump());
  if (r.status != 200 && r.status != 201) return refused(r);
  const auto j = json::parse(r.body, nullptr, false);
  std::printf("%s %s: vitalsd now knows %s patient(s) with settings, %s device(s)\n",
              text(j, "status").c_str(), id.c_str(), text(j, "patients").c_str(),
              text(j, "devices").c_str());
  return exit_ok;
}

/// The registry entry of `id`, or nullopt when vitalsd has none (404).
std::optional<json> current(const api_target& t, const std::string& id) {
  const auto r = call(t, "GET", "/api/v1/patients/" + segment(id));
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) {
    refused(r);
    throw std::runtime_error("");
  }
  return json::parse(r.body)["settings"];
}

std::string summary(const json& s) {
  std::string out;
  const auto add = [&out](const std::string& part) { out += (out.empty() ? "" : "  ") + part; };
  for (const char* k : {"care_team", "diabetes", "spo2_scale", "on_oxygen", "utc_offset_min"}) {
    if (s.contains(k)) add(std::string(k) + "=" + text(s, k));
  }
  if (s.contains("rules")) {
    for (const auto& [rule, keys] : s["rules"].items()) {
      for (const auto& [k, v] : keys.items())
        add(rule + "." + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  return out.empty() ? "(defaults)" : out;
}

int run_list(const api_target& t, bool as_json) {
  const auto r = call(t, "GET", "/api/v1/patients");
  if (r.status != 200) return refused(r);
  if (as_json) {
    std::printf("%s\n", r.body.c_str());
    return exit_ok;
  }
  const auto j = json::parse(r.body);
  std::printf("%-4s  %-24s  %-30s  %-24s  %s\n", "#", "patient", "devices", "updated by",
              "settings");
  std::size_t n = 0;
  for (const auto& p : j["patients"]) {
    std::string devices;
    for (const auto& d : p["settings"].value("devices", json::array())) {
      devices += (devices.empty() ? "" : ",") + d.get<std::string>();
    }
    std::printf("%-4zu  %-24s  %-30s  %-24s  %s\n", ++n, text(p, "id").c_str(),
                devices.empty() ? "-" : devices.c_str(), text(p, "updated_by").c_str(),
                summary(p["settings"]).c_str());
  }
  if (n == 0) std::printf("(the registry is empty)\n");
  return exit_ok;
}

int run_show(const api_target& t, const std::string& id) {
  const auto r = call(t, "GET", "/api/v1/patients/" + segment(id));
  if (r.status != 200) return refused(r);
  std::printf("%s\n", json::parse(r.body).dump(2).c_str());
  return exit_ok;
}

/// A TOML value as JSON.
json from_toml(const toml::node& n) {
  if (const auto* t = n.as_table()) {
    json o = json::object();
    for (const auto& [k, v] : *t) o[std::string(k.str())] = from_toml(v);
    return o;
  }
  if (const auto* a = n.as_array()) {
    json out = json::array();
    for (const auto& v : *a) out.push_back(from_toml(v));
    return out;
  }
  if (const auto* v = n.as_string()) return v->get();
  if (const auto* v = n.as_integer()) return v->get();
  if (const auto* v = n.as_floating_point()) return v->get();
  if (const auto* v = n.as_boolean()) return v->get();
  throw usage_error("import: dates and times are not patient settings");
}

/// `patient import FILE`: [[patients]] and [[devices]] of a configuration file into the
/// registry, one PUT per patient (vitalsd checks each, as it checks the file).
int run_import(const api_target& t, const std::string& file) {
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw usage_error(fmt::format("{}:{}:{}: {}", file, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  std::map<std::string, json> patients;  // by id, in id order
  if (const auto* list = root["patients"].as_array()) {
    for (const auto& n : *list) {
      auto doc = from_toml(n);
      if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string()) {
        throw usage_error(file + ": every [[patients]] table needs an id");
      }
      const auto id = doc["id"].get<std::string>();
      doc.erase("id");
      patients[id] = std::move(doc);
    }
  }
  std::size_t devices = 0;
  if (const auto* list = root["devices"].as_array()) {
    for (const auto& n : *list) {
      const auto d = from_toml(n);
      if (!d.is_object() || !d.contains("id") || !d.contains("patient")) {
        throw usage_error(file + ": every [[devices]] table needs an id and a patient");
      }
      patients[d["patient"].get<std::string>()]["devices"].push_back(d["id"]);
      ++devices;
    }
  }
  if (patients.empty()) {
    std::printf("%s has no [[patients]] or [[devices]]: nothing to import\n", file.c_str());
    return exit_ok;
  }
  std::size_t done = 0;
  for (const auto& [id, doc] : patients) {
    if (put(t, id, doc) != exit_ok) {
      std::fprintf(stderr, "vitalsctl: import stopped at patient %s: %zu of %zu imported\n",
                   id.c_str(), done, patients.size());
      return exit_failed;
    }
    ++done;
  }
  std::printf(
      "imported %zu patient(s) and %zu device(s) from %s. The registry's entries now win over "
      "the file's; delete them from the file so that there is one place to change them.\n",
      done, devices, file.c_str());
  return exit_ok;
}

int run(const api_target& t, const std::string& action, const patient_args& a) {
  if (action == "list") return run_list(t, a.json_out);
  if (action == "show") return run_show(t, a.id);
  if (action == "import") return run_import(t, a.file);
  if (action == "remove") {
    const auto r = call(t, "DELETE", "/api/v1/patients/" + segment(a.id));
    if (r.status != 200) return refused(r);
    std::printf(
        "removed %s: its readings are refused from now on unless another entry or "
        "accept_unknown admits them\n",
        a.id.c_str());
    return exit_ok;
  }
  std::optional<json> doc;
  try {
    doc = current(t, a.id);
  } catch (const std::runtime_error&) {
    return exit_failed;
  }
  if (action == "add" && doc) {
    std::fprintf(stderr,
                 "vitalsctl: %s is in the registry already; use `vitalsctl patient update`\n",
                 a.id.c_str());
    return exit_failed;
  }
  if (action == "update" && !doc) {
    std::fprintf(stderr, "vitalsctl: %s is not in the registry; use `vitalsctl patient add`\n",
                 a.id.c_str());
    return exit_failed;
  }
  json next = doc.value_or(json::object());
  apply_options(a, next);
  return put(t, a.id, next);
}

}  // namespace

std::shared_ptr<patient_args> add_patient_commands(CLI::App& cli, api_target& target, int& result) {
  auto owner = std::make_shared<patient_args>();
  auto& args = *owner;
  auto* p = cli.add_subcommand(
      "patient",
      "List, add, update or remove patients of the registry (the patients and devices "
      "vitalsd admits), or import them from a configuration file");
  p->require_subcommand(1);
  add_api_options(p, target);
  const auto sub = [&](const std::string& name, const std::string& what) {
    auto* c = p->add_subcommand(name, what);
    c->fallthrough();  // --api, --token-file, ... of `patient` may follow the action
    c->callback([&result, &target, &args, name] {
      result = guarded([&] { return run(target, name, args); });
    });
    return c;
  };
  auto* list = sub("list", "Every patient of the registry with devices and settings");
  list->add_flag("--json", args.json_out, "The API's JSON answer as it is");
  sub("show", "One patient's entry as JSON")->add_option("id", args.id, "Patient id")->required();
  for (const char* name : {"add", "update"}) {
    auto* c = sub(name, std::string(name) == std::string("add")
                            ? "Add a patient (vitalsd admits its readings at once)"
                            : "Change a patient's entry: the options given change, the rest stays");
    c->add_option("id", args.id, "Patient id (at most 47 bytes)")->required();
    c->add_option("--care-team", args.care_team, "Care team, for [[routes]] care_teams");
    c->add_option("--diabetes", args.diabetes, "type1, type2 or none (which glucose rules run)")
        ->check(CLI::IsMember({"type1", "type2", "none"}));
    c->add_option("--spo2-scale", args.spo2_scale, "NEWS2 SpO2 scale: 1, or 2 (88-92 % target)")
        ->check(CLI::IsMember({1, 2}));
    c->add_option("--on-oxygen", args.on_oxygen, "true or false: on supplemental oxygen (NEWS2)")
        ->check(CLI::IsMember({"true", "false"}));
    c->add_option("--utc-offset-min", args.utc_offset_min,
                  "The patient's local time for baselines: UTC + minutes (-720..840)");
    c->add_option("--device", args.devices,
                  "A device of the patient (repeat for several); its readings are the patient's")
        ->allow_extra_args(false);
    c->add_option("--rule", args.rules,
                  "A personal rule setting NAME.KEY=VALUE, as [patients.rules.NAME] takes "
                  "(repeat), e.g. spo2_low.limit=86 or glucose_low.priority=high");
    if (std::string(name) == "update") {
      c->add_option("--remove-device", args.remove_devices, "Detach a device (repeat)");
      c->add_option("--clear-rule", args.clear_rules,
                    "Drop the patient's own settings of a rule: the defaults apply (repeat)");
    }
  }
  sub("remove", "Remove a patient: its readings are refused from now on")
      ->add_option("id", args.id, "Patient id")
      ->required();
  sub("import", "Copy the [[patients]] and [[devices]] of a configuration file into the registry")
      ->add_option("file", args.file, "TOML file (e.g. /etc/vitalsd/vitalsd.toml)")
      ->required()
      ->check(CLI::ExistingFile);
  p->footer(
      "Reading needs any API token, changing one of role \"admin\". vitalsd checks every change "
      "as it checks its configuration (same keys and ranges as a [[patients]] table) and applies "
      "it at once, keeping detector state, baselines and open alerts; an invalid change is "
      "refused whole with the problems printed. The registry lives in the database and wins "
      "over the configuration file's [[patients]] and [[devices]] of the same id.\n"
      "Exit code: 0 done, 1 refused or not reachable, 2 usage errors.\n"
      "Examples:\n"
      "  vitalsctl patient add p-0042 --care-team ward-3 --device cgm-7f3a --rule "
      "spo2_low.limit=86\n"
      "  vitalsctl patient update p-0042 --diabetes type2 --remove-device cgm-7f3a\n"
      "  vitalsctl patient import /etc/vitalsd/vitalsd.toml");
  return owner;
}

}  // namespace vitals::ctl
