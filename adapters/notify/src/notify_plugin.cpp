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

core::option_spec token_file_option() {
  return core::option_spec::secret_file("secret_file", "access token",
                                        "File holding an access token (sent as a bearer token).");
}

core::notifier_descriptor http_type(std::string type, std::string summary, std::string url_doc,
                                    std::vector<core::option_spec> extra, http_render_fn render) {
  core::notifier_descriptor d;
  d.type = std::move(type);
  d.summary = std::move(summary);
  d.options = http_option_specs(std::move(url_doc));
  d.options.insert(d.options.end(), extra.begin(), extra.end());
  d.check = check_http_options;
  d.create = [render](const core::option_set& s, core::notifier_context& ctx) {
    const auto r = renderer_settings(s, ctx.name);
    return make_http_notifier(s, ctx,
                              [r, render](const core::notification& n) { return render(r, n); });
  };
  return d;
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
