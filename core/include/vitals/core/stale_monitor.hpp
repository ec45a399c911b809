#pragma once
/// Stale data: a device that stops sending a vital raises a technical alert (a warning, then an
/// urgent one), and clears it when it comes back with a fresh reading.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
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
  /// This many streams of one source going silent within `storm_window` are a storm: one alert
  /// for the source (`source_silent`), not one per device. 0 switches grouping off.
  std::size_t storm_streams = 10;
  /// How far apart the streams of one storm may cross their limits: their last readings are
  /// spread over at least one reading interval. A stream's own alert waits this long after
  /// its limit, to see whether a storm takes it.
  std::chrono::milliseconds storm_window{std::chrono::seconds(5)};
};

/// A stream seen before a restart: where the stale-data watch resumes from (the store keeps it).
struct stream_seen {
  short_id patient;
  short_id device;
  vital_kind kind = vital_kind::heart_rate;
  timestamp last_receive{};  ///< receive time of its newest stored reading
};

/// Rule names: "<vital>_stale" (warning) and "<vital>_stale_urgent", e.g. "glucose_stale".
///
/// Storms: when the broker, a gateway or the network goes quiet, every stream of a source goes
/// silent at once. Then one high-priority technical alert `source_silent` of patient "vitalsd"
/// (device: the source's name) stands for all of them, and none of them raises its own. The
/// first fresh reading of that source clears it; its other streams then count their silence
/// afresh and raise their own alerts if they stay silent for their limits.
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

  /// Stops watching the streams for which `unwatched(device, patient)` holds (their device or
  /// patient was removed from the configuration): a stale alert of theirs ends with a `cleared`
  /// event at `now` that says why, and their silence raises nothing any more.
  template <class Pred>
  void forget_if(Pred unwatched, timestamp now, std::vector<alert_event>& out) {
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (!unwatched(it->first.device, it->second.patient)) {
        ++it;
        continue;
      }
      end_forgotten(it->first, it->second, now, out);
      it = streams_.erase(it);
    }
  }

  /// A configuration reload: the new limits apply from the next tick; every stream keeps its
  /// last reading and its alert state.
  void reconfigure(const stale_settings& settings) noexcept { settings_ = settings; }

  /// Every stream's silence so far shortened by `d` (time in which vitalsd did not listen).
  void discount(std::chrono::milliseconds d) noexcept {
    for (auto& [k, st] : streams_) st.last_fresh += d;
  }

  /// The sources' names, by sample::source (for source_silent alerts).
  void set_source_names(std::vector<std::string> names) { source_names_ = std::move(names); }

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
    bool grouped = false;  ///< silent within a source_silent alert: raises nothing of its own
    std::uint8_t source = restored_source;
  };
  /// Streams restored from the database (seed()) until their first fresh reading.
  static constexpr std::uint8_t restored_source = 255;

  alert_event make_event(const key& k, const state& st, bool urgent, alert_transition t,
                         timestamp when) const;
  alert_event source_event(std::uint8_t source, std::size_t streams, alert_transition t,
                           timestamp when) const;
  std::string source_name(std::uint8_t source) const;
  /// The `cleared` events of a stream that forget_if() drops.
  void end_forgotten(const key& k, const state& st, timestamp now,
                     std::vector<alert_event>& out) const;

  stale_settings settings_;
  std::unordered_map<key, state, key_hash> streams_;
  std::vector<std::string> source_names_;
  std::array<bool, 256> source_silent_{};  ///< a source_silent alert is raised, by source
  /// tick() scratch: streams past their warning limit and not alerting yet, by source.
  std::vector<std::vector<std::pair<const key*, state*>>> newly_silent_;
};

}  // namespace vitals::core
