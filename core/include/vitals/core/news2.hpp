#pragma once
/// NEWS2 (Royal College of Physicians, 2017) sub-scores and a partial aggregate score.
///
/// Building block only: not wired into the pipeline yet (see core/README.md).
///
/// Binning of readings: the chart is defined on whole numbers (pulse, SpO2, respiration rate,
/// systolic BP) and on one decimal (temperature). A reading is first rounded to the chart's
/// resolution with std::round (half away from zero): 90.4 bpm scores as 90, 90.5 as 91; 38.06 °C
/// scores as 38.1. A non-finite reading (NaN, ±inf) is not scorable: sub-score functions return
/// `news2_unscorable` and `news2_score` skips it as if it were absent.

#include <optional>

namespace vitals::core {

/// Returned by a sub-score function for a non-finite reading.
inline constexpr int news2_unscorable = -1;

/// Which SpO2 scale applies; scale 2 only for hypercapnic respiratory failure with a prescribed
/// 88-92 % target.
enum class spo2_scale { scale1, scale2 };

/// Clinical response band of an aggregate score.
enum class news2_band {
  low,         ///< aggregate 0-4 and no single parameter scoring 3
  low_medium,  ///< aggregate 0-4 but some single parameter scores 3: urgent review
  medium,      ///< aggregate 5-6: urgent review
  high         ///< aggregate >= 7: emergency response
};

/// Pulse sub-score: <=40:3, 41-50:1, 51-90:0, 91-110:1, 111-130:2, >=131:3.
int news2_pulse(double bpm) noexcept;

/// SpO2 sub-score. Scale 1: <=91:3, 92-93:2, 94-95:1, >=96:0 (oxygen ignored). Scale 2: <=83:3,
/// 84-85:2, 86-87:1, 88-92:0, >=93 on air:0, 93-94 on O2:1, 95-96 on O2:2, >=97 on O2:3.
int news2_spo2(double spo2, spo2_scale scale, bool on_oxygen) noexcept;

/// Supplemental-oxygen sub-score: 2 on oxygen, 0 on air.
int news2_oxygen(bool on_oxygen) noexcept;

/// Respiration-rate sub-score: <=8:3, 9-11:1, 12-20:0, 21-24:2, >=25:3.
int news2_resp_rate(double per_min) noexcept;

/// Temperature sub-score (°C, binned to 0.1): <=35.0:3, 35.1-36.0:1, 36.1-38.0:0, 38.1-39.0:1,
/// >=39.1:2.
int news2_temperature(double celsius) noexcept;

/// Systolic blood pressure sub-score: <=90:3, 91-100:2, 101-110:1, 111-219:0, >=220:3.
int news2_systolic_bp(double mmhg) noexcept;

/// Consciousness sub-score (ACVPU): 0 when Alert, 3 for new confusion, Voice, Pain or Unresponsive.
int news2_consciousness(bool alert) noexcept;

/// Whatever parameters a source provides; absent ones are simply not scored.
struct news2_inputs {
  std::optional<double> pulse;        ///< beats per minute
  std::optional<double> spo2;         ///< percent
  std::optional<double> resp_rate;    ///< breaths per minute
  std::optional<double> temperature;  ///< degrees Celsius
  std::optional<double> systolic_bp;  ///< mmHg
  /// On supplemental oxygen. When absent, SpO2 is scored as on air and the oxygen parameter is
  /// not scored.
  std::optional<bool> on_oxygen;
  std::optional<bool> alert;              ///< ACVPU: true = Alert, false = C, V, P or U
  spo2_scale scale = spo2_scale::scale1;  ///< SpO2 scale for this patient
};

/// A (possibly partial) NEWS2 aggregate.
struct news2_result {
  int total = 0;              ///< sum of the scored sub-scores
  int max_single = 0;         ///< highest single sub-score (0 when nothing was scored)
  int parameters_scored = 0;  ///< how many of the 7 parameters (incl. oxygen) had a finite value
  news2_band band = news2_band::low;  ///< response band from total and max_single
};

/// Band of an aggregate: >=7 high, 5-6 medium, otherwise low_medium if any single 3, else low.
news2_band news2_band_for(int total, int max_single) noexcept;

/// Scores every present, finite parameter and aggregates them.
news2_result news2_score(const news2_inputs& in) noexcept;

}  // namespace vitals::core
