#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <vitals/adapters/notify/dispatcher.hpp>
#include <vitals/adapters/notify/http_sender.hpp>
#include <vitals/adapters/registry.hpp>
#include <vitals/config/loader.hpp>
#include <vitals/test/http_receiver.hpp>
#include <vitals/test/mosquitto_broker.hpp>
#include <vitals/test/temp_dir.hpp>

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace core = vitals::core;
namespace notify = vitals::adapters::notify;
using vitals::test::eventually;
using vitals::test::http_answer;
using vitals::test::http_receiver;
using vitals::test::received_request;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace dispatcher_test {
namespace {

/// A receiver as the harness builds it on its io thread: by default an HTTP notifier with the
/// test's own payload (test_render).
struct receiver_spec {
  std::string name;
  std::string url;
  notify::delivery_options delivery;
  std::function<std::unique_ptr<core::notifier>(asio::io_context&)> make;  ///< overrides the rest
  std::function<std::optional<notify::http_payload>(const core::notification&)> render;
};

/// A receiver with test-sized timings.
receiver_spec receiver(const std::string& name, const std::string& url) {
  receiver_spec r;
  r.name = name;
  r.url = url;
  r.delivery.timeout = 2s;
  r.delivery.backoff_min = 5ms;
  r.delivery.backoff_max = 20ms;
  r.delivery.rate_per_minute = 0;  // unlimited unless a test says otherwise
  return r;
}

core::notification note(std::uint64_t id, const std::string& to, std::uint64_t alert = 1,
                        std::uint64_t event = 0) {
  core::notification n;
  n.id = id;
  n.receiver = to;
  n.alert.id = alert;
  n.event.id = event == 0 ? id : event;
  n.event.alert_id = alert;
  return n;
}

/// The test's own payload: who and what, readable back on the receiving side.
std::optional<notify::http_payload> test_render(const core::notification& n) {
  notify::http_payload p;
  p.target = "/hook";
  p.content_type = "text/plain";
  p.headers.emplace_back("X-Test-Id", std::to_string(n.id));
  p.headers.emplace_back("X-Test-Alert", std::to_string(n.alert.id));
  p.body = "notification " + std::to_string(n.id);
  return p;
}

std::uint64_t id_of(const received_request& r) {
  return std::stoull(r.header("x-test-id"));
}

struct failure {
  std::uint64_t id;
  int attempts;
  std::string error;
  bool final;
};

/// A dispatcher on an io thread of its own, as in the daemon; the test thread only posts to it
/// and reads the callbacks' records under a lock.
class harness {
 public:
  explicit harness(const std::vector<receiver_spec>& specs) {
    std::vector<notify::receiver> receivers;
    for (const auto& sp : specs) {
      notify::receiver r;
      r.name = sp.name;
      r.type = "test";
      r.delivery = sp.delivery;
      r.notifier = sp.make ? sp.make(io_)
                           : std::make_unique<notify::http_notifier>(
                                 io_, sp.name, sp.url, notify::tls_settings{},
                                 sp.render ? sp.render : test_render);
      receivers.push_back(std::move(r));
    }
    notify::dispatcher_callbacks cb;
    cb.delivered = [this](std::uint64_t id, core::timestamp) {
      std::lock_guard lock(mutex_);
      delivered_.push_back(id);
    };
    cb.failed = [this](std::uint64_t id, int attempts, std::string error, bool final) {
      std::lock_guard lock(mutex_);
      failed_.push_back({id, attempts, std::move(error), final});
    };
    dispatcher_.emplace(io_, std::move(receivers), std::move(cb));
    thread_ = std::thread([this] { io_.run(); });
  }
  ~harness() {
    stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }

  void submit(std::vector<core::notification> batch) {
    asio::post(io_, [this, b = std::move(batch)]() mutable { dispatcher_->submit(std::move(b)); });
  }

  /// Runs `fn` on the io thread and returns its result.
  template <typename Fn>
  auto call(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

  void stop() {
    call([this] { dispatcher_->stop(); });
  }
  std::vector<notify::receiver_metrics> metrics() {
    return call([this] { return dispatcher_->metrics(); });
  }
  std::size_t pending() {
    return call([this] { return dispatcher_->pending(); });
  }
  std::vector<core::notification> take_pending() {
    return call([this] { return dispatcher_->take_pending(); });
  }
  std::vector<std::uint64_t> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }
  std::vector<failure> failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::optional<notify::dispatcher> dispatcher_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::uint64_t> delivered_;
  std::vector<failure> failed_;
};

/// Ids of the requests the receiver accepted, in arrival order.
std::vector<std::uint64_t> accepted_ids(const http_receiver& rx) {
  std::vector<std::uint64_t> out;
  for (const auto& r : rx.accepted()) out.push_back(id_of(r));
  return out;
}

/// 3 alerts x 3 events, interleaved: ids 1..9, alert = (id - 1) % 3 + 1.
std::vector<core::notification> interleaved(const std::string& to) {
  std::vector<core::notification> batch;
  for (std::uint64_t id = 1; id <= 9; ++id) batch.push_back(note(id, to, (id - 1) % 3 + 1));
  return batch;
}

/// Every id 1..9 accepted exactly once, and each alert's in id order.
void check_once_in_order(const std::vector<std::uint64_t>& ids) {
  std::map<std::uint64_t, int> seen;
  for (auto id : ids) ++seen[id];
  REQUIRE(seen.size() == 9);
  for (const auto& [id, times] : seen) CHECK(times == 1);
  std::map<std::uint64_t, std::uint64_t> last_of_alert;
  for (auto id : ids) {
    const auto alert = (id - 1) % 3 + 1;
    CHECK(id > last_of_alert[alert]);
    last_of_alert[alert] = id;
  }
}

}  // namespace

TEST_CASE("http url parsing accepts http(s) and rejects the rest clearly", "[dispatcher]") {
  std::string error;
  auto u = notify::parse_http_url("https://example.org/api/v2?x=1#frag", &error);
  REQUIRE(u);
  CHECK(u->tls);
  CHECK(u->host == "example.org");
  CHECK(u->port == "443");
  CHECK(u->target == "/api/v2?x=1");
  u = notify::parse_http_url("http://[::1]:8080", &error);
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == "8080");
  CHECK(u->target == "/");
  CHECK_FALSE(notify::parse_http_url("ftp://example.org/", &error));
  CHECK(error.find("scheme") != std::string::npos);
  CHECK_FALSE(notify::parse_http_url("http://user:pw@example.org/", &error));
  CHECK_FALSE(notify::parse_http_url("http://example.org:99999/", &error));
  CHECK(error.find("port") != std::string::npos);
  CHECK_FALSE(notify::parse_http_url("example.org/hook", &error));
}

TEST_CASE("dispatcher delivers with the idempotency key and the payload's headers",
          "[dispatcher]") {
  http_receiver rx;
  harness h({receiver("ops", rx.url("/base"))});
  auto n = note(7, "ops", 42, 99);
  h.submit({n});
  REQUIRE(rx.wait_for_accepted(1));
  REQUIRE(eventually([&] { return h.delivered().size() == 1; }, 5s));
  const auto r = rx.requests().at(0);
  CHECK(r.method == "POST");
  CHECK(r.target == "/base/hook");
  CHECK(r.header("Idempotency-Key") == n.idempotency_key());
  CHECK(r.header("idempotency-key") == "vitalsd-42-99");
  CHECK(r.header("content-type") == "text/plain");
  CHECK(r.header("user-agent") == "vitalsd/0.1");
  CHECK(r.header("x-test-id") == "7");
  CHECK(r.body == "notification 7");
  CHECK(h.delivered() == std::vector<std::uint64_t>{7});
  CHECK(h.failed().empty());
  const auto m = h.metrics();
  REQUIRE(m.size() == 1);
  CHECK(m[0].name == "ops");
  CHECK(m[0].sent == 1);
  CHECK(m[0].pending == 0);
  CHECK(h.pending() == 0);
}

TEST_CASE("dispatcher retries 503 until the receiver recovers: each once, in order",
          "[dispatcher]") {
  http_receiver rx;
  rx.respond_with([](const received_request&, std::size_t index) {
    http_answer a;
    a.status = index < 4 ? 503 : 200;  // down for the first four requests
    return a;
  });
  harness h({receiver("ops", rx.url())});
  h.submit(interleaved("ops"));
  REQUIRE(rx.wait_for_accepted(9));
  REQUIRE(eventually([&] { return h.delivered().size() == 9; }, 5s));
  check_once_in_order(accepted_ids(rx));
  // The first notification blocked the others while failing: all four 503s were for id 1.
  const auto all = rx.requests();
  for (std::size_t i = 0; i < 4; ++i) CHECK(id_of(all[i]) == 1);
  const auto f = h.failed();
  REQUIRE(f.size() == 4);
  for (std::size_t i = 0; i < f.size(); ++i) {
    CHECK(f[i].id == 1);
    CHECK(f[i].attempts == static_cast<int>(i) + 1);
    CHECK(f[i].error == "HTTP 503");
    CHECK_FALSE(f[i].final);
  }
  const auto m = h.metrics();
  CHECK(m[0].sent == 9);
  CHECK(m[0].failed_attempts == 4);
  CHECK(m[0].given_up == 0);
}

TEST_CASE("dispatcher rides out a receiver that is really down (connection refused)",
          "[dispatcher]") {
  http_receiver rx;
  rx.go_down();
  harness h({receiver("ops", rx.url())});
  h.submit(interleaved("ops"));
  REQUIRE(eventually([&] { return h.failed().size() >= 3; }, 5s));
  CHECK(rx.count() == 0);
  rx.come_up();
  REQUIRE(rx.wait_for_accepted(9));
  REQUIRE(eventually([&] { return h.delivered().size() == 9; }, 5s));
  check_once_in_order(accepted_ids(rx));
  for (const auto& f : h.failed()) {
    CHECK(f.id == 1);
    CHECK_FALSE(f.final);
    CHECK(f.error.find("connect") != std::string::npos);
  }
}

TEST_CASE("dispatcher gives up a permanently rejected notification and moves on", "[dispatcher]") {
  http_receiver rx;
  rx.respond_with([](const received_request& r, std::size_t) {
    http_answer a;
    a.status = r.header("x-test-id") == "1" ? 400 : 200;
    return a;
  });
  harness h({receiver("ops", rx.url())});
  h.submit({note(1, "ops"), note(2, "ops")});
  REQUIRE(rx.wait_for_accepted(1));
  REQUIRE(eventually([&] { return h.delivered().size() == 1; }, 5s));
  CHECK(h.delivered() == std::vector<std::uint64_t>{2});
  const auto f = h.failed();
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == 1);
  CHECK(f[0].attempts == 1);
  CHECK(f[0].final);
  CHECK(f[0].error == "HTTP 400");
  CHECK(rx.count() == 2);  // not retried
  const auto m = h.metrics();
  CHECK(m[0].given_up == 1);
  CHECK(m[0].sent == 1);
}

TEST_CASE("dispatcher gives up after max_attempts", "[dispatcher]") {
  http_receiver rx;
  rx.respond_status(500);
  auto r = receiver("ops", rx.url());
  r.delivery.max_attempts = 3;
  harness h({r});
  h.submit({note(1, "ops")});
  REQUIRE(eventually([&] { return h.failed().size() == 3; }, 5s));
  const auto f = h.failed();
  CHECK_FALSE(f[0].final);
  CHECK_FALSE(f[1].final);
  CHECK(f[2].final);
  CHECK(f[2].attempts == 3);
  CHECK(rx.count() == 3);
  CHECK(h.pending() == 0);
  CHECK(h.metrics()[0].given_up == 1);
}

TEST_CASE("dispatcher honours Retry-After over its own backoff", "[dispatcher]") {
  http_receiver rx;
  rx.respond_with([](const received_request&, std::size_t index) {
    http_answer a;
    if (index == 0) {
      a.status = 429;
      a.headers.emplace_back("Retry-After", "0");
    }
    return a;
  });
  auto r = receiver("ops", rx.url());
  r.delivery.backoff_min =
      60s;  // without Retry-After the retry would be far beyond this test's wait
  r.delivery.backoff_max = 120s;
  harness h({r});
  h.submit({note(1, "ops")});
  REQUIRE(rx.wait_for_accepted(1, 5s));
  REQUIRE(eventually([&] { return h.delivered().size() == 1; }, 5s));
  REQUIRE(h.failed().size() == 1);
  CHECK(h.failed()[0].error == "HTTP 429");
}

TEST_CASE("dispatcher rate limit holds back what exceeds the burst", "[dispatcher]") {
  http_receiver rx;
  auto r = receiver("ops", rx.url());
  r.delivery.burst = 2;
  r.delivery.rate_per_minute = 0.5;  // the next token comes after two minutes
  harness h({r});
  h.submit({note(1, "ops"), note(2, "ops"), note(3, "ops")});
  REQUIRE(rx.wait_for_accepted(2));
  REQUIRE(eventually([&] { return h.delivered().size() == 2; }, 5s));
  // Give a wrongly unlimited dispatcher the chance to send the third.
  CHECK_FALSE(rx.wait_for(3, 300ms));
  CHECK(accepted_ids(rx) == std::vector<std::uint64_t>{1, 2});
  CHECK(h.pending() == 1);
  CHECK(h.metrics()[0].pending == 1);
}

TEST_CASE("dispatcher times out a receiver that never answers", "[dispatcher]") {
  http_receiver rx;
  rx.respond_with([](const received_request&, std::size_t index) {
    http_answer a;
    a.silent = index == 0;  // hangs once, then answers
    return a;
  });
  auto r = receiver("ops", rx.url());
  r.delivery.timeout = 200ms;
  harness h({r});
  h.submit({note(1, "ops")});
  REQUIRE(rx.wait_for_accepted(1, 5s));
  REQUIRE(eventually([&] { return h.delivered().size() == 1; }, 5s));
  const auto f = h.failed();
  REQUIRE(f.size() == 1);
  CHECK(f[0].error.find("timed out") != std::string::npos);
  CHECK_FALSE(f[0].final);
  CHECK(rx.count() == 2);
  CHECK(h.metrics()[0].failed_attempts == 1);
}

TEST_CASE("dispatcher delivers a resubmitted id once", "[dispatcher]") {
  http_receiver rx;
  harness h({receiver("ops", rx.url())});
  h.submit({note(5, "ops"), note(5, "ops")});
  h.submit({note(5, "ops")});
  REQUIRE(rx.wait_for_accepted(1));
  REQUIRE(eventually([&] { return h.delivered().size() == 1; }, 5s));
  h.submit({note(5, "ops")});  // after delivery, before the caller's outbox caught up
  h.submit({note(6, "ops")});
  REQUIRE(rx.wait_for_accepted(2));
  REQUIRE(eventually([&] { return h.delivered().size() == 2; }, 5s));
  CHECK(accepted_ids(rx) == std::vector<std::uint64_t>{5, 6});
  CHECK(h.delivered() == std::vector<std::uint64_t>{5, 6});
}

TEST_CASE("dispatcher reports unknown receivers, skips, bad URLs and refused TLS", "[dispatcher]") {
  http_receiver rx;
  auto tls = receiver("tls", "https://127.0.0.1:" + std::to_string(rx.port()) + "/");
  tls.delivery.max_attempts = 1;
  auto quiet = receiver("quiet", rx.url());
  quiet.render = [](const core::notification&) { return std::optional<notify::http_payload>(); };
  harness h({quiet, receiver("bad", "ftp://example.org/"), tls});
  h.submit({note(1, "nobody"), note(2, "quiet"), note(3, "bad"), note(4, "tls")});
  REQUIRE(eventually([&] { return h.failed().size() == 3 && h.delivered().size() == 1; }, 5s));
  CHECK(h.delivered() == std::vector<std::uint64_t>{2});
  std::map<std::uint64_t, failure> by_id;
  for (const auto& f : h.failed()) by_id.emplace(f.id, f);
  CHECK(by_id.at(1).final);
  CHECK(by_id.at(1).error.find("unknown receiver 'nobody'") != std::string::npos);
  CHECK(by_id.at(3).final);
  INFO(by_id.at(3).error);
  CHECK(by_id.at(3).error.find("scheme") != std::string::npos);
  CHECK(by_id.at(4).final);
  CHECK(by_id.at(4).error.find("TLS handshake") != std::string::npos);
  const auto m = h.metrics();
  CHECK(m[0].skipped == 1);
  CHECK(m[0].sent == 0);
  CHECK(rx.accepted().empty());
}

TEST_CASE("dispatcher stop cancels the attempt in flight and reports nothing more",
          "[dispatcher]") {
  http_receiver rx;
  rx.respond_with([](const received_request&, std::size_t) {
    http_answer a;
    a.silent = true;
    return a;
  });
  auto r = receiver("ops", rx.url());
  r.delivery.timeout = 300ms;
  harness h({r});
  h.submit({note(1, "ops"), note(2, "ops")});
  REQUIRE(rx.wait_for(1));
  // Stop, then outlast the timeout: the cancelled attempt must not report a failure.
  h.stop();
  std::this_thread::sleep_for(500ms);
  CHECK(h.failed().empty());
  CHECK(h.delivered().empty());
  CHECK(h.pending() == 2);
  CHECK(rx.count() == 1);

  // A reload that changes the receivers: the one in flight and the one queued are handed over,
  // in id order, for the next dispatcher; this one holds nothing afterwards.
  const auto handed = h.take_pending();
  REQUIRE(handed.size() == 2);
  CHECK(handed[0].id == 1);
  CHECK(handed[1].id == 2);
  CHECK(handed[0].receiver == "ops");
  CHECK(h.pending() == 0);
}

TEST_CASE("dispatcher hands nothing over while it runs", "[dispatcher]") {
  http_receiver rx;
  rx.respond_with([](const received_request&, std::size_t) {
    http_answer a;
    a.silent = true;
    return a;
  });
  harness h({receiver("ops", rx.url())});
  h.submit({note(1, "ops")});
  REQUIRE(rx.wait_for(1));
  CHECK(h.take_pending().empty());  // only after stop(): the attempt is still its own
  CHECK(h.pending() == 1);
}

namespace {

/// Plays the broker connection: acknowledges from a thread of its own, as Paho does.
class fake_publisher final : public core::message_publisher {
 public:
  explicit fake_publisher(std::string fail_first) : fail_first_(std::move(fail_first)) {}
  ~fake_publisher() override {
    for (auto& t : threads_) t.join();
  }
  void publish(std::string topic, std::string payload,
               std::function<void(std::string)> done) override {
    std::string error;
    {
      std::lock_guard lock(mutex_);
      messages_.emplace_back(std::move(topic), std::move(payload));
      if (messages_.size() == 1) error = fail_first_;
    }
    threads_.emplace_back([done = std::move(done), error] { done(error); });
  }
  std::vector<std::pair<std::string, std::string>> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  std::string fail_first_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> messages_;
  std::vector<std::thread> threads_;  // only the io thread publishes
};

}  // namespace

TEST_CASE("dispatcher publishes MQTT receivers through the publisher", "[dispatcher]") {
  fake_publisher pub("connection lost");
  /// The MQTT notifier with the test's own topic and message, on `publisher`.
  const auto pager = [](core::message_publisher* publisher) {
    auto m = receiver("pager", "");
    m.delivery.backoff_min = 5ms;
    m.delivery.backoff_max = 10ms;
    m.make = [publisher](asio::io_context&) {
      return std::make_unique<notify::message_notifier>(publisher, [](const core::notification& n) {
        return std::make_pair("alerts/" + std::to_string(n.alert.id), std::to_string(n.id));
      });
    };
    return m;
  };
  {
    harness h({pager(&pub)});
    h.submit({note(1, "pager", 3), note(2, "pager", 4)});
    REQUIRE(eventually([&] { return h.delivered().size() == 2; }, 5s));
    CHECK(h.delivered() == std::vector<std::uint64_t>{1, 2});
    const auto f = h.failed();
    REQUIRE(f.size() == 1);
    CHECK(f[0].error == "publish failed: connection lost");
    CHECK_FALSE(f[0].final);
  }
  const auto msgs = pub.messages();
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[1] == std::make_pair(std::string("alerts/3"), std::string("1")));
  CHECK(msgs[2] == std::make_pair(std::string("alerts/4"), std::string("2")));

  harness without({pager(nullptr)});
  without.submit({note(9, "pager")});
  REQUIRE(eventually([&] { return without.failed().size() == 1; }, 5s));
  CHECK(without.failed()[0].final);
  CHECK(without.failed()[0].error.find("no MQTT connection") != std::string::npos);
}

TEST_CASE("dispatcher signs webhooks: HMAC-SHA256 verifiable by the receiver",
          "[dispatcher][render]") {
  http_receiver rx;
  // The shipped webhook plugin, configured as an operator would (the key in a file).
  vitals::test::temp_dir dir("vitals-webhook");
  const std::string secret = "s3cret-key";
  const auto key_file = dir.path() / "hook.key";
  std::ofstream(key_file) << secret << "\n";
  std::filesystem::permissions(key_file, std::filesystem::perms::owner_read);
  const auto& plugins = vitals::adapters::registry();
  const auto s = vitals::config::load_string(
      "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\n"
      "url = \"" +
          rx.url("/in") + "\"\nsecret_file = \"" + key_file.string() + "\"\n",
      "hook.toml", plugins);
  REQUIRE(s.receivers.size() == 1);
  auto r = receiver("hook", "");
  r.make = [&](asio::io_context& io) {
    core::notifier_context ctx{"hook", io, nullptr, s.sections};
    return plugins.notifier("webhook")->create(s.receivers[0].options, ctx);
  };
  harness h({r});
  auto n = note(11, "hook", 5, 17);
  n.action = core::notify_action::trigger;
  h.submit({n});
  REQUIRE(rx.wait_for_accepted(1));
  const auto req = rx.requests().at(0);
  CHECK(req.header("idempotency-key") == "vitalsd-5-17");
  const std::string sig = req.header("x-vitalsd-signature");
  REQUIRE(sig.rfind("t=", 0) == 0);
  const auto comma = sig.find(",v1=");
  REQUIRE(comma != std::string::npos);
  const std::string t = sig.substr(2, comma - 2);
  const std::string v1 = sig.substr(comma + 4);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  CHECK(std::abs(std::stoll(t) - now) < 60);

  const std::string signed_text = t + "." + req.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  REQUIRE(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
               reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
               &mac_len) != nullptr);
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (unsigned i = 0; i < mac_len; ++i) {
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 0xf];
  }
  CHECK(v1 == hex);
  CHECK_FALSE(req.body.empty());
}

}  // namespace dispatcher_test
