#include "pararun/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace pararun {

double Summary::ci_relative_width() const {
  return median > 0 ? (ci_high - ci_low) / median : 0.0;
}

namespace {

/// Beyond this many samples the binomial's normal approximation is used (its error there is
/// far below the noise of any timing, and the exact sums would cost O(n) per summary).
constexpr std::size_t kExactUpTo = 2000;

double log_binomial_half_pmf(std::size_t n, std::size_t i) {
  const double nn = static_cast<double>(n), di = static_cast<double>(i);
  return std::lgamma(nn + 1) - std::lgamma(di + 1) - std::lgamma(nn - di + 1) - nn * std::log(2.0);
}

/// P(B <= k) for B ~ Binomial(n, 1/2): exact up to kExactUpTo, else normal with continuity
/// correction.
double binomial_half_cdf(std::size_t n, std::size_t k) {
  if (k >= n) return 1.0;
  if (n > kExactUpTo) {
    const double z = (static_cast<double>(k) + 0.5 - 0.5 * static_cast<double>(n)) /
                     (0.5 * std::sqrt(static_cast<double>(n)));
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
  }
  double cdf = 0;
  for (std::size_t i = 0; i <= k; ++i) cdf += std::exp(log_binomial_half_pmf(n, i));
  return std::min(cdf, 1.0);
}

}  // namespace

double median_ci_coverage(std::size_t n, std::size_t lo) {
  if (n == 0 || lo == 0 || 2 * lo > n + 1) return 0.0;
  return std::max(0.0, 1.0 - 2.0 * binomial_half_cdf(n, lo - 1));
}

std::pair<std::size_t, std::size_t> median_ci_ranks(std::size_t n) {
  if (n == 0) return {0, 0};
  std::size_t lo = 1;  // the whole range when nothing narrower reaches 95%
  if (n > kExactUpTo) {
    const double half = 0.98 * std::sqrt(static_cast<double>(n));  // 1.96 sqrt(n) / 2
    lo = static_cast<std::size_t>(std::floor(0.5 * static_cast<double>(n) - half));
    while (lo > 1 && median_ci_coverage(n, lo) < kCiConfidence) --lo;
    while (median_ci_coverage(n, lo + 1) >= kCiConfidence) ++lo;
  } else {
    // The largest lo with 1 - 2 P(B <= lo - 1) >= 95%, summing the tail once.
    double tail = std::exp(log_binomial_half_pmf(n, 0));  // P(B <= 0): lo = 1
    for (std::size_t cand = 2; 2 * cand <= n + 1; ++cand) {
      tail += std::exp(log_binomial_half_pmf(n, cand - 1));
      if (1.0 - 2.0 * tail < kCiConfidence) break;
      lo = cand;
    }
  }
  return {lo, n + 1 - lo};
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
  r.ci_coverage = median_ci_coverage(n, lo);
  return r;
}

namespace {

/// One two-stage resample's median: rounds drawn with replacement, samples within each.
double resampled_median(const std::vector<const std::vector<double>*>& rounds, std::mt19937_64& rng,
                        std::vector<double>& pool) {
  pool.clear();
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    const std::vector<double>& round = *rounds[rng() % rounds.size()];
    for (std::size_t i = 0; i < round.size(); ++i) pool.push_back(round[rng() % round.size()]);
  }
  const auto mid = pool.begin() + static_cast<long>(pool.size() / 2);
  std::nth_element(pool.begin(), mid, pool.end());
  if (pool.size() % 2) return *mid;
  const double upper = *mid;
  return (*std::max_element(pool.begin(), mid) + upper) / 2;
}

}  // namespace

std::optional<std::pair<double, double>> bootstrap_ratio_ci(
    const std::vector<std::vector<double>>& numerator,
    const std::vector<std::vector<double>>& denominator, double confidence, int resamples,
    unsigned long long seed) {
  std::vector<const std::vector<double>*> num, den;
  for (const auto& r : numerator)
    if (!r.empty()) num.push_back(&r);
  for (const auto& r : denominator)
    if (!r.empty()) den.push_back(&r);
  if (num.empty() || den.empty() || resamples < 1) return std::nullopt;
  std::mt19937_64 rng(seed);
  std::vector<double> ratios, pool;
  ratios.reserve(static_cast<std::size_t>(resamples));
  for (int b = 0; b < resamples; ++b) {
    const double n = resampled_median(num, rng, pool), d = resampled_median(den, rng, pool);
    if (d > 0) ratios.push_back(n / d);
  }
  if (ratios.empty()) return std::nullopt;
  std::sort(ratios.begin(), ratios.end());
  const double tail = (1 - confidence) / 2;
  const auto at = [&](double q) {
    const auto i = static_cast<std::size_t>(q * static_cast<double>(ratios.size() - 1) + 0.5);
    return ratios[std::min(i, ratios.size() - 1)];
  };
  return std::make_pair(at(tail), at(1 - tail));
}

}  // namespace pararun
