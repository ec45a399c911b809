#pragma once
/// Plugin options (Fluent Bit's config map): each plugin declares the table of options it
/// accepts (key, type, range, default, documentation); the config loader checks a plugin's
/// table in the file against it and hands the plugin an option_set with every declared key
/// filled in (from the file, or the default), each value with the place it was written.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vitals::core {

/// Where a value was written: 1-based line and column; {0, 0} for a built-in default.
struct source_pos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  bool known() const noexcept { return line != 0; }
  bool operator==(const source_pos&) const = default;
};

/// The type of an option's value.
enum class option_type : std::uint8_t {
  boolean,      ///< true / false
  integer,      ///< whole number within [min, max]
  number,       ///< integer or float within [min, max], finite
  string,       ///< text, optionally from a fixed set (`choices`)
  string_list,  ///< array of strings
  string_map,   ///< inline table of string values ({ "16" = "2a5f" })
  table,        ///< one sub-table with options of its own (`fields`)
  table_list,   ///< array of sub-tables ([[a.b]]), each with the options in `fields`
};

/// "boolean", "integer", ... as error messages name them.
std::string_view to_string(option_type t) noexcept;

struct option_set;

/// One option as a plugin receives it: the configured value, or the declared default.
struct option_value {
  using strings = std::vector<std::string>;
  using string_map = std::map<std::string, std::string>;
  using tables = std::vector<option_set>;
  /// monostate: absent, without a default.
  using variant = std::variant<std::monostate, bool, std::int64_t, double, std::string, strings,
                               string_map, tables>;

  variant value;
  source_pos pos;  ///< where the key was written; unknown for a default
  /// Per element of a string list, per key of a string map (in map order), per table of a
  /// table list: where it was written.
  std::vector<source_pos> item_pos;
  /// Secret-file options: the file's content, read and mode-checked by the loader. Never logged.
  std::string secret;

  bool empty() const noexcept { return std::holds_alternative<std::monostate>(value); }
};

/// The options of one plugin instance, or of one sub-table: every declared key, with the
/// configured value or the default (keys without either are absent).
struct option_set {
  std::map<std::string, option_value, std::less<>> values;
  source_pos pos;    ///< the table's header
  std::string path;  ///< its dotted path in the configuration ("sources[1]", "mqtt")

  /// True when the configuration wrote `key` (not a default).
  bool written(std::string_view key) const;
  /// The value of `key`; throws std::out_of_range naming the key and path when it is absent or
  /// of another type (a plugin asking for an option it did not declare is a programming error).
  bool flag(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  double number(std::string_view key) const;
  const std::string& text(std::string_view key) const;
  const option_value::strings& strings(std::string_view key) const;
  const option_value::string_map& string_map(std::string_view key) const;
  /// A table option's sub-table (nullptr when absent), or a table list's elements.
  const option_set* table(std::string_view key) const;
  const option_value::tables& tables(std::string_view key) const;
  /// The content of a secret-file option ("" when no file was named).
  const std::string& secret(std::string_view key) const;
  /// Where `key` was written (unknown for defaults and absent keys).
  source_pos where(std::string_view key) const;
  /// The value of `key`, or nullptr.
  const option_value* find(std::string_view key) const;
};

/// A problem a plugin finds in its options beyond what the table says (one key against
/// another, a URL's scheme, ...): `key` is relative to the plugin's table, with indexes for list
/// elements ("topics[1]", "gateways[0].name"); the loader adds the file, line and column.
struct option_problem {
  std::string key;
  std::string message;
  bool warning = false;  ///< reported, but the configuration still loads
};

/// One declared option.
struct option_spec {
  std::string key;
  option_type type = option_type::string;
  std::string doc;  ///< what it is for; the example configuration shows it as '##' lines
  /// Used when the key is absent (monostate: none; then the plugin sees an absent key).
  option_value::variant def;
  bool required = false;                                  ///< absent is an error
  double min = -std::numeric_limits<double>::infinity();  ///< integer, number: lowest allowed
  double max = std::numeric_limits<double>::infinity();   ///< integer, number: highest allowed
  std::string unit;     ///< named in range errors ("s", "ms", "bytes")
  std::string allowed;  ///< integer, number: replaces "must be between min and max" in errors
  std::vector<std::string> choices;  ///< string: the allowed values; empty: any
  bool non_empty = false;            ///< string: "" is an error
  bool secret = false;  ///< string: names a file whose content is a secret (mode checked)
  std::string secret_what = "secret";  ///< what the file holds, in messages ("password")
  std::vector<option_spec> fields;     ///< table, table_list: the options of each sub-table
  std::string example;                 ///< TOML value shown in the example when there is no default

  // Declarations read like a config map; each returns the spec for further chaining.
  static option_spec boolean(std::string key, bool def, std::string doc);
  static option_spec integer(std::string key, std::int64_t def, std::int64_t min, std::int64_t max,
                             std::string doc, std::string unit = {});
  static option_spec number(std::string key, double def, double min, double max, std::string doc,
                            std::string unit = {});
  static option_spec string(std::string key, std::string def, std::string doc);
  static option_spec choice(std::string key, std::string def, std::vector<std::string> choices,
                            std::string doc);
  static option_spec string_list(std::string key, std::vector<std::string> def, std::string doc);
  static option_spec string_map(std::string key, std::string doc);
  static option_spec secret_file(std::string key, std::string what, std::string doc);
  static option_spec table(std::string key, std::vector<option_spec> fields, std::string doc);
  static option_spec table_list(std::string key, std::vector<option_spec> fields, std::string doc);

  option_spec& make_required(std::string example_value = {});
  option_spec& make_non_empty();
  option_spec& with_example(std::string example_value);
  option_spec& with_allowed(std::string text);
};

/// A value as TOML text ("30", "\"tcp://localhost:1883\"", "[\"a\", \"b\"]"), for the example
/// configuration and its check; tables render as "{...}".
std::string to_toml(const option_value::variant& v);

/// The keys whose values differ between two option sets (positions and the order of reading
/// aside), as dotted paths with indexes ("topics", "gateways[1].name"); a key present in one set
/// only counts as differing. Empty: the same configuration.
std::vector<std::string> differing_keys(const option_set& a, const option_set& b);

/// Same configuration: differing_keys() is empty (positions and paths are not compared).
bool operator==(const option_set& a, const option_set& b);

/// " (did you mean 'x'?)" when one of `candidates` is plausibly a typo of `name` (case-insensitive,
/// at most two edits), else "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

/// "a, b, c".
std::string join_names(const std::vector<std::string>& names);

/// The spec of `key` in `specs`, or nullptr.
const option_spec* find_spec(const std::vector<option_spec>& specs, std::string_view key);

}  // namespace vitals::core
