#pragma once
// The API server's test doubles: a backend that records every call, and the server on its own
// io thread as in the daemon. Shared by the plain-HTTP and the HTTPS tests.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <vitals/daemon/api_server.hpp>

namespace vitals::test::api {

namespace asio = boost::asio;
using json = nlohmann::json;
using namespace std::chrono_literals;
using vitals::daemon::alert_command;
using vitals::daemon::alert_list_query;
using vitals::daemon::api_backend;
using vitals::daemon::api_options;
using vitals::daemon::api_response;
using vitals::daemon::api_role;
using vitals::daemon::api_server;
using vitals::daemon::patient_change;

inline constexpr const char* ack_token = "ack-secret-0123456789";
inline constexpr const char* read_token = "read-secret-9876543210";

/// Records every call. Called on the io thread only; the mutex is for the test thread reading
/// the records (a socket round trip is no happens-before edge for tsan).
class fake_backend final : public api_backend {
 public:
  explicit fake_backend(asio::io_context& io) : io_(io) {}

  api_response health() override {
    record("health");
    return {200, R"({"status":"ok"})"};
  }
  api_response metrics() override {
    record("metrics");
    return {200, "# TYPE vitalsd_up gauge\nvitalsd_up 1\n"};  // content type left as JSON
  }
  api_response list_alerts(const alert_list_query& q) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("list_alerts");
    last_query_ = q;
    return {200, R"({"alerts":[]})"};
  }
  api_response get_alert(std::uint64_t id) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("get_alert");
    last_id_ = id;
    return {200, json{{"id", id}}.dump()};
  }
  api_response list_snoozes() override {
    record("list_snoozes");
    return {200, R"({"snoozes":[]})"};
  }
  void command(const alert_command& c, std::function<void(api_response)> done) override {
    api_response reply;
    bool drop = false;
    {
      std::lock_guard lock(mutex_);
      calls_.push_back("command");
      commands_.push_back(c);
      reply = command_reply_;
      drop = drop_completion_;
    }
    if (drop) return;  // `done` destroyed uncalled
    // Completes later, as the daemon does after its database commit.
    auto timer = std::make_shared<asio::steady_timer>(io_, 20ms);
    timer->async_wait(
        [timer, done = std::move(done), reply](const boost::system::error_code&) { done(reply); });
  }
  void reload(const vitals::core::actor_info& who,
              std::function<void(api_response)> done) override {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back("reload");
      reloads_.push_back(who);
    }
    done({200, R"({"status":"reloaded"})"});
  }

  api_response list_patients() override {
    record("list_patients");
    return {200, R"({"patients":[]})"};
  }
  api_response get_patient(const std::string& id) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("get_patient " + id);
    return {404, R"({"error":"no such patient in the registry"})"};
  }
  void change_patient(const patient_change& c, std::function<void(api_response)> done) override {
    {
      std::lock_guard lock(mutex_);
      calls_.push_back("change_patient");
      changes_.push_back(c);
    }
    done({200, R"({"status":"updated"})"});
  }

  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<patient_change> changes() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }
  std::vector<vitals::core::actor_info> reloads() const {
    std::lock_guard lock(mutex_);
    return reloads_;
  }
  std::vector<alert_command> commands() const {
    std::lock_guard lock(mutex_);
    return commands_;
  }
  alert_list_query last_query() const {
    std::lock_guard lock(mutex_);
    return last_query_;
  }
  std::uint64_t last_id() const {
    std::lock_guard lock(mutex_);
    return last_id_;
  }
  void set_command_reply(api_response r) {
    std::lock_guard lock(mutex_);
    command_reply_ = std::move(r);
  }
  void drop_completion() {
    std::lock_guard lock(mutex_);
    drop_completion_ = true;
  }

 private:
  void record(const char* name) {
    std::lock_guard lock(mutex_);
    calls_.emplace_back(name);
  }

  asio::io_context& io_;
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
  std::vector<alert_command> commands_;
  std::vector<vitals::core::actor_info> reloads_;
  std::vector<patient_change> changes_;
  alert_list_query last_query_;
  std::uint64_t last_id_ = 0;
  api_response command_reply_{200, R"({"committed":true})"};
  bool drop_completion_ = false;
};

inline api_options test_options() {
  api_options o;
  o.port = 0;
  o.tokens = {{"ops", ack_token, api_role::ack}, {"grafana", read_token, api_role::read}};
  o.max_body_bytes = 1024;
  o.timeout = 5s;
  return o;
}

/// The server on its own io thread, as in the daemon.
class running_server {
 public:
  explicit running_server(api_options o = test_options())
      : backend_(io_), work_(asio::make_work_guard(io_)) {
    server_.emplace(io_, std::move(o), backend_);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~running_server() {
    asio::post(io_, [this] { server_->stop(); });
    work_.reset();
    thread_.join();
  }
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  std::uint16_t port() const { return server_->port(); }
  fake_backend& backend() { return backend_; }

  /// Replaces the server's tokens on its io thread, as a reload does, and waits until done.
  void set_tokens(std::vector<vitals::daemon::api_token> tokens) {
    std::promise<void> done;
    asio::post(io_, [&] {
      server_->set_tokens(std::move(tokens));
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  asio::io_context io_;
  fake_backend backend_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::optional<api_server> server_;
  std::thread thread_;
};

}  // namespace vitals::test::api
