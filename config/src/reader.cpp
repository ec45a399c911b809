#include "reader.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <vitals/core/sample.hpp>

namespace vitals::config::detail {

std::string type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
  }
  return "unknown";
}

problem at(const context& c, const toml::source_region& r, std::string key, std::string message) {
  return problem{c.source, static_cast<std::uint32_t>(r.begin.line),
                 static_cast<std::uint32_t>(r.begin.column), std::move(key), std::move(message)};
}

bool valid_id(table_reader& r, const toml::node* n, std::string_view key, const std::string& v) {
  if (!n) return false;
  if (v.size() > core::short_id::max_size) {
    r.error(*n, key,
            fmt::format("must be at most {} bytes, got {}", core::short_id::max_size, v.size()));
    return false;
  }
  return true;
}

void read_secret_file(table_reader& r, const toml::node& n, std::string_view key,
                      std::string_view what, const std::string& file, std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec || !fs::exists(st)) {
    r.error(n, key,
            fmt::format("cannot read {} file '{}': {}", what, file,
                        ec ? ec.message() : std::string("no such file")));
    return;
  }
  if (!fs::is_regular_file(st)) {
    r.error(n, key, fmt::format("{} file '{}' is not a regular file", what, file));
    return;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    r.error(n, key, fmt::format("cannot read {} file '{}': {}", what, file, std::strerror(errno)));
    return;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    r.error(n, key, fmt::format("{} file '{}' is empty", what, file));
    return;
  }
  const auto others = fs::perms::group_read | fs::perms::group_write | fs::perms::others_read |
                      fs::perms::others_write;
  if ((st.permissions() & others) != fs::perms::none) {
    // Refused, as ssh refuses a private key others can read: a secret that was readable may
    // already be known, and a warning at start is read by nobody.
    r.error(n, key,
            fmt::format("{} file '{}' is accessible by group or others (mode {:04o}): refused; "
                        "chmod 600 it, owned by the user vitalsd runs as",
                        what, file, static_cast<unsigned>(st.permissions() & fs::perms::mask)));
    return;
  }
  out = std::move(text);
}

const toml::node* string_list(table_reader& r, std::string_view key,
                              std::vector<std::string>& out) {
  const toml::array* a = r.array(key, "array of strings");
  if (!a) return nullptr;
  std::vector<std::string> items;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& e = *a->get(i);
    const std::string k = fmt::format("{}[{}]", key, i);
    if (!e.is_string()) {
      r.type_error(e, k, "string");
      return nullptr;
    }
    if (e.as_string()->get().empty()) {
      r.error(e, k, "must not be empty");
      return nullptr;
    }
    items.push_back(e.as_string()->get());
  }
  out = std::move(items);
  return a;
}

}  // namespace vitals::config::detail
