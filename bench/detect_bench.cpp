// Detection cost (issue 4): what the full detector set (threshold rules, glucose detector,
// personal baselines, NEWS2, stale-data monitor) costs per sample, against the same set with
// detection_settings::physiological = false in the same run, and how much state it keeps per
// patient at 100 000 patients.
//
// The trace is synthetic and seeded: every patient sends HR and SpO2 at 1 Hz (noise around a
// per-patient baseline, a slow drift, and now and then an excursion: tachycardia, bradycardia,
// a desaturation, or a several-minute deterioration that NEWS2 sees), and a share of them a CGM
// reading every 5 minutes (with falls into hypoglycaemia). Samples are fed as the pipeline feeds
// them (on_fresh, then observe), and the stale-data tick runs once per simulated second.
// Generating the trace is not timed. Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID),
// so a busy machine inflates them less than wall time; both are printed. Not part of ctest.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include <vitals/core/alert.hpp>
#include <vitals/core/baseline_detector.hpp>
#include <vitals/core/detector.hpp>
#include <vitals/core/detector_set.hpp>
#include <vitals/core/glucose_detector.hpp>
#include <vitals/core/news2_detector.hpp>
#include <vitals/core/sample.hpp>
#include <vitals/core/stale_monitor.hpp>

namespace {

namespace core = vitals::core;
using steady = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Options

struct options {
  std::size_t patients = 1000;  // patients of the timing runs
  int seconds = 1200;           // simulated seconds per timing run
  int warmup = 60;              // simulated seconds before timing starts
  int repeat = 3;
  double cgm_share = 0.3;  // share of patients with a CGM
  std::size_t memory_patients = 100'000;
  int memory_seconds = 5;  // timed simulated seconds at the memory scale (after a 2 s warm-up)
  double rate = 50'000;    // samples/s for the "share of one core" figure
  bool breakdown = true;
  bool memory = true;
  std::uint64_t seed = 1;
};

/// The command line (CLI11); exits with CLI11's message and code on --help or a bad option.
options parse(int argc, char** argv) {
  options o;
  CLI::App app{
      "Detection cost (issue 4): the full detector set per sample, on vs off in the same run, "
      "per detector, and its state per patient.",
      "detect_bench"};
  app.add_option("--patients", o.patients, "patients of the timing runs")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "simulated seconds per timing run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "simulated seconds before timing starts")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--repeat", o.repeat, "timing runs per configuration, paired on/off")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--cgm-share", o.cgm_share, "share of patients with a 5-minute CGM")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--memory-patients", o.memory_patients,
                 "patients of the memory phase (0 skips it)")
      ->capture_default_str();
  app.add_option("--memory-seconds", o.memory_seconds,
                 "simulated seconds timed at that scale after a 2 s warm-up")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", o.rate, "samples/s for the 'share of one core' figure")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bool no_breakdown = false;
  app.add_flag("--no-breakdown", no_breakdown, "skip the per-detector passes");
  app.add_option("--seed", o.seed, "trace seed")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e));
  }
  o.breakdown = !no_breakdown;
  o.memory = o.memory_patients > 0;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Clocks and memory

double thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double wall_ns() {
  return std::chrono::duration<double, std::nano>(steady::now().time_since_epoch()).count();
}

/// Resident set size of this process in bytes (/proc/self/statm, second field).
std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---------------------------------------------------------------------------------------------
// Synthetic trace

/// Seeded readings of `patients` patients, second by second. Oximeters send HR and SpO2 at 1 Hz
/// (each patient at its own millisecond phase); a share of patients has a CGM every 300 s.
class trace {
 public:
  /// `cgm_at_start`: every CGM sends its first reading in second 0 (memory phase: every patient
  /// has state at once); otherwise CGM phases are spread over the 5 minutes.
  trace(std::size_t patients, double cgm_share, std::uint64_t seed, bool cgm_at_start)
      : rng_(seed) {
    std::uniform_real_distribution<float> hr_base(58.0F, 92.0F);
    std::uniform_real_distribution<float> spo2_base(95.0F, 99.0F);
    std::uniform_int_distribution<int> phase_ms(0, 999);
    std::uniform_int_distribution<int> cgm_phase(0, 299);
    std::uniform_real_distribution<float> glucose(90.0F, 180.0F);
    std::bernoulli_distribution has_cgm(cgm_share);
    patients_.resize(patients);
    for (std::size_t i = 0; i < patients; ++i) {
      auto& p = patients_[i];
      char buf[32];
      std::snprintf(buf, sizeof buf, "patient-%06zu", i);
      p.id = core::short_id::truncate(buf);
      std::snprintf(buf, sizeof buf, "ox-%06zu", i);
      p.oximeter = core::short_id::truncate(buf);
      std::snprintf(buf, sizeof buf, "cgm-%06zu", i);
      p.cgm = core::short_id::truncate(buf);
      p.hr_base = hr_base(rng_);
      p.spo2_base = spo2_base(rng_);
      p.phase_ms = phase_ms(rng_);
      p.has_cgm = has_cgm(rng_);
      p.cgm_phase = cgm_at_start ? 0 : cgm_phase(rng_);
      p.glucose = glucose(rng_);
      // One CGM wearer in five starts in a fall, so that short runs see glucose alerts too.
      if (p.has_cgm && uniform(0, 4) == 0) p.fall_left = uniform(3, 8);
      if (p.has_cgm) ++cgm_patients_;
    }
  }

  std::size_t patients() const noexcept { return patients_.size(); }
  std::size_t cgm_patients() const noexcept { return cgm_patients_; }

  /// Wall and device time at the start of simulated second `t`.
  static core::timestamp at(int t) { return start() + std::chrono::seconds(t); }

  /// Appends the readings of simulated second `t` (0, 1, ... in turn) to `out`.
  void second(int t, std::vector<core::sample>& out) {
    for (auto& p : patients_) {
      step_oximetry(p, t);
      const auto when = at(t) + std::chrono::milliseconds(p.phase_ms);
      out.push_back(make(p.id, p.oximeter, core::vital_kind::heart_rate, p.hr, when, t));
      out.push_back(make(p.id, p.oximeter, core::vital_kind::spo2, p.spo2, when, t));
      if (p.has_cgm && (t - p.cgm_phase) % 300 == 0 && t >= p.cgm_phase) {
        step_glucose(p);
        out.push_back(make(p.id, p.cgm, core::vital_kind::glucose, p.glucose_reading,
                           when + std::chrono::milliseconds(200), t / 300));
      }
    }
  }

 private:
  enum class excursion : std::uint8_t { none, tachycardia, bradycardia, desaturation, decline };

  struct patient {
    core::short_id id, oximeter, cgm;
    float hr_base = 0, spo2_base = 0;    // personal resting values
    float hr_drift = 0, spo2_drift = 0;  // slow AR(1) wander around them
    float hr = 0, spo2 = 0;              // current readings (rounded)
    excursion kind = excursion::none;    // current excursion
    int started = 0, length = 0;         // its start (s) and length (s)
    float hr_delta = 0, spo2_delta = 0;  // its full depth
    int phase_ms = 0;                    // oximeter's offset within each second
    bool has_cgm = false;
    int cgm_phase = 0;                     // first CGM reading's second
    float glucose = 0, glucose_trend = 0;  // true glucose (mg/dL), trend (mg/dL/min)
    int fall_left = 0;                     // CGM readings left in a fall into hypoglycaemia
    float glucose_reading = 0;
  };

  static core::timestamp start() {
    using namespace std::chrono;
    return core::timestamp(sys_days(year(2026) / November / 28).time_since_epoch());
  }

  static core::sample make(const core::short_id& patient, const core::short_id& device,
                           core::vital_kind kind, float value, core::timestamp when, int seq) {
    core::sample s;
    s.patient = patient;
    s.device = device;
    s.kind = kind;
    s.value = value;
    s.device_time = when;
    s.receive_time = when + std::chrono::milliseconds(150);
    s.sequence = static_cast<std::uint64_t>(seq);
    s.has_sequence = true;
    return s;
  }

  float normal(float sd) { return std::normal_distribution<float>(0.0F, sd)(rng_); }
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng_); }
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  /// About one excursion per patient per 20 minutes: most last 20 s to 2 min (threshold rules go
  /// pending, many raise), one in five is a 6-10 minute decline (NEWS2 urgent review raises).
  void start_excursion(patient& p, int t) {
    p.started = t;
    const int pick = uniform(0, 99);
    p.hr_delta = 0;
    p.spo2_delta = 0;
    if (pick < 30) {
      p.kind = excursion::tachycardia;
      p.length = uniform(20, 120);
      p.hr_delta = 130.0F - p.hr_base + uniform(-8.0F, 10.0F);
    } else if (pick < 45) {
      p.kind = excursion::bradycardia;
      p.length = uniform(20, 90);
      p.hr_delta = 45.0F - p.hr_base + uniform(-4.0F, 6.0F);
    } else if (pick < 80) {
      p.kind = excursion::desaturation;
      p.length = uniform(20, 120);
      p.spo2_delta = 87.0F - p.spo2_base + uniform(-3.0F, 3.0F);
    } else {
      p.kind = excursion::decline;
      p.length = uniform(360, 600);
      p.hr_delta = 118.0F - p.hr_base + uniform(-5.0F, 5.0F);
      p.spo2_delta = 91.0F - p.spo2_base + uniform(-1.0F, 0.5F);
    }
  }

  void step_oximetry(patient& p, int t) {
    if (p.kind == excursion::none) {
      if (uniform(0, 1199) == 0) start_excursion(p, t);
    } else if (t - p.started >= p.length) {
      p.kind = excursion::none;
    }
    // Ramps of 10 s in and out.
    float depth = 0;
    if (p.kind != excursion::none) {
      const int in = t - p.started, out = p.length - in;
      depth = std::clamp(static_cast<float>(std::min(in, out)) / 10.0F, 0.0F, 1.0F);
    }
    p.hr_drift = 0.995F * p.hr_drift + normal(0.3F);
    p.spo2_drift = 0.995F * p.spo2_drift + normal(0.05F);
    p.hr = std::round(
        std::clamp(p.hr_base + p.hr_drift + depth * p.hr_delta + normal(1.5F), 30.0F, 220.0F));
    p.spo2 = std::round(std::clamp(p.spo2_base + p.spo2_drift + depth * p.spo2_delta + normal(0.6F),
                                   70.0F, 100.0F));
  }

  /// Mean-reverting trend around 140 mg/dL; one reading in 40 starts a 30-40 minute fall of
  /// about 2.5 mg/dL/min (urgent-low-soon and the low thresholds raise, then clear).
  void step_glucose(patient& p) {
    if (p.fall_left > 0) {
      --p.fall_left;
      p.glucose_trend = -2.5F + normal(0.3F);
    } else {
      if (uniform(0, 39) == 0) p.fall_left = uniform(6, 8);
      p.glucose_trend = 0.8F * p.glucose_trend + 0.2F * (140.0F - p.glucose) / 60.0F + normal(0.3F);
    }
    p.glucose = std::clamp(p.glucose + 5.0F * p.glucose_trend, 45.0F, 380.0F);
    p.glucose_reading = std::round(std::clamp(p.glucose + normal(4.0F), 40.0F, 400.0F));
  }

  std::mt19937_64 rng_;
  std::vector<patient> patients_;
  std::size_t cgm_patients_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Running a trace through detectors

/// What a detector (or the whole set) is fed: as the pipeline does, a fresh reading goes to
/// on_fresh and then observe; tick runs once per simulated second.
struct feeder {
  std::function<void(const core::sample&, std::vector<core::alert_event>&)> sample;
  std::function<void(core::timestamp, std::vector<core::alert_event>&)> tick;
};

struct run_result {
  double sample_cpu_ns = 0, tick_cpu_ns = 0, wall_ns = 0;             // timed part only
  std::size_t samples = 0;                                            // timed samples
  std::map<std::string, std::pair<std::size_t, std::size_t>> events;  // rule -> raised, cleared

  double per_sample() const { return sample_cpu_ns / static_cast<double>(samples); }
  double tick_per_sample() const { return tick_cpu_ns / static_cast<double>(samples); }
  double total_per_sample() const { return per_sample() + tick_per_sample(); }
  double wall_per_sample() const { return wall_ns / static_cast<double>(samples); }
};

/// Buffers of a run, allocated up front (so that the memory phase does not count them).
struct scratch {
  explicit scratch(std::size_t patients) {
    // Sized and touched now, so that the pages are resident before any RSS is read.
    batch.resize(patients * 3);
    batch.clear();
    events.resize(4096);
    events.clear();
  }
  std::vector<core::sample> batch;
  std::vector<core::alert_event> events;
};

/// Feeds simulated seconds [from, from + untimed + timed) of `tr` (which must be at `from`)
/// through `f`; times the last `timed` seconds.
run_result run(trace& tr, const feeder& f, scratch& buf, int from, int untimed, int timed) {
  run_result r;
  auto& batch = buf.batch;
  auto& events = buf.events;
  for (int t = from; t < from + untimed + timed; ++t) {
    batch.clear();
    tr.second(t, batch);
    const bool is_timed = t >= from + untimed;
    const double w0 = wall_ns(), c0 = thread_cpu_ns();
    for (const auto& s : batch) f.sample(s, events);
    const double c1 = thread_cpu_ns();
    if (f.tick) f.tick(trace::at(t + 1), events);
    const double c2 = thread_cpu_ns(), w1 = wall_ns();
    if (is_timed) {
      r.sample_cpu_ns += c1 - c0;
      r.tick_cpu_ns += c2 - c1;
      r.wall_ns += w1 - w0;
      r.samples += batch.size();
    }
    for (const auto& e : events) {
      auto& n = r.events[e.rule];
      (e.transition == core::alert_transition::raised ? n.first : n.second) += 1;
    }
    events.clear();
  }
  return r;
}

feeder feed_set(core::detector_set& set) {
  return {[&set](const core::sample& s, std::vector<core::alert_event>& out) {
            set.on_fresh(s, out);
            set.observe(s, out);
          },
          [&set](core::timestamp now, std::vector<core::alert_event>& out) { set.tick(now, out); }};
}

core::detection_settings settings(bool physiological) {
  core::detection_settings d;
  d.physiological = physiological;
  return d;
}

/// The detectors of the set, each constructed alone with the default settings.
struct detectors_alone {
  core::detection_settings d = settings(true);
  core::threshold_detector thresholds{d.thresholds};
  core::glucose_detector glucose{d.glucose};
  core::news2_detector news2{d.news2};
  core::baseline_detector baseline{d.baseline};
  core::stale_monitor stale{d.stale};
};

constexpr int detector_count = 5;
const char* const detector_names[detector_count] = {"thresholds", "glucose", "news2", "baseline",
                                                    "stale monitor"};

/// A fresh detector number `i` (in detector_names order) behind a feeder, with its state size
/// and its patient (or stream) count.
struct one_detector {
  std::unique_ptr<detectors_alone> all;  // only member `i` is fed
  feeder f;
  std::function<std::size_t()> bytes;
  std::function<std::size_t()> holders;
};

one_detector make_detector(int i) {
  one_detector o;
  o.all = std::make_unique<detectors_alone>();
  auto* a = o.all.get();
  switch (i) {
    case 0:
      o.f.sample = [a](const core::sample& s, std::vector<core::alert_event>& out) {
        a->thresholds.observe(s, out);
      };
      o.bytes = [a] { return a->thresholds.state_bytes(); };
      o.holders = [a] { return a->thresholds.patient_count(); };
      break;
    case 1:
      o.f.sample = [a](const core::sample& s, std::vector<core::alert_event>& out) {
        if (s.kind == core::vital_kind::glucose) a->glucose.observe(s, out);
      };
      o.bytes = [a] { return a->glucose.state_bytes(); };
      o.holders = [a] { return a->glucose.patient_count(); };
      break;
    case 2:
      o.f.sample = [a](const core::sample& s, std::vector<core::alert_event>& out) {
        if (s.kind != core::vital_kind::glucose) a->news2.observe(s, out);
      };
      o.bytes = [a] { return a->news2.state_bytes(); };
      o.holders = [a] { return a->news2.patient_count(); };
      break;
    case 3:
      o.f.sample = [a](const core::sample& s, std::vector<core::alert_event>& out) {
        a->baseline.observe(s, out);
      };
      o.bytes = [a] { return a->baseline.state_bytes(); };
      o.holders = [a] { return a->baseline.patient_count(); };
      break;
    default:
      o.f.sample = [a](const core::sample& s, std::vector<core::alert_event>& out) {
        a->stale.on_fresh(s, out);
      };
      o.f.tick = [a](core::timestamp now, std::vector<core::alert_event>& out) {
        a->stale.tick(now, out);
      };
      o.bytes = [a] { return a->stale.state_bytes(); };
      o.holders = [a] { return a->stale.stream_count(); };
      break;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Memory phase: state after every patient has sent HR, SpO2 and (a share) glucose.

constexpr int memory_warmup = 2;  // simulated seconds before the state is measured

struct memory_result {
  std::size_t bytes = 0;       // state_bytes() as reported
  std::size_t holders = 0;     // patients (or streams) with state
  std::size_t rss_growth = 0;  // resident bytes added by constructing and warming up
  run_result timing;           // memory_seconds at that scale, after the warm-up
};

/// Builds whatever `make` returns, warms it up and measures it; the detector is destroyed and
/// the heap trimmed before returning, so the next measurement starts from the same RSS.
template <typename Make>
memory_result measure_memory(const options& o, Make make) {
  memory_result m;
  trace tr(o.memory_patients, o.cgm_share, o.seed, true);
  scratch buf(o.memory_patients);
  ::malloc_trim(0);
  const std::size_t rss0 = rss_bytes();
  {
    auto d = make();
    run(tr, d.f, buf, 0, memory_warmup, 0);  // every patient gets its state (map insertions)
    const std::size_t rss1 = rss_bytes();
    m.rss_growth = rss1 - std::min(rss1, rss0);
    m.bytes = d.bytes();
    m.holders = d.holders();
    m.timing = run(tr, d.f, buf, memory_warmup, 0, o.memory_seconds);
  }
  ::malloc_trim(0);
  return m;
}

/// True when detector_set::state_bytes() counts the baseline detector: a small set and the
/// detectors alone are fed the same trace and their byte counts compared.
bool set_counts_baseline(const options& o) {
  core::detector_set set(settings(true));
  trace a(50, o.cgm_share, o.seed, true);
  scratch buf(50);
  run(a, feed_set(set), buf, 0, memory_warmup, 0);
  std::size_t others = 0;
  for (int i = 0; i < detector_count; ++i) {
    if (std::string(detector_names[i]) == "baseline") continue;
    auto d = make_detector(i);
    trace t(50, o.cgm_share, o.seed, true);
    run(t, d.f, buf, 0, memory_warmup, 0);
    others += d.bytes();
  }
  return set.state_bytes() != others;
}

/// The whole set behind the one_detector shape (bytes: state_bytes() as the set reports it).
struct set_holder {
  std::unique_ptr<core::detector_set> set;
  feeder f;
  std::function<std::size_t()> bytes;
  std::function<std::size_t()> holders;
};

set_holder make_set(bool physiological) {
  set_holder h;
  h.set = std::make_unique<core::detector_set>(settings(physiological));
  auto* s = h.set.get();
  h.f = feed_set(*s);
  h.bytes = [s] { return s->state_bytes(); };
  h.holders = [s] { return s->patient_count(); };
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  const auto start = steady::now();
  {
    trace probe(o.patients, o.cgm_share, o.seed, false);
    const double per_s =
        2.0 * static_cast<double>(o.patients) + static_cast<double>(probe.cgm_patients()) / 300.0;
    std::printf(
        "detect_bench: %zu patients (%zu with a 5-min CGM), 1 Hz HR + SpO2, %d simulated s per "
        "run timed after %d s (%.2f M samples), %d repeat(s), seed %llu\n"
        "machine: %u cores, %s; load average at start %s\n"
        "times: CPU time of this thread per sample fed (on_fresh + observe), the stale-data tick "
        "(once per simulated second) amortised over the samples; trace generation not timed\n\n",
        o.patients, probe.cgm_patients(), o.seconds, o.warmup, per_s * o.seconds / 1e6, o.repeat,
        static_cast<unsigned long long>(o.seed), std::thread::hardware_concurrency(),
        cpu_model().c_str(), load_average().c_str());
    std::fflush(stdout);
  }

  // Whether detector_set::state_bytes() counts the baseline detector (it did not at first).
  const bool counted = set_counts_baseline(o);
  scratch buf(o.patients);

  // 1. Full set on vs off, paired within each repeat (fresh set and identical trace each time).
  std::vector<run_result> on, off;
  for (int rep = 1; rep <= o.repeat; ++rep) {
    for (const bool physiological : {true, false}) {
      core::detector_set set(settings(physiological));
      trace tr(o.patients, o.cgm_share, o.seed, false);
      auto r = run(tr, feed_set(set), buf, 0, o.warmup, o.seconds);
      std::printf(
          "  run %d/%d detection %-3s  %7.1f ns/sample (observe+on_fresh %7.1f, tick %5.1f), "
          "wall %7.1f ns/sample, state %zu bytes\n",
          rep, o.repeat, physiological ? "on" : "off", r.total_per_sample(), r.per_sample(),
          r.tick_per_sample(), r.wall_per_sample(),
          set.state_bytes() + (physiological && !counted ? set.baselines().state_bytes() : 0));
      std::fflush(stdout);
      (physiological ? on : off).push_back(std::move(r));
    }
  }
  auto med = [](const std::vector<run_result>& v, double (run_result::*f)() const) {
    std::vector<double> x;
    for (const auto& r : v) x.push_back((r.*f)());
    return median(x);
  };
  std::vector<double> ratios, diffs;
  for (std::size_t i = 0; i < on.size(); ++i) {
    ratios.push_back(on[i].total_per_sample() / off[i].total_per_sample());
    diffs.push_back(on[i].total_per_sample() - off[i].total_per_sample());
  }

  // 2. Each detector alone on the same trace (one run each), and the harness alone (a feeder
  // that does nothing: the loop, the indirect call and the clock reads every second).
  std::vector<run_result> alone(detector_count);
  run_result harness;
  if (o.breakdown) {
    {
      trace tr(o.patients, o.cgm_share, o.seed, false);
      const feeder nothing{[](const core::sample&, std::vector<core::alert_event>&) {}, {}};
      harness = run(tr, nothing, buf, 0, o.warmup, o.seconds);
    }
    for (int i = 0; i < detector_count; ++i) {
      auto d = make_detector(i);
      trace tr(o.patients, o.cgm_share, o.seed, false);
      alone[static_cast<std::size_t>(i)] = run(tr, d.f, buf, 0, o.warmup, o.seconds);
    }
  }

  // 3. Memory (and cost) at o.memory_patients.
  memory_result mem_on, mem_off;
  std::vector<memory_result> mem_alone(detector_count);
  std::size_t mem_baseline_bytes = 0, mem_cgm = 0;
  if (o.memory) {
    mem_cgm = trace(o.memory_patients, o.cgm_share, o.seed, true).cgm_patients();
    mem_on = measure_memory(o, [&] {
      auto h = make_set(true);
      // Read the baseline detector's share before the holder dies (state_bytes() may omit it).
      auto* s = h.set.get();
      h.bytes = [s, &mem_baseline_bytes] {
        mem_baseline_bytes = s->baselines().state_bytes();
        return s->state_bytes();
      };
      return h;
    });
    mem_off = measure_memory(o, [] { return make_set(false); });
    if (o.breakdown)
      for (int i = 0; i < detector_count; ++i)
        mem_alone[static_cast<std::size_t>(i)] =
            measure_memory(o, [i] { return make_detector(i); });
  }

  // ---- Report
  std::printf(
      "\nPer-sample cost, CPU ns (median of %d; ratio and difference paired within each "
      "repeat)\n",
      o.repeat);
  std::printf("%-18s %-15s %12s %8s %10s %10s\n", "scale", "detection", "on_fresh+obs", "tick",
              "total", "wall");
  char scale[48];
  std::snprintf(scale, sizeof scale, "%zu patients", o.patients);
  std::printf("%-18s %-15s %12.1f %8.2f %10.1f %10.1f\n", scale, "on (default)",
              med(on, &run_result::per_sample), med(on, &run_result::tick_per_sample),
              med(on, &run_result::total_per_sample), med(on, &run_result::wall_per_sample));
  std::printf("%-18s %-15s %12.1f %8.2f %10.1f %10.1f\n", scale, "off (baseline)",
              med(off, &run_result::per_sample), med(off, &run_result::tick_per_sample),
              med(off, &run_result::total_per_sample), med(off, &run_result::wall_per_sample));
  const double detect_ns = median(diffs);
  std::printf(
      "%-18s ratio on/off %.2f; detection (on - off) %.1f ns/sample = %.2f %% of one core "
      "at %.0f samples/s\n",
      "", median(ratios), detect_ns, detect_ns * o.rate / 1e7, o.rate);
  if (o.memory) {
    std::snprintf(scale, sizeof scale, "%zu patients", o.memory_patients);
    const auto& a = mem_on.timing;
    const auto& b = mem_off.timing;
    std::printf("%-18s %-15s %12.1f %8.2f %10.1f %10.1f\n", scale, "on (default)", a.per_sample(),
                a.tick_per_sample(), a.total_per_sample(), a.wall_per_sample());
    std::printf("%-18s %-15s %12.1f %8.2f %10.1f %10.1f\n", scale, "off (baseline)", b.per_sample(),
                b.tick_per_sample(), b.total_per_sample(), b.wall_per_sample());
    const double d = a.total_per_sample() - b.total_per_sample();
    std::printf(
        "%-18s ratio on/off %.2f; detection (on - off) %.1f ns/sample = %.2f %% of one "
        "core at %.0f samples/s (one run, %d s)\n",
        "", a.total_per_sample() / b.total_per_sample(), d, d * o.rate / 1e7, o.rate,
        o.memory_seconds);
  }

  if (o.breakdown) {
    std::printf(
        "\nPer detector, each alone on the same trace, fed what detector_set feeds it (ns: CPU "
        "per sample of the whole trace, tick included; every row includes the harness row "
        "once)%s\n",
        o.memory ? "; bytes: state_bytes() and RSS growth after every patient sent HR, SpO2 and "
                   "(a share) glucose"
                 : "");
    char small[32], large[32];
    std::snprintf(small, sizeof small, "ns @%zu", o.patients);
    std::snprintf(large, sizeof large, "ns @%zu", o.memory_patients);
    std::printf("%-14s %10s", "detector", small);
    if (o.memory)
      std::printf(" %11s %10s %12s %10s %10s %11s", large, "holders", "state bytes", "B/patient",
                  "B/holder", "RSS B/pat.");
    std::printf("\n");
    double ns_sum = 0, ns_sum_scale = 0;
    std::size_t bytes_sum = 0, rss_sum = 0;
    const auto np = static_cast<double>(std::max<std::size_t>(o.memory_patients, 1));
    for (int i = 0; i < detector_count; ++i) {
      const auto k = static_cast<std::size_t>(i);
      const double ns = alone[k].total_per_sample();
      ns_sum += ns;
      std::printf("%-14s %10.1f", detector_names[i], ns);
      if (o.memory) {
        const auto& m = mem_alone[k];
        const double ns_scale = m.timing.total_per_sample();
        ns_sum_scale += ns_scale;
        bytes_sum += m.bytes;
        rss_sum += m.rss_growth;
        std::printf(
            " %11.1f %10zu %12zu %10.0f %10.0f %11.0f", ns_scale, m.holders, m.bytes,
            static_cast<double>(m.bytes) / np,
            static_cast<double>(m.bytes) / static_cast<double>(std::max<std::size_t>(m.holders, 1)),
            static_cast<double>(m.rss_growth) / np);
      }
      std::printf("\n");
    }
    std::printf("%-14s %10.1f", "sum", ns_sum);
    if (o.memory)
      std::printf(" %11.1f %10s %12zu %10.0f %10s %11.0f", ns_sum_scale, "", bytes_sum,
                  static_cast<double>(bytes_sum) / np, "", static_cast<double>(rss_sum) / np);
    std::printf("\n%-14s %10.1f\n", "harness", harness.total_per_sample());
    if (o.memory)
      std::printf(
          "(holders: patients with state; streams (device x vital) for the stale monitor; "
          "%zu of %zu patients have a CGM)\n",
          mem_cgm, o.memory_patients);
  }

  if (o.memory) {
    const auto np = static_cast<double>(o.memory_patients);
    const std::size_t full = mem_on.bytes + (counted ? 0 : mem_baseline_bytes);
    std::printf("\nDetector state at %zu patients (detection on, default settings)\n",
                o.memory_patients);
    std::printf("  detector_set::state_bytes()   %12zu bytes = %6.0f B/patient\n", mem_on.bytes,
                static_cast<double>(mem_on.bytes) / np);
    std::printf(
        "  baselines().state_bytes()     %12zu bytes = %6.0f B/patient (%s)\n", mem_baseline_bytes,
        static_cast<double>(mem_baseline_bytes) / np,
        counted ? "included in state_bytes()" : "NOT included in state_bytes(): added below");
    std::printf(
        "  total, every detector         %12zu bytes = %6.0f B/patient; target < 2048: "
        "%s\n",
        full, static_cast<double>(full) / np,
        static_cast<double>(full) / np < 2048 ? "met" : "NOT met");
    std::printf(
        "  RSS growth, detection on      %12zu bytes = %6.0f B/patient (cross-check: "
        "malloc overhead included)\n",
        mem_on.rss_growth, static_cast<double>(mem_on.rss_growth) / np);
    std::printf(
        "  RSS growth, detection off     %12zu bytes = %6.0f B/patient (stale monitor "
        "only)\n",
        mem_off.rss_growth, static_cast<double>(mem_off.rss_growth) / np);
  }

  std::printf(
      "\nAlerts in the last detection-on run at %zu patients (raised / cleared): the "
      "trace makes rules go pending and active\n",
      o.patients);
  if (!on.empty())
    for (const auto& [rule, n] : on.back().events)
      std::printf("  %-28s %6zu / %zu\n", rule.c_str(), n.first, n.second);

  std::printf(
      "\nissue 4 targets: detection < 10 %% of ingest throughput (see ingest_bench "
      "--detection-off), state < 2 KiB per patient at 100 000 patients\n");
  std::printf("load average at end %s; %.1f s wall\n", load_average().c_str(),
              std::chrono::duration<double>(steady::now() - start).count());
  return 0;
}
