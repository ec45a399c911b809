#pragma once
/// The patient registry kept in the database (`vitalsctl patient`, /api/v1/patients) merged into
/// the settings loaded from the file. A registry entry is one patient: its id and a JSON object
/// with the keys of a [[patients]] table (without "id") plus "devices", the ids of its devices.
/// It is checked by the same readers as the file, so the same keys and ranges hold.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/config/config_error.hpp>
#include <vitals/config/settings.hpp>

namespace vitals::config {

/// One patient of the registry.
struct registry_patient {
  std::string id;        ///< patient id, at most 47 bytes
  std::string document;  ///< JSON object: care_team, diabetes, ..., rules, devices

  /// Member-wise comparison.
  bool operator==(const registry_patient&) const = default;
};

/// Checks one entry as apply_registry() would. Each problem names `source` as its file and the
/// key within the document ("rules.spo2_low.limit", "devices[1]"); empty: valid.
std::vector<problem> check_registry_patient(const registry_patient& p, std::string_view source);

/// What apply_registry() did.
struct registry_outcome {
  std::size_t patients = 0;  ///< registry patients applied
  std::size_t devices = 0;   ///< devices they list
  std::size_t replaced = 0;  ///< [[patients]] of the file the registry replaced
};

/// Puts the registry's patients into `s` (settings loaded from the file). A registry patient
/// replaces the file's [[patients]] entry of the same id and the file's [[devices]] mapped to
/// it; a device the registry lists replaces the file's mapping of that device. Throws
/// config_error listing every problem (file "patient registry, entry N" in `registry` order);
/// `s` is then unchanged.
registry_outcome apply_registry(settings& s, const std::vector<registry_patient>& registry);

}  // namespace vitals::config
