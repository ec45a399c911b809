#include "plugin_reader.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <set>

namespace vitals::config::detail {

namespace {

using core::option_spec;
using core::option_type;
using core::option_value;

core::source_pos pos_of(const toml::node& n) {
  return {static_cast<std::uint32_t>(n.source().begin.line),
          static_cast<std::uint32_t>(n.source().begin.column)};
}

/// Suggests where an unknown key belongs (may be empty).
using hint_fn = std::function<std::string(std::string_view)>;

core::option_set read_table(context& c, const toml::table* t, const std::string& path,
                            const std::vector<option_spec>& specs,
                            const std::vector<std::string>& reserved, const hint_fn& hint = {});

/// A whole number within the spec's range.
bool read_integer(table_reader& r, const toml::node& n, const option_spec& o, option_value& v) {
  if (!n.is_integer()) {
    r.type_error(n, o.key, "integer");
    return false;
  }
  const std::int64_t i = n.as_integer()->get();
  if (static_cast<double>(i) < o.min || static_cast<double>(i) > o.max) {
    r.error(n, o.key,
            o.allowed.empty()
                ? fmt::format("must be between {} and {}{}{}, got {}", std::llround(o.min),
                              std::llround(o.max), o.unit.empty() ? "" : " ", o.unit, i)
                : fmt::format("must be {}, got {}", o.allowed, i));
    return false;
  }
  v.value = i;
  return true;
}

/// A string, possibly from a fixed set.
bool read_string(table_reader& r, const option_spec& o, option_value& v) {
  std::string text;
  const toml::node* n = nullptr;
  if (o.choices.empty()) {
    n = r.string(o.key, text, o.non_empty);
  } else {
    std::vector<std::string_view> allowed(o.choices.begin(), o.choices.end());
    n = r.one_of(o.key, text, allowed);
  }
  if (!n) return false;
  if (o.secret && !text.empty()) {
    read_secret_file(r, *n, o.key, o.secret_what, text, v.secret);
  }
  v.value = std::move(text);
  return true;
}

/// An array of strings; `non_empty`: at least one, none empty.
bool read_strings(table_reader& r, const toml::node& n, const option_spec& o, option_value& v) {
  const toml::array* a = n.as_array();
  if (!a) {
    r.type_error(n, o.key, "array of strings");
    return false;
  }
  option_value::strings items;
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const std::string key = fmt::format("{}[{}]", o.key, i);
    if (!e.is_string()) {
      r.type_error(e, key, "string");
      ok = false;
    } else if (o.non_empty && e.as_string()->get().empty()) {
      r.error(e, key, "must not be empty");
      ok = false;
    } else {
      items.push_back(e.as_string()->get());
      v.item_pos.push_back(pos_of(e));
    }
  }
  if (o.non_empty && a->empty()) {
    r.error(n, o.key, "must name at least one");
    ok = false;
  }
  if (ok) v.value = std::move(items);
  return ok;
}

/// An inline table of strings; item positions in the map's (sorted) key order.
bool read_string_map(table_reader& r, const toml::node& n, const option_spec& o, option_value& v) {
  const toml::table* t = n.as_table();
  if (!t) {
    r.type_error(n, o.key, "table of strings");
    return false;
  }
  option_value::string_map items;
  std::map<std::string, core::source_pos> where;
  bool ok = true;
  for (const auto& [k, e] : *t) {
    const std::string key = fmt::format("{}.{}", o.key, k.str());
    if (!e.is_string()) {
      r.type_error(e, key, "string");
      ok = false;
      continue;
    }
    items.emplace(std::string(k.str()), e.as_string()->get());
    where.emplace(std::string(k.str()),
                  core::source_pos{k.source().begin.line, k.source().begin.column});
  }
  for (const auto& [k, p] : where) v.item_pos.push_back(p);
  if (ok) v.value = std::move(items);
  return ok;
}

/// One sub-table, or an array of them, read against the spec's fields.
bool read_tables(context& c, table_reader& r, const toml::node& n, const option_spec& o,
                 option_value& v) {
  option_value::tables out;
  const std::string base = r.path(o.key);
  if (o.type == option_type::table) {
    if (!n.is_table()) {
      r.type_error(n, o.key, "table");
      return false;
    }
    out.push_back(read_table(c, n.as_table(), base, o.fields, {}));
    v.item_pos.push_back(pos_of(n));
  } else {
    const toml::array* a = n.as_array();
    if (!a) {
      r.type_error(n, o.key, fmt::format("array of tables ([[{}]])", base));
      return false;
    }
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const std::string path = fmt::format("{}[{}]", base, i);
      if (!e.is_table()) {
        c.errors.push_back(
            at(c, e.source(), path, fmt::format("expected table, got {}", type_name(e.type()))));
        continue;
      }
      out.push_back(read_table(c, e.as_table(), path, o.fields, {}));
      v.item_pos.push_back(pos_of(e));
    }
  }
  v.value = std::move(out);
  return true;
}

/// The schema of a spec list, for known_keys(): "path.key", "path.key[].sub", "path.key.sub".
void record_schema(context& c, const std::string& path, const std::vector<option_spec>& specs) {
  for (const auto& o : specs) {
    const std::string key = path.empty() ? o.key : path + "." + o.key;
    if (o.type == option_type::table) {
      record_schema(c, key, o.fields);
    } else if (o.type == option_type::table_list) {
      record_schema(c, key + "[]", o.fields);
    } else {
      c.schema->push_back(key);
    }
  }
}

core::option_set read_table(context& c, const toml::table* t, const std::string& path,
                            const std::vector<option_spec>& specs,
                            const std::vector<std::string>& reserved, const hint_fn& hint) {
  core::option_set set;
  set.path = path;
  if (t) set.pos = pos_of(*t);
  table_reader r(c, t, path);
  for (const auto& k : reserved) r.find(k);
  for (const auto& o : specs) {
    option_value v;
    v.value = o.def;
    const toml::node* n = r.find(o.key);
    if (!n) {
      if (o.required && t) {
        c.errors.push_back(
            at(c, t->source(), r.path(o.key),
               o.doc.empty() ? std::string("missing") : fmt::format("missing ({})", o.doc)));
      }
      if (!v.empty()) set.values.emplace(o.key, std::move(v));
      continue;
    }
    // The reader's typed getters mark the key again; harmless.
    bool ok = false;
    switch (o.type) {
      case option_type::boolean: {
        bool b = false;
        ok = r.boolean(o.key, b) != nullptr;
        if (ok) v.value = b;
        break;
      }
      case option_type::integer:
        ok = read_integer(r, *n, o, v);
        break;
      case option_type::number: {
        double d = 0.0;
        ok = r.number(o.key, d, o.min, o.max, o.unit) != nullptr;
        if (ok) v.value = d;
        break;
      }
      case option_type::string:
        ok = read_string(r, o, v);
        break;
      case option_type::string_list:
        ok = read_strings(r, *n, o, v);
        break;
      case option_type::string_map:
        ok = read_string_map(r, *n, o, v);
        break;
      case option_type::table:
      case option_type::table_list:
        ok = read_tables(c, r, *n, o, v);
        break;
    }
    v.pos = pos_of(*n);
    // A value that failed its checks was reported; the plugin sees the default instead, so
    // that its own checks do not pile up follow-on errors about it.
    if (!ok) {
      v = option_value{};
      v.value = o.def;
    }
    if (!v.empty()) set.values.emplace(o.key, std::move(v));
  }
  r.finish(hint);
  return set;
}

/// The position of a plugin problem's key ("gateways[0].topics[1]", "handles.16").
core::source_pos resolve(const core::option_set& root, std::string_view key) {
  const core::option_set* set = &root;
  core::source_pos best = root.pos;
  while (!key.empty() && set) {
    const auto end = key.find_first_of(".[");
    const std::string name(key.substr(0, end));
    key = end == std::string_view::npos ? std::string_view{} : key.substr(end);
    const core::option_value* v = set->find(name);
    if (!v) break;
    if (v->pos.known()) best = v->pos;
    set = nullptr;
    std::size_t index = 0;
    bool indexed = false;
    if (!key.empty() && key.front() == '[') {
      const auto close = key.find(']');
      if (close == std::string_view::npos) break;
      const auto digits = key.substr(1, close - 1);
      indexed =
          std::from_chars(digits.data(), digits.data() + digits.size(), index).ec == std::errc{};
      key = key.substr(close + 1);
    } else if (!key.empty() && key.front() == '.' &&
               std::holds_alternative<option_value::string_map>(v->value)) {
      // A string map's key: its position is in map order.
      const auto& m = std::get<option_value::string_map>(v->value);
      const auto it = m.find(std::string(key.substr(1)));
      const auto i = static_cast<std::size_t>(std::distance(m.begin(), it));
      if (it != m.end() && i < v->item_pos.size()) best = v->item_pos[i];
      break;
    }
    if (const auto* tables = std::get_if<option_value::tables>(&v->value)) {
      if (!indexed) index = 0;
      if (index < tables->size()) {
        set = &(*tables)[index];
        if (index < v->item_pos.size()) best = v->item_pos[index];
      }
    } else if (indexed && index < v->item_pos.size()) {
      best = v->item_pos[index];
    }
    if (!key.empty() && key.front() == '.') key = key.substr(1);
  }
  return best;
}

/// Reads the [[<list>]] plugin tables against the registry.
template <class Descriptor, class Lookup>
void read_plugin_list(context& c, table_reader& root, std::string_view list,
                      const std::vector<std::string>& types,
                      const std::vector<core::option_spec>& common,
                      const std::function<void(const core::option_set&,
                                               std::vector<core::option_problem>&)>& common_check,
                      Lookup lookup, std::vector<plugin_config>& out) {
  std::set<std::string> names;
  const std::vector<std::string> reserved{"type", "name"};
  if (c.schema) {
    c.schema->push_back(std::string(list) + "[].type");
    c.schema->push_back(std::string(list) + "[].name");
    for (const auto& type : types) {
      const Descriptor* d = lookup(type);
      auto specs = common;
      specs.insert(specs.end(), d->options.begin(), d->options.end());
      record_schema(c, fmt::format("{}[{}]", list, type), specs);
    }
    root.find(list);
    return;
  }
  each_table(c, root, list, [&](const toml::table* t, const std::string& path) {
    table_reader head(c, t, path);
    plugin_config pc;
    const toml::node* type_node = head.string("type", pc.type, true);
    const toml::node* name_node = head.string("name", pc.name, true);
    if (!type_node) {
      if (!t->contains("type")) {
        c.errors.push_back(at(c, t->source(), path + ".type",
                              fmt::format("missing; one of: {}", core::join_names(types))));
      }
      return;
    }
    const Descriptor* d = lookup(pc.type);
    if (!d) {
      head.error(*type_node, "type",
                 fmt::format("unknown type \"{}\"{}; types: {}", pc.type,
                             core::did_you_mean(pc.type, types), core::join_names(types)));
      return;
    }
    if (pc.name.empty()) pc.name = pc.type;
    if (!names.insert(pc.name).second) {
      const toml::node& n = name_node ? *name_node : *type_node;
      head.error(
          n, name_node ? "name" : "type",
          fmt::format("duplicate name \"{}\" (give each {} entry its own name)", pc.name, list));
      return;
    }
    auto specs = common;
    specs.insert(specs.end(), d->options.begin(), d->options.end());
    pc.options = read_table(c, t, path, specs, reserved);
    std::vector<core::option_problem> problems;
    if (common_check) common_check(pc.options, problems);
    if (d->check) d->check(pc.options, problems);
    report(c, pc.options, problems);
    out.push_back(std::move(pc));
  });
}

}  // namespace

core::option_set read_options(context& c, const toml::table* t, const std::string& path,
                              const std::vector<core::option_spec>& specs,
                              const std::vector<std::string>& reserved) {
  if (c.schema) {
    record_schema(c, path, specs);
    return {};
  }
  return read_table(c, t, path, specs, reserved);
}

namespace {

/// A key of a shared section that a source type declares moved there from the section (the
/// MQTT source's topics used to sit under [mqtt]).
std::string source_key_hint(const core::plugin_registry& plugins, std::string_view key) {
  for (const auto& d : plugins.sources()) {
    if (core::find_spec(d.options, key)) {
      return fmt::format(" ('{}' is an option of the {} source: [[sources]] type = \"{}\")", key,
                         d.type, d.type);
    }
  }
  return {};
}

}  // namespace

void report(context& c, const core::option_set& set, const std::vector<core::option_problem>& ps) {
  for (const auto& p : ps) {
    const auto pos = resolve(set, p.key);
    problem pr{c.source, pos.line, pos.column, p.key.empty() ? set.path : set.path + "." + p.key,
               p.message};
    (p.warning ? c.warnings : c.errors).push_back(std::move(pr));
  }
}

void read_sections(context& c, table_reader& root, const core::plugin_registry& plugins,
                   settings& s) {
  for (const auto& d : plugins.sections()) {
    const toml::table* t = root.table(d.name);
    if (c.schema) {
      record_schema(c, d.name, d.options);
      continue;
    }
    auto set = read_table(c, t, d.name, d.options, {},
                          [&](std::string_view key) { return source_key_hint(plugins, key); });
    if (d.check) {
      std::vector<core::option_problem> problems;
      d.check(set, problems);
      report(c, set, problems);
    }
    s.sections[d.name] = std::move(set);
  }
}

void read_sources(context& c, table_reader& root, const core::plugin_registry& plugins,
                  settings& s) {
  read_plugin_list<core::source_descriptor>(
      c, root, "sources", plugins.source_types(), {}, {},
      [&](std::string_view type) { return plugins.source(type); }, s.sources);
  if (c.schema || root.has("sources")) return;
  for (const auto& d : plugins.sources()) {
    if (!d.default_instance) continue;
    plugin_config pc{d.type, d.type,
                     read_table(c, nullptr, "sources[" + d.type + "]", d.options, {})};
    s.sources.push_back(std::move(pc));
  }
}

void read_receivers(context& c, table_reader& root, const core::plugin_registry& plugins,
                    settings& s) {
  read_plugin_list<core::notifier_descriptor>(
      c, root, "receivers", plugins.notifier_types(), plugins.receiver_options(),
      plugins.receiver_check(), [&](std::string_view type) { return plugins.notifier(type); },
      s.receivers);
}

std::string plugin_hint(const core::plugin_registry& plugins, std::string_view key) {
  for (const auto& d : plugins.sources()) {
    if (d.type.rfind(key, 0) == 0) {
      return fmt::format(" (sources are configured as [[sources]] with type = \"{}\")", d.type);
    }
  }
  for (const auto& d : plugins.notifiers()) {
    if (d.type == key) {
      return fmt::format(" (receivers are configured as [[receivers]] with type = \"{}\")", d.type);
    }
  }
  for (const auto& d : plugins.sections()) {
    if (core::find_spec(d.options, key)) {
      return fmt::format(" (did you mean '{}.{}'? it belongs under [{}])", d.name, key, d.name);
    }
  }
  return {};
}

}  // namespace vitals::config::detail
