#include "pararun/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pararun {

double Summary::ci_relative_width() const {
  return median > 0 ? (ci_high - ci_low) / median : 0.0;
}

std::pair<std::size_t, std::size_t> median_ci_ranks(std::size_t n) {
  if (n == 0) return {0, 0};
  const double half_width = 0.98 * std::sqrt(static_cast<double>(n));  // 1.96 * sqrt(n) / 2
  const double lo = std::floor(0.5 * static_cast<double>(n) - half_width);
  const double hi = std::ceil(0.5 * static_cast<double>(n) + 1.0 + half_width);
  if (lo < 1.0 || hi > static_cast<double>(n)) return {1, n};
  return {static_cast<std::size_t>(lo), static_cast<std::size_t>(hi)};
}

double median(std::vector<double> s) {
  if (s.empty()) return 0.0;
  std::sort(s.begin(), s.end());
  const std::size_t n = s.size();
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

Summary summarize(const std::vector<double>& samples) {
  Summary r;
  if (samples.empty()) return r;
  std::vector<double> s = samples;
  std::sort(s.begin(), s.end());
  const std::size_t n = s.size();
  r.count = n;
  r.min = s.front();
  r.max = s.back();
  r.median = median(s);
  r.mean = std::accumulate(s.begin(), s.end(), 0.0) / static_cast<double>(n);
  double ss = 0;
  for (double v : s) ss += (v - r.mean) * (v - r.mean);
  r.stddev = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : 0.0;
  auto [lo, hi] = median_ci_ranks(n);
  r.ci_low = s[lo - 1];
  r.ci_high = s[hi - 1];
  return r;
}

}  // namespace pararun
