#include <vitals/core/pipeline.hpp>

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

namespace vitals::core {

namespace {

/// A device clock up to this far ahead of the receive time still moves the data clock.
constexpr std::chrono::minutes future_slack{1};

}  // namespace

bool plausible(vital_kind kind, double value) noexcept {
  switch (kind) {
    case vital_kind::heart_rate:
      return value >= 20.0 && value <= 250.0;
    case vital_kind::spo2:
      return value >= 50.0 && value <= 100.0;
    case vital_kind::glucose:
      return value >= 20.0 && value <= 600.0;
  }
  return false;
}

ingest_port::ingest_port(std::string name, std::size_t capacity, wakeup& wake, stats& st,
                         std::chrono::milliseconds push_timeout)
    : name_(std::move(name)),
      ring_(capacity),
      wake_(wake),
      stats_(st),
      push_timeout_(push_timeout) {}

bool ingest_port::try_push(const sample& s) noexcept {
  if (!ring_.try_push(s)) return false;
  wake_.notify();
  return true;
}

bool ingest_port::push(const sample& s) {
  if (try_push(s)) return true;
  stats_.ring_full_waits.fetch_add(1, std::memory_order_relaxed);
  wake_.notify();
  if (ring_.push_for(s, push_timeout_)) {
    wake_.notify();
    return true;
  }
  const auto drops = stats_.ring_drops.fetch_add(1, std::memory_order_relaxed) + 1;
  spdlog::error("ingest '{}': ring full for {} ms, sample dropped ({} dropped so far)", name_,
                push_timeout_.count(), drops);
  return false;
}

class pipeline::store_call {
 public:
  explicit store_call(std::atomic<bool>& flag) noexcept : flag_(flag) {
    flag_.store(true, std::memory_order_relaxed);
  }
  ~store_call() { flag_.store(false, std::memory_order_relaxed); }
  store_call(const store_call&) = delete;
  store_call& operator=(const store_call&) = delete;

 private:
  std::atomic<bool>& flag_;
};

pipeline::pipeline(pipeline_options options, detector_set detectors, store& out, stats& st,
                   intake_gate* gate)
    : options_(options), detectors_(std::move(detectors)), store_(out), stats_(st), gate_(gate) {
  options_.batch_max = std::max<std::size_t>(options_.batch_max, 1);
  options_.dedup_window = std::max<std::size_t>(options_.dedup_window, 1);
}

pipeline::~pipeline() {
  stop();
}

ingest_port& pipeline::open_port(std::string name, std::size_t capacity) {
  ports_.push_back(std::make_unique<ingest_port>(std::move(name), capacity, wake_, stats_,
                                                 options_.push_timeout));
  return *ports_.back();
}

void pipeline::on_alert(std::function<void(const alert_event&)> handler) {
  alert_handler_ = std::move(handler);
}

void pipeline::start() {
  if (thread_.joinable()) return;
  std::vector<std::string> names;
  for (const auto& p : ports_) names.push_back(p->name());
  detectors_.set_source_names(std::move(names));
  stopping_.store(false);
  thread_ = std::thread([this] { run(); });
}

void pipeline::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  wake_.notify();
  thread_.join();
  periodic(true);
  store_.flush();
}

std::size_t pipeline::depth() const noexcept {
  std::size_t n = 0;
  for (const auto& p : ports_) n += p->depth();
  return n;
}

pipeline_heartbeat pipeline::heartbeat() const noexcept {
  return {passes_.load(std::memory_order_relaxed), in_store_.load(std::memory_order_relaxed)};
}

void pipeline::expect_reconfirmation(std::vector<alert_event> restored) {
  for (auto& e : restored) {
    reconfirm_[stream_key{e.patient, e.kind}].push_back({std::move(e), std::nullopt});
  }
}

void pipeline::note_evidence(const sample& s) {
  const auto it = reconfirm_.find(stream_key{s.patient, s.kind});
  if (it == reconfirm_.end()) return;
  const auto now = std::chrono::steady_clock::now();
  for (auto& p : it->second) {
    if (!p.evidence_since) p.evidence_since = now;
  }
}

void pipeline::reconfirm_tick(std::chrono::steady_clock::time_point now) {
  // Raises were taken off in hand_off(): what is left has not been raised again.
  for (auto it = reconfirm_.begin(); it != reconfirm_.end();) {
    const auto window = options_.reconfirm_window[static_cast<std::size_t>(it->first.kind)];
    std::erase_if(it->second, [&](const pending_condition& p) {
      if (!p.evidence_since || now - *p.evidence_since < window) return false;
      // Fresh readings for the whole window and no detector raised it: it ended while vitalsd
      // was down (or just before a crash).
      alert_event e = p.raised;
      e.transition = alert_transition::cleared;
      e.time = now_ms();
      e.message = "not found again in the readings after vitalsd restarted";
      events_.push_back(std::move(e));
      return true;
    });
    it = it->second.empty() ? reconfirm_.erase(it) : std::next(it);
  }
}

void pipeline::periodic(bool force) {
  const auto now = std::chrono::steady_clock::now();
  // While the store holds the sources back, devices are not silent, vitalsd is deaf: no
  // time-based checks, and afterwards the held time does not count as silence.
  const bool held = gate_ != nullptr && gate_->held();
  if (held && !held_) {
    held_ = true;
    held_since_ = now;
  } else if (!held && held_) {
    held_ = false;
    detectors_.discount_silence(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - held_since_));
  }
  if (!force && !held && now >= next_tick_) {
    next_tick_ = now + options_.tick_interval;
    detectors_.tick(now_ms(), events_);
    // The tick's raises first: they may confirm a restored condition that is due now.
    if (!events_.empty()) hand_off();
    if (!reconfirm_.empty()) {
      reconfirm_tick(now);
      if (!events_.empty()) hand_off();
    }
  }
  if (force || now >= next_save_) {
    next_save_ = now + options_.baseline_save_interval;
    // Personal baselines survive restarts: the changed ones go to the store, which writes them
    // on its own thread.
    auto& baselines = detectors_.baselines();
    baselines.take_dirty(dirty_);
    const store_call in_store(in_store_);
    for (const auto& patient : dirty_) {
      store_.save_baseline(patient, baselines.export_state(patient));
    }
    dirty_.clear();
  }
}

void pipeline::reconfigure(pipeline_update update, std::function<void(std::string)> applied) {
  std::optional<pending_update> replaced;
  {
    const std::lock_guard lock(update_mutex_);
    replaced = std::move(update_);
    update_ = pending_update{std::move(update), std::move(applied)};
    update_ready_.store(true, std::memory_order_release);
  }
  if (replaced && replaced->applied) replaced->applied(std::string(superseded));
  wake_.notify();
}

void pipeline::apply_update() {
  std::optional<pending_update> taken;
  {
    const std::lock_guard lock(update_mutex_);
    taken = std::move(update_);
    update_.reset();
    update_ready_.store(false, std::memory_order_relaxed);
  }
  if (!taken) return;
  auto& u = taken->update;
  std::string error;
  try {
    detectors_.reconfigure(std::move(u.detection), events_);
    options_.known_devices = std::move(u.known_devices);
    options_.known_patients = std::move(u.known_patients);
    options_.accept_unknown = u.accept_unknown;
    options_.max_streams = u.max_streams;
    options_.reconfirm_window = u.reconfirm_window;
    if (!options_.accept_unknown) forget_unknown_streams();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!events_.empty()) hand_off();
  if (taken->applied) taken->applied(error);
}

void pipeline::run() {
  next_save_ = std::chrono::steady_clock::now() + options_.baseline_save_interval;
  for (;;) {
    // The heartbeat: one per pass, busy or idle (an idle pass sleeps at most idle_wait).
    passes_.fetch_add(1, std::memory_order_relaxed);
    if (update_ready_.load(std::memory_order_acquire)) apply_update();
    periodic(false);
    if (drain_once() != 0) continue;
    if (stopping_.load()) {
      // Sources are stopped before the pipeline: one more pass sees anything they pushed last.
      while (drain_once() != 0) {
      }
      return;
    }
    // Nothing to do: yield a little (cheap when data is about to arrive), then sleep.
    bool found = false;
    for (int i = 0; i < 16 && !found; ++i) {
      std::this_thread::yield();
      found = depth() != 0;
    }
    if (found) continue;
    const auto ticket = wake_.prepare();
    if (depth() != 0 || stopping_.load() || update_ready_.load(std::memory_order_acquire)) {
      wake_.cancel();
      continue;
    }
    wake_.wait_for(ticket, options_.idle_wait);
  }
}

std::size_t pipeline::drain_once() {
  std::size_t total = 0;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    const auto source = static_cast<std::uint8_t>(std::min<std::size_t>(i, 254));
    total += ports_[i]->ring_.consume(
        [this, source](sample&& s) {
          s.source = source;
          process(s);
        },
        options_.batch_max);
  }
  if (total != 0) hand_off();
  return total;
}

bool pipeline::known(const short_id& device, const short_id& patient) const {
  return options_.known_devices.contains(device) || options_.known_patients.contains(patient);
}

void pipeline::forget_unknown_streams() {
  std::size_t dropped = 0;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (known(it->first.device, it->second.patient)) {
      ++it;
      continue;
    }
    it = streams_.erase(it);
    ++dropped;
  }
  detectors_.forget_streams_if(
      [this](const short_id& device, const short_id& patient) { return !known(device, patient); },
      now_ms(), events_);
  if (dropped != 0) {
    spdlog::info(
        "pipeline: {} stream(s) of devices or patients no longer known are not watched any more; "
        "their readings are rejected as unknown_device",
        dropped);
  }
}

bool pipeline::admit(const sample& s) {
  if (known(s.device, s.patient)) return true;
  if (options_.accept_unknown && streams_.size() < options_.max_streams) return true;
  stats_.count_reject(reject_reason::unknown_device);
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_admit_log_) {
    // Once a minute at most: a flood of unknown ids must not become a flood of log lines.
    next_admit_log_ = now + std::chrono::minutes(1);
    if (options_.accept_unknown) {
      spdlog::warn(
          "pipeline: {} streams watched (max_streams): readings of further unknown devices are "
          "rejected as unknown_device (/metrics counts them)",
          streams_.size());
    } else {
      spdlog::warn(
          "pipeline: readings of devices and patients that are not known (the patient "
          "registry, [[patients]], [[devices]]) are rejected as unknown_device "
          "(accept_unknown = false; /metrics counts them)");
    }
  }
  spdlog::debug("pipeline: rejected a reading of unknown device {} (patient {})", s.device.view(),
                s.patient.view());
  return false;
}

void pipeline::process(const sample& s) {
  const stream_key key{s.device, s.kind};
  auto found = streams_.find(key);
  if (found == streams_.end()) {
    if (!admit(s)) return;
    found = streams_.try_emplace(key).first;
    found->second.patient = s.patient;
  }
  auto& stream = found->second;
  if ((s.quality & quality_no_value) != 0) {
    // A condition-only report (probe off, no reading, link state): never a reading, so never
    // stored or evaluated; it feeds the technical alerts and says the device is alive.
    stats_.condition_reports.fetch_add(1, std::memory_order_relaxed);
    detectors_.observe_conditions(s, events_);
    if ((s.quality & quality_link_state) == 0) detectors_.on_fresh(s, events_);
    return;
  }
  if (!std::isfinite(s.value)) {
    stats_.count_reject(reject_reason::bad_value);
    return;
  }
  if (!plausible(s.kind, s.value)) {
    stats_.count_reject(reject_reason::implausible);
    spdlog::debug("implausible {} value {} from device {}", to_string(s.kind), s.value,
                  s.device.view());
    return;
  }

  if (stream.recent.empty()) stream.recent.assign(options_.dedup_window, timestamp{});
  if (stream.seen &&
      std::find(stream.recent.begin(), stream.recent.end(), s.device_time) != stream.recent.end()) {
    stats_.samples_duplicate.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  stream.recent[stream.next] = s.device_time;
  stream.next = (stream.next + 1) % stream.recent.size();

  sample accepted = s;
  const bool in_order = !stream.seen || s.device_time > stream.newest;
  if (!in_order) {
    // Stored, but never evaluated: a late reading must not raise or clear an alert retroactively.
    accepted.quality |= quality_out_of_order;
    keep(accepted);
    return;
  }
  stream.newest = s.device_time;
  stream.seen = true;

  if (options_.quality_checks) {
    // Late (backfilled) although in order, by the receive time or by the other streams' clock:
    // stored, not evaluated, and it does not tell that the device is alive now.
    const auto tolerance = default_late_tolerance(s.kind);
    const auto data_now = std::max(data_clock_, s.device_time);
    const bool late_wall = stream.late_wall.is_late(s.device_time, s.receive_time, tolerance);
    const bool late_data = stream.late_data.is_late(s.device_time, data_now, tolerance);
    if (s.device_time <= s.receive_time + future_slack) data_clock_ = data_now;
    if (late_wall || late_data) accepted.quality |= quality_backfilled;
  }
  if ((accepted.quality & quality_backfilled) != 0) {
    stats_.samples_late.fetch_add(1, std::memory_order_relaxed);
    keep(accepted);
    return;
  }
  detectors_.on_fresh(accepted, events_);
  detectors_.observe_conditions(accepted, events_);
  if (!reconfirm_.empty()) note_evidence(accepted);

  // A jump physiology cannot make is an artifact until the new level holds (signal_quality.hpp).
  if (options_.quality_checks &&
      stream.jumps.is_artifact(s.value, s.device_time, default_jump_limit(s.kind))) {
    accepted.quality |= quality_artifact;
    stats_.samples_artifact.fetch_add(1, std::memory_order_relaxed);
  }
  keep(accepted);
  // Device-reported contact loss, questionable readings or artifacts gate every physiological
  // rule.
  if ((accepted.quality &
       (quality_artifact | quality_sensor_contact_lost | quality_device_flagged)) != 0) {
    return;
  }
  detectors_.observe(accepted, events_);
}

void pipeline::keep(const sample& s) {
  accepted_.push_back(s);
  stats_.samples_accepted.fetch_add(1, std::memory_order_relaxed);
}

void pipeline::hand_off() {
  if (!reconfirm_.empty() && !events_.empty()) {
    // Raises confirm restored conditions (reconfirm_tick() drops them; no clear is due).
    for (const auto& e : events_) {
      if (e.transition != alert_transition::raised) continue;
      const auto it = reconfirm_.find(stream_key{e.patient, e.kind});
      if (it == reconfirm_.end()) continue;
      std::erase_if(it->second,
                    [&](const pending_condition& p) { return p.raised.rule == e.rule; });
      if (it->second.empty()) reconfirm_.erase(it);
    }
  }
  if (!accepted_.empty()) {
    const store_call in_store(in_store_);
    store_.append(accepted_);
    accepted_.clear();
  }
  for (const auto& e : events_) {
    (e.transition == alert_transition::raised ? stats_.alerts_raised : stats_.alerts_cleared)
        .fetch_add(1, std::memory_order_relaxed);
    if (alert_handler_) alert_handler_(e);
  }
  events_.clear();
}

}  // namespace vitals::core
