// Statistics of timing samples (Hoefler & Belli, SC15: report the median with a
// nonparametric confidence interval and keep every sample).
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace pararun {

/// The confidence the median's interval is built for; fewer than kMinSamplesFor95 samples
/// cannot give it, and then the interval is (min, max) with the coverage it really has.
inline constexpr double kCiConfidence = 0.95;
inline constexpr std::size_t kMinSamplesFor95 = 6;

struct Summary {
  std::size_t count = 0;
  double min = 0, max = 0, median = 0, mean = 0, stddev = 0;
  double ci_low = 0, ci_high = 0;  ///< confidence interval of the median (order statistics)
  double ci_coverage = 0;          ///< its exact coverage: >= 0.95 from 6 samples on

  /// (ci_high - ci_low) / median; 0 when the median is 0.
  double ci_relative_width() const;
};

/// 1-based ranks (lo, hi) of the order statistics that bound the narrowest symmetric
/// interval of the median of n samples whose exact coverage, 1 - 2 P(B <= lo - 1) with
/// B ~ Binomial(n, 1/2) (Le Boudec, Performance Evaluation, Thm. 2.1, without the normal
/// approximation), is at least 95%. For n < 6 none is: the whole range (1, n).
std::pair<std::size_t, std::size_t> median_ci_ranks(std::size_t n);

/// The exact coverage of the interval (X_(lo), X_(n+1-lo)) for the median of n samples.
double median_ci_coverage(std::size_t n, std::size_t lo);

/// Median of the samples (the mean of the middle two for an even count).
double median(std::vector<double> samples);

/// Summary of the samples; an empty vector gives a zero Summary.
Summary summarize(const std::vector<double>& samples);

/// The Mann-Whitney U test of two independent samples (is one stochastically larger?): U of
/// `a` (pairs a_i > b_j, ties counting one half), the two-sided p-value (exact from the
/// distribution of U when there are no ties and both have at most 50 samples, else the normal
/// approximation with tie and continuity corrections), and Cliff's delta, the effect size
/// (P(a > b) - P(a < b), in [-1, 1]). p is 1 when either sample is empty.
struct MannWhitney {
  double u = 0, p = 1, cliffs_delta = 0;
  bool exact = false;
};
MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b);

/// A percentile bootstrap interval of median(numerator) / median(denominator), where each side
/// is a set of rounds of samples (a study point measured in several rounds): every resample
/// draws rounds with replacement, then samples with replacement within each drawn round, and
/// pools them (the two-stage bootstrap of hierarchical data: it keeps the spread between
/// rounds, which pooling all samples would hide). `resamples` draws from a fixed seed, so the
/// interval is reproducible. Empty rounds are ignored; nothing (nullopt) without samples.
std::optional<std::pair<double, double>> bootstrap_ratio_ci(
    const std::vector<std::vector<double>>& numerator,
    const std::vector<std::vector<double>>& denominator, double confidence = kCiConfidence,
    int resamples = 2000, unsigned long long seed = 1);

}  // namespace pararun
