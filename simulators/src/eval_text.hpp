#pragma once
// Numbers and aligned text tables of vitals-eval's reports; shared by eval.cpp (labels) and
// cgm_eval.cpp (CGM episodes). Private to the simulators library.

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace vitals::simulators::eval_text {

/// `v` with `decimals` digits after the point ("0.62").
inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// Mean of the two middle values for even n; n >= 1.
inline double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/// Left-aligns the first `left` columns, right-aligns the rest; two-space indent and gaps.
inline std::string render(const std::vector<std::string>& header,
                          const std::vector<std::vector<std::string>>& rows, std::size_t left) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string l = " ";
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      l += ' ';
      l += c < left ? cells[c] + pad : pad + cells[c];
      if (c + 1 < cells.size()) l += ' ';
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

}  // namespace vitals::simulators::eval_text
