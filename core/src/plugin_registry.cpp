#include <vitals/core/plugin_registry.hpp>

#include <stdexcept>
#include <string>

namespace vitals::core {

namespace {

template <class D>
const D* by_name(const std::vector<D>& all, std::string_view name, std::string D::*field) {
  for (const auto& d : all) {
    if (d.*field == name) return &d;
  }
  return nullptr;
}

/// Keys every plugin table has; a plugin may not declare them itself.
bool reserved(std::string_view key) {
  return key == "type" || key == "name";
}

void check_options(std::string_view what, const std::vector<option_spec>& options) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    const auto& o = options[i];
    if (o.key.empty() || reserved(o.key)) {
      throw std::logic_error(std::string(what) + ": option key '" + o.key + "' is reserved");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (options[j].key == o.key) {
        throw std::logic_error(std::string(what) + ": option '" + o.key + "' declared twice");
      }
    }
  }
}

}  // namespace

const option_set& source_context::section(std::string_view section_name) const {
  const auto it = sections.find(std::string(section_name));
  if (it == sections.end()) {
    throw std::out_of_range("no shared section [" + std::string(section_name) + "] is declared");
  }
  return it->second;
}

void plugin_registry::add(source_descriptor d) {
  if (d.type.empty() || !d.create) throw std::logic_error("source plugin without type or factory");
  if (source(d.type)) throw std::logic_error("source type '" + d.type + "' registered twice");
  check_options("source '" + d.type + "'", d.options);
  sources_.push_back(std::move(d));
}

void plugin_registry::add(notifier_descriptor d) {
  if (d.type.empty() || !d.create) {
    throw std::logic_error("notifier plugin without type or factory");
  }
  if (notifier(d.type)) throw std::logic_error("notifier type '" + d.type + "' registered twice");
  check_options("notifier '" + d.type + "'", d.options);
  notifiers_.push_back(std::move(d));
}

void plugin_registry::add(section_descriptor d) {
  if (d.name.empty()) throw std::logic_error("option section without a name");
  if (section(d.name)) throw std::logic_error("section [" + d.name + "] registered twice");
  check_options("section [" + d.name + "]", d.options);
  sections_.push_back(std::move(d));
}

void plugin_registry::set_receiver_options(
    std::vector<option_spec> options,
    std::function<void(const option_set&, std::vector<option_problem>&)> check) {
  check_options("receivers", options);
  receiver_options_ = std::move(options);
  receiver_check_ = std::move(check);
}

const source_descriptor* plugin_registry::source(std::string_view type) const {
  return by_name(sources_, type, &source_descriptor::type);
}

const notifier_descriptor* plugin_registry::notifier(std::string_view type) const {
  return by_name(notifiers_, type, &notifier_descriptor::type);
}

const section_descriptor* plugin_registry::section(std::string_view name) const {
  return by_name(sections_, name, &section_descriptor::name);
}

std::vector<std::string> plugin_registry::source_types() const {
  std::vector<std::string> out;
  for (const auto& d : sources_) out.push_back(d.type);
  return out;
}

std::vector<std::string> plugin_registry::notifier_types() const {
  std::vector<std::string> out;
  for (const auto& d : notifiers_) out.push_back(d.type);
  return out;
}

}  // namespace vitals::core
