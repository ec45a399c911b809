// End-to-end ingest benchmark (issue 2): a flood publisher pushes N readings through a private
// mosquitto, and three subscribers take turns on a fresh broker each, in the same run:
//   libmosquitto  a bare libmosquitto client that only counts messages (the issue's baseline)
//   paho-c++      a bare Paho C++ async_client with a message callback that only counts (the
//                 MQTT library vitalsd uses: the ceiling vitalsd can reach with it)
//   vitalsd       the daemon as a process (Release build), counted as rows in its SQLite file
// For QoS 0 and QoS 1 it prints each subscriber's rate, the publisher's own rate, the CPU that
// the broker, the subscriber and this process used, and the ratio vitalsd / bare subscriber.
// Medians over --repeat runs; ratios are paired within one repeat. With --detection-off, vitalsd
// also runs with `[pipeline] detection = false` in every repeat (issue 4: what detection costs
// end to end), and the ratio detection on / off is printed. Not part of ctest.

#include <mosquitto.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <mqtt/async_client.h>

#include <vitals/test/mosquitto_broker.hpp>
#include <vitals/test/process.hpp>
#include <vitals/test/temp_dir.hpp>

#ifndef VITALSD_PATH
#error "VITALSD_PATH must be defined by the build"
#endif

namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Options

struct options {
  std::size_t messages = 200'000;
  int repeat = 3;
  std::vector<int> qos{0, 1};
  int publishers = 2;
  int devices = 100;
  int inflight = 100;  // QoS 1 messages awaiting PUBACK per publisher client
  double idle_s = 2.0;
  double timeout_s = 60.0;
  int poll_ms = 50;
  bool libmosquitto = true;
  bool paho = true;
  bool vitalsd = true;
  bool detection_off = false;           // also run vitalsd with [pipeline] detection = false
  std::vector<std::string> broker_set;  // lines appended to the shipped mosquitto config
};

[[noreturn]] void usage(int code) {
  std::printf(
      "usage: ingest_bench [options]\n"
      "  --messages N     readings published per measurement (default 200000)\n"
      "  --repeat R       runs of every configuration; medians are printed (default 3)\n"
      "  --qos LIST       0, 1 or 0,1 (default 0,1)\n"
      "  --publishers P   publisher clients, one thread each (default 2)\n"
      "  --devices D      distinct devices (topics) the readings are spread over (default 100)\n"
      "  --inflight W     QoS 1 messages in flight per publisher client (default 100)\n"
      "  --idle S         stop waiting when nothing new arrived for S seconds (default 2)\n"
      "  --timeout S      deadline of one measurement in seconds (default 60)\n"
      "  --poll-ms MS     vitalsd: interval of SELECT count(*) polls (default 50)\n"
      "  --no-libmosquitto  skip the bare libmosquitto subscriber\n"
      "  --no-paho        skip the bare Paho C++ subscriber\n"
      "  --no-vitalsd     skip vitalsd (baselines only)\n"
      "  --detection-off  also run vitalsd with [pipeline] detection = false in every repeat\n"
      "                   ('vitalsd-nodet') and print the ratio detection on / off (issue 4)\n"
      "  --broker-set L   append line L to the shipped mosquitto config (repeatable), e.g.\n"
      "                   --broker-set 'set_tcp_nodelay false'; the last setting wins\n");
  std::exit(code);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "ingest_bench: %s needs a value\n", a.c_str());
        usage(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--messages") {
        o.messages = std::stoul(value());
      } else if (a == "--repeat") {
        o.repeat = std::stoi(value());
      } else if (a == "--qos") {
        o.qos.clear();
        std::stringstream in(value());
        for (std::string q; std::getline(in, q, ',');) o.qos.push_back(std::stoi(q));
      } else if (a == "--publishers") {
        o.publishers = std::stoi(value());
      } else if (a == "--devices") {
        o.devices = std::stoi(value());
      } else if (a == "--inflight") {
        o.inflight = std::stoi(value());
      } else if (a == "--idle") {
        o.idle_s = std::stod(value());
      } else if (a == "--timeout") {
        o.timeout_s = std::stod(value());
      } else if (a == "--poll-ms") {
        o.poll_ms = std::stoi(value());
      } else if (a == "--no-libmosquitto") {
        o.libmosquitto = false;
      } else if (a == "--no-paho") {
        o.paho = false;
      } else if (a == "--no-vitalsd") {
        o.vitalsd = false;
      } else if (a == "--detection-off") {
        o.detection_off = true;
      } else if (a == "--broker-set") {
        o.broker_set.push_back(value());
      } else if (a == "--help" || a == "-h") {
        usage(0);
      } else {
        std::fprintf(stderr, "ingest_bench: unknown option %s\n", a.c_str());
        usage(2);
      }
    } catch (const std::logic_error&) {
      std::fprintf(stderr, "ingest_bench: bad value for %s\n", a.c_str());
      usage(2);
    }
  }
  const bool qos_ok = !o.qos.empty() && std::all_of(o.qos.begin(), o.qos.end(),
                                                    [](int q) { return q == 0 || q == 1; });
  if (o.messages == 0 || o.repeat < 1 || !qos_ok || o.publishers < 1 || o.devices < 1 ||
      o.inflight < 1 || o.idle_s <= 0 || o.timeout_s <= 0 || o.poll_ms < 1 ||
      (!o.libmosquitto && !o.paho && !o.vitalsd) || (o.detection_off && !o.vitalsd)) {
    std::fprintf(stderr, "ingest_bench: option out of range\n");
    usage(2);
  }
  return o;
}

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: how many cores each party used during the measurement window.

double ticks_to_s(unsigned long long ticks) {
  static const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(ticks) / hz;
}

/// utime + stime of /proc/.../stat, in seconds; 0 when it cannot be read.
double proc_cpu_s(const fs::path& stat_file) {
  std::ifstream in(stat_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // comm may contain spaces
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return ticks_to_s(utime + stime);
}

/// Busy CPU seconds of the whole machine (all cores, everything but idle and iowait).
double machine_busy_s() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long v[10] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  return ticks_to_s(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

double self_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

double thread_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// CPU seconds per thread of a process, in thread-id order (creation order).
std::vector<std::pair<pid_t, double>> threads_cpu_s(pid_t pid) {
  std::vector<std::pair<pid_t, double>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task", ec))
    out.emplace_back(static_cast<pid_t>(std::stol(e.path().filename().string())),
                     proc_cpu_s(e.path() / "stat"));
  std::sort(out.begin(), out.end());
  return out;
}

struct cpu_snapshot {
  steady::time_point at;
  double machine = 0, broker = 0, self = 0, daemon = 0;
  std::vector<std::pair<pid_t, double>> daemon_threads;
};

cpu_snapshot snapshot(pid_t broker, pid_t daemon) {
  cpu_snapshot s;
  s.at = steady::now();
  s.machine = machine_busy_s();
  s.broker = proc_cpu_s(fs::path("/proc") / std::to_string(broker) / "stat");
  s.self = self_cpu_s();
  if (daemon > 0) {
    s.daemon = proc_cpu_s(fs::path("/proc") / std::to_string(daemon) / "stat");
    s.daemon_threads = threads_cpu_s(daemon);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Workload: pre-generated topics and payloads, one list per publisher client.

struct message {
  std::string topic;
  std::string payload;
};

std::vector<std::vector<message>> make_workload(const options& o) {
  std::vector<std::vector<message>> per_publisher(static_cast<std::size_t>(o.publishers));
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto devices = static_cast<std::size_t>(o.devices);
  // Reading j goes to device j % D with per-device sequence j / D; its ts is base + sequence
  // ms, so every (device, ts) is distinct and the newest reading is about "now".
  const std::int64_t base = now_ms - static_cast<std::int64_t>(o.messages / devices) - 1;
  for (std::size_t j = 0; j < o.messages; ++j) {
    const std::size_t d = j % devices;
    const auto seq = static_cast<std::int64_t>(j / devices);
    char device[32], topic[64], payload[96];
    std::snprintf(device, sizeof device, "ox-%04zu", d);
    std::snprintf(topic, sizeof topic, "vitals/p-%04zu/%s", d, device);
    std::snprintf(payload, sizeof payload, R"({"device":"%s","ts":%lld,"hr":%d})", device,
                  static_cast<long long>(base + seq), 60 + static_cast<int>(seq % 30));
    per_publisher[d % per_publisher.size()].push_back({topic, payload});
  }
  return per_publisher;
}

// ---------------------------------------------------------------------------------------------
// Flood publisher: one libmosquitto client per thread, driven with mosquitto_loop() (no
// library thread). QoS 0: a publish completes when written to the socket; QoS 1: on PUBACK.
// At most `inflight` incomplete publishes per client, so TCP and the broker push back.

struct publish_stats {
  std::size_t completed = 0;
  steady::time_point last_complete{};
  double cpu_s = 0;
  std::string error;
};

class flood_publisher {
 public:
  flood_publisher(const std::vector<std::vector<message>>& work, std::uint16_t port, int qos,
                  int inflight, steady::time_point deadline)
      : results_(work.size()), ready_(static_cast<std::ptrdiff_t>(work.size() + 1)) {
    for (std::size_t i = 0; i < work.size(); ++i)
      threads_.emplace_back([this, &w = work[i], i, port, qos, inflight, deadline] {
        run(w, results_[i], "bench-pub-" + std::to_string(i), port, qos, inflight, deadline);
      });
  }
  ~flood_publisher() {
    if (!released_) {  // go() never ran (an exception): let the threads out and end them
      cancelled_.store(true);
      ready_.count_down();
      go_.store(true, std::memory_order_release);
    }
    join();
  }
  flood_publisher(const flood_publisher&) = delete;
  flood_publisher& operator=(const flood_publisher&) = delete;

  /// Waits until every client is connected, then releases them all; returns the start time.
  steady::time_point go() {
    ready_.arrive_and_wait();
    released_ = true;
    start_ = steady::now();
    go_.store(true, std::memory_order_release);
    return start_;
  }

  /// Joins the publisher threads; totals of what they completed.
  publish_stats join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    publish_stats total;
    for (const auto& r : results_) {
      total.completed += r.completed;
      total.last_complete = std::max(total.last_complete, r.last_complete);
      total.cpu_s += r.cpu_s;
      if (total.error.empty()) total.error = r.error;
    }
    return total;
  }

  std::size_t completed_so_far() const { return done_.load(std::memory_order_relaxed); }

 private:
  struct client_state {
    std::size_t completed = 0;
    bool connected = false;
    int connack = -1;
  };

  void run(const std::vector<message>& work, publish_stats& out, const std::string& id,
           std::uint16_t port, int qos, int inflight, steady::time_point deadline) {
    client_state st;
    mosquitto* m = mosquitto_new(id.c_str(), true, &st);
    bool released = false;
    auto release = [&] {
      if (!released) ready_.arrive_and_wait();
      released = true;
    };
    try {
      if (!m) throw std::runtime_error("mosquitto_new failed");
      mosquitto_connect_callback_set(m, [](mosquitto*, void* u, int rc) {
        auto& s = *static_cast<client_state*>(u);
        s.connack = rc;
        s.connected = rc == 0;
      });
      mosquitto_publish_callback_set(
          m, [](mosquitto*, void* u, int) { ++static_cast<client_state*>(u)->completed; });
      mosquitto_max_inflight_messages_set(m, static_cast<unsigned>(inflight));
      int rc = mosquitto_connect(m, "127.0.0.1", port, 60);
      if (rc != MOSQ_ERR_SUCCESS)
        throw std::runtime_error(std::string("connect: ") + mosquitto_strerror(rc));
      const auto connect_deadline = steady::now() + 10s;
      while (st.connack < 0 && steady::now() < connect_deadline) mosquitto_loop(m, 100, 1);
      if (!st.connected) throw std::runtime_error("no CONNACK from the broker");
      release();
      while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
      if (cancelled_.load()) throw std::runtime_error("cancelled");
      const double cpu0 = thread_cpu_s();
      std::size_t next = 0;
      std::size_t reported = 0;
      while (st.completed < work.size()) {
        if (steady::now() > deadline) throw std::runtime_error("publisher deadline passed");
        while (next < work.size() && next - st.completed < static_cast<std::size_t>(inflight)) {
          const auto& msg = work[next];
          rc =
              mosquitto_publish(m, nullptr, msg.topic.c_str(), static_cast<int>(msg.payload.size()),
                                msg.payload.data(), qos, false);
          if (rc != MOSQ_ERR_SUCCESS)
            throw std::runtime_error(std::string("publish: ") + mosquitto_strerror(rc));
          ++next;
        }
        rc = mosquitto_loop(m, 10, 1);
        if (rc != MOSQ_ERR_SUCCESS)
          throw std::runtime_error(std::string("loop: ") + mosquitto_strerror(rc));
        done_.fetch_add(st.completed - reported, std::memory_order_relaxed);
        reported = st.completed;
      }
      out.last_complete = steady::now();
      out.cpu_s = thread_cpu_s() - cpu0;
      mosquitto_disconnect(m);
      mosquitto_loop(m, 10, 1);
    } catch (const std::exception& e) {
      out.error = id + ": " + e.what();
      out.last_complete = steady::now();
      release();  // never leave go() waiting
    }
    out.completed = st.completed;
    if (m) mosquitto_destroy(m);
  }

  std::vector<publish_stats> results_;
  std::latch ready_;
  std::atomic<bool> go_{false};
  std::atomic<bool> cancelled_{false};
  bool released_ = false;
  std::atomic<std::size_t> done_{0};
  steady::time_point start_{};
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------------------------
// Subscribers under test. Each reports how many messages (or samples) it has and when the last
// one arrived (or was first seen committed).

class subscriber {
 public:
  virtual ~subscriber() = default;
  virtual std::string name() const = 0;
  /// What has arrived (bare) or been committed (vitalsd) so far.
  virtual std::size_t count() = 0;
  /// When count() last grew.
  virtual steady::time_point last_arrival() const = 0;
  /// How long to sleep between polls of count().
  virtual std::chrono::milliseconds poll_interval() const { return 10ms; }
  virtual pid_t pid() const { return -1; }
  /// Stops the subscriber; a line of its own statistics, if any.
  virtual std::string finish() { return {}; }
};

/// Message counting shared by the bare subscribers (called on their network threads).
struct arrival_counter {
  std::atomic<std::size_t> n{0};
  std::atomic<steady::rep> last{0};
  void on_message() {
    last.store(steady::now().time_since_epoch().count(), std::memory_order_relaxed);
    n.fetch_add(1, std::memory_order_release);
  }
  steady::time_point last_arrival() const {
    return steady::time_point(steady::duration(last.load(std::memory_order_relaxed)));
  }
};

class mosquitto_subscriber final : public subscriber {
 public:
  mosquitto_subscriber(std::uint16_t port, int qos) : qos_(qos) {
    m_ = mosquitto_new("bench-sub-libmosquitto", true, this);
    if (!m_) throw std::runtime_error("mosquitto_new failed");
    mosquitto_connect_callback_set(m_, [](mosquitto* m, void* u, int rc) {
      auto* self = static_cast<mosquitto_subscriber*>(u);
      if (rc == 0) mosquitto_subscribe(m, nullptr, "vitals/+/+", self->qos_);
    });
    mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* u, int, int, const int*) {
      static_cast<mosquitto_subscriber*>(u)->subscribed_ = true;
    });
    mosquitto_message_callback_set(m_, [](mosquitto*, void* u, const mosquitto_message*) {
      static_cast<mosquitto_subscriber*>(u)->arrivals_.on_message();
    });
    int rc = mosquitto_connect(m_, "127.0.0.1", port, 60);
    if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_loop_start(m_);
    if (rc != MOSQ_ERR_SUCCESS) {
      mosquitto_destroy(m_);
      throw std::runtime_error(std::string("libmosquitto subscriber: ") + mosquitto_strerror(rc));
    }
    if (!vitals::test::eventually([&] { return subscribed_.load(); })) {
      finish();
      throw std::runtime_error("libmosquitto subscriber: not subscribed within 10 s");
    }
  }
  ~mosquitto_subscriber() override { finish(); }
  std::string name() const override { return "libmosquitto"; }
  std::size_t count() override { return arrivals_.n.load(std::memory_order_acquire); }
  steady::time_point last_arrival() const override { return arrivals_.last_arrival(); }
  std::string finish() override {
    if (m_) {
      mosquitto_disconnect(m_);
      mosquitto_loop_stop(m_, false);
      mosquitto_destroy(m_);
      m_ = nullptr;
    }
    return {};
  }

 private:
  int qos_;
  mosquitto* m_ = nullptr;
  std::atomic<bool> subscribed_{false};
  arrival_counter arrivals_;
};

class paho_subscriber final : public subscriber {
 public:
  paho_subscriber(std::uint16_t port, int qos)
      : client_("tcp://127.0.0.1:" + std::to_string(port), "bench-sub-paho", nullptr) {
    client_.set_message_callback([this](mqtt::const_message_ptr) { arrivals_.on_message(); });
    auto opts = mqtt::connect_options_builder()
                    .mqtt_version(MQTTVERSION_3_1_1)
                    .clean_session(true)
                    .keep_alive_interval(60s)
                    .finalize();
    client_.connect(opts)->wait_for(10s);
    if (!client_.is_connected()) throw std::runtime_error("paho subscriber: not connected");
    if (!client_.subscribe("vitals/+/+", qos)->wait_for(10s))
      throw std::runtime_error("paho subscriber: not subscribed within 10 s");
  }
  ~paho_subscriber() override { finish(); }
  std::string name() const override { return "paho-c++"; }
  std::size_t count() override { return arrivals_.n.load(std::memory_order_acquire); }
  steady::time_point last_arrival() const override { return arrivals_.last_arrival(); }
  std::string finish() override {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(5s);
    } catch (const mqtt::exception&) {
    }
    return {};
  }

 private:
  arrival_counter arrivals_;
  mqtt::async_client client_;
};

/// SELECT count(*) FROM samples on a read-only connection kept open for the whole run.
class sample_counter {
 public:
  std::optional<std::int64_t> count(const fs::path& db) {
    if (!conn_) {
      if (!fs::exists(db)) return std::nullopt;
      if (sqlite3_open_v2(db.c_str(), &conn_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        close();
        return std::nullopt;
      }
      sqlite3_busy_timeout(conn_, 2000);
    }
    if (!stmt_ &&
        sqlite3_prepare_v2(conn_, "SELECT count(*) FROM samples", -1, &stmt_, nullptr) != SQLITE_OK)
      return std::nullopt;  // schema not created yet
    std::optional<std::int64_t> n;
    if (sqlite3_step(stmt_) == SQLITE_ROW) n = sqlite3_column_int64(stmt_, 0);
    sqlite3_reset(stmt_);
    return n;
  }
  ~sample_counter() { close(); }
  void close() {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    sqlite3_close(conn_);
    conn_ = nullptr;
  }

 private:
  sqlite3* conn_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class vitalsd_subscriber final : public subscriber {
 public:
  vitalsd_subscriber(const vitals::test::mosquitto_broker& broker, int qos, int poll_ms,
                     bool detection)
      : name_(detection ? "vitalsd" : "vitalsd-nodet"),
        poll_(poll_ms),
        db_(dir_.path() / "vitalsd.db") {
    const auto config = dir_.path() / "vitalsd.toml";
    // Defaults everywhere (persistent session, batch_rows 1000, batch_interval_ms 200,
    // synchronous normal, ring 65536) except the broker, the QoS and the database; and for
    // vitalsd-nodet, no physiological detector (readings stored, stale-data monitor only).
    std::ofstream(config)
        << "[mqtt]\nbroker = \"" << broker.uri()
        << "\"\n[[sources]]\ntype = \"mqtt\"\nclient_id = \"vitalsd-bench\"\nqos = " << qos
        << "\n[store]\npath = \"" << db_.string()
        << "\"\n[pipeline]\naccept_unknown = true\ndetection = " << (detection ? "true" : "false")
        << "\n[log]\nlevel = \"info\"\n[api]\nport = 0\n";
    process_ = std::make_unique<vitals::test::child_process>(
        std::vector<std::string>{VITALSD_PATH, "--config", config.string()},
        dir_.path() / "vitalsd.log");
    const bool up = vitals::test::eventually(
        [&] {
          return process_->log_text().find("subscribed") != std::string::npos ||
                 !process_->running();
        },
        20s);
    if (!up || !process_->running())
      throw std::runtime_error("vitalsd did not subscribe; its log:\n" + process_->log_text());
  }
  ~vitalsd_subscriber() override { finish(); }
  std::string name() const override { return name_; }
  std::size_t count() override {
    const auto n = counter_.count(db_).value_or(0);
    const auto now = steady::now();
    if (static_cast<std::size_t>(n) != last_count_) {
      last_count_ = static_cast<std::size_t>(n);
      last_ = now;
    }
    return last_count_;
  }
  steady::time_point last_arrival() const override { return last_; }
  std::chrono::milliseconds poll_interval() const override { return poll_; }
  pid_t pid() const override { return process_ ? process_->pid() : -1; }
  std::string finish() override {
    counter_.close();
    if (!process_) return {};
    process_->send_signal(SIGTERM);
    const auto code = process_->wait_for(30s);
    std::string log = process_->log_text();
    process_.reset();
    const auto pos = log.rfind("stopped: ");
    std::string line = pos == std::string::npos ? "no 'stopped:' line in vitalsd's log"
                                                : log.substr(pos, log.find('\n', pos) - pos);
    if (!code || *code != 0)
      line += " [exit " + (code ? std::to_string(*code) : std::string("timeout")) + "]";
    return line;
  }

 private:
  vitals::test::temp_dir dir_{"vitals-bench"};
  std::string name_;
  std::chrono::milliseconds poll_;
  fs::path db_;
  std::unique_ptr<vitals::test::child_process> process_;
  sample_counter counter_;
  std::size_t last_count_ = 0;
  steady::time_point last_ = steady::now();
};

// ---------------------------------------------------------------------------------------------
// One measurement: fresh broker, subscriber connected, flood, wait, account.

struct measurement {
  std::size_t received = 0;
  double rate = 0;            // received / (last arrival - first publish)
  double publisher_rate = 0;  // completed publishes / (last completion - first publish)
  double window_s = 0;
  double cpu_window_s = 0;  // window of the CPU figures (to the end of the wait, not the last row)
  double broker_cores = 0, subscriber_cores = 0, publisher_cores = 0, machine_cores = 0;
  std::vector<double> daemon_threads;  // cores per vitalsd thread, thread-id order
  std::string note;
};

measurement measure(const options& o, const std::vector<std::vector<message>>& work, int qos,
                    const std::string& which) {
  vitals::test::mosquitto_broker broker(0, std::chrono::seconds(10), o.broker_set);
  const pid_t broker_pid = broker.pid();
  std::unique_ptr<subscriber> sub;
  if (which == "libmosquitto") sub = std::make_unique<mosquitto_subscriber>(broker.port(), qos);
  if (which == "paho-c++") sub = std::make_unique<paho_subscriber>(broker.port(), qos);
  if (which == "vitalsd" || which == "vitalsd-nodet")
    sub = std::make_unique<vitalsd_subscriber>(broker, qos, o.poll_ms, which == "vitalsd");

  const auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(
                                            std::chrono::duration<double>(o.timeout_s));
  flood_publisher pub(work, broker.port(), qos, o.inflight, deadline);
  const auto before = snapshot(broker_pid, sub->pid());
  const auto t0 = pub.go();

  // Done when all N arrived, or nothing new arrived for idle_s after the publisher finished
  // (QoS 0 may lose messages), or at the deadline.
  const auto idle =
      std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.idle_s));
  std::size_t seen = 0;
  auto last_growth = steady::now();
  auto next_progress = steady::now() + 2s;
  while (true) {
    const auto n = sub->count();
    const auto now = steady::now();
    if (n != seen) {
      seen = n;
      last_growth = now;
    }
    if (seen >= o.messages) break;
    if (pub.completed_so_far() >= o.messages && now - last_growth > idle) break;
    if (now > deadline) break;
    if (now > next_progress) {
      std::printf("      ... %.1f s: published %zu, %s has %zu\n", seconds(now - t0),
                  pub.completed_so_far(), sub->name().c_str(), seen);
      std::fflush(stdout);
      next_progress = now + 2s;
    }
    std::this_thread::sleep_for(sub->poll_interval());
  }
  // Close the window at the last arrival; CPU is read now (the idle tail adds no CPU).
  const auto after = snapshot(broker_pid, sub->pid());
  const auto pubstats = pub.join();

  measurement r;
  r.received = seen;
  const auto end = std::max(sub->last_arrival(), t0 + 1us);
  r.window_s = seconds(end - t0);
  r.rate = static_cast<double>(seen) / r.window_s;
  r.publisher_rate = static_cast<double>(pubstats.completed) /
                     seconds(std::max(pubstats.last_complete, t0 + 1us) - t0);
  const double cpu_window = seconds(after.at - before.at);
  r.cpu_window_s = cpu_window;
  r.broker_cores = (after.broker - before.broker) / cpu_window;
  r.machine_cores = (after.machine - before.machine) / cpu_window;
  r.publisher_cores = pubstats.cpu_s / cpu_window;
  if (sub->pid() > 0) {
    r.subscriber_cores = (after.daemon - before.daemon) / cpu_window;
    for (const auto& [tid, s] : after.daemon_threads) {
      double start = 0;
      for (const auto& [tid0, s0] : before.daemon_threads)
        if (tid0 == tid) start = s0;
      r.daemon_threads.push_back((s - start) / cpu_window);
    }
  } else {
    // In-process bare subscriber: this process minus the publisher threads.
    r.subscriber_cores = (after.self - before.self - pubstats.cpu_s) / cpu_window;
  }
  if (!pubstats.error.empty()) r.note = "publisher: " + pubstats.error + "; ";
  if (steady::now() > deadline) r.note += "deadline passed; ";
  r.note += sub->finish();
  return r;
}

/// Cores used during the window by anything but the broker, the subscriber and the publisher:
/// other people's work on a shared machine (and this process's polling, for vitalsd).
double other_cores(const measurement& m) {
  return std::max(0.0, m.machine_cores - m.broker_cores - m.subscriber_cores - m.publisher_cores);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  mosquitto_lib_init();
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> subscribers;
  if (o.libmosquitto) subscribers.push_back("libmosquitto");
  if (o.paho) subscribers.push_back("paho-c++");
  if (o.vitalsd) subscribers.push_back("vitalsd");
  if (o.detection_off) subscribers.push_back("vitalsd-nodet");

  const auto work = make_workload(o);
  std::string broker_extra;
  for (const auto& line : o.broker_set) broker_extra += (broker_extra.empty() ? "" : "; ") + line;
  std::size_t payload_bytes = 0;
  for (const auto& w : work)
    for (const auto& m : w) payload_bytes += m.payload.size();
  std::printf(
      "ingest_bench: %zu readings per run (payload ~%zu bytes, e.g. %s on %s), %d devices, "
      "%d publisher client(s), QoS 1 in-flight %d per client, %d repeat(s)\n"
      "machine: %u cores, %s; vitalsd: %s\n"
      "broker: config/mosquitto/vitals-mosquitto.conf.in%s%s\n"
      "window: first publish -> last message received (bare subscribers) or first poll that "
      "saw the last sample committed (vitalsd, polled every %d ms)\n\n",
      o.messages, payload_bytes / o.messages, work[0][0].payload.c_str(), work[0][0].topic.c_str(),
      o.devices, o.publishers, o.inflight, o.repeat, std::thread::hardware_concurrency(),
      cpu_model().c_str(), VITALSD_PATH,
      o.broker_set.empty() ? "" : " plus: ", broker_extra.c_str(), o.poll_ms);
  std::fflush(stdout);

  // results[qos][subscriber] = one measurement per repeat
  std::map<int, std::map<std::string, std::vector<measurement>>> results;
  for (const int qos : o.qos) {
    for (int rep = 1; rep <= o.repeat; ++rep) {
      // vitalsd and vitalsd-nodet swap places every other repeat, so that a drift of the
      // background load does not always favour the same one.
      auto order = subscribers;
      if (o.detection_off && rep % 2 == 0) std::iter_swap(order.end() - 2, order.end() - 1);
      for (const auto& which : order) {
        std::printf("[QoS %d, run %d/%d] %-12s ...\n", qos, rep, o.repeat, which.c_str());
        std::fflush(stdout);
        measurement m;
        try {
          m = measure(o, work, qos, which);
        } catch (const std::exception& e) {
          m.note = std::string("FAILED: ") + e.what();
        }
        std::printf(
            "    %-12s %7zu in %6.2f s = %8.0f /s; publisher %8.0f /s; cores: broker %.2f, "
            "subscriber %.2f, publisher %.2f, machine %.2f (other %.2f)%s%s\n",
            which.c_str(), m.received, m.window_s, m.rate, m.publisher_rate, m.broker_cores,
            m.subscriber_cores, m.publisher_cores, m.machine_cores, other_cores(m),
            m.note.empty() ? "" : "\n    ", m.note.c_str());
        if (!m.daemon_threads.empty()) {
          std::printf("    vitalsd threads (cores, thread-id order):");
          for (const double c : m.daemon_threads) std::printf(" %.2f", c);
          std::printf("\n");
        }
        std::fflush(stdout);
        results[qos][which].push_back(std::move(m));
      }
    }
  }

  std::printf(
      "\nMedians of %d run(s). rate = messages received (bare) or samples stored (vitalsd) per "
      "second of the window.\nratio = median over runs of vitalsd rate / that run's baseline "
      "rate. Cores: share of one core during the window;\n'machine' is the whole machine "
      "(everything above plus any other load; %u cores).\n\n",
      o.repeat, std::thread::hardware_concurrency());
  std::printf("%-4s %-13s %9s %10s %12s %12s %12s  %6s %6s %6s %7s\n", "QoS", "subscriber",
              "received", "rate /s", "publisher /s", "vs libmosq", "vs paho", "broker", "sub",
              "pub", "machine");
  for (const auto& [qos, by_sub] : results) {
    for (const auto& which : subscribers) {
      const auto& runs = by_sub.at(which);
      auto med = [&](auto field) {
        std::vector<double> v;
        for (const auto& m : runs) v.push_back(field(m));
        return median(v);
      };
      auto ratio_vs = [&](const std::string& base) -> std::string {
        if (!by_sub.count(base)) return "-";
        std::vector<double> v;
        const auto& b = by_sub.at(base);
        for (std::size_t i = 0; i < runs.size() && i < b.size(); ++i)
          if (b[i].rate > 0) v.push_back(runs[i].rate / b[i].rate);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", median(v));
        return buf;
      };
      std::printf("%-4d %-13s %9.0f %10.0f %12.0f %12s %12s  %6.2f %6.2f %6.2f %7.2f\n", qos,
                  which.c_str(), med([](const measurement& m) { return double(m.received); }),
                  med([](const measurement& m) { return m.rate; }),
                  med([](const measurement& m) { return m.publisher_rate; }),
                  ratio_vs("libmosquitto").c_str(), o.paho ? ratio_vs("paho-c++").c_str() : "-",
                  med([](const measurement& m) { return m.broker_cores; }),
                  med([](const measurement& m) { return m.subscriber_cores; }),
                  med([](const measurement& m) { return m.publisher_cores; }),
                  med([](const measurement& m) { return m.machine_cores; }));
    }
  }
  std::printf("\nissue 2 target: vitalsd / libmosquitto >= 0.90 at QoS 0 and QoS 1\n");

  if (o.detection_off) {
    // Paired within each repeat: vitalsd (default config) against vitalsd-nodet.
    auto us_per_sample = [](const measurement& m, double cores) {
      return m.received ? cores * m.cpu_window_s / static_cast<double>(m.received) * 1e6 : 0.0;
    };
    auto pipeline_cores = [](const measurement& m) {
      // Thread-id order: main, SQLite writer, pipeline, Paho send, Paho receive.
      return m.daemon_threads.size() > 2 ? m.daemon_threads[2] : 0.0;
    };
    std::printf(
        "\nDetection on / off (issue 4): vitalsd (default config) against vitalsd-nodet "
        "([pipeline] detection = false),\npaired within each repeat, medians of the per-repeat "
        "ratios. CPU: microseconds of CPU per stored sample, whole\ndaemon and its pipeline "
        "thread (which runs the detectors); other: cores used by anything else during the\n"
        "window (other people's work: when it differs between on and off, so does the rate).\n\n");
    std::printf("%-4s %12s  %-30s %9s %9s %7s %12s %12s %7s %9s %6s\n", "QoS", "rate on/off",
                "per repeat", "daemon on", "off", "on/off", "pipeline on", "off", "on/off",
                "other on", "off");
    for (const auto& [qos, by_sub] : results) {
      const auto& on = by_sub.at("vitalsd");
      const auto& off = by_sub.at("vitalsd-nodet");
      std::vector<double> rate, cpu_on, cpu_off, cpu, pipe_on, pipe_off, pipe, other_on, other_off;
      std::string each;
      for (std::size_t i = 0; i < on.size() && i < off.size(); ++i) {
        if (off[i].rate <= 0 || on[i].rate <= 0) continue;
        rate.push_back(on[i].rate / off[i].rate);
        char buf[16];
        std::snprintf(buf, sizeof buf, "%s%.2f", each.empty() ? "" : " ", rate.back());
        each += buf;
        cpu_on.push_back(us_per_sample(on[i], on[i].subscriber_cores));
        cpu_off.push_back(us_per_sample(off[i], off[i].subscriber_cores));
        if (cpu_off.back() > 0) cpu.push_back(cpu_on.back() / cpu_off.back());
        pipe_on.push_back(us_per_sample(on[i], pipeline_cores(on[i])));
        pipe_off.push_back(us_per_sample(off[i], pipeline_cores(off[i])));
        if (pipe_off.back() > 0) pipe.push_back(pipe_on.back() / pipe_off.back());
        other_on.push_back(other_cores(on[i]));
        other_off.push_back(other_cores(off[i]));
      }
      std::printf("%-4d %12.2f  %-30s %9.2f %9.2f %7.2f %12.3f %12.3f %7.2f %9.2f %6.2f\n", qos,
                  median(rate), each.c_str(), median(cpu_on), median(cpu_off), median(cpu),
                  median(pipe_on), median(pipe_off), median(pipe), median(other_on),
                  median(other_off));
    }
    std::printf(
        "\nissue 4 target: detection costs < 10 %% of throughput, i.e. vitalsd rate on/off >= "
        "0.90\n");
  }
  mosquitto_lib_cleanup();
  return 0;
}
