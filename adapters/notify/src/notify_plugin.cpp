// Registers the built-in notifier types and the delivery options every receiver takes.
#include <vitals/adapters/notify/notifiers.hpp>
#include <vitals/core/plugin_registry.hpp>

#include "kinds.hpp"

namespace vitals::adapters::notify::detail {

core::option_spec external_url_option() {
  return core::option_spec::string(
      "external_url", "",
      "vitalsd's own address as the receiver's users reach it (e.g. https://vitalsd.example.org): "
      "payloads then link to the alert; \"\" for no link.");
}

}  // namespace vitals::adapters::notify::detail

namespace vitals::adapters::plugins {

void register_notify(core::plugin_registry& r) {
  r.set_receiver_options(notify::delivery_option_specs(), notify::check_delivery_options);
  r.add(notify::detail::webhook_notifier());
  r.add(notify::detail::alertmanager_notifier());
  r.add(notify::detail::pagerduty_notifier());
  r.add(notify::detail::ntfy_notifier());
  r.add(notify::detail::mqtt_notifier());
  r.add(notify::detail::fhir_notifier());
}

}  // namespace vitals::adapters::plugins
