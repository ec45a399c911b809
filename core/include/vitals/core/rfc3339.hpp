#pragma once
/// Date-time text: RFC 3339, as devices, gateways and configuration files write it.

#include <optional>
#include <string_view>

#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Parses an RFC 3339 date-time ("2026-11-28T03:55:00.250+01:00") to epoch milliseconds;
/// nullopt when malformed. Fractions beyond milliseconds are truncated; a leap second (:60)
/// folds into the next minute.
std::optional<timestamp> parse_rfc3339(std::string_view text) noexcept;

}  // namespace vitals::core
