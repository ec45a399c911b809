#pragma once
/// Stale data: a device that stops sending a vital raises a technical alert (a warning, then an
/// urgent one), and clears it when it comes back with a fresh reading.

#include <array>
#include <chrono>
#include <cstddef>
#include <unordered_map>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/sample.hpp>

namespace vitals::core {

/// Silence limits of one vital; zero switches a level off.
struct stale_limits {
  std::chrono::milliseconds warning{0};  ///< medium priority technical alert after this silence
  std::chrono::milliseconds urgent{0};   ///< high priority technical alert after this silence
};

/// Per-vital limits, indexed by vital_kind. Defaults: oximetry (1 reading per second or so)
/// 2 and 10 minutes; CGM (every 5 minutes) 15 and 30 minutes, as Nightscout warns.
struct stale_settings {
  std::array<stale_limits, vital_kind_count> limits{{
      {std::chrono::minutes(2), std::chrono::minutes(10)},
      {std::chrono::minutes(2), std::chrono::minutes(10)},
      {std::chrono::minutes(15), std::chrono::minutes(30)},
  }};
};

/// A stream seen before a restart: where the stale-data watch resumes from (the store keeps it).
struct stream_seen {
  short_id patient;
  short_id device;
  vital_kind kind = vital_kind::heart_rate;
  timestamp last_receive{};  ///< receive time of its newest stored reading
};

/// Rule names: "<vital>_stale" (warning) and "<vital>_stale_urgent", e.g. "glucose_stale".
class stale_monitor {
 public:
  explicit stale_monitor(stale_settings settings = {}) : settings_(settings) {}

  /// A fresh reading (in order and on time) arrived at `s.receive_time`: the stream is alive;
  /// any stale alert of that device and vital clears. Late, out-of-order and duplicate readings
  /// must not be passed here: they say nothing about the device being alive now.
  void on_fresh(const sample& s, std::vector<alert_event>& out);

  /// Raises the alerts of streams silent for longer than their limits at wall time `now`.
  void tick(timestamp now, std::vector<alert_event>& out);

  /// Watches a stream seen before a restart from its last reading, so that a device silent
  /// across the restart still goes stale. A stream already watched is left as it is.
  void seed(const stream_seen& s) {
    auto [it, added] = streams_.try_emplace(key{s.device, s.kind});
    if (!added) return;
    it->second.patient = s.patient;
    it->second.last_fresh = s.last_receive;
  }

  /// Every stream's silence so far shortened by `d` (time in which vitalsd did not listen).
  void discount(std::chrono::milliseconds d) noexcept {
    for (auto& [k, st] : streams_) st.last_fresh += d;
  }

  /// Streams (device and vital) being watched.
  std::size_t stream_count() const noexcept { return streams_.size(); }

  /// Bytes of per-stream state (map nodes included, approximately).
  std::size_t state_bytes() const noexcept;

 private:
  struct key {
    short_id device;
    vital_kind kind;
    bool operator==(const key&) const = default;
  };
  struct key_hash {
    std::size_t operator()(const key& k) const noexcept {
      return std::hash<short_id>{}(k.device) * 31u + static_cast<std::size_t>(k.kind);
    }
  };
  struct state {
    short_id patient;
    timestamp last_fresh{};
    bool warning_active = false;
    bool urgent_active = false;
  };

  alert_event make_event(const key& k, const state& st, bool urgent, alert_transition t,
                         timestamp when) const;

  stale_settings settings_;
  std::unordered_map<key, state, key_hash> streams_;
};

}  // namespace vitals::core
