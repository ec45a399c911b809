#pragma once
/// Glucose for vitals-sim: the UVA/Padova type 1 diabetes model (Dalla Man et al. 2007, 2014) with
/// the ten virtual adults published by simglucose, a person's daily routine (basal insulin, meals,
/// boluses) and scripted events on top of it, and a CGM sensor (Breton & Kovatchev 2008 noise,
/// 40..400 mg/dL range) with its artifacts (compression lows, warm-up gaps).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/ground_truth.hpp>
#include <vitals/simulators/random.hpp>

namespace vitals::simulators {

/// One UVA/Padova virtual patient's parameters: the columns of simglucose's vpatient_params.csv
/// (named as in Dalla Man et al. 2014; units mg, pmol, kg, dL, L, minutes) plus CR and CF from
/// Quest.csv. The field names keep the paper's symbols so that they can be checked against it.
struct uva_padova_params {
  std::string_view name;      ///< "adult#001"
  std::array<double, 13> x0;  ///< steady state at basal insulin: the model's initial state
  double BW;                  ///< body weight, kg
  double EGPb;                ///< basal endogenous glucose production, mg/kg/min
  double Gb;                  ///< basal plasma glucose, mg/dL
  double Ib;                  ///< basal plasma insulin, pmol/L
  double kabs;                ///< rate of glucose absorption from the gut, 1/min
  double kmax;                ///< maximal gastric emptying rate, 1/min
  double kmin;                ///< minimal gastric emptying rate, 1/min
  double b;                   ///< gastric emptying: second flex point (fraction of the dose)
  double d;                   ///< gastric emptying: first flex point (fraction of the dose)
  double Vg;                  ///< glucose distribution volume, dL/kg
  double Vi;                  ///< insulin distribution volume, L/kg
  double Ipb;                 ///< basal plasma insulin mass, pmol/kg
  double Vmx;                 ///< insulin-dependent glucose utilisation gain, mg/kg/min per pmol/L
  double Km0;                 ///< Michaelis-Menten constant of utilisation, mg/kg
  double k2;                  ///< tissue-to-plasma glucose transfer rate, 1/min
  double k1;                  ///< plasma-to-tissue glucose transfer rate, 1/min
  double p2u;                 ///< rate of insulin action on utilisation, 1/min
  double m1;                  ///< liver-to-plasma insulin transfer rate, 1/min
  double m5;                  ///< hepatic extraction parameter (unused by the T1D model)
  double CL;                  ///< insulin clearance, L/min
  double HEb;                 ///< basal hepatic insulin extraction, fraction
  double m2;                  ///< plasma-to-liver insulin transfer rate, 1/min
  double m4;                  ///< peripheral insulin degradation rate, 1/min
  double m30;                 ///< hepatic insulin degradation rate, 1/min
  double Ilb;                 ///< basal liver insulin, pmol/kg
  double ki;                  ///< rate of the delayed insulin signal, 1/min
  double kp2;                 ///< liver glucose effectiveness, 1/min
  double kp3;                 ///< insulin action on the liver, mg/kg/min per pmol/L
  double f;                   ///< fraction of intestinal absorption that appears in plasma
  double Gpb;                 ///< basal plasma glucose mass, mg/kg
  double ke1;                 ///< renal glomerular filtration rate, 1/min
  double ke2;                 ///< renal threshold, mg/kg
  double Fsnc;                ///< insulin-independent utilisation (brain), mg/kg/min
  double Gtb;                 ///< basal tissue glucose mass, mg/kg
  double Vm0;                 ///< basal (insulin-independent part of) utilisation, mg/kg/min
  double Rdb;                 ///< basal glucose disappearance, mg/kg/min
  double PCRb;                ///< basal plasma clearance rate (unused)
  double kd;                  ///< subcutaneous insulin: monomeric conversion rate, 1/min
  double ksc;                 ///< plasma-to-interstitium glucose rate, 1/min (the CGM lag)
  double ka1;                 ///< absorption rate of monomeric subcutaneous insulin, 1/min
  double ka2;                 ///< absorption rate of non-monomeric subcutaneous insulin, 1/min
  double dosekempt;           ///< reference meal for gastric emptying, mg (unused)
  double u2ss;                ///< basal insulin infusion at steady state, pmol/kg/min
  double isc1ss;              ///< steady-state subcutaneous insulin, compartment 1, pmol/kg
  double isc2ss;              ///< steady-state subcutaneous insulin, compartment 2, pmol/kg
  double kp1;                 ///< extrapolated endogenous glucose production at zero glucose
  double CR;                  ///< carbohydrate ratio, g per U (Quest.csv)
  double CF;                  ///< correction factor, mg/dL per U (Quest.csv)
  double age;                 ///< age, years (Quest.csv)
  double TDI;                 ///< total daily insulin, U (Quest.csv)
};

/// The 10 virtual adults (adult#001..adult#010).
std::span<const uva_padova_params> uva_padova_adults() noexcept;

/// The 13-state UVA/Padova ODE (state in an Eigen fixed-size vector), RK4 in 1-minute steps
/// (sub-stepped when a patient's fastest rate needs it). State order: stomach solid and liquid,
/// gut (mg); plasma and tissue glucose (mg/kg); plasma insulin (pmol/kg); insulin action X
/// (pmol/L); delayed insulin I' and XL (pmol/L); liver insulin (pmol/kg); two subcutaneous insulin
/// compartments (pmol/kg); subcutaneous glucose (mg/kg, read as Gs / Vg).
class uva_padova_model {
 public:
  /// The model's state vector.
  using state_vector = Eigen::Matrix<double, 13, 1>;

  /// Starts at the patient's steady state under basal insulin (x0).
  explicit uva_padova_model(const uva_padova_params& params);

  /// Advances `minutes` whole minutes with constant inputs: carbohydrate ingestion in mg/min and
  /// subcutaneous insulin in U/min. A meal starts when carbs become positive after a minute
  /// without; its size (for the gastric emptying curve) is what is eaten until they stop.
  void step(int minutes, double carbs_mg_per_min, double insulin_u_per_min) noexcept;

  /// Plasma glucose, mg/dL.
  double plasma_glucose() const noexcept { return x_(3) / p_.Vg; }
  /// Interstitial (subcutaneous) glucose, mg/dL: what a perfect CGM reads.
  double interstitial_glucose() const noexcept { return x_(12) / p_.Vg; }
  /// Plasma insulin concentration, pmol/L.
  double plasma_insulin() const noexcept { return x_(5) / p_.Vi; }
  /// The basal insulin rate that holds the steady state, U/min.
  double basal_insulin() const noexcept { return p_.u2ss * p_.BW / 6000.0; }
  /// Scales glucose utilisation by the tissues (Vm0 + Vmx X), e.g. 1.5 after exercise; 1 normal.
  void set_utilisation_factor(double factor) noexcept { utilisation_factor_ = factor; }
  /// The current state.
  const state_vector& state() const noexcept { return x_; }
  /// The patient's parameters.
  const uva_padova_params& params() const noexcept { return p_; }
  /// RK4 steps per minute (1 unless the patient's fastest rate needs more).
  int substeps() const noexcept { return substeps_; }

 private:
  state_vector derivative(const state_vector& x, double carbs_mg_per_min,
                          double insulin_pmol_per_kg_min) const noexcept;

  uva_padova_params p_;
  state_vector x_;
  int substeps_ = 1;
  double utilisation_factor_ = 1.0;
  bool eating_ = false;
  double meal_start_stomach_ = 0.0;  // mg in the stomach when the current/last meal began
  double meal_eaten_ = 0.0;          // mg eaten since then
};

/// Scripted causes of glucose events.
enum class glucose_event_kind { insulin_overdose, missed_meal, nocturnal_hypo, postmeal_hyper };

/// "insulin_overdose", "missed_meal", "nocturnal_hypo", "postmeal_hyper".
std::string_view to_string(glucose_event_kind kind) noexcept;

/// Parses to_string(glucose_event_kind); nullopt for anything else.
std::optional<glucose_event_kind> parse_glucose_event(std::string_view text) noexcept;

/// How long a scripted event's effect lasts (the `cause` label's window).
std::chrono::minutes effect_duration(glucose_event_kind kind) noexcept;

/// A scripted cause. magnitude 0 = the kind's default:
/// - insulin_overdose: an extra rapid-insulin bolus of `magnitude` U at `at` (e.g. a meal bolus
///   taken twice); default 1.3 x (130 / CF) U, enough to take the patient from 140 to below 54
///   by the patient's correction factor. Effect 6 h.
/// - missed_meal: at `at` the patient boluses for a meal of `magnitude` g of carbohydrate (default
///   80 g) and does not eat it; a routine meal within 2 h of `at` is the one missed (cancelled).
///   Effect 6 h.
/// - nocturnal_hypo: from `at` (schedule it in the evening or at night), the after-effect of
///   evening exercise: tissue glucose uptake multiplied by 1 + `magnitude` (default 2.0, i.e.
///   tripled) for 8 h, and the patient sleeps through the CGM's low alarms meanwhile (no hypo
///   treatment while asleep). Effect 8 h.
/// - postmeal_hyper: at `at` the patient eats `magnitude` g of carbohydrate (default 120 g) and
///   forgets the bolus; a routine meal within 2 h of `at` is the one replaced. Effect 5 h.
struct glucose_event {
  glucose_event_kind kind{};  ///< what happens
  core::timestamp at{};       ///< when
  double magnitude = 0.0;     ///< kind-specific size; 0 = default (see above)
};

/// A person with type 1 diabetes: UVA/Padova physiology + daily routine (basal insulin, three
/// meals at local breakfast/lunch/dinner times with jitter, carbs drawn per meal, bolus = carbs /
/// CR with a realistic estimation error, a correction when high at a meal, 15 g of fast carbs when
/// below 70 awake or below 60 asleep) + the scripted events. The state is integrated in whole
/// simulated minutes; between minutes the values hold.
class t1d_patient {
 public:
  /// `params_index` picks one of uva_padova_adults() (taken modulo 10); seed is the run seed (the
  /// patient's own stream is derive_seed(seed, patient + "/glucose")); start is simulated time
  /// zero; utc_offset shifts local time (meals, night) from UTC.
  t1d_patient(std::string patient, std::size_t params_index, std::uint64_t seed,
              core::timestamp start, std::chrono::minutes utc_offset,
              std::vector<glucose_event> events);

  /// Integrates up to `t` (non-decreasing between calls). A call that does not cross a minute
  /// boundary only compares two times.
  void advance(core::timestamp t) {
    if (t >= next_minute_) advance_minutes(t);
  }

  /// True subcutaneous glucose, mg/dL: what a perfect CGM reads.
  double interstitial() const noexcept { return model_.interstitial_glucose(); }
  /// True plasma glucose, mg/dL.
  double plasma() const noexcept { return model_.plasma_glucose(); }
  /// The physiology (read-only).
  const uva_padova_model& model() const noexcept { return model_; }
  /// The patient id.
  const std::string& patient() const noexcept { return patient_; }
  /// The simulated time the state is at (a whole number of minutes after start).
  core::timestamp now() const noexcept { return next_minute_ - std::chrono::minutes(1); }
  /// Whether the routine has the patient asleep at local time of `t` (23:00-07:00).
  bool asleep(core::timestamp t) const noexcept;

  /// Moves finished labels (closed hypo/hyperglycaemia episodes, causes whose effect is over) to
  /// `out`.
  void drain_labels(std::vector<label>& out);
  /// drain_labels() plus the open ones at the end of a run: episodes are closed at now() (or at
  /// the start of their recovery), causes that have started keep their scripted end.
  void flush_labels(std::vector<label>& out);

  /// One routine or scripted carbohydrate intake (internal, public for the tests' inspection).
  struct intake {
    core::timestamp at{};  ///< when eating starts
    double carbs_g = 0.0;  ///< what is eaten
    int minutes = 15;      ///< eating time
    double bolus_u = 0.0;  ///< insulin bolus given at `at`
    bool routine = true;   ///< a routine meal (gets a correction bolus when high, less when low)
  };
  /// Intakes planned and not yet started.
  const std::vector<intake>& planned() const noexcept { return planned_; }

 private:
  struct episode_tracker {
    std::string kind;
    std::string severity;
    double threshold = 0.0;
    bool below = true;  // hypo: below the threshold; hyper: above
    std::optional<core::timestamp> run_start;
    std::optional<core::timestamp> recovery_start;
    bool open = false;
    double extreme = 0.0;
  };
  struct active_intake {
    int first_minute = 0;
    int minutes = 0;
    double mg_per_min = 0.0;
  };

  void advance_minutes(core::timestamp t);
  void step_minute();
  void plan_day(std::int64_t local_day);
  void apply_events(core::timestamp t);
  void evaluate(core::timestamp t, double value);
  void close_episode(episode_tracker& e, core::timestamp end);
  std::string cause_before(core::timestamp start) const;
  void emit_causes(core::timestamp t, bool started);
  std::int64_t local_day(core::timestamp t) const noexcept;

  std::string patient_;
  uva_padova_model model_;
  random rng_;
  core::timestamp start_;
  std::chrono::minutes utc_offset_;
  std::vector<glucose_event> events_;  // sorted by time
  std::size_t next_event_ = 0;
  std::vector<bool> cause_emitted_;
  core::timestamp next_minute_;  // the time the next integrated minute ends at
  int minute_ = 0;               // minutes integrated so far
  std::int64_t planned_day_ = -(std::int64_t{1} << 62);
  std::vector<intake> planned_;
  std::vector<active_intake> eating_;
  double pending_bolus_u_ = 0.0;
  double basal_factor_ = 1.0;
  double bolus_factor_ = 1.0;
  core::timestamp last_treatment_{};
  core::timestamp sensitivity_until_{};
  double sensitivity_factor_ = 1.0;
  std::array<episode_tracker, 3> episodes_;
  std::vector<label> finished_;
};

/// A CGM sensor: measures when asked (the generator samples it every `period`), adds noise (the
/// Johnson-transformed AR(1) model of Breton & Kovatchev 2008 as in sensor_params.csv, on a
/// 15-minute grid, scaled so that the MARD is ~9-10 %), clamps to 40..400, plus its artifacts.
class cgm_device {
 public:
  /// The sampling period of the sensor.
  static constexpr std::chrono::minutes period{5};
  /// Lowest reading the sensor reports ("LOW" below), mg/dL.
  static constexpr double floor_mgdl = 40.0;
  /// Highest reading the sensor reports ("HIGH" above), mg/dL.
  static constexpr double ceiling_mgdl = 400.0;

  /// `seed` is the run seed; the sensor's noise stream is derive_seed(seed, patient + "/" +
  /// device + "/cgm").
  cgm_device(std::string device, std::string patient, std::uint64_t seed);

  /// Compression low: the reading sags by `depth` mg/dL (ramping in over ~7 min, held, recovering
  /// over ~10 min) for `duration`; physiology unchanged.
  void add_compression_low(core::timestamp start, std::chrono::milliseconds duration, double depth);
  /// Sensor warm-up after a sensor change: no readings for `duration`; the new sensor's noise
  /// starts afresh after it.
  void add_warmup(core::timestamp start, std::chrono::milliseconds duration);

  /// The reading at `t` (non-decreasing between calls) for the true interstitial glucose, mg/dL,
  /// clamped 40..400, not rounded; nullopt during warm-up.
  std::optional<double> measure(core::timestamp t, double true_interstitial);

  /// Moves the labels of artifacts whose window is over (by the last measure() time) to `out`.
  void drain_labels(std::vector<label>& out);
  /// drain_labels() plus the artifacts that have started (with their scripted end).
  void flush_labels(std::vector<label>& out);

  /// The device id.
  const std::string& device() const noexcept { return device_; }

 private:
  struct artifact {
    std::string kind;
    core::timestamp start{};
    core::timestamp end{};
    double depth = 0.0;
    std::optional<double> lowest;
    bool emitted = false;
  };
  double noise_at(core::timestamp t);
  void emit(artifact& a, std::vector<label>& out);

  std::string device_;
  std::string patient_;
  random rng_;
  std::vector<artifact> artifacts_;
  bool noise_started_ = false;
  core::timestamp node_time_{};  // time of the noise node `e0_`
  double e0_ = 0.0;              // AR(1) state at node_time_
  double e1_ = 0.0;              // AR(1) state at node_time_ + 15 min
  std::optional<core::timestamp> last_t_;
};

}  // namespace vitals::simulators
