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

namespace vitals::adapters::notify {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

/// Ids remembered after delivery or give-up, so that a resubmission racing the caller's outbox
/// update is not sent twice. Bounded: the outbox is the real record.
constexpr std::size_t remembered_ids = 4096;

struct queued {
  core::notification n;
  int attempts = 0;
};

}  // namespace

/// One receiver: its queue, its single attempt in flight, its backoff and token bucket.
struct receiver_state {
  receiver_state(asio::io_context& io, receiver r) : config(std::move(r)), timer(io) {}

  receiver config;
  const delivery_options& settings() const noexcept { return config.delivery; }
  std::map<std::uint64_t, queued> queue;  // by id: the outbox's order
  asio::steady_timer timer;               // backoff, rate-limit wait, or the attempt's deadline
  bool busy = false;              // an attempt in flight or the timer running: nothing else starts
  bool in_flight = false;         // an attempt in flight (its deadline is on the timer)
  std::uint64_t attempt_seq = 0;  // completions of anything but the current attempt are stale
  milliseconds backoff{0};        // ceiling of the next retry delay
  int streak = 0;                 // consecutive failed attempts
  double tokens = 0;
  steady::time_point refilled{};
  receiver_metrics m;
};

struct dispatcher::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& i, dispatcher_callbacks c)
      : io(i), cb(std::move(c)), rng(std::random_device{}()) {}

  asio::io_context& io;
  dispatcher_callbacks cb;
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

  /// Takes a token, or arms the timer for the next one and returns false.
  bool take_token(receiver_state& r) {
    const double rate = r.settings().rate_per_minute;
    if (!(rate > 0)) return true;  // no limit configured
    const double burst = std::max(1, r.settings().burst);
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
    spdlog::debug("receiver {}: rate limited, next send in {} ms", r.config.name, wait.count());
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
    if (stopped || r.busy || r.queue.empty()) return;
    if (!take_token(r)) return;
    auto it = r.queue.begin();
    r.busy = true;
    r.in_flight = true;
    const auto seq = ++r.attempt_seq;
    const auto id = it->first;
    const auto timeout = r.settings().timeout;
    // The deadline: a notifier that bounds its own attempts gets a second more, so that its
    // more precise error wins; the others (an MQTT PUBACK that never comes) end here.
    const auto deadline =
        r.config.notifier->bounds_attempts() ? timeout + std::chrono::seconds(1) : timeout;
    r.timer.expires_after(deadline);
    r.timer.async_wait([w = weak_from_this(), rp = &r, seq, id](boost::system::error_code ec) {
      auto self = w.lock();
      if (ec || !self || self->stopped) return;
      rp->config.notifier->cancel();
      self->on_result(*rp, seq, id,
                      core::delivery_result::failed("timed out after " +
                                                    std::to_string(rp->settings().timeout.count()) +
                                                    " ms waiting for the receiver"));
    });
    // The notifier may answer at once (a skip, a render error) or later from any thread: hop to
    // the io thread before touching state, always.
    r.config.notifier->send(
        it->second.n, timeout,
        [w = weak_from_this(), io = &io, rp = &r, seq, id](core::delivery_result res) {
          asio::post(*io, [w, rp, seq, id, res = std::move(res)]() mutable {
            auto self = w.lock();
            if (!self || self->stopped) return;
            self->on_result(*rp, seq, id, std::move(res));
          });
        });
  }

  void on_result(receiver_state& r, std::uint64_t seq, std::uint64_t id,
                 core::delivery_result res) {
    if (seq != r.attempt_seq || !r.in_flight) return;  // a late answer of a settled attempt
    ++r.attempt_seq;
    r.busy = false;
    r.in_flight = false;
    r.timer.cancel();
    auto it = r.queue.find(id);
    if (it == r.queue.end()) return kick(r);
    const auto& name = r.config.name;
    using outcome = core::delivery_result::outcome;
    if (res.what == outcome::skipped) {
      // The receiver has no use for this action (e.g. Alertmanager and acknowledgements): it
      // cost nothing, so it costs no token either.
      if (r.settings().rate_per_minute > 0) {
        r.tokens = std::min<double>(r.tokens + 1.0, std::max(1, r.settings().burst));
      }
      ++r.m.skipped;
      r.queue.erase(it);
      remember(id);
      spdlog::debug("receiver {}: notification {} skipped", name, id);
      report_delivered(id);
      return kick(r);
    }
    const int attempts = ++it->second.attempts;
    if (res.what == outcome::delivered) {
      if (r.streak > 0) {
        spdlog::info("receiver {}: delivering again after {} failed attempt(s)", name, r.streak);
      }
      r.streak = 0;
      r.backoff = r.settings().backoff_min;
      ++r.m.sent;
      r.queue.erase(it);
      remember(id);
      spdlog::debug("receiver {}: notification {} delivered (attempt {})", name, id, attempts);
      report_delivered(id);
      return kick(r);
    }
    on_failure(r, it, attempts, std::move(res));
  }

  void on_failure(receiver_state& r, std::map<std::uint64_t, queued>::iterator it, int attempts,
                  core::delivery_result res) {
    const auto id = it->first;
    const auto& name = r.config.name;
    ++r.m.failed_attempts;
    if (!res.detail.empty()) spdlog::debug("receiver {}: answer: {}", name, res.detail);
    const bool permanent = res.what == core::delivery_result::outcome::rejected;
    const int max = r.settings().max_attempts;
    if (permanent || (max > 0 && attempts >= max)) {
      ++r.m.given_up;
      if (permanent) {
        spdlog::error("receiver {}: notification {} rejected ({}), not retried", name, id,
                      res.error);
      } else {
        spdlog::warn("receiver {}: notification {} given up after {} attempt(s): {}", name, id,
                     attempts, res.error);
      }
      r.queue.erase(it);
      remember(id);
      report_failed(id, attempts, res.error, true);
      if (permanent) {
        // The receiver answered (or can never take it): the next notification may go at once.
        r.streak = 0;
        r.backoff = r.settings().backoff_min;
        return kick(r);
      }
      ++r.streak;
      return retry_later(r, res.retry_after);  // still failing: do not hammer it
    }
    ++r.streak;
    if (r.streak == 1) {
      spdlog::info("receiver {}: delivery failing ({}); retrying with backoff", name, res.error);
    } else {
      spdlog::debug("receiver {}: attempt {} of notification {} failed: {}", name, attempts, id,
                    res.error);
    }
    report_failed(id, attempts, res.error, false);
    retry_later(r, res.retry_after);
  }

  /// Full jitter in [d/2, d] keeps retries of many daemons from synchronising; Retry-After wins
  /// when the receiver sent one (capped by backoff_max so that a bogus value cannot stall us).
  void retry_later(receiver_state& r, std::optional<std::chrono::seconds> retry_after) {
    if (stopped) return;
    const milliseconds d = r.backoff;
    r.backoff = std::min(d * 2, r.settings().backoff_max);
    milliseconds delay;
    if (retry_after) {
      delay = std::min<milliseconds>(*retry_after, r.settings().backoff_max);
    } else {
      std::uniform_int_distribution<std::int64_t> pick(d.count() / 2, d.count());
      delay = milliseconds(pick(rng));
    }
    wait_then_kick(r, delay);
  }
};

dispatcher::dispatcher(asio::io_context& io, std::vector<receiver> receivers,
                       dispatcher_callbacks cb)
    : impl_(std::make_shared<impl>(io, std::move(cb))) {
  for (auto& rc : receivers) {
    if (impl_->by_name.count(rc.name)) {
      spdlog::warn("receiver {}: defined twice, the first definition is used", rc.name);
      continue;
    }
    if (!rc.notifier) throw std::invalid_argument("receiver " + rc.name + " has no notifier");
    // Zero delays would spin; a cap below the floor is the floor.
    auto& d = rc.delivery;
    d.backoff_min = std::max(d.backoff_min, milliseconds(1));
    d.backoff_max = std::max(d.backoff_max, d.backoff_min);
    auto r = std::make_unique<receiver_state>(io, std::move(rc));
    auto& st = *r;
    st.backoff = st.settings().backoff_min;
    st.tokens = std::max(1, st.settings().burst);
    st.refilled = steady::now();
    st.m.name = st.config.name;
    st.m.kind = st.config.type;
    impl_->by_name.emplace(st.config.name, &st);
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
    r->config.notifier->cancel();
    r->busy = false;
    r->in_flight = false;
    ++r->attempt_seq;
  }
}

std::vector<core::notification> dispatcher::take_pending() {
  std::vector<core::notification> out;
  if (!impl_->stopped) return out;
  for (auto& r : impl_->receivers) {
    for (auto& [id, q] : r->queue) out.push_back(std::move(q.n));
    r->queue.clear();
  }
  return out;
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
