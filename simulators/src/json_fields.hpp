#pragma once
// Reading fields of one JSON line (labels, alerts) with errors that name the key; shared by
// ground_truth.cpp and eval.cpp. Private to the simulators library.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <vitals/core/sample.hpp>

namespace vitals::simulators::json_fields {

using json = nlohmann::json;

/// Throws std::invalid_argument "key 'KEY': WHAT".
[[noreturn]] inline void bad_key(std::string_view key, std::string_view what) {
  throw std::invalid_argument("key '" + std::string(key) + "': " + std::string(what));
}

/// The value at `key`, or null when absent.
inline const json* find(const json& j, std::string_view key) {
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

/// One line parsed as a JSON object.
inline json parse_object(std::string_view line) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    throw std::invalid_argument(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw std::invalid_argument("not a JSON object");
  return j;
}

/// A non-empty string that must be there.
inline std::string required_string(const json& j, std::string_view key) {
  const json* v = find(j, key);
  if (v == nullptr) bad_key(key, "missing");
  if (!v->is_string()) bad_key(key, "expected a string");
  auto s = v->get<std::string>();
  if (s.empty()) bad_key(key, "must not be empty");
  return s;
}

/// A string that may be absent or null (then empty).
inline std::string optional_string(const json& j, std::string_view key) {
  const json* v = find(j, key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) bad_key(key, "expected a string");
  return v->get<std::string>();
}

/// Integer epoch milliseconds between 1970 and 2200: anything else is a broken file, and would
/// overflow the arithmetic done with it.
inline core::timestamp to_timestamp(const json& v, std::string_view key) {
  if (!v.is_number_integer()) bad_key(key, "expected integer epoch milliseconds");
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    bad_key(key, "out of range");
  }
  const auto ms = v.get<std::int64_t>();
  if (ms < 0 || ms > 7258118400000) bad_key(key, "out of range (years 1970-2200)");
  return core::timestamp{std::chrono::milliseconds(ms)};
}

/// A time that must be there.
inline core::timestamp required_time(const json& j, std::string_view key) {
  const json* v = find(j, key);
  if (v == nullptr) bad_key(key, "missing");
  return to_timestamp(*v, key);
}

/// A time that may be absent or null.
inline std::optional<core::timestamp> optional_time(const json& j, std::string_view key) {
  const json* v = find(j, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return to_timestamp(*v, key);
}

/// A number that may be absent or null.
inline std::optional<double> optional_number(const json& j, std::string_view key) {
  const json* v = find(j, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number()) bad_key(key, "expected a number or null");
  return v->get<double>();
}

}  // namespace vitals::simulators::json_fields
