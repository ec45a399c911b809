#include <vitals/config/samples.hpp>

#include <sstream>

#include <fmt/format.h>

namespace vitals::config {

namespace {

using core::option_spec;
using core::option_type;

constexpr std::size_t width = 100;

/// `doc` as '## ' lines of at most `width` columns at `indent`.
void wrap_doc(std::string& out, std::string_view doc, std::size_t indent) {
  if (doc.empty()) return;
  const std::string prefix = std::string(indent, ' ') + "## ";
  std::string line = prefix;
  std::istringstream words{std::string(doc)};
  for (std::string w; words >> w;) {
    if (line.size() > prefix.size() && line.size() + 1 + w.size() > width) {
      out += line + "\n";
      line = prefix;
    }
    if (line.size() > prefix.size()) line += ' ';
    line += w;
  }
  if (line.size() > prefix.size()) out += line + "\n";
}

/// "# key = value" with the default, or the example when there is none.
std::string value_text(const option_spec& o) {
  const std::string v = core::to_toml(o.def);
  if (!v.empty() && !(o.required && !o.example.empty())) return v;
  if (!o.example.empty()) return o.example;
  return v.empty() ? "\"\"" : v;
}

void describe(std::string& out, const std::vector<option_spec>& specs, const std::string& path,
              std::size_t indent);

void describe_table(std::string& out, const option_spec& o, const std::string& path,
                    std::size_t indent) {
  const std::string pad(indent, ' ');
  wrap_doc(out, o.doc, indent);
  const std::string name = path + "." + o.key;
  out += pad + (o.type == option_type::table ? "# [" + name + "]\n" : "# [[" + name + "]]\n");
  describe(out, o.fields, name, indent + 2);
}

void describe(std::string& out, const std::vector<option_spec>& specs, const std::string& path,
              std::size_t indent) {
  const std::string pad(indent, ' ');
  // Plain keys first: TOML puts a table's keys before its sub-tables.
  for (const auto& o : specs) {
    if (o.type == option_type::table || o.type == option_type::table_list) continue;
    wrap_doc(out, o.doc, indent);
    if (o.required) out += pad + "## (required)\n";
    out += pad + "# " + o.key + " = " + value_text(o) + "\n";
  }
  for (const auto& o : specs) {
    if (o.type == option_type::table || o.type == option_type::table_list) {
      out += "\n";
      describe_table(out, o, path, indent);
    }
  }
}

std::string heading(std::string_view title, std::string_view summary) {
  std::string out(width - 5, '-');
  out = "## " + out + "\n";
  const bool stop = !summary.empty() && summary.back() == '.';
  wrap_doc(out, fmt::format("{}: {}{}", title, summary, stop ? "" : "."), 0);
  return out;
}

sample_block section_block(const core::section_descriptor& d) {
  std::string text = heading(fmt::format("[{}]", d.name), d.doc);
  text += "# [" + d.name + "]\n";
  describe(text, d.options, d.name, 2);
  return {d.name, std::move(text)};
}

template <class Descriptor>
sample_block list_block(std::string_view list, const Descriptor& d,
                        const std::vector<option_spec>& common) {
  std::string text = heading(fmt::format("{} type \"{}\"", list, d.type), d.summary);
  text += fmt::format("# [[{}]]\n", list);
  text += fmt::format("  # type = \"{}\"\n", d.type);
  text += "  ## Unique among the " + std::string(list) + "; the type when not given.\n";
  text += fmt::format("  # name = \"{}\"\n", d.type);
  auto specs = d.options;
  specs.insert(specs.end(), common.begin(), common.end());
  describe(text, specs, std::string(list), 2);
  return {fmt::format("{}.{}", list, d.type), std::move(text)};
}

}  // namespace

std::vector<sample_block> plugin_samples(const core::plugin_registry& plugins) {
  std::vector<sample_block> out;
  for (const auto& d : plugins.sections()) out.push_back(section_block(d));
  for (const auto& d : plugins.sources()) out.push_back(list_block("sources", d, {}));
  for (const auto& d : plugins.notifiers()) {
    out.push_back(list_block("receivers", d, plugins.receiver_options()));
  }
  return out;
}

sample_block plugin_sample(const core::plugin_registry& plugins, std::string_view id) {
  for (auto& b : plugin_samples(plugins)) {
    if (b.id == id) return b;
  }
  return {std::string(id), {}};
}

std::vector<sample_block> embedded_samples(std::string_view text) {
  std::vector<sample_block> out;
  std::istringstream in{std::string(text)};
  sample_block* open = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## >>> ", 0) == 0) {
      out.push_back({line.substr(7), {}});
      open = &out.back();
    } else if (line.rfind("## <<< ", 0) == 0) {
      open = nullptr;
    } else if (open) {
      open->text += line + "\n";
    }
  }
  return out;
}

std::string with_generated_samples(std::string_view text, const core::plugin_registry& plugins) {
  const auto all = plugin_samples(plugins);
  std::string out;
  std::istringstream in{std::string(text)};
  // What the lines being read belong to: kept text, a group or a block being replaced.
  enum class in_part { text, group, block } part = in_part::text;
  for (std::string line; std::getline(in, line);) {
    const bool group_start = line.rfind("## >>>> ", 0) == 0;
    const bool group_end = line.rfind("## <<<< ", 0) == 0;
    const bool block_start = !group_start && line.rfind("## >>> ", 0) == 0;
    const bool block_end = !group_end && line.rfind("## <<< ", 0) == 0;
    if (part == in_part::group) {
      if (!group_end) continue;
      part = in_part::text;
    } else if (part == in_part::block) {
      if (!block_end) continue;
      part = in_part::text;
    } else if (group_start) {
      // Every plugin of the list, in registration order, each with its own markers.
      out += line + "\n";
      const std::string prefix = line.substr(8) + ".";
      bool first = true;
      for (const auto& b : all) {
        if (b.id.rfind(prefix, 0) != 0) continue;
        out += std::string(first ? "" : "\n") + "## >>> " + b.id + "\n" + b.text + "## <<< " +
               b.id + "\n";
        first = false;
      }
      part = in_part::group;
      continue;
    } else if (block_start) {
      const auto block = plugin_sample(plugins, line.substr(7));
      out += line + "\n" + block.text;
      if (!block.text.empty()) part = in_part::block;
      continue;
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace vitals::config
