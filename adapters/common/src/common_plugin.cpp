// The shared [mqtt] broker section, registered for every plugin that talks MQTT.
#include <vitals/adapters/common/broker.hpp>
#include <vitals/core/plugin_registry.hpp>

namespace vitals::adapters::plugins {

void register_common(core::plugin_registry& r) {
  r.add(common::broker_section());
}

}  // namespace vitals::adapters::plugins
