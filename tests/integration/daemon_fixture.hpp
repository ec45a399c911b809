#pragma once
// Shared pieces of the end-to-end tests: a real mosquitto, vitalsd as a process, and read-only
// queries on the SQLite file it writes.

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <vitals/test/mosquitto_broker.hpp>
#include <vitals/test/process.hpp>
#include <vitals/test/temp_dir.hpp>

namespace vitals::it {

/// Wall-clock time in Unix milliseconds, as device timestamps in test payloads.
inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Runs one SQL query returning a single integer, on a read-only connection of its own.
inline std::int64_t query_int(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(conn);
    return -1;  // not created yet
  }
  sqlite3_busy_timeout(conn, 2000);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t result = -1;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return result;
}

/// Runs a query and returns every row's first column as text.
inline std::vector<std::string> query_strings(const std::filesystem::path& db,
                                              const std::string& sql) {
  std::vector<std::string> rows;
  sqlite3* conn = nullptr;
  if (sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(conn);
    return rows;
  }
  sqlite3_busy_timeout(conn, 2000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      rows.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return rows;
}

/// Writes a secret file readable by its owner only (vitalsd refuses any other mode); its path.
inline std::string write_secret(const std::filesystem::path& dir, const std::string& name,
                                const std::string& value) {
  const auto p = dir / name;
  std::ofstream(p) << value << "\n";
  ::chmod(p.c_str(), 0600);
  return p.string();
}

/// Every stored reading as "DEVICE DEVICE_TS" (ms), to tell which readings are missing.
inline std::set<std::string> stored_readings(const std::filesystem::path& db) {
  std::set<std::string> out;
  for (auto& r : query_strings(db,
                               "SELECT d.key || ' ' || s.device_ts FROM samples s JOIN devices d "
                               "ON d.id = s.device_id")) {
    out.insert(std::move(r));
  }
  return out;
}

/// Resident set size of a process in KiB (VmRSS), or -1.
inline long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

/// A broker, a temp dir and a config for vitalsd pointing at both.
struct daemon_env {
  test::temp_dir dir{"vitals-it"};
  test::mosquitto_broker broker;
  std::filesystem::path config = dir.path() / "vitalsd.toml";
  std::filesystem::path db = dir.path() / "vitalsd.db";
  /// The HTTP API's port: a free one, so that tests can run side by side.
  std::uint16_t api_port = test::free_loopback_port();
  int runs = 0;

  /// Writes the config; `extra` is appended verbatim (TOML), `api_extra` goes into [api].
  /// Without a [pipeline] table in `extra`, one takes every device (accept_unknown = true):
  /// the tests' patients are in no registry. An `extra` with [pipeline] says what it wants.
  explicit daemon_env(const std::string& extra = "", const std::string& api_extra = "") {
    std::ofstream out(config);
    out << "[mqtt]\nbroker = \"" << broker.uri() << "\"\n"
        << "[[sources]]\ntype = \"mqtt\"\nclient_id = \"vitalsd-it\"\n"
        << "[store]\npath = \"" << db.string() << "\"\nbatch_interval_ms = 50\n"
        << "[log]\nlevel = \"info\"\n"
        << "[api]\nport = " << api_port << "\n"
        << api_extra
        << (extra.find("[pipeline]") == std::string::npos ? "[pipeline]\naccept_unknown = true\n"
                                                          : "")
        << extra;
  }

  /// Starts vitalsd and waits until it has subscribed (so that nothing published is missed).
  std::unique_ptr<test::child_process> start_daemon() {
    auto log = dir.path() / ("vitalsd-" + std::to_string(++runs) + ".log");
    auto p = std::make_unique<test::child_process>(
        std::vector<std::string>{VITALSD_PATH, "--config", config.string()}, log);
    const bool up = test::eventually(
        [&] { return p->log_text().find("subscribed") != std::string::npos || !p->running(); },
        std::chrono::seconds(20));
    if (!up || !p->running()) {
      throw std::runtime_error("vitalsd did not subscribe; its log:\n" + p->log_text());
    }
    return p;
  }

  std::int64_t count(const std::string& sql) const { return query_int(db, sql); }
};

/// Sends SIGTERM and returns the exit code (nullopt when it did not exit in time).
inline std::optional<int> terminate(test::child_process& p,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  p.send_signal(SIGTERM);
  return p.wait_for(timeout);
}

/// A binary run to its end: its exit code and what it printed (stdout and stderr together).
struct run_outcome {
  int code = -1;
  std::string output;
};

/// Runs a binary to its end, its output kept in DIR/TAG.log; throws when it has not exited
/// within 30 s.
inline run_outcome run_to_end(const std::vector<std::string>& argv,
                              const std::filesystem::path& dir, const std::string& tag) {
  test::child_process p(argv, dir / (tag + ".log"));
  const auto code = p.wait_for(std::chrono::seconds(30));
  if (!code) {
    throw std::runtime_error(argv.front() + " did not exit within 30 s; its output:\n" +
                             p.log_text());
  }
  return {*code, p.log_text()};
}

}  // namespace vitals::it
