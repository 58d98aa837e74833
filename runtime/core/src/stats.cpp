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

MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b) {
  MannWhitney out;
  const std::size_t na = a.size(), nb = b.size();
  if (na == 0 || nb == 0) return out;
  double greater = 0, less = 0;
  bool ties = false;
  for (double x : a)
    for (double y : b) {
      if (x > y)
        greater += 1;
      else if (x < y)
        less += 1;
      else
        ties = true;
    }
  const double pairs = static_cast<double>(na) * static_cast<double>(nb);
  out.u = greater + (pairs - greater - less) / 2;
  out.cliffs_delta = (greater - less) / pairs;
  const double mean = pairs / 2;
  if (!ties && na <= 50 && nb <= 50) {
    // The exact null distribution of U: count[k] = arrangements of na + nb ranks in which U
    // is k, built up one sample at a time (count(i, j, k) = count(i-1, j, k-j) + count(i, j-1, k)).
    const std::size_t m = na * nb;
    std::vector<std::vector<double>> by_j(nb + 1, std::vector<double>(m + 1, 0));
    for (std::size_t j = 0; j <= nb; ++j) by_j[j][0] = 1;  // i = 0: U is 0
    for (std::size_t i = 1; i <= na; ++i) {
      std::vector<std::vector<double>> next(nb + 1, std::vector<double>(m + 1, 0));
      next[0][0] = 1;
      for (std::size_t j = 1; j <= nb; ++j)
        for (std::size_t k = 0; k <= i * j; ++k)
          next[j][k] = (k >= j ? by_j[j][k - j] : 0) + next[j - 1][k];
      by_j.swap(next);
    }
    const std::vector<double>& count = by_j[nb];
    double total = 0;
    for (double c : count) total += c;
    // Two-sided: the probability of a U at least as far from the mean as this one.
    const double distance = std::fabs(out.u - mean);
    double tail = 0;
    for (std::size_t k = 0; k <= m; ++k)
      if (std::fabs(static_cast<double>(k) - mean) >= distance - 1e-9) tail += count[k];
    out.p = std::min(1.0, tail / total);
    out.exact = true;
    return out;
  }
  // Normal approximation; the variance corrected for ties (sum over tied groups of t^3 - t).
  std::vector<double> all(a);
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  double tie_term = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j] == all[i]) ++j;
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  const double n = static_cast<double>(na + nb);
  const double variance = pairs / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) return out;  // every value equal: no evidence either way
  const double z = std::max(0.0, std::fabs(out.u - mean) - 0.5) / std::sqrt(variance);
  out.p = std::min(1.0, std::erfc(z / std::sqrt(2.0)));
  return out;
}

}  // namespace pararun
