#pragma once
/// Every plugin built into this vitalsd: sources, notifiers and their shared sections. Filled at
/// build time: adapters/CMakeLists.txt generates the calls from the plugin folders it adds.

#include <vitals/core/plugin_registry.hpp>

namespace vitals::adapters {

/// The registry of every built-in plugin (built once, on first use; thread-safe).
const core::plugin_registry& registry();

}  // namespace vitals::adapters
