#pragma once
/// The documented configuration blocks of plugins, generated from their option tables: each
/// plugin folder's sample.toml and the plugin sections of config/vitalsd.example.toml hold these
/// blocks between "## >>> ID" and "## <<< ID" lines, so the documentation cannot drift from what
/// the loader accepts (tests compare them; scripts/update_samples.sh rewrites them).

#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/plugin_registry.hpp>

namespace vitals::config {

/// One generated block: its id ("sources.mqtt", "receivers.webhook", "mqtt" for a shared
/// section) and its text, every line commented: '##' documentation, '#' a key with its default
/// (or, for a required key, an example value).
struct sample_block {
  std::string id;
  std::string text;
};

/// Every plugin's block, sections first, then sources, then receivers, in registration order.
std::vector<sample_block> plugin_samples(const core::plugin_registry& plugins);

/// The block of one id; empty text when no plugin has that id.
sample_block plugin_sample(const core::plugin_registry& plugins, std::string_view id);

/// The blocks between "## >>> ID" and "## <<< ID" lines in `text` (the markers excluded), in
/// file order.
std::vector<sample_block> embedded_samples(std::string_view text);

/// `text` with each embedded block replaced by the generated one of the same id (ids no plugin
/// has are left as they are), and each group between "## >>>> LIST" and "## <<<< LIST" lines
/// ("sources", "receivers") replaced by the blocks of every plugin of that list, each with its
/// own markers: a new plugin appears in the example configuration without an edit there.
std::string with_generated_samples(std::string_view text, const core::plugin_registry& plugins);

}  // namespace vitals::config
