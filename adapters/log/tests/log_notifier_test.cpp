// The log notifier: unit cases on a real file, the plugin built from a configuration through the
// registry and driven by the dispatcher, and end to end in the real vitalsd (file source in, log
// receiver out, no broker).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/adapters/notify/dispatcher.hpp>
#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/test/mosquitto_broker.hpp>  // eventually(), free_loopback_port()
#include <vitals/test/process.hpp>
#include <vitals/test/temp_dir.hpp>

#include "log_notifier.hpp"

using namespace std::chrono_literals;
namespace core = vitals::core;
namespace fs = std::filesystem;
using json = nlohmann::json;
using vitals::test::eventually;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace log_notifier_test {
namespace {

core::notification note(std::uint64_t id, const std::string& patient = "p-7") {
  core::notification n;
  n.id = id;
  n.receiver = "record";
  n.alert.id = 3;
  n.alert.patient = *core::short_id::make(patient);
  n.alert.rule = "spo2_low";
  n.event.id = id;
  n.event.alert_id = 3;
  return n;
}

std::vector<json> lines_of(const fs::path& p) {
  std::vector<json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::optional<core::delivery_result> send(core::notifier& n, const core::notification& x) {
  std::optional<core::delivery_result> result;
  n.send(x, 1s, [&](core::delivery_result r) { result = std::move(r); });
  return result;
}

}  // namespace

TEST_CASE("log notifier: one JSON line per notification, in a file only its owner reads", "[log]") {
  vitals::test::temp_dir dir("vitals-log");
  const auto path = dir.path() / "notifications.jsonl";
  vitals::adapters::log::log_notifier n("record", path.string(), true);
  const auto first = send(n, note(1));
  REQUIRE(first);
  CHECK(first->what == core::delivery_result::outcome::delivered);
  REQUIRE(send(n, note(2, "p-8")));
  const auto lines = lines_of(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0]["idempotency_key"] == "vitalsd-3-1");
  CHECK(lines[1]["alert"]["patient"] == "p-8");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("log notifier: a failed write is a failure to retry, not a delivery", "[log]") {
  // /dev/full accepts the open and fails every write with ENOSPC.
  vitals::adapters::log::log_notifier n("full", "/dev/full", false);
  const auto r = send(n, note(1));
  REQUIRE(r);
  CHECK(r->what == core::delivery_result::outcome::retry);
  CHECK_THAT(r->error, Catch::Contains("/dev/full") && Catch::Contains("No space"));
  CHECK_THROWS_WITH(vitals::adapters::log::log_notifier("x", "/nonexistent-dir/x.jsonl", false),
                    Catch::Contains("/nonexistent-dir/x.jsonl"));
}

TEST_CASE("log receiver: configured as [[receivers]] type = \"log\", delivered by the dispatcher",
          "[log]") {
  vitals::test::temp_dir dir("vitals-log");
  const auto path = dir.path() / "out.jsonl";
  const auto& plugins = vitals::adapters::registry();
  const auto s = vitals::config::load_string(
      "[[receivers]]\nname = \"record\"\ntype = \"log\"\npath = \"" + path.string() + "\"\n",
      "log.toml", plugins);
  REQUIRE(s.receivers.size() == 1);
  boost::asio::io_context io;
  core::notifier_context ctx{"record", io, nullptr, s.sections};
  namespace notify = vitals::adapters::notify;
  std::vector<notify::receiver> receivers;
  receivers.push_back({"record", "log",
                       plugins.notifier("log")->create(s.receivers[0].options, ctx),
                       notify::delivery_from(s.receivers[0].options)});
  std::vector<std::uint64_t> delivered;
  notify::dispatcher d(io, std::move(receivers),
                       {[&](std::uint64_t id, core::timestamp) { delivered.push_back(id); }, {}});
  d.submit({note(5), note(6)});
  io.run_for(2s);
  CHECK(delivered == std::vector<std::uint64_t>{5, 6});
  CHECK(lines_of(path).size() == 2);
  CHECK(d.metrics().at(0).kind == "log");
}

TEST_CASE(
    "vitalsd end to end without a broker: readings from a file, an alert, a notification in "
    "the log receiver's file",
    "[log][e2e]") {
  vitals::test::temp_dir dir("vitals-log-e2e");
  const auto readings = dir.path() / "readings.jsonl";
  const auto out = dir.path() / "notifications.jsonl";
  const auto config = dir.path() / "vitalsd.toml";
  std::ofstream(readings).close();
  std::ofstream(config) << "[[sources]]\ntype = \"file\"\npath = \"" << readings.string()
                        << "\"\npoll_interval_ms = 20\n"
                        << "[[receivers]]\nname = \"record\"\ntype = \"log\"\npath = \""
                        << out.string() << "\"\n"
                        << "[[routes]]\nname = \"all\"\n[[routes.steps]]\nreceivers = "
                           "[\"record\"]\n"
                        << "[alerts]\ncommand_topic = \"\"\n"
                        << "[[patients]]\nid = \"p-e2e\"\n"  // known devices only
                        << "[store]\npath = \"" << (dir.path() / "vitalsd.db").string()
                        << "\"\nbatch_interval_ms = 50\n"
                        << "[api]\nenabled = false\n";
  vitals::test::child_process daemon({VITALSD_PATH, "--config", config.string()},
                                     dir.path() / "vitalsd.log");
  REQUIRE(
      eventually([&] { return daemon.log_text().find("following") != std::string::npos; }, 20s));
  // A desaturation to 80 % for 20 s of device time, gradual as a real one.
  std::ofstream feed(readings, std::ios::app);
  const auto start = core::now_ms().time_since_epoch().count() - 60'000;
  std::int64_t t = start;
  const auto put = [&](double spo2) {
    feed << R"({"device":"ox-1","patient":"p-e2e","ts":)" << t << R"(,"spo2":)" << spo2 << "}\n";
    t += 1000;
  };
  for (int i = 0; i < 5; ++i) put(97);
  for (const double v : {95.0, 93.0, 91.0, 89.0, 87.0, 85.0, 83.0, 81.0}) put(v);
  for (int i = 0; i < 20; ++i) put(80);
  feed.flush();
  REQUIRE(eventually([&] { return !lines_of(out).empty(); }, 30s));
  const auto first = lines_of(out).front();
  CHECK(first["action"] == "trigger");
  CHECK(first["alert"]["rule"] == "spo2_low");
  CHECK(first["alert"]["patient"] == "p-e2e");
  daemon.send_signal(SIGTERM);
  CHECK(daemon.wait_for(30s) == 0);
}

}  // namespace log_notifier_test
