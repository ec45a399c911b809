#include <vitals/core/options.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

namespace vitals::core {

std::string_view to_string(option_type t) noexcept {
  switch (t) {
    case option_type::boolean:
      return "boolean";
    case option_type::integer:
      return "integer";
    case option_type::number:
      return "number";
    case option_type::string:
      return "string";
    case option_type::string_list:
      return "array of strings";
    case option_type::string_map:
      return "table of strings";
    case option_type::table:
      return "table";
    case option_type::table_list:
      return "array of tables";
  }
  return "unknown";
}

namespace {

template <class T>
const T& get_as(const option_set& s, std::string_view key, std::string_view type) {
  const option_value* v = s.find(key);
  if (v) {
    if (const T* p = std::get_if<T>(&v->value)) return *p;
  }
  throw std::out_of_range(fmt::format("option '{}' of [{}]: {} as {}", key, s.path,
                                      v ? "not stored" : "not declared or absent", type));
}

}  // namespace

const option_value* option_set::find(std::string_view key) const {
  const auto it = values.find(key);
  return it == values.end() ? nullptr : &it->second;
}

bool option_set::written(std::string_view key) const {
  const option_value* v = find(key);
  return v && v->pos.known();
}

bool option_set::flag(std::string_view key) const {
  return get_as<bool>(*this, key, "boolean");
}

std::int64_t option_set::integer(std::string_view key) const {
  return get_as<std::int64_t>(*this, key, "integer");
}

double option_set::number(std::string_view key) const {
  const option_value* v = find(key);
  // An integer written for a number option is stored as a double by the loader; a default
  // declared as an integer is accepted too.
  if (v) {
    if (const auto* i = std::get_if<std::int64_t>(&v->value)) return static_cast<double>(*i);
  }
  return get_as<double>(*this, key, "number");
}

const std::string& option_set::text(std::string_view key) const {
  return get_as<std::string>(*this, key, "string");
}

const option_value::strings& option_set::strings(std::string_view key) const {
  return get_as<option_value::strings>(*this, key, "array of strings");
}

const option_value::string_map& option_set::string_map(std::string_view key) const {
  static const option_value::string_map none;
  const option_value* v = find(key);
  if (!v || v->empty()) return none;
  return get_as<option_value::string_map>(*this, key, "table of strings");
}

const option_set* option_set::table(std::string_view key) const {
  const option_value* v = find(key);
  if (!v || v->empty()) return nullptr;
  const auto& t = get_as<option_value::tables>(*this, key, "table");
  return t.empty() ? nullptr : &t.front();
}

const option_value::tables& option_set::tables(std::string_view key) const {
  static const option_value::tables none;
  const option_value* v = find(key);
  if (!v || v->empty()) return none;
  return get_as<option_value::tables>(*this, key, "array of tables");
}

const std::string& option_set::secret(std::string_view key) const {
  static const std::string none;
  const option_value* v = find(key);
  return v ? v->secret : none;
}

source_pos option_set::where(std::string_view key) const {
  const option_value* v = find(key);
  return v ? v->pos : source_pos{};
}

option_spec option_spec::boolean(std::string key, bool def, std::string doc) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::boolean;
  s.def = def;
  s.doc = std::move(doc);
  return s;
}

option_spec option_spec::integer(std::string key, std::int64_t def, std::int64_t min,
                                 std::int64_t max, std::string doc, std::string unit) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::integer;
  s.def = def;
  s.min = static_cast<double>(min);
  s.max = static_cast<double>(max);
  s.doc = std::move(doc);
  s.unit = std::move(unit);
  return s;
}

option_spec option_spec::number(std::string key, double def, double min, double max,
                                std::string doc, std::string unit) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::number;
  s.def = def;
  s.min = min;
  s.max = max;
  s.doc = std::move(doc);
  s.unit = std::move(unit);
  return s;
}

option_spec option_spec::string(std::string key, std::string def, std::string doc) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::string;
  s.def = std::move(def);
  s.doc = std::move(doc);
  return s;
}

option_spec option_spec::choice(std::string key, std::string def, std::vector<std::string> choices,
                                std::string doc) {
  option_spec s = string(std::move(key), std::move(def), std::move(doc));
  s.choices = std::move(choices);
  return s;
}

option_spec option_spec::string_list(std::string key, std::vector<std::string> def,
                                     std::string doc) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::string_list;
  s.def = std::move(def);
  s.doc = std::move(doc);
  return s;
}

option_spec option_spec::string_map(std::string key, std::string doc) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::string_map;
  s.def = option_value::string_map{};
  s.doc = std::move(doc);
  return s;
}

option_spec option_spec::secret_file(std::string key, std::string what, std::string doc) {
  option_spec s = string(std::move(key), "", std::move(doc));
  s.secret = true;
  s.secret_what = std::move(what);
  return s;
}

option_spec option_spec::table(std::string key, std::vector<option_spec> fields, std::string doc) {
  option_spec s;
  s.key = std::move(key);
  s.type = option_type::table;
  s.fields = std::move(fields);
  s.doc = std::move(doc);
  return s;
}

option_spec option_spec::table_list(std::string key, std::vector<option_spec> fields,
                                    std::string doc) {
  option_spec s = table(std::move(key), std::move(fields), std::move(doc));
  s.type = option_type::table_list;
  s.def = option_value::tables{};
  return s;
}

option_spec& option_spec::make_required(std::string example_value) {
  required = true;
  def = std::monostate{};
  if (!example_value.empty()) example = std::move(example_value);
  return *this;
}

option_spec& option_spec::make_non_empty() {
  non_empty = true;
  return *this;
}

option_spec& option_spec::with_example(std::string example_value) {
  example = std::move(example_value);
  return *this;
}

option_spec& option_spec::with_allowed(std::string text) {
  allowed = std::move(text);
  return *this;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  const std::string k = lower(name);
  std::string best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(k, lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const std::size_t limit = std::min<std::size_t>(2, std::max<std::size_t>(1, (k.size() + 1) / 3));
  return best_d <= limit ? fmt::format(" (did you mean '{}'?)", best) : std::string();
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

/// Shortest text that reads back as the same double, always with a decimal point or exponent
/// (so that TOML reads it as a float).
std::string float_text(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string to_toml(const option_value::variant& v) {
  struct visitor {
    std::string operator()(std::monostate) const { return ""; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return float_text(d); }
    std::string operator()(const std::string& s) const { return quoted(s); }
    std::string operator()(const option_value::strings& l) const {
      std::string out = "[";
      for (std::size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + quoted(l[i]);
      return out + "]";
    }
    std::string operator()(const option_value::string_map& m) const {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, val] : m) {
        out += (first ? " " : ", ") + quoted(k) + " = " + quoted(val);
        first = false;
      }
      return out + (m.empty() ? "}" : " }");
    }
    std::string operator()(const option_value::tables& t) const {
      return t.empty() ? "[]" : "{...}";
    }
  };
  return std::visit(visitor{}, v);
}

namespace {

void diff_into(const option_set& a, const option_set& b, const std::string& prefix,
               std::vector<std::string>& out) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : a.values) keys.push_back(k);
  for (const auto& [k, v] : b.values) {
    if (!a.values.contains(k)) keys.push_back(k);
  }
  for (const auto& k : keys) {
    const std::string path = prefix.empty() ? k : prefix + "." + k;
    const option_value* x = a.find(k);
    const option_value* y = b.find(k);
    if (!x || !y) {
      out.push_back(path);
      continue;
    }
    const auto* tx = std::get_if<option_value::tables>(&x->value);
    const auto* ty = std::get_if<option_value::tables>(&y->value);
    if (tx && ty) {
      if (tx->size() != ty->size()) {
        out.push_back(path);
        continue;
      }
      for (std::size_t i = 0; i < tx->size(); ++i) {
        diff_into((*tx)[i], (*ty)[i], fmt::format("{}[{}]", path, i), out);
      }
      continue;
    }
    if (x->value != y->value || x->secret != y->secret) out.push_back(path);
  }
}

}  // namespace

std::vector<std::string> differing_keys(const option_set& a, const option_set& b) {
  std::vector<std::string> out;
  diff_into(a, b, "", out);
  return out;
}

bool operator==(const option_set& a, const option_set& b) {
  return differing_keys(a, b).empty();
}

const option_spec* find_spec(const std::vector<option_spec>& specs, std::string_view key) {
  for (const auto& s : specs) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

}  // namespace vitals::core
