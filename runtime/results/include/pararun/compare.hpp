// Did a kernel get faster or slower between two result sets? For CI regression checks:
// `pararun compare BEFORE AFTER`.
#pragma once

#include <string>
#include <vector>

#include "pararun/record.hpp"
#include "pararun/stats.hpp"

namespace pararun {

/// One configuration (kernel, backend, variant, threads, ranks, size, comparable_as) measured
/// in both sets: all its verified samples on each side (rounds and repeated runs pooled), the
/// medians, after / before, the Mann-Whitney U test and the verdict. Configurations measured
/// on one side only are listed with only_in "before" or "after".
struct Comparison {
  std::string kernel, backend, variant, comparable_as;
  int threads = 1, ranks = 1;
  std::uint64_t size = 0;
  std::size_t samples_before = 0, samples_after = 0;
  double median_before = 0, median_after = 0, ratio = 0;  ///< ratio: after / before (time)
  MannWhitney test;
  /// "slower" or "faster": p < alpha and the medians differ by more than the threshold;
  /// "no change" otherwise (including differences below the threshold); "only before",
  /// "only after" for a configuration one side lacks; "failed after" for one verified before
  /// whose runs after all failed (a regression: --fail-on-slower fails on it); "no time" when
  /// both medians are 0 (a clock too coarse for the run), slower or faster when one is.
  std::string verdict;
  /// What else the table says beside the verdict: "after disturbed" (others used the host
  /// while a side was timed: meta.host_load), "" when nothing.
  std::string note;
};

struct CompareOptions {
  double alpha = 0.05;      ///< significance level of the two-sided test
  double threshold = 0.02;  ///< smallest relative change of the median that counts
};

std::vector<Comparison> compare_records(const std::vector<Record>& before,
                                        const std::vector<Record>& after,
                                        const CompareOptions& options);

/// The comparisons as a text table with a summary line.
std::string format_comparison(const std::vector<Comparison>& rows, const CompareOptions& options);

/// Why the two sets' times are not of one machine ("" when they are, as far as the records
/// say): "before ran on CPU A, after on CPU B".
std::string compared_machines_problem(const std::vector<Record>& before,
                                      const std::vector<Record>& after);

}  // namespace pararun
