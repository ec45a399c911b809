#pragma once
/// The registry of source and notifier types and shared option sections, filled at build time
/// (adapters/ generates the registration calls from its plugin folders). The config loader
/// validates against it and the daemon builds what the configuration names from it; neither
/// knows any plugin by name.

#include <functional>
#include <string_view>
#include <vector>

#include <vitals/core/notifier.hpp>
#include <vitals/core/options.hpp>
#include <vitals/core/source.hpp>

namespace vitals::core {

/// Descriptors by type name. Registration order is the order of listings (--help, docs).
class plugin_registry {
 public:
  /// Adds a type; throws std::logic_error when the name is taken or the descriptor is incomplete.
  void add(source_descriptor d);
  void add(notifier_descriptor d);
  void add(section_descriptor d);

  /// Options every receiver accepts besides its type's own (delivery: timeouts, retries, rate
  /// limits), declared by the dispatcher that implements them, with their checks (may be empty).
  void set_receiver_options(
      std::vector<option_spec> options,
      std::function<void(const option_set&, std::vector<option_problem>&)> check = {});

  const source_descriptor* source(std::string_view type) const;
  const notifier_descriptor* notifier(std::string_view type) const;
  const section_descriptor* section(std::string_view name) const;

  const std::vector<source_descriptor>& sources() const noexcept { return sources_; }
  const std::vector<notifier_descriptor>& notifiers() const noexcept { return notifiers_; }
  const std::vector<section_descriptor>& sections() const noexcept { return sections_; }
  const std::vector<option_spec>& receiver_options() const noexcept { return receiver_options_; }
  /// The checks of receiver_options(); may be empty.
  const std::function<void(const option_set&, std::vector<option_problem>&)>& receiver_check()
      const noexcept {
    return receiver_check_;
  }

  /// Type names, for "must be one of" messages.
  std::vector<std::string> source_types() const;
  std::vector<std::string> notifier_types() const;

 private:
  std::vector<source_descriptor> sources_;
  std::vector<notifier_descriptor> notifiers_;
  std::vector<section_descriptor> sections_;
  std::vector<option_spec> receiver_options_;
  std::function<void(const option_set&, std::vector<option_problem>&)> receiver_check_;
};

}  // namespace vitals::core
