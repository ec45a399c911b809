#include <vitals/simulators/generator.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace vitals::simulators {

using std::chrono::milliseconds;

// ---- devices ----

pulse_oximeter::pulse_oximeter(std::string device, std::uint64_t seed)
    : device_(std::move(device)), rng_(derive_seed(seed, device_)) {}

oximeter_reading pulse_oximeter::measure(const vitals_state& truth) noexcept {
  const double hr = truth.hr + std::clamp(rng_.normal(0.0, 1.0), -2.5, 2.5);
  const double spo2 = truth.spo2 + std::clamp(rng_.normal(0.0, 0.3), -0.7, 0.7);
  return {static_cast<int>(std::lround(hr)), static_cast<int>(std::min(std::lround(spo2), 100L))};
}

cgm_sensor::cgm_sensor(std::string device, std::uint64_t seed)
    : device_(std::move(device)), rng_(derive_seed(seed, device_)) {}

double cgm_sensor::measure(const vitals_state& truth) noexcept {
  const double g = truth.glucose + std::clamp(rng_.normal(0.0, 1.5), -4.0, 4.0);
  return std::clamp(g, 40.0, 400.0);
}

// ---- payloads ----

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_head(std::string& out, const std::string& device, core::timestamp ts,
                 std::uint64_t seq) {
  // Device ids are generated ("p001-ox"), so they need no JSON escaping.
  out += R"({"device":")";
  out += device;
  out += R"(","ts":)";
  append_int(out, ts.time_since_epoch().count());
  out += R"(,"seq":)";
  append_int(out, static_cast<std::int64_t>(seq));
}

// Tenths of a mmol/L, so that formatting is exact and locale-free.
std::int64_t mmol_tenths(double mgdl) {
  return std::llround(mgdl / core::glucose_mgdl_per_mmol * 10.0);
}

}  // namespace

std::string oximeter_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                             oximeter_reading r) {
  std::string out;
  out.reserve(80);
  append_head(out, device, ts, seq);
  out += R"(,"hr":)";
  append_int(out, r.hr);
  out += R"(,"spo2":)";
  append_int(out, r.spo2);
  out += '}';
  return out;
}

std::string cgm_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                        double glucose_mgdl, glucose_unit unit) {
  std::string out;
  out.reserve(96);
  append_head(out, device, ts, seq);
  if (unit == glucose_unit::mg_dl) {
    out += R"(,"glucose":)";
    append_int(out, std::llround(glucose_mgdl));
  } else {
    const std::int64_t tenths = mmol_tenths(glucose_mgdl);
    out += R"(,"glucose":{"value":)";
    append_int(out, tenths / 10);
    out += '.';
    append_int(out, tenths % 10);
    out += R"(,"unit":"mmol/L"})";
  }
  out += '}';
  return out;
}

// ---- generator ----

message_generator::message_generator(generator_options options) : options_(std::move(options)) {
  if (options_.patients < 1) throw std::invalid_argument("patients must be at least 1");
  for (const auto& e : options_.events.events) {
    bool known = false;
    for (int i = 1; i <= options_.patients && !known; ++i) known = patient_id(i) == e.patient;
    if (!known) {
      throw std::invalid_argument("scenario '" + options_.events.name + "' names patient '" +
                                  e.patient + "', who is not simulated");
    }
  }
  patients_.reserve(static_cast<std::size_t>(options_.patients));
  for (int i = 1; i <= options_.patients; ++i) {
    std::string id = patient_id(i);
    std::vector<scripted_event> events;
    for (const auto& e : options_.events.events) {
      if (e.patient == id) events.push_back(e);
    }
    std::string ox = id + "-ox";
    std::string cgm = id + "-cgm";
    std::string topic = options_.topic_prefix + "/" + id + "/";
    patients_.push_back(
        patient_slot{std::make_unique<baseline_patient>(id, options_.seed, std::move(events)),
                     pulse_oximeter(ox, options_.seed), cgm_sensor(cgm, options_.seed), topic + ox,
                     topic + cgm});
  }
}

message_generator::~message_generator() = default;

bool message_generator::next_tick(std::vector<message>& out, std::vector<label>& labels) {
  if (options_.duration && elapsed_ >= *options_.duration) return false;
  const core::timestamp ts = options_.start + elapsed_;
  const bool cgm_due = elapsed_ % milliseconds(cgm_period) == milliseconds(0);

  for (auto& p : patients_) {
    const vitals_state truth = p.model->advance(elapsed_);
    const auto& patient = p.model->patient();

    const auto& events = p.model->events();
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto onset = milliseconds(events[i].onset);
      if (onset <= elapsed_ && elapsed_ < onset + milliseconds(oximeter_period)) {
        if (const auto base = p.model->event_baseline(i)) {
          labels.push_back(make_label(events[i], options_.start, *base));
        }
      }
    }

    message ox;
    ox.type = device_type::oximeter;
    ox.patient = patient;
    ox.device = p.oximeter.device();
    ox.topic = p.oximeter_topic;
    ox.ts = ts;
    ox.elapsed = elapsed_;
    ox.seq = ++p.oximeter_seq;
    const oximeter_reading r = p.oximeter.measure(truth);
    ox.hr = r.hr;
    ox.spo2 = r.spo2;
    ox.payload = oximeter_payload(ox.device, ts, ox.seq, r);
    const bool dup =
        options_.duplicate_every > 0 && ++oximeter_count_ % options_.duplicate_every == 0;
    out.push_back(ox);
    if (dup) {
      ox.duplicate = true;
      out.push_back(std::move(ox));
    }

    if (cgm_due) {
      message cgm;
      cgm.type = device_type::cgm;
      cgm.patient = patient;
      cgm.device = p.cgm.device();
      cgm.topic = p.cgm_topic;
      cgm.ts = ts;
      cgm.elapsed = elapsed_;
      cgm.seq = ++p.cgm_seq;
      const double g = p.cgm.measure(truth);
      cgm.glucose_mgdl =
          options_.unit == glucose_unit::mg_dl
              ? static_cast<double>(std::llround(g))
              : static_cast<double>(mmol_tenths(g)) / 10.0 * core::glucose_mgdl_per_mmol;
      cgm.payload = cgm_payload(cgm.device, ts, cgm.seq, g, options_.unit);
      out.push_back(std::move(cgm));
    }
  }
  elapsed_ += milliseconds(oximeter_period);
  return true;
}

}  // namespace vitals::simulators
