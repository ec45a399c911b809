#include <vitals/adapters/notify/dispatcher.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <vitals/adapters/notify/http_sender.hpp>

namespace vitals::adapters::notify {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

/// Ids remembered after delivery or give-up, so that a resubmission racing the caller's outbox
/// update is not sent twice. Bounded: the outbox is the real record.
constexpr std::size_t remembered_ids = 4096;

/// Statuses worth another try: the receiver is overloaded, restarting or asked us to slow down.
/// Any other non-2xx answer will not change by repeating the same request.
bool retryable(int status) {
  return status == 0 || status == 408 || status == 429 || status >= 500;
}

struct queued {
  core::notification n;
  int attempts = 0;
};

}  // namespace

/// One receiver: its queue, its single attempt in flight, its backoff and token bucket.
struct receiver_state {
  receiver_state(asio::io_context& io, receiver_settings s) : settings(std::move(s)), timer(io) {}

  receiver_settings settings;
  std::optional<http_url> url;
  std::string url_error;
  std::unique_ptr<http_sender> sender;
  std::map<std::uint64_t, queued> queue;  // by id: the outbox's order
  asio::steady_timer timer;               // backoff, rate-limit wait, or an MQTT attempt's deadline
  bool busy = false;              // an attempt in flight or the timer running: nothing else starts
  std::uint64_t attempt_seq = 0;  // completions of anything but the current attempt are stale
  milliseconds backoff{0};        // ceiling of the next retry delay
  int streak = 0;                 // consecutive failed attempts
  double tokens = 0;
  steady::time_point refilled{};
  receiver_metrics m;
};

struct dispatcher::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& i, dispatcher_callbacks c, message_publisher* p, dispatcher_hooks h)
      : io(i), cb(std::move(c)), mqtt(p), hooks(std::move(h)), rng(std::random_device{}()) {}

  asio::io_context& io;
  dispatcher_callbacks cb;
  message_publisher* mqtt;
  dispatcher_hooks hooks;
  std::vector<std::unique_ptr<receiver_state>> receivers;
  std::unordered_map<std::string, receiver_state*> by_name;
  std::unordered_set<std::uint64_t> recent;
  std::deque<std::uint64_t> recent_order;
  std::minstd_rand rng;
  bool stopped = false;

  void remember(std::uint64_t id) {
    if (!recent.insert(id).second) return;
    recent_order.push_back(id);
    if (recent_order.size() > remembered_ids) {
      recent.erase(recent_order.front());
      recent_order.pop_front();
    }
  }

  void report_delivered(std::uint64_t id) {
    if (cb.delivered) cb.delivered(id, core::now_ms());
  }
  void report_failed(std::uint64_t id, int attempts, std::string error, bool final) {
    if (cb.failed) cb.failed(id, attempts, std::move(error), final);
  }

  /// Gives up the front notification at once (it can never succeed as configured).
  void give_up(receiver_state& r, std::map<std::uint64_t, queued>::iterator it,
               const std::string& error) {
    const auto id = it->first;
    const int attempts = it->second.attempts;
    ++r.m.given_up;
    spdlog::error("receiver {}: notification {} given up: {}", r.settings.name, id, error);
    r.queue.erase(it);
    remember(id);
    report_failed(id, attempts, error, true);
  }

  /// Takes a token, or arms the timer for the next one and returns false.
  bool take_token(receiver_state& r) {
    const double rate = r.settings.rate_per_minute;
    if (!(rate > 0)) return true;  // no limit configured
    const double burst = std::max(1, r.settings.burst);
    const auto now = steady::now();
    const double per_ms = rate / 60000.0;
    r.tokens = std::min(
        burst,
        r.tokens + std::chrono::duration<double, std::milli>(now - r.refilled).count() * per_ms);
    r.refilled = now;
    if (r.tokens >= 1.0) {
      r.tokens -= 1.0;
      return true;
    }
    const auto wait = milliseconds(static_cast<std::int64_t>(std::ceil((1.0 - r.tokens) / per_ms)));
    spdlog::debug("receiver {}: rate limited, next send in {} ms", r.settings.name, wait.count());
    wait_then_kick(r, wait);
    return false;
  }

  void wait_then_kick(receiver_state& r, milliseconds delay) {
    r.busy = true;
    r.timer.expires_after(delay);
    r.timer.async_wait([w = weak_from_this(), rp = &r](boost::system::error_code ec) {
      auto self = w.lock();
      if (ec || !self || self->stopped) return;
      rp->busy = false;
      self->kick(*rp);
    });
  }

  /// Starts the next attempt of `r` if nothing is in the way.
  void kick(receiver_state& r) {
    while (!stopped && !r.busy && !r.queue.empty()) {
      auto it = r.queue.begin();
      if (r.settings.kind == receiver_kind::mqtt) {
        if (!mqtt) {
          give_up(r, it, "no MQTT connection for receivers of kind mqtt");
          continue;
        }
        std::pair<std::string, std::string> msg;
        try {
          msg = hooks.render_mqtt ? hooks.render_mqtt(r.settings, it->second.n)
                                  : render_mqtt(r.settings, it->second.n);
        } catch (const std::exception& e) {
          give_up(r, it, std::string("cannot render the message: ") + e.what());
          continue;
        }
        if (!take_token(r)) return;
        send_mqtt(r, it->first, std::move(msg));
        return;
      }
      if (!r.url) {
        give_up(r, it, "bad receiver URL: " + r.url_error);
        continue;
      }
      std::optional<http_payload> payload;
      try {
        payload = hooks.render_http ? hooks.render_http(r.settings, it->second.n)
                                    : render_http(r.settings, it->second.n);
      } catch (const std::exception& e) {
        give_up(r, it, std::string("cannot render the request: ") + e.what());
        continue;
      }
      if (!payload) {
        // The receiver has no use for this action (e.g. Alertmanager and acknowledgements).
        const auto id = it->first;
        ++r.m.skipped;
        r.queue.erase(it);
        remember(id);
        spdlog::debug("receiver {}: notification {} skipped", r.settings.name, id);
        report_delivered(id);
        continue;
      }
      if (!take_token(r)) return;
      send_http(r, it->second.n, std::move(*payload));
      return;
    }
  }

  void send_http(receiver_state& r, const core::notification& n, http_payload p) {
    http_post post;
    post.content_type = std::move(p.content_type);
    post.headers = std::move(p.headers);
    post.headers.emplace_back("Idempotency-Key", n.idempotency_key());
    if (r.settings.kind == receiver_kind::webhook && !r.settings.secret.empty()) {
      // Signed at send time: the receiver may reject stale timestamps (replay protection).
      const auto t = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
      post.headers.emplace_back(
          "X-Vitalsd-Signature",
          "t=" + std::to_string(t) + ",v1=" + webhook_signature(r.settings.secret, t, p.body));
    }
    post.body = std::move(p.body);
    r.busy = true;
    const auto seq = ++r.attempt_seq;
    const auto id = n.id;
    r.sender->post(*r.url, p.target, std::move(post), r.settings.timeout,
                   [w = weak_from_this(), rp = &r, seq, id](http_result res) {
                     auto self = w.lock();
                     if (!self || self->stopped) return;
                     self->on_result(*rp, seq, id, std::move(res));
                   });
  }

  void send_mqtt(receiver_state& r, std::uint64_t id, std::pair<std::string, std::string> msg) {
    r.busy = true;
    const auto seq = ++r.attempt_seq;
    // The publisher has no deadline of its own that we control: bound the wait for PUBACK.
    r.timer.expires_after(r.settings.timeout);
    r.timer.async_wait([w = weak_from_this(), rp = &r, seq, id](boost::system::error_code ec) {
      auto self = w.lock();
      if (ec || !self || self->stopped) return;
      http_result res;
      res.error = "timed out after " + std::to_string(rp->settings.timeout.count()) +
                  " ms waiting for the broker's acknowledgement";
      self->on_result(*rp, seq, id, std::move(res));
    });
    mqtt->publish(std::move(msg.first), std::move(msg.second),
                  [w = weak_from_this(), io = &io, rp = &r, seq, id](std::string error) {
                    // Any thread: hop to ours before touching state.
                    asio::post(*io, [w, rp, seq, id, error = std::move(error)]() mutable {
                      auto self = w.lock();
                      if (!self || self->stopped) return;
                      http_result res;
                      if (error.empty()) {
                        res.status = 200;
                      } else {
                        res.error = "publish failed: " + error;
                      }
                      self->on_result(*rp, seq, id, std::move(res));
                    });
                  });
  }

  void on_result(receiver_state& r, std::uint64_t seq, std::uint64_t id, http_result res) {
    if (seq != r.attempt_seq || !r.busy) return;  // a late answer of an attempt already settled
    ++r.attempt_seq;
    r.busy = false;
    if (r.settings.kind == receiver_kind::mqtt) r.timer.cancel();
    auto it = r.queue.find(id);
    if (it == r.queue.end()) return kick(r);
    const int attempts = ++it->second.attempts;
    const auto& name = r.settings.name;

    if (res.status >= 200 && res.status < 300) {
      if (r.streak > 0) {
        spdlog::info("receiver {}: delivering again after {} failed attempt(s)", name, r.streak);
      }
      r.streak = 0;
      r.backoff = r.settings.backoff_min;
      ++r.m.sent;
      r.queue.erase(it);
      remember(id);
      spdlog::debug("receiver {}: notification {} delivered (attempt {})", name, id, attempts);
      report_delivered(id);
      return kick(r);
    }

    ++r.m.failed_attempts;
    const std::string error = res.status != 0 ? "HTTP " + std::to_string(res.status) : res.error;
    if (!res.body.empty()) spdlog::debug("receiver {}: answer body: {}", name, res.body);
    const bool permanent = res.status != 0 && !retryable(res.status);
    const int max = r.settings.max_attempts;
    if (permanent || (max > 0 && attempts >= max)) {
      ++r.m.given_up;
      if (permanent) {
        spdlog::error("receiver {}: notification {} rejected ({}), not retried", name, id, error);
      } else {
        spdlog::warn("receiver {}: notification {} given up after {} attempt(s): {}", name, id,
                     attempts, error);
      }
      r.queue.erase(it);
      remember(id);
      report_failed(id, attempts, error, true);
      if (permanent) {
        // The receiver answered: it is up, and the next notification may go at once.
        r.streak = 0;
        r.backoff = r.settings.backoff_min;
        return kick(r);
      }
      ++r.streak;
      return retry_later(r, res.retry_after);  // still failing: do not hammer it
    }

    ++r.streak;
    if (r.streak == 1) {
      spdlog::info("receiver {}: delivery failing ({}); retrying with backoff", name, error);
    } else {
      spdlog::debug("receiver {}: attempt {} of notification {} failed: {}", name, attempts, id,
                    error);
    }
    report_failed(id, attempts, error, false);
    retry_later(r, res.retry_after);
  }

  /// Full jitter in [d/2, d] keeps retries of many daemons from synchronising; Retry-After wins
  /// when the receiver sent one (capped by backoff_max so that a bogus value cannot stall us).
  void retry_later(receiver_state& r, std::optional<std::chrono::seconds> retry_after) {
    if (stopped) return;
    const milliseconds d = r.backoff;
    r.backoff = std::min(d * 2, r.settings.backoff_max);
    milliseconds delay;
    if (retry_after) {
      delay = std::min<milliseconds>(*retry_after, r.settings.backoff_max);
    } else {
      std::uniform_int_distribution<std::int64_t> pick(d.count() / 2, d.count());
      delay = milliseconds(pick(rng));
    }
    wait_then_kick(r, delay);
  }
};

dispatcher::dispatcher(asio::io_context& io, std::vector<receiver_settings> receivers,
                       dispatcher_callbacks cb, message_publisher* mqtt, dispatcher_hooks hooks)
    : impl_(std::make_shared<impl>(io, std::move(cb), mqtt, std::move(hooks))) {
  for (auto& s : receivers) {
    if (impl_->by_name.count(s.name)) {
      spdlog::warn("receiver {}: defined twice, the first definition is used", s.name);
      continue;
    }
    // Zero delays would spin; a cap below the floor is the floor.
    s.backoff_min = std::max(s.backoff_min, milliseconds(1));
    s.backoff_max = std::max(s.backoff_max, s.backoff_min);
    auto r = std::make_unique<receiver_state>(io, std::move(s));
    auto& st = *r;
    st.backoff = st.settings.backoff_min;
    st.tokens = std::max(1, st.settings.burst);
    st.refilled = steady::now();
    st.m.name = st.settings.name;
    st.m.kind = std::string(to_string(st.settings.kind));
    if (st.settings.kind != receiver_kind::mqtt) {
      st.url = parse_http_url(st.settings.url, &st.url_error);
      if (!st.url) {
        spdlog::error("receiver {}: {}; its notifications will fail", st.settings.name,
                      st.url_error);
      }
      st.sender = std::make_unique<http_sender>(
          io, st.settings.name, tls_settings{st.settings.ca_file, st.settings.verify_tls});
    }
    impl_->by_name.emplace(st.settings.name, &st);
    impl_->receivers.push_back(std::move(r));
  }
}

dispatcher::~dispatcher() {
  stop();
}

void dispatcher::submit(std::vector<core::notification> batch) {
  auto& d = *impl_;
  if (d.stopped) return;
  std::vector<receiver_state*> touched;
  for (auto& n : batch) {
    auto found = d.by_name.find(n.receiver);
    if (found == d.by_name.end()) {
      spdlog::warn("notification {}: unknown receiver '{}', dropped", n.id, n.receiver);
      d.report_failed(n.id, 0, "unknown receiver '" + n.receiver + "'", true);
      continue;
    }
    auto& r = *found->second;
    const auto id = n.id;
    if (r.queue.count(id) || d.recent.count(id)) continue;  // resubmitted: already ours
    r.queue.emplace(id, queued{std::move(n), 0});
    touched.push_back(&r);
  }
  for (auto* r : touched) d.kick(*r);
}

void dispatcher::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  for (auto& r : d.receivers) {
    r->timer.cancel();
    if (r->sender) r->sender->cancel();
    r->busy = false;
    ++r->attempt_seq;
  }
}

std::vector<receiver_metrics> dispatcher::metrics() const {
  std::vector<receiver_metrics> out;
  out.reserve(impl_->receivers.size());
  for (const auto& r : impl_->receivers) {
    out.push_back(r->m);
    out.back().pending = r->queue.size();
  }
  return out;
}

std::size_t dispatcher::pending() const {
  std::size_t n = 0;
  for (const auto& r : impl_->receivers) n += r->queue.size();
  return n;
}

}  // namespace vitals::adapters::notify
