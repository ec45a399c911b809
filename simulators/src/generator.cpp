#include <vitals/simulators/generator.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <vitals/simulators/ble_frames.hpp>
#include <vitals/simulators/options.hpp>

namespace vitals::simulators {

using std::chrono::milliseconds;

// ---- payloads ----

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_head(std::string& out, const std::string& device, core::timestamp ts,
                 std::uint64_t seq) {
  // Device ids are generated ("p001-ox") or checked TOML strings without quotes or backslashes.
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

void append_tenths(std::string& out, std::int64_t tenths) {
  append_int(out, tenths / 10);
  out += '.';
  append_int(out, tenths % 10);
}

}  // namespace

double sent_glucose(double mgdl, glucose_unit unit) noexcept {
  return unit == glucose_unit::mg_dl
             ? static_cast<double>(std::llround(mgdl))
             : static_cast<double>(mmol_tenths(mgdl)) / 10.0 * core::glucose_mgdl_per_mmol;
}

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
    out += R"(,"glucose":{"value":)";
    append_tenths(out, mmol_tenths(glucose_mgdl));
    out += R"(,"unit":"mmol/L"})";
  }
  out += '}';
  return out;
}

std::string omh_payload(const std::string& patient, const std::string& device, core::timestamp ts,
                        std::uint64_t seq, core::vital_kind vital, double value,
                        glucose_unit unit) {
  const std::string when = format_rfc3339(ts);
  std::string out;
  out.reserve(360);
  out += R"({"header":{"id":")";
  out += device;
  out += '-';
  append_int(out, static_cast<std::int64_t>(seq));
  out += '-';
  out += core::to_string(vital);
  out += R"(","creation_date_time":")";
  out += when;
  out += R"(","schema_id":{"namespace":"omh","name":")";
  switch (vital) {
    case core::vital_kind::heart_rate:
      out += R"(heart-rate","version":"2.0"})";
      break;
    case core::vital_kind::spo2:
      out += R"(oxygen-saturation","version":"2.0"})";
      break;
    case core::vital_kind::glucose:
      out += R"(blood-glucose","version":"4.0"})";
      break;
  }
  out += R"(,"user_id":")";
  out += patient;
  out += R"(","acquisition_provenance":{"source_name":")";
  out += device;
  out += R"("}},"body":{)";
  switch (vital) {
    case core::vital_kind::heart_rate:
      out += R"("heart_rate":{"value":)";
      append_int(out, std::llround(value));
      out += R"(,"unit":"beats/min"})";
      break;
    case core::vital_kind::spo2:
      out += R"("oxygen_saturation":{"value":)";
      append_int(out, std::llround(value));
      out += R"(,"unit":"%"},"measurement_method":"pulse oximetry")";
      break;
    case core::vital_kind::glucose:
      out += R"("blood_glucose":{"value":)";
      if (unit == glucose_unit::mg_dl) {
        append_int(out, std::llround(value));
        out += R"(,"unit":"mg/dL"})";
      } else {
        append_tenths(out, mmol_tenths(value));
        out += R"(,"unit":"mmol/L"})";
      }
      out += R"(,"specimen_source":"interstitial fluid","temporal_relationship_to_meal":"unknown")";
      break;
  }
  out += R"(,"effective_time_frame":{"date_time":")";
  out += when;
  out += R"("}}})";
  return out;
}

// ---- per-device delivery faults ----

struct message_generator::device_state {
  std::string id;
  std::string topic;
  std::string address;    // BLE formats: the device's address
  std::string ble_topic;  // BLE formats: <root>/gw-<patient>/<address>
  device_slot slot = device_slot::oximeter;
  std::uint64_t seq = 0;
  std::vector<fault> faults;     // absolute windows: at/duration as offsets, sorted by start
  std::deque<message> held;      // backfill: delivered when the holding fault is over
  std::vector<message> swapped;  // out_of_order: one reading waiting for the next
};

struct message_generator::patient_slot {
  patient_spec spec;
  cardio_model cardio;
  oximeter_device oximeter;
  std::optional<t1d_patient> glucose;
  std::optional<cgm_device> cgm;
  device_state ox;
  device_state cg;
  milliseconds cgm_phase{};
  std::size_t next_fault_label = 0;
  std::vector<fault> all_faults;  // every fault of the patient, for labels, sorted by start
  std::string gateway_address;    // BLE formats: the patient's gateway
  std::optional<core::timestamp> session_start;  // BLE CGM: start of its sensor session
};

namespace {

bool active(const fault& f, milliseconds t) noexcept {
  return t >= f.at && t < f.at + f.duration;
}

bool concerns(const fault& f, device_slot slot) noexcept {
  return f.device == device_slot::all || f.device == slot;
}

std::vector<cardio_event> cardio_events(const patient_spec& p, core::timestamp start) {
  std::vector<cardio_event> out;
  for (const auto& e : p.cardio_events) out.push_back({e.kind, start + e.at, e.duration, e.level});
  return out;
}

std::vector<glucose_event> glucose_events(const patient_spec& p, core::timestamp start) {
  std::vector<glucose_event> out;
  for (const auto& e : p.glucose_events) out.push_back({e.kind, start + e.at, e.magnitude});
  return out;
}

std::vector<oximeter_artifact> oximeter_artifacts(const patient_spec& p, core::timestamp start) {
  std::vector<oximeter_artifact> out;
  for (const auto& a : p.oximeter_artifacts) out.push_back({a.kind, start + a.at, a.duration});
  return out;
}

}  // namespace

message_generator::message_generator(generator_options options) : options_(std::move(options)) {
  const scenario& plan = options_.plan;
  if (plan.patients.empty()) throw std::invalid_argument("the scenario has no patients");
  patients_.reserve(plan.patients.size());
  const auto start = plan.start;
  for (const auto& spec : plan.patients) {
    const std::string ox_id = spec.id + "-ox";
    const std::string cgm_id = spec.id + "-cgm";
    auto slot = std::unique_ptr<patient_slot>(new patient_slot{
        spec,
        cardio_model(spec.id, spec.profile, plan.seed, start, plan.utc_offset,
                     cardio_events(spec, start)),
        oximeter_device(ox_id, spec.id, plan.seed, oximeter_artifacts(spec, start)),
        std::nullopt,
        std::nullopt,
        {},
        {},
        {},
        0,
        {},
        {},
        std::nullopt});
    if (has_cgm(spec.profile)) {
      slot->glucose.emplace(spec.id, spec.glucose_params, plan.seed, start, plan.utc_offset,
                            glucose_events(spec, start));
      slot->cgm.emplace(cgm_id, spec.id, plan.seed);
      for (const auto& a : spec.cgm_artifacts) {
        if (a.kind == cgm_artifact_kind::compression_low) {
          slot->cgm->add_compression_low(start + a.at, a.duration, a.depth);
        } else {
          slot->cgm->add_warmup(start + a.at, a.duration);
        }
      }
      // Real sensors are not in step: each CGM reads at its own second within five minutes.
      random phase(derive_seed(plan.seed, cgm_id + "/phase"));
      slot->cgm_phase = std::chrono::seconds(static_cast<int>(phase.uniform(0.0, 300.0)));
    }
    const std::string base = options_.topic_prefix + "/" + spec.id + "/";
    slot->ox.id = ox_id;
    slot->ox.topic = base + ox_id;
    slot->ox.slot = device_slot::oximeter;
    slot->cg.id = cgm_id;
    slot->cg.topic = base + cgm_id;
    slot->cg.slot = device_slot::cgm;
    if (is_ble(spec.output)) {
      const std::size_t index = patients_.size() + 1;
      const std::string gateway = ble::gateway_name(spec.id);
      slot->gateway_address = ble::device_address(index, ble::slot_gateway);
      slot->ox.address = ble::device_address(index, ble::slot_oximeter);
      slot->cg.address = ble::device_address(index, ble::slot_cgm);
      slot->ox.ble_topic = ble::topic(options_.ble_topic_root, gateway, slot->ox.address);
      slot->cg.ble_topic = ble::topic(options_.ble_topic_root, gateway, slot->cg.address);
    }
    slot->all_faults = spec.faults;
    std::stable_sort(slot->all_faults.begin(), slot->all_faults.end(),
                     [](const fault& a, const fault& b) { return a.at < b.at; });
    for (const auto& f : slot->all_faults) {
      if (concerns(f, device_slot::oximeter)) slot->ox.faults.push_back(f);
      if (concerns(f, device_slot::cgm) && slot->cgm) slot->cg.faults.push_back(f);
    }
    patients_.push_back(std::move(slot));
  }
}

message_generator::~message_generator() = default;

run_record message_generator::record() const {
  run_record r;
  r.scenario = options_.plan.name;
  r.seed = options_.plan.seed;
  r.start = options_.plan.start;
  if (options_.plan.duration) r.end = options_.plan.start + *options_.plan.duration;
  for (const auto& p : patients_) r.patients.push_back(p->spec.id);
  return r;
}

void message_generator::release(device_state& d, std::vector<message>& out) {
  while (!d.held.empty()) {
    out.push_back(std::move(d.held.front()));
    d.held.pop_front();
  }
}

void message_generator::emit(device_state& d, std::vector<message> reading, bool twice,
                             std::vector<message>& out) {
  // Precedence when faults overlap: dropout > held back (late, gateway) > reordered; duplicates
  // apply to whatever is delivered. A reading is all the messages of one device measurement
  // (two Open mHealth data points for an oximeter), so it moves as a whole.
  if (reading.empty()) return;
  const milliseconds t = reading.front().elapsed;
  bool drop = false, hold = false, reorder = false;
  for (const auto& f : d.faults) {
    if (f.at > t) break;
    if (!active(f, t)) continue;
    switch (f.kind) {
      case fault_kind::dropout:
        drop = true;
        break;
      case fault_kind::gateway_disconnect:
        (f.backfill ? hold : drop) = true;
        break;
      case fault_kind::late:
        hold = true;
        break;
      case fault_kind::out_of_order:
        reorder = true;
        break;
      case fault_kind::duplicate:
        twice = true;
        break;
      case fault_kind::clock_skew:
        break;  // applied when the payload was built
    }
  }
  if (drop) return;
  if (twice) {
    std::vector<message> doubled;
    doubled.reserve(reading.size() * 2);
    for (auto& m : reading) {
      doubled.push_back(m);
      m.duplicate = true;
      doubled.push_back(std::move(m));
    }
    reading = std::move(doubled);
  }
  if (hold) {
    // A reading waiting to be swapped goes into the backlog first, keeping the order.
    for (auto& m : d.swapped) d.held.push_back(std::move(m));
    d.swapped.clear();
    for (auto& m : reading) {
      m.delayed = true;
      d.held.push_back(std::move(m));
    }
    return;
  }
  release(d, out);
  if (reorder) {
    if (d.swapped.empty()) {
      for (auto& m : reading) m.delayed = true;
      d.swapped = std::move(reading);
      return;
    }
    for (auto& m : reading) out.push_back(std::move(m));
    for (auto& m : d.swapped) out.push_back(std::move(m));
    d.swapped.clear();
    return;
  }
  // The window ended with one reading waiting: it goes out first, in order after all.
  for (auto& m : d.swapped) {
    m.delayed = false;
    out.push_back(std::move(m));
  }
  d.swapped.clear();
  for (auto& m : reading) out.push_back(std::move(m));
}

void message_generator::fault_labels(patient_slot& p, std::vector<label>& labels) {
  while (p.next_fault_label < p.all_faults.size() &&
         p.all_faults[p.next_fault_label].at <= elapsed_) {
    const fault& f = p.all_faults[p.next_fault_label++];
    label l;
    l.type = label_type::artifact;
    l.patient = p.spec.id;
    l.kind = std::string(to_string(f.kind));
    if (f.device == device_slot::oximeter) {
      l.device = p.ox.id;
    } else if (f.device == device_slot::cgm) {
      l.device = p.cg.id;
      l.vital = core::vital_kind::glucose;
    }
    l.start = options_.plan.start + f.at;
    l.end = options_.plan.start + f.at + f.duration;
    l.actionable = false;
    labels.push_back(std::move(l));
  }
}

namespace {

milliseconds skew_of(const std::vector<fault>& faults, milliseconds t) {
  milliseconds skew{0};
  for (const auto& f : faults) {
    if (f.at > t) break;
    if (f.kind == fault_kind::clock_skew && active(f, t)) skew += f.offset;
  }
  return skew;
}

/// The gateway JSON that carries one characteristic value of the device at `address`.
std::string gateway_payload(output_format f, const std::string& gateway_address,
                            const std::string& address, std::uint16_t uuid,
                            const std::vector<std::uint8_t>& value, core::timestamp ts) {
  return f == output_format::ble_cassia
             ? ble::cassia_message(gateway_address, address, ble::handle_of(uuid), value)
             : ble::generic_message(address, uuid, value, ts);
}

/// The PLX Continuous Measurement of an oximeter reading: the values as the JSON formats send
/// them, artifacts as status bits (probe off and displaced: no values).
std::vector<std::uint8_t> plx_frame(const oximeter_reading& r) {
  ble::plx_continuous f;
  if (r.contact) {
    f.spo2_pct = r.spo2;
    f.pulse_rate_bpm = r.hr;
  } else {
    f.measurement_status |= ble::plx_ms_unavailable;
    f.device_status |= r.displaced ? ble::plx_ds_displaced : ble::plx_ds_unconnected;
  }
  if (r.motion) {
    f.measurement_status |= ble::plx_ms_questionable;
    f.device_status |= ble::plx_ds_erratic_signal;
  }
  if (r.low_perfusion) f.device_status |= ble::plx_ds_low_perfusion;
  return ble::encode(f);
}

}  // namespace

message message_generator::head(const patient_slot& p, const device_state& d, device_type type,
                                core::timestamp ts) const {
  message m;
  m.type = type;
  m.patient = p.spec.id;
  m.device = d.id;
  m.topic = d.topic;
  m.ts = ts;
  m.elapsed = elapsed_;
  m.seq = d.seq;
  return m;
}

bool message_generator::next_tick(std::vector<message>& out, std::vector<label>& labels,
                                  std::vector<truth_row>* truth) {
  const scenario& plan = options_.plan;
  if (plan.duration && elapsed_ >= *plan.duration) return false;
  const core::timestamp now = plan.start + elapsed_;

  for (auto& slot : patients_) {
    patient_slot& p = *slot;
    fault_labels(p, labels);

    // The pulse oximeter, every second.
    const cardio_truth body = p.cardio.advance(now);
    const oximeter_reading r = p.oximeter.measure(now, body);
    if (truth) {
      truth->push_back({now, &p.spec.id, &p.ox.id, core::vital_kind::heart_rate, body.hr,
                        static_cast<double>(r.hr)});
      truth->push_back({now, &p.spec.id, &p.ox.id, core::vital_kind::spo2, body.spo2,
                        static_cast<double>(r.spo2)});
    }
    {
      const core::timestamp ts = now + skew_of(p.ox.faults, elapsed_);
      const auto make = [&](std::optional<core::vital_kind> vital) {
        message m = head(p, p.ox, device_type::oximeter, ts);
        m.hr = r.hr;
        m.spo2 = r.spo2;
        m.vital = vital;
        if (is_ble(p.spec.output)) {
          m.topic = p.ox.ble_topic;
          m.payload = gateway_payload(p.spec.output, p.gateway_address, p.ox.address,
                                      ble::uuid_plx_continuous, plx_frame(r), ts);
        } else if (!vital) {
          m.payload = oximeter_payload(m.device, ts, m.seq, r);
        } else {
          const double v = *vital == core::vital_kind::heart_rate ? r.hr : r.spo2;
          m.payload = omh_payload(m.patient, m.device, ts, m.seq, *vital, v, plan.unit);
        }
        return m;
      };
      ++p.ox.seq;
      const bool dup = options_.duplicate_every > 0 && p.ox.seq % options_.duplicate_every == 0;
      std::vector<message> made;
      if (p.spec.output == output_format::omh) {
        made.push_back(make(core::vital_kind::heart_rate));
        made.push_back(make(core::vital_kind::spo2));
      } else {
        made.push_back(make(std::nullopt));
      }
      emit(p.ox, std::move(made), dup, out);
    }
    p.oximeter.drain_labels(labels);
    p.cardio.drain_labels(labels);

    // The CGM, every five minutes at its phase.
    if (p.glucose) {
      p.glucose->advance(now);
      if (elapsed_ >= p.cgm_phase &&
          (elapsed_ - p.cgm_phase) % milliseconds(cgm_period) == milliseconds(0)) {
        const double ig = p.glucose->interstitial();
        const auto g = p.cgm->measure(now, ig);
        if (truth) {
          truth->push_back({now, &p.spec.id, &p.cg.id, core::vital_kind::glucose, ig, g});
        }
        const bool ble_out = is_ble(p.spec.output);
        const core::timestamp cgm_ts = now + skew_of(p.cg.faults, elapsed_);
        // The Session Start Time as the gateway reads it on connecting: before the first
        // reading, whatever the delivery faults.
        const auto session_message = [&] {
          message m = head(p, p.cg, device_type::cgm, cgm_ts);
          m.topic = p.cg.ble_topic;
          m.session_start = true;
          m.payload = gateway_payload(
              p.spec.output, p.gateway_address, p.cg.address, ble::uuid_cgm_session_start,
              ble::encode_session_start(*p.session_start, ble::cgm_e2e_crc), cgm_ts);
          return m;
        };
        if (ble_out && !p.session_start) {
          p.session_start = std::chrono::floor<std::chrono::seconds>(now) - cgm_session_lead;
          out.push_back(session_message());
        }
        if (g) {
          const core::timestamp ts = cgm_ts;
          ++p.cg.seq;
          message m = head(p, p.cg, device_type::cgm, ts);
          m.glucose_mgdl = sent_glucose(*g, plan.unit);
          std::vector<message> one;
          if (ble_out) {
            // Time = session start + whole minutes. A reading the session cannot express (a
            // clock skewed to before it, or past the u16 offset) starts a new session, whose
            // start travels with the reading.
            auto since = ts - *p.session_start;
            if (since < milliseconds(0) || since >= std::chrono::minutes(65536)) {
              p.session_start = std::chrono::floor<std::chrono::seconds>(ts) - cgm_session_lead;
              one.push_back(session_message());
              since = ts - *p.session_start;
            }
            ble::cgm_record rec;
            rec.glucose_mgdl = m.glucose_mgdl;
            rec.time_offset_min = static_cast<std::uint16_t>(
                std::chrono::duration_cast<std::chrono::minutes>(since).count());
            if (*g <= cgm_device::floor_mgdl) rec.annunciation |= ble::cgm_below_device_range;
            if (*g >= cgm_device::ceiling_mgdl) rec.annunciation |= ble::cgm_above_device_range;
            rec.e2e_crc = ble::cgm_e2e_crc;
            const auto frame = ble::encode(rec);
            m.glucose_mgdl = ble::sfloat_value(ble::encode_sfloat(rec.glucose_mgdl, 1));
            m.topic = p.cg.ble_topic;
            m.payload = gateway_payload(p.spec.output, p.gateway_address, p.cg.address,
                                        ble::uuid_cgm_measurement, frame, ts);
          } else if (p.spec.output == output_format::omh) {
            m.vital = core::vital_kind::glucose;
            m.payload = omh_payload(m.patient, m.device, ts, m.seq, core::vital_kind::glucose, *g,
                                    plan.unit);
          } else {
            m.payload = cgm_payload(m.device, ts, m.seq, *g, plan.unit);
          }
          one.push_back(std::move(m));
          emit(p.cg, std::move(one), false, out);
        }
      }
      p.glucose->drain_labels(labels);
      p.cgm->drain_labels(labels);
    }
  }
  elapsed_ += milliseconds(oximeter_period);
  return true;
}

void message_generator::finish(std::vector<message>& out, std::vector<label>& labels) {
  for (auto& slot : patients_) {
    patient_slot& p = *slot;
    for (auto* d : {&p.ox, &p.cg}) {
      release(*d, out);
      for (auto& m : d->swapped) out.push_back(std::move(m));
      d->swapped.clear();
    }
    p.cardio.flush_labels(labels);
    p.oximeter.flush_labels(labels);
    if (p.glucose) {
      p.glucose->flush_labels(labels);
      p.cgm->flush_labels(labels);
    }
  }
}

}  // namespace vitals::simulators
