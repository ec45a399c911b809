#pragma once
// Internal to the notify family: the descriptor of each built-in notifier type, one per file,
// registered together by notify_plugin.cpp.

#include <optional>
#include <string>
#include <vector>

#include <vitals/adapters/notify/payloads.hpp>
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

/// secret_file holding a bearer token (ntfy, FHIR).
core::option_spec token_file_option();

/// A renderer of an HTTP receiver type.
using http_render_fn = std::optional<http_payload> (*)(const receiver_settings&,
                                                       const core::notification&);

/// The descriptor of an HTTP receiver type: its url, ca_file and verify_tls, its `extra`
/// options, the HTTP checks, and a factory putting `render` on an http_notifier.
core::notifier_descriptor http_type(std::string type, std::string summary, std::string url_doc,
                                    std::vector<core::option_spec> extra, http_render_fn render);

}  // namespace vitals::adapters::notify::detail
