#include <vitals/core/news2.hpp>

#include <algorithm>
#include <cmath>

namespace vitals::core {

int news2_pulse(double bpm) noexcept {
  if (!std::isfinite(bpm)) return news2_unscorable;
  const double v = std::round(bpm);
  if (v <= 40) return 3;
  if (v <= 50) return 1;
  if (v <= 90) return 0;
  if (v <= 110) return 1;
  if (v <= 130) return 2;
  return 3;
}

int news2_spo2(double spo2, spo2_scale scale, bool on_oxygen) noexcept {
  if (!std::isfinite(spo2)) return news2_unscorable;
  const double v = std::round(spo2);
  if (scale == spo2_scale::scale1) {
    if (v <= 91) return 3;
    if (v <= 93) return 2;
    if (v <= 95) return 1;
    return 0;
  }
  if (v <= 83) return 3;
  if (v <= 85) return 2;
  if (v <= 87) return 1;
  if (v <= 92 || !on_oxygen) return 0;
  if (v <= 94) return 1;
  if (v <= 96) return 2;
  return 3;
}

int news2_oxygen(bool on_oxygen) noexcept {
  return on_oxygen ? 2 : 0;
}

int news2_resp_rate(double per_min) noexcept {
  if (!std::isfinite(per_min)) return news2_unscorable;
  const double v = std::round(per_min);
  if (v <= 8) return 3;
  if (v <= 11) return 1;
  if (v <= 20) return 0;
  if (v <= 24) return 2;
  return 3;
}

int news2_temperature(double celsius) noexcept {
  if (!std::isfinite(celsius)) return news2_unscorable;
  // Compare in tenths of a degree so that 35.0, 36.0, ... are exact.
  const double tenths = std::round(celsius * 10.0);
  if (tenths <= 350) return 3;
  if (tenths <= 360) return 1;
  if (tenths <= 380) return 0;
  if (tenths <= 390) return 1;
  return 2;
}

int news2_systolic_bp(double mmhg) noexcept {
  if (!std::isfinite(mmhg)) return news2_unscorable;
  const double v = std::round(mmhg);
  if (v <= 90) return 3;
  if (v <= 100) return 2;
  if (v <= 110) return 1;
  if (v <= 219) return 0;
  return 3;
}

int news2_consciousness(bool alert) noexcept {
  return alert ? 0 : 3;
}

news2_band news2_band_for(int total, int max_single) noexcept {
  if (total >= 7) return news2_band::high;
  if (total >= 5) return news2_band::medium;
  if (max_single >= 3) return news2_band::low_medium;
  return news2_band::low;
}

news2_result news2_score(const news2_inputs& in) noexcept {
  news2_result r;
  const auto add = [&r](int sub) {
    if (sub == news2_unscorable) return;
    r.total += sub;
    r.max_single = std::max(r.max_single, sub);
    ++r.parameters_scored;
  };
  const bool on_o2 = in.on_oxygen.value_or(false);
  if (in.pulse) add(news2_pulse(*in.pulse));
  if (in.spo2) add(news2_spo2(*in.spo2, in.scale, on_o2));
  if (in.on_oxygen) add(news2_oxygen(*in.on_oxygen));
  if (in.resp_rate) add(news2_resp_rate(*in.resp_rate));
  if (in.temperature) add(news2_temperature(*in.temperature));
  if (in.systolic_bp) add(news2_systolic_bp(*in.systolic_bp));
  if (in.alert) add(news2_consciousness(*in.alert));
  r.band = news2_band_for(r.total, r.max_single);
  return r;
}

}  // namespace vitals::core
