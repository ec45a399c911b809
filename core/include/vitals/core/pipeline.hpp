#pragma once
/// The pipeline thread: validate -> dedup -> per-patient state -> detectors -> alert events,
/// fed by one SPSC ring per source and writing through a core::store.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <vitals/core/alert.hpp>
#include <vitals/core/detector_set.hpp>
#include <vitals/core/intake_gate.hpp>
#include <vitals/core/ring.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/signal_quality.hpp>
#include <vitals/core/source.hpp>
#include <vitals/core/stats.hpp>
#include <vitals/core/store.hpp>
#include <vitals/core/wakeup.hpp>

namespace vitals::core {

/// Tuning of the pipeline thread.
struct pipeline_options {
  std::size_t batch_max = 1024;                    ///< samples taken from one ring per pass
  std::chrono::milliseconds push_timeout{5000};    ///< how long a full ring makes a producer wait
  std::chrono::milliseconds idle_wait{200};        ///< longest sleep when there is nothing to do
  std::size_t dedup_window = 128;                  ///< recent timestamps remembered per stream
  std::chrono::milliseconds tick_interval{1000};   ///< how often time-based checks run (stale data)
  std::chrono::minutes baseline_save_interval{5};  ///< how often changed baselines are saved
  bool quality_checks = true;  ///< impossible-jump and lateness checks (off only in benchmarks)
  /// After a restart, how long the detectors get, from the first fresh reading of a restored
  /// alert's patient and vital, to raise its condition again before it counts as ended (by
  /// vital_kind: oximetry rules hold within seconds, glucose rules need a few CGM readings).
  std::array<std::chrono::milliseconds, vital_kind_count> reconfirm_window{
      std::chrono::minutes(2), std::chrono::minutes(2), std::chrono::minutes(30)};
  /// Devices and patients known to the deployment ([[devices]] and [[patients]]): always
  /// admitted.
  std::unordered_set<short_id> known_devices{};
  std::unordered_set<short_id> known_patients{};
  /// false: readings of any other device are rejected (unknown_device), before they cost any
  /// memory. true: they are admitted while fewer than `max_streams` streams are watched.
  bool accept_unknown = true;
  /// Streams (device and vital) at most, unknown devices beyond it rejected: every stream
  /// costs detector and dedup state, so a flood of made-up ids must not grow memory for ever.
  std::size_t max_streams = 100000;
};

/// What a configuration reload changes in a running pipeline (pipeline::reconfigure()).
struct pipeline_update {
  detection_settings detection;
  std::unordered_set<short_id> known_devices{};
  std::unordered_set<short_id> known_patients{};
  bool accept_unknown = true;
  std::size_t max_streams = 100000;
  std::array<std::chrono::milliseconds, vital_kind_count> reconfirm_window{
      std::chrono::minutes(2), std::chrono::minutes(2), std::chrono::minutes(30)};
};

/// The pipeline thread's liveness, read by a watchdog on another thread (the daemon's systemd
/// watchdog). An idle pipeline still beats: it sleeps at most `idle_wait` per pass.
struct pipeline_heartbeat {
  std::uint64_t passes = 0;       ///< loop passes since start(); advances while the thread runs
  bool waiting_on_store = false;  ///< inside a store call, which may block on back-pressure: then
                                  ///< the store's own progress says whether anything is stuck
};

/// Physiological plausibility limits (reference/clinical.md): outside them a value is an artifact.
bool plausible(vital_kind kind, double value) noexcept;

/// One producer's way into the pipeline: a ring plus the consumer's wake-up.
class ingest_port final : public sample_sink {
 public:
  ingest_port(std::string name, std::size_t capacity, wakeup& wake, stats& st,
              std::chrono::milliseconds push_timeout);

  /// Pushes one sample, waiting up to the push timeout while the ring is full; a sample that
  /// still does not fit is counted as a drop and logged (it should never happen in service).
  bool push(const sample& s) override;

  /// Pushes without waiting; false when the ring is full.
  [[nodiscard]] bool try_push(const sample& s) noexcept;

  /// Source name given at creation.
  const std::string& name() const noexcept { return name_; }

  /// Samples waiting in this port's ring.
  std::size_t depth() const noexcept { return ring_.size(); }

 private:
  friend class pipeline;
  std::string name_;
  ring<sample> ring_;
  wakeup& wake_;
  stats& stats_;
  std::chrono::milliseconds push_timeout_;
};

/// Owns the per-patient state and the thread that evaluates it. No locks on the hot path.
class pipeline {
 public:
  /// `gate`, when given, says when the sources are held back (intake_gate.hpp): that time does
  /// not count as device silence for stale-data alerts, and no time-based check runs in it.
  pipeline(pipeline_options options, detector_set detectors, store& out, stats& st,
           intake_gate* gate = nullptr);
  ~pipeline();
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;

  /// Creates the input for one producer thread. Call before start().
  ingest_port& open_port(std::string name, std::size_t capacity);

  /// Called on the pipeline thread for every alert event (the daemon hands them to the alert
  /// manager), after the samples that led to it were handed to the store.
  void on_alert(std::function<void(const alert_event&)> handler);

  /// Starts the pipeline thread.
  void start();

  /// Drains every port (stop the sources first), hands everything to the store, waits until it
  /// is committed, and joins the thread. Idempotent.
  void stop();

  /// Samples waiting in all rings.
  std::size_t depth() const noexcept;

  /// Liveness of the pipeline thread (any thread).
  pipeline_heartbeat heartbeat() const noexcept;

  /// Conditions of alerts restored open after a restart (as the raise events that opened them).
  /// The detectors start empty and so would never clear them: each is confirmed when a detector
  /// raises it again, and counts as ended (a `cleared` event, as from a detector) when the
  /// patient's vital has had fresh readings for its reconfirm_window without that. Without
  /// fresh readings it stays open: no data is no evidence (stale-data alerts cover silence).
  /// Only before start().
  void expect_reconfirmation(std::vector<alert_event> restored);

  /// A configuration reload, from any thread: the pipeline thread takes it at its next pass
  /// (within idle_wait when idle), between two batches, so that no reading is judged half by
  /// the old and half by the new settings. Detector state, stream state and restored
  /// conditions are kept (detector_set::reconfigure()); the `cleared` events of rules that
  /// were active and are now withdrawn go to the alert handler. Then `applied` runs on the
  /// pipeline thread with "" or, when the detectors refused the settings (nothing changed),
  /// the reason. A second reload before the first is taken replaces it (its `applied` gets
  /// `superseded`). Check the detection settings first (detector_set::check()).
  void reconfigure(pipeline_update update, std::function<void(std::string)> applied);
  /// What reconfigure()'s `applied` gets when a later reload replaced the update untaken.
  static constexpr std::string_view superseded = "superseded by a later reload";

  /// Admits `devices` as known besides the configuration's (a source's own device list). Only
  /// before start(); a reconfigure() replaces the known devices, so its update carries them too.
  void add_known_devices(const std::vector<short_id>& devices) {
    options_.known_devices.insert(devices.begin(), devices.end());
  }

  /// The detectors, e.g. to load saved baselines. Only before start() or after stop().
  detector_set& detectors() noexcept { return detectors_; }

 private:
  struct stream_key {
    short_id device;
    vital_kind kind;
    bool operator==(const stream_key&) const = default;
  };
  struct stream_key_hash {
    std::size_t operator()(const stream_key& k) const noexcept {
      return std::hash<short_id>{}(k.device) * 31u + static_cast<std::size_t>(k.kind);
    }
  };
  /// What the pipeline remembers per (device, vital): the newest time and a window of recent
  /// times, to tell duplicates and out-of-order readings apart, and the signal-quality state.
  struct stream_state {
    short_id patient;  ///< of its first reading
    timestamp newest{};
    bool seen = false;
    std::vector<timestamp> recent;  // circular, dedup_window entries
    std::size_t next = 0;
    jump_filter jumps;
    lateness_tracker late_wall;  ///< delay against the receive time
    lateness_tracker late_data;  ///< delay against the newest device time of any stream
  };

  /// A restored condition waiting to be raised again (expect_reconfirmation()).
  struct pending_condition {
    alert_event raised;
    std::optional<std::chrono::steady_clock::time_point> evidence_since;  ///< first fresh reading
  };

  void run();
  /// Takes a pending reconfigure() (pipeline thread).
  void apply_update();
  /// Whether a sample of a stream not seen before may start one (known, or room for unknown).
  bool admit(const sample& s);
  /// Whether a device or patient is in the configuration (known_devices, known_patients).
  bool known(const short_id& device, const short_id& patient) const;
  /// After a reconfiguration without accept_unknown: streams of devices and patients no longer
  /// known are dropped, and so is their stale-data watch, so that their readings are refused
  /// from the next one on and their silence raises nothing.
  void forget_unknown_streams();
  void note_evidence(const sample& s);
  void reconfirm_tick(std::chrono::steady_clock::time_point now);
  std::size_t drain_once();
  void process(const sample& s);
  void hand_off();
  void keep(const sample& s);
  void periodic(bool force);
  /// Marks a store call, during which the pipeline may wait on the store's back-pressure.
  class store_call;

  pipeline_options options_;
  detector_set detectors_;
  store& store_;
  stats& stats_;
  intake_gate* gate_;
  std::function<void(const alert_event&)> alert_handler_;

  std::vector<std::unique_ptr<ingest_port>> ports_;
  wakeup wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> passes_{0};
  std::atomic<bool> in_store_{false};
  std::thread thread_;

  // A reload waiting for the pipeline thread (reconfigure()).
  struct pending_update {
    pipeline_update update;
    std::function<void(std::string)> applied;
  };
  std::mutex update_mutex_;
  std::optional<pending_update> update_;
  std::atomic<bool> update_ready_{false};

  // Pipeline-thread state.
  std::unordered_map<stream_key, stream_state, stream_key_hash> streams_;
  std::vector<sample> accepted_;
  std::vector<alert_event> events_;
  timestamp data_clock_{};  ///< newest device time seen that was not ahead of its receive time
  std::chrono::steady_clock::time_point next_tick_{};
  std::chrono::steady_clock::time_point next_save_{};
  std::chrono::steady_clock::time_point held_since_{};  ///< when the gate was first seen held
  bool held_ = false;
  std::vector<short_id> dirty_;
  std::chrono::steady_clock::time_point next_admit_log_{};
  /// Restored conditions by (patient, vital): stream_key's device field holds the patient.
  std::unordered_map<stream_key, std::vector<pending_condition>, stream_key_hash> reconfirm_;
};

}  // namespace vitals::core
