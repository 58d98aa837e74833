// Statistics of timing samples (Hoefler & Belli, SC15: report the median with a
// nonparametric confidence interval and keep every sample).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pararun {

struct Summary {
  std::size_t count = 0;
  double min = 0, max = 0, median = 0, mean = 0, stddev = 0;
  double ci_low = 0, ci_high = 0;  ///< 95% confidence interval of the median

  /// (ci_high - ci_low) / median; 0 when the median is 0.
  double ci_relative_width() const;
};

/// 1-based ranks (lo, hi) of the order statistics that bound a 95% confidence interval of the
/// median of n samples (Le Boudec, Performance Evaluation, Thm. 2.1; normal approximation of
/// the binomial). For n < 6 no such pair has 95% coverage and the whole range (1, n) is used.
std::pair<std::size_t, std::size_t> median_ci_ranks(std::size_t n);

/// Median of the samples (the mean of the middle two for an even count).
double median(std::vector<double> samples);

/// Summary of the samples; an empty vector gives a zero Summary.
Summary summarize(const std::vector<double>& samples);

}  // namespace pararun
