#pragma once
// Internal to the notify family: the descriptor of each built-in notifier type, one per file,
// registered together by notify_plugin.cpp.

#include <vitals/core/notifier.hpp>

namespace vitals::adapters::notify::detail {

core::notifier_descriptor webhook_notifier();
core::notifier_descriptor alertmanager_notifier();
core::notifier_descriptor pagerduty_notifier();
core::notifier_descriptor ntfy_notifier();
core::notifier_descriptor mqtt_notifier();
core::notifier_descriptor fhir_notifier();

/// external_url: links back to vitalsd in payloads that carry one.
core::option_spec external_url_option();

}  // namespace vitals::adapters::notify::detail
