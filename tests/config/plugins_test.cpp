// Every plugin's option table against its documentation and the loader: the blocks in the
// example configuration and in the plugin folders' sample.toml are the generated ones, each
// loads as written with every declared key at its default, and a mistyped key in any plugin
// table is reported with file, line, column and a suggestion. Whatever plugin a folder adds is
// covered without a line here.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/config/samples.hpp>
#include <vitals/test/temp_dir.hpp>

namespace fs = std::filesystem;
namespace core = vitals::core;
using vitals::config::config_error;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace plugins_test {
namespace {

const fs::path example_path{VITALS_EXAMPLE_CONFIG};
const fs::path root = example_path.parent_path().parent_path();

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const core::plugin_registry& plugins() {
  return vitals::adapters::registry();
}

/// The block with every '#' setting line uncommented ('##' documentation stays).
std::string uncommented(const std::string& block) {
  static const std::regex setting(R"(^(\s*)# (.*)$)");
  std::istringstream in(block);
  std::string out;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    out += (std::regex_match(line, m, setting) ? m[1].str() + m[2].str() : line) + "\n";
  }
  return out;
}

/// The options of the block's plugin once loaded: the section, or the one source or receiver.
const core::option_set& options_of(const vitals::config::settings& s, const std::string& id) {
  const auto dot = id.find('.');
  if (dot == std::string::npos) return s.sections.at(id);
  const auto& list = id.compare(0, dot, "sources") == 0 ? s.sources : s.receivers;
  REQUIRE(list.size() == 1);
  return list[0].options;
}

/// The declared options of a block id.
std::vector<core::option_spec> specs_of(const std::string& id) {
  const auto dot = id.find('.');
  if (dot == std::string::npos) return plugins().section(id)->options;
  const auto type = id.substr(dot + 1);
  if (id.compare(0, dot, "sources") == 0) return plugins().source(type)->options;
  auto specs = plugins().notifier(type)->options;
  const auto& common = plugins().receiver_options();
  specs.insert(specs.end(), common.begin(), common.end());
  return specs;
}

/// Every declared key (and those of the first table of each table option) is there with its
/// default; required keys are there at all.
void check_defaults(const core::option_set& set, const std::vector<core::option_spec>& specs,
                    const std::string& path) {
  for (const auto& o : specs) {
    INFO(path << "." << o.key);
    const auto* v = set.find(o.key);
    if (o.type == core::option_type::table || o.type == core::option_type::table_list) {
      REQUIRE(v);
      const auto& tables = std::get<core::option_value::tables>(v->value);
      REQUIRE_FALSE(tables.empty());
      check_defaults(tables.front(), o.fields, path + "." + o.key);
      continue;
    }
    if (o.required || std::holds_alternative<std::monostate>(o.def)) {
      CHECK(v);
      continue;
    }
    REQUIRE(v);
    CHECK(v->pos.known());  // written in the block, not filled in by the loader
    CHECK(core::to_toml(v->value) == core::to_toml(o.def));
  }
}

}  // namespace

TEST_CASE("plugins: the example config and the sample.toml files hold the generated blocks",
          "[config][plugins]") {
  const auto example = vitals::config::embedded_samples(read_text(example_path));
  std::map<std::string, std::string> in_folders;
  for (const auto& dir : fs::directory_iterator(root / "adapters")) {
    const auto sample = dir.path() / "sample.toml";
    if (!fs::exists(sample)) continue;
    for (auto& b : vitals::config::embedded_samples(read_text(sample))) {
      CHECK(in_folders.emplace(b.id, std::move(b.text)).second);  // one folder per plugin
    }
  }
  const auto generated = vitals::config::plugin_samples(plugins());
  REQUIRE(generated.size() >= 10);
  for (const auto& g : generated) {
    INFO("block " << g.id << " (scripts/update_samples.sh regenerates the files)");
    const auto e =
        std::find_if(example.begin(), example.end(), [&](const auto& b) { return b.id == g.id; });
    REQUIRE(e != example.end());
    CHECK(e->text == g.text);
    REQUIRE(in_folders.contains(g.id));
    CHECK(in_folders.at(g.id) == g.text);
  }
  // No stale block of a plugin that no longer exists.
  for (const auto& b : example) {
    CHECK_FALSE(vitals::config::plugin_sample(plugins(), b.id).text.empty());
  }
}

TEST_CASE("plugins: each block loads as written, every declared key at its default",
          "[config][plugins]") {
  vitals::test::temp_dir dir("vitals-plugins");
  // The secrets the blocks name live on the operator's box: a stand-in here.
  const auto secret = dir.path() / "secret";
  std::ofstream(secret) << "0123456789abcdef0123456789abcdef\n";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  for (const auto& block : vitals::config::plugin_samples(plugins())) {
    INFO("block " << block.id);
    auto text = uncommented(block.text);
    text = std::regex_replace(text, std::regex(R"("/etc/vitalsd/secrets/[^"]+")"),
                              "\"" + secret.string() + "\"");
    const auto s = vitals::config::load_string(text, block.id + ".toml", plugins());
    check_defaults(options_of(s, block.id), specs_of(block.id), block.id);
  }
}

TEST_CASE("plugins: a mistyped key in any plugin table names file, line, column and the key meant",
          "[config][plugins]") {
  for (const auto& block : vitals::config::plugin_samples(plugins())) {
    INFO("block " << block.id);
    const auto specs = specs_of(block.id);
    const auto first = std::find_if(specs.begin(), specs.end(), [](const auto& o) {
      return o.type != core::option_type::table && o.type != core::option_type::table_list &&
             o.key.size() > 3;
    });
    REQUIRE(first != specs.end());
    const std::string typo = first->key.substr(0, first->key.size() - 1);
    // The table header, its type (plugin lists) and the mistyped key on line 3.
    const auto dot = block.id.find('.');
    const std::string text = dot == std::string::npos
                                 ? "\n[" + block.id + "]\n" + typo + " = 1\n"
                                 : "[[" + block.id.substr(0, dot) + "]]\ntype = \"" +
                                       block.id.substr(dot + 1) + "\"\n" + typo + " = 1\n";
    try {
      (void)vitals::config::load_string(text, "typo.toml", plugins());
      FAIL("no error for " << typo);
    } catch (const config_error& e) {
      const auto it = std::find_if(e.problems().begin(), e.problems().end(), [&](const auto& p) {
        return p.key.size() >= typo.size() &&
               p.key.compare(p.key.size() - typo.size(), typo.size(), typo) == 0;
      });
      REQUIRE(it != e.problems().end());
      CHECK(it->file == "typo.toml");
      CHECK(it->line == 3);
      CHECK(it->column == 1);
      CHECK_THAT(it->to_string(),
                 Catch::StartsWith("typo.toml:3:1: key '") &&
                     Catch::Contains("unknown key (did you mean '" + first->key + "'?)"));
    }
  }
}

}  // namespace plugins_test
