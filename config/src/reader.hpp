#pragma once
// Internal to vitals::config: the machinery every section reader uses (a load's context, the
// typed key-by-key table reader, secrets read from files, arrays of tables).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <vitals/config/config_error.hpp>
#include <vitals/core/options.hpp>

namespace vitals::config::detail {

/// State of one load: where we are, what went wrong so far, and (for known_keys) the schema.
struct context {
  std::string source;
  std::vector<problem> errors;
  std::vector<problem> warnings;
  std::vector<std::string>* schema = nullptr;  ///< set: record every key asked for, read nothing
};

/// "integer", "table", ... as toml++ node types are named in messages.
std::string type_name(toml::node_type t);

/// A problem at a place in the file.
problem at(const context& c, const toml::source_region& r, std::string key, std::string message);

/// Reads one TOML table of known keys (a Fluent Bit style config map, one call per key): every
/// value is type- and range-checked, and finish() reports the keys nobody asked for.
class table_reader {
 public:
  table_reader(context& c, const toml::table* t, std::string path)
      : c_(c), t_(c.schema ? nullptr : t), path_(std::move(path)) {}

  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  /// True when the table has `key` (without marking it known).
  bool has(std::string_view key) const { return t_ && t_->contains(key); }

  /// Marks `key` known; returns its node when present.
  const toml::node* find(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
    if (c_.schema) c_.schema->push_back(path(key));
    return t_ ? t_->get(key) : nullptr;
  }

  void error(const toml::node& n, std::string_view key, std::string message) {
    c_.errors.push_back(at(c_, n.source(), path(key), std::move(message)));
  }

  void warning(const toml::node& n, std::string_view key, std::string message) {
    c_.warnings.push_back(at(c_, n.source(), path(key), std::move(message)));
  }

  void type_error(const toml::node& n, std::string_view key, std::string_view expected) {
    error(n, key, fmt::format("expected {}, got {}", expected, type_name(n.type())));
  }

  /// An integer in [min, max]; `allowed` replaces the default "between min and max" wording.
  template <class T>
  const toml::node* integer(std::string_view key, T& out, std::int64_t min, std::int64_t max,
                            std::string_view allowed = {}) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_integer()) {
      type_error(*n, key, "integer");
      return nullptr;
    }
    const std::int64_t v = n->as_integer()->get();
    if (v < min || v > max) {
      error(*n, key,
            allowed.empty() ? fmt::format("must be between {} and {}, got {}", min, max, v)
                            : fmt::format("{}, got {}", allowed, v));
      return nullptr;
    }
    out = static_cast<T>(v);
    return n;
  }

  /// An integer or float in [min, max] (finite).
  const toml::node* number(std::string_view key, double& out, double min, double max,
                           std::string_view unit = {}, std::string_view hint = {}) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    double v = 0.0;
    if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else {
      type_error(*n, key, "number");
      return nullptr;
    }
    if (!std::isfinite(v) || v < min || v > max) {
      error(*n, key,
            fmt::format("must be between {} and {}{}{}, got {}{}", min, max,
                        unit.empty() ? "" : " ", unit, v, hint));
      return nullptr;
    }
    out = v;
    return n;
  }

  const toml::node* boolean(std::string_view key, bool& out) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_boolean()) {
      type_error(*n, key, "boolean (true or false)");
      return nullptr;
    }
    out = n->as_boolean()->get();
    return n;
  }

  /// A string; `non_empty` makes "" an error.
  const toml::node* string(std::string_view key, std::string& out, bool non_empty) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_string()) {
      type_error(*n, key, "string");
      return nullptr;
    }
    if (non_empty && n->as_string()->get().empty()) {
      error(*n, key, "must not be empty");
      return nullptr;
    }
    out = n->as_string()->get();
    return n;
  }

  /// A string from a fixed set.
  const toml::node* one_of(std::string_view key, std::string& out,
                           const std::vector<std::string_view>& allowed) {
    std::string v;
    const toml::node* n = string(key, v, false);
    if (!n) return nullptr;
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string names;
      std::vector<std::string> candidates;
      for (auto a : allowed) {
        names += names.empty() ? "" : ", ";
        names += fmt::format("\"{}\"", a);
        candidates.emplace_back(a);
      }
      error(*n, key,
            fmt::format("must be one of {}, got \"{}\"{}", names, v,
                        core::did_you_mean(v, candidates)));
      return nullptr;
    }
    out = v;
    return n;
  }

  /// A sub-table; a present non-table is a type error.
  const toml::table* table(std::string_view key) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      type_error(*n, key, "table");
      return nullptr;
    }
    return n->as_table();
  }

  /// An array; a present non-array is a type error.
  const toml::array* array(std::string_view key, std::string_view expected) {
    const toml::node* n = find(key);
    if (!n) return nullptr;
    if (!n->is_array()) {
      type_error(*n, key, expected);
      return nullptr;
    }
    return n->as_array();
  }

  /// Reports every key of the table that no reader asked for, with the closest known key.
  void finish(const std::function<std::string(std::string_view)>& extra_hint = {}) {
    if (!t_) return;
    for (const auto& [k, v] : *t_) {
      if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
      std::string hint = core::did_you_mean(k.str(), known_);
      if (hint.empty() && extra_hint) hint = extra_hint(k.str());
      c_.errors.push_back(
          at(c_, k.source(), path(k.str()),
             fmt::format("unknown key{}; known keys here: {}", hint, core::join_names(known_))));
    }
  }

 private:
  context& c_;
  const toml::table* t_;
  std::string path_;
  std::vector<std::string> known_;
};

/// Checks an id that becomes a core::short_id.
bool valid_id(table_reader& r, const toml::node* n, std::string_view key, const std::string& v);

/// Reads the element tables of an array of tables ([[devices]], [[patients]]).
template <class F>
void each_table(context& c, table_reader& parent, std::string_view key, F&& read_element) {
  if (c.schema) {
    read_element(nullptr, fmt::format("{}[]", parent.path(key)));
    parent.find(key);
    return;
  }
  const toml::array* a = parent.array(key, "array of tables ([[" + std::string(key) + "]])");
  if (!a) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const std::string path = fmt::format("{}[{}]", parent.path(key), i);
    if (!e.is_table()) {
      c.errors.push_back(
          at(c, e.source(), path, fmt::format("expected table, got {}", type_name(e.type()))));
      continue;
    }
    read_element(e.as_table(), path);
  }
}

/// Reads a secret (password, token, signing key) from the file named by `key`: secrets never sit
/// in the config itself or on the command line. `what` names the secret in messages.
void read_secret_file(table_reader& r, const toml::node& n, std::string_view key,
                      std::string_view what, const std::string& file, std::string& out);

/// An array of non-empty strings; returns its node when present and valid.
const toml::node* string_list(table_reader& r, std::string_view key, std::vector<std::string>& out);

/// A duration given in (possibly fractional) units of `unit_ms`, e.g. seconds or minutes.
template <class Duration>
const toml::node* duration(table_reader& r, std::string_view key, Duration& out, double min,
                           double max, std::string_view unit) {
  using ms = std::chrono::duration<double, std::milli>;
  const double per_unit = unit == "min" ? 60000.0 : unit == "h" ? 3600000.0 : 1000.0;
  double v = std::chrono::duration_cast<ms>(out).count() / per_unit;
  const toml::node* n = r.number(key, v, min, max, unit);
  if (n) out = std::chrono::duration_cast<Duration>(ms(v * per_unit));
  return n;
}

}  // namespace vitals::config::detail
