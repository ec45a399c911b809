#pragma once
// Internal to the notify family: the JSON objects and text helpers the renderers share.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <vitals/adapters/notify/payloads.hpp>

namespace vitals::adapters::notify::detail {

nlohmann::json time_or_null(const std::optional<core::timestamp>& t);
nlohmann::json text_or_null(const std::string& s);
/// The "alert", "event" and whole-notification objects of the neutral document.
nlohmann::json alert_object(const core::alert_record& a);
nlohmann::json event_object(const core::lifecycle_event& e);
nlohmann::json notification_object(const core::notification& n);
/// Link to the alert in vitalsd's API, or "" when no external URL is configured.
std::string alert_link(const receiver_settings& r, const core::alert_record& a);
/// A value with its unit, without trailing zeros ("87 %", "54.5 mg/dL").
std::string with_unit(double v, core::vital_kind k);
/// "spo2 87%, threshold 90%": the vital, value and threshold of an alert, or "" for an alert
/// about vitalsd itself (core::about_vitalsd()), whose value is no reading.
std::string reading_text(const core::alert_record& a);
/// Cuts UTF-8 text to at most `max` bytes without splitting a code point.
std::string cut_utf8(std::string s, std::size_t max);
/// Stable 64-bit FNV-1a (std::hash may differ between builds; fingerprints must not).
std::uint64_t fnv1a(std::string_view s);
std::string upper(std::string_view s);
/// The rule that holds now (or held last), else the first.
std::string rule_of(const core::alert_record& a);

}  // namespace vitals::adapters::notify::detail
