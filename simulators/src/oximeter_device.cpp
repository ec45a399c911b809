// The pulse oximeter: its own noise, a few seconds of averaging, integer readings, and the
// artifacts (motion, probe off, displaced, low perfusion) with their labels.
#include <vitals/simulators/cardio_model.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "cardio_detail.hpp"

namespace vitals::simulators {

using std::chrono::milliseconds;
using std::chrono::minutes;

namespace {

using detail::approx_normal;
using detail::from_seconds;

constexpr double ox_hr_noise_sd = 1.0;    // bpm per second, before averaging
constexpr double ox_spo2_noise_sd = 0.6;  // % per second, before averaging

}  // namespace

oximeter_device::oximeter_device(std::string device, std::string patient, std::uint64_t seed,
                                 std::vector<oximeter_artifact> artifacts)
    : device_(std::move(device)),
      patient_(std::move(patient)),
      rng_(derive_seed(seed, patient_ + "/" + device_)),
      art_rng_(derive_seed(seed, patient_ + "/" + device_ + "/artifacts")) {
  spo2_bias_ = rng_.uniform(-0.3, 0.3);
  std::stable_sort(
      artifacts.begin(), artifacts.end(),
      [](const oximeter_artifact& a, const oximeter_artifact& b) { return a.at < b.at; });
  artifacts_.reserve(artifacts.size());
  for (const auto& a : artifacts) {
    artifact_state s;
    s.art = a;
    milliseconds d = a.duration;
    if (d.count() <= 0) {
      switch (a.kind) {
        case oximeter_artifact_kind::motion:
          d = from_seconds(art_rng_.uniform(5.0, 10.0));
          break;
        case oximeter_artifact_kind::probe_off:
        case oximeter_artifact_kind::displaced:
          d = minutes(2);
          break;
        case oximeter_artifact_kind::low_perfusion:
          d = minutes(5);
          break;
      }
    }
    s.end = a.at + d;
    artifacts_.push_back(s);
  }
}

label oximeter_device::make_label(const artifact_state& a, core::timestamp end) const {
  label l;
  l.type = label_type::artifact;
  l.patient = patient_;
  l.kind = std::string(to_string(a.art.kind));
  l.device = device_;
  l.start = a.art.at;
  l.end = end;
  l.actionable = false;
  l.extreme = a.extreme;
  return l;
}

oximeter_reading oximeter_device::measure(core::timestamp t, const cardio_truth& truth) {
  // The same two draws every second, artifacts or not.
  const double n_hr = approx_normal(rng_) * ox_hr_noise_sd;
  const double n_spo2 = approx_normal(rng_) * ox_spo2_noise_sd;

  bool motion = false;
  bool probe_off = false;
  bool displaced = false;
  bool low_perfusion = false;
  artifact_state* motion_state = nullptr;
  for (std::size_t i = next_artifact_; i < artifacts_.size() && artifacts_[i].art.at <= t; ++i) {
    auto& a = artifacts_[i];
    if (a.done) continue;
    a.started = true;
    if (t >= a.end) {
      a.done = true;
      done_labels_.push_back(make_label(a, a.end));
      continue;
    }
    switch (a.art.kind) {
      case oximeter_artifact_kind::probe_off:
        probe_off = true;
        break;
      case oximeter_artifact_kind::displaced:
        displaced = true;
        break;
      case oximeter_artifact_kind::low_perfusion:
        low_perfusion = true;
        break;
      case oximeter_artifact_kind::motion:
        motion = true;
        motion_state = &a;
        break;
    }
  }
  while (next_artifact_ < artifacts_.size() && artifacts_[next_artifact_].done) ++next_artifact_;
  last_ = std::max(last_, t);

  if (probe_off || displaced) {
    count_ = 0;  // the averaging restarts when the probe is back on
    pos_ = 0;
    oximeter_reading off{0, 0, false};
    off.displaced = !probe_off;  // probe off wins when both hold
    return off;
  }

  hr_buf_[pos_] = truth.hr + n_hr;
  spo2_buf_[pos_] = truth.spo2 + spo2_bias_ + n_spo2;
  pos_ = (pos_ + 1) % window;
  count_ = std::min(count_ + 1, window);
  double hr = 0.0;
  double spo2 = 0.0;
  for (std::size_t i = 0; i < count_; ++i) {
    hr += hr_buf_[i];
    spo2 += spo2_buf_[i];
  }
  hr /= static_cast<double>(count_);
  spo2 /= static_cast<double>(count_);

  if (motion) {
    // The sensor locks onto the movement: erratic, mostly high pulse and falsely low SpO2.
    hr += art_rng_.uniform() < 0.7 ? art_rng_.uniform(20.0, 70.0) : art_rng_.uniform(-15.0, 5.0);
    spo2 -= art_rng_.uniform(2.0, 12.0);
  }
  oximeter_reading r;
  r.motion = motion;
  r.low_perfusion = low_perfusion;
  r.hr = static_cast<int>(std::lround(std::max(hr, 0.0)));
  r.spo2 = static_cast<int>(std::lround(std::clamp(spo2, 0.0, 100.0)));
  if (motion && motion_state) {
    const double sent = r.spo2;
    motion_state->extreme = motion_state->extreme ? std::min(*motion_state->extreme, sent) : sent;
  }
  return r;
}

void oximeter_device::drain_labels(std::vector<label>& out) {
  std::move(done_labels_.begin(), done_labels_.end(), std::back_inserter(out));
  done_labels_.clear();
}

void oximeter_device::flush_labels(std::vector<label>& out) {
  drain_labels(out);
  for (auto& a : artifacts_) {
    if (a.started && !a.done) {
      a.done = true;
      out.push_back(make_label(a, std::min(a.end, last_)));
    }
  }
}

}  // namespace vitals::simulators
