#include <gtest/gtest.h>

#include <cmath>

#include "pararun/stats.hpp"

using namespace pararun;

TEST(Stats, MedianOddAndEven) {
  EXPECT_DOUBLE_EQ(median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0.0);
}

TEST(Stats, SummaryOfKnownSamples) {
  // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample stddev sqrt(32/7).
  Summary s = summarize({5, 2, 4, 9, 4, 7, 5, 4});
  EXPECT_EQ(s.count, 8u);
  EXPECT_DOUBLE_EQ(s.min, 2);
  EXPECT_DOUBLE_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.median, 4.5);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-12);
}

TEST(Stats, MedianCiRanksAreExactBinomialOrderStatistics) {
  // Coverage 1 - 2 P(B <= lo - 1), B ~ Bin(n, 1/2), computed here by hand:
  // n = 10: lo = 2 (1 - 2 * 11/1024 = 97.85%; lo = 3 would be 89.06%).
  EXPECT_EQ(median_ci_ranks(10), (std::pair<std::size_t, std::size_t>{2, 9}));
  EXPECT_NEAR(median_ci_coverage(10, 2), 1 - 2 * 11.0 / 1024, 1e-12);
  // n = 20: lo = 6 (95.86%); the normal approximation gave (5, 16).
  EXPECT_EQ(median_ci_ranks(20), (std::pair<std::size_t, std::size_t>{6, 15}));
  EXPECT_NEAR(median_ci_coverage(20, 6), 0.958611, 1e-6);
  // n = 100: (40, 61), 96.48%.
  EXPECT_EQ(median_ci_ranks(100), (std::pair<std::size_t, std::size_t>{40, 61}));
  EXPECT_NEAR(median_ci_coverage(100, 40), 0.964800, 1e-6);
  // Six samples are the fewest whose (min, max) reaches 95%: 1 - 2/64 = 96.875%.
  EXPECT_EQ(median_ci_ranks(6), (std::pair<std::size_t, std::size_t>{1, 6}));
  EXPECT_DOUBLE_EQ(median_ci_coverage(6, 1), 1 - 2.0 / 64);
  // Fewer: the whole range, with the coverage it really has (93.75% at 5, 50% at 2, 0 at 1).
  EXPECT_EQ(median_ci_ranks(5), (std::pair<std::size_t, std::size_t>{1, 5}));
  EXPECT_DOUBLE_EQ(median_ci_coverage(5, 1), 0.9375);
  EXPECT_DOUBLE_EQ(median_ci_coverage(2, 1), 0.5);
  EXPECT_DOUBLE_EQ(median_ci_coverage(1, 1), 0.0);
  // Large n: the normal approximation, still at least 95% and close to it.
  const auto [lo, hi] = median_ci_ranks(10000);
  EXPECT_EQ(hi, 10001 - lo);
  EXPECT_GE(median_ci_coverage(10000, lo), 0.95);
  EXPECT_LT(median_ci_coverage(10000, lo + 1), 0.95);
  for (std::size_t n = 6; n <= 300; ++n) {  // every n in the exact range: >= 95%, tightest
    const std::size_t l = median_ci_ranks(n).first;
    EXPECT_GE(median_ci_coverage(n, l), 0.95) << n;
    if (2 * (l + 1) <= n + 1) {
      EXPECT_LT(median_ci_coverage(n, l + 1), 0.95) << n;
    }
  }
}

TEST(Stats, SummaryRecordsTheCoverageOfItsInterval) {
  EXPECT_DOUBLE_EQ(summarize({1, 2, 3, 4, 5}).ci_coverage, 0.9375);
  EXPECT_DOUBLE_EQ(summarize({1}).ci_coverage, 0.0);
  EXPECT_GE(summarize({1, 2, 3, 4, 5, 6}).ci_coverage, 0.95);
}

TEST(Stats, CiIsOrderStatisticsAndContainsMedian) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);
  Summary s = summarize(v);
  EXPECT_DOUBLE_EQ(s.ci_low, 40);
  EXPECT_DOUBLE_EQ(s.ci_high, 61);
  EXPECT_LE(s.ci_low, s.median);
  EXPECT_GE(s.ci_high, s.median);
  EXPECT_NEAR(s.ci_relative_width(), 21.0 / 50.5, 1e-12);
}

TEST(Stats, BootstrapRatioIntervalOverRoundsAndRepetitions) {
  // An exact ratio of 2 in every sample: the interval is that point.
  const std::vector<std::vector<double>> ten = {{10, 10, 10}, {10, 10}}, five = {{5, 5}, {5}};
  auto ci = pararun::bootstrap_ratio_ci(ten, five);
  ASSERT_TRUE(ci.has_value());
  EXPECT_DOUBLE_EQ(ci->first, 2.0);
  EXPECT_DOUBLE_EQ(ci->second, 2.0);
  // The same distribution on both sides: the interval holds 1, reproducibly from the seed.
  const std::vector<std::vector<double>> a = {{1.0, 1.1, 0.9, 1.05, 0.95}, {1.02, 0.98, 1.0}};
  ci = pararun::bootstrap_ratio_ci(a, a);
  ASSERT_TRUE(ci.has_value());
  EXPECT_LT(ci->first, 1.0);
  EXPECT_GT(ci->second, 1.0);
  EXPECT_EQ(pararun::bootstrap_ratio_ci(a, a), ci);
  // Rounds that disagree (medians 1.0, 1.1, 1.2, each tight) widen it beyond what the same
  // samples as one round give: drawing rounds can give three slow ones or three fast ones.
  std::vector<std::vector<double>> split(3);
  std::vector<double> all;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 20; ++i) {
      split[r].push_back(1.0 + 0.1 * r + 0.0005 * (i - 10));
      all.push_back(split[r].back());
    }
  const auto wide = pararun::bootstrap_ratio_ci(split, {{1}}),
             narrow = pararun::bootstrap_ratio_ci({all}, {{1}});
  ASSERT_TRUE(wide && narrow);
  EXPECT_GT(wide->second - wide->first, 2 * (narrow->second - narrow->first));
  EXPECT_LT(wide->first, 1.05);
  EXPECT_GT(wide->second, 1.15);
  EXPECT_GT(narrow->first, 1.0);
  EXPECT_LT(narrow->second, 1.2);
  // Nothing to resample: no interval.
  EXPECT_FALSE(pararun::bootstrap_ratio_ci({}, a).has_value());
  EXPECT_FALSE(pararun::bootstrap_ratio_ci({{}}, a).has_value());
}

TEST(Stats, MannWhitneyExactAndApproximate) {
  using pararun::mann_whitney_u;
  // Complete separation of 3 and 3: U = 0, two-sided exact p = 2 / C(6, 3) = 0.1.
  auto t = mann_whitney_u({1, 2, 3}, {4, 5, 6});
  EXPECT_TRUE(t.exact);
  EXPECT_DOUBLE_EQ(t.u, 0);
  EXPECT_NEAR(t.p, 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(t.cliffs_delta, -1);
  // 5 and 5: p = 2 / C(10, 5) = 2 / 252.
  t = mann_whitney_u({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5});
  EXPECT_NEAR(t.p, 2.0 / 252, 1e-12);
  EXPECT_DOUBLE_EQ(t.u, 25);
  EXPECT_DOUBLE_EQ(t.cliffs_delta, 1);
  // Interleaved: no evidence. {1,3,5} vs {2,4,6}: U = 3 of 9, p = P(|U - 4.5| >= 1.5) = 0.7.
  t = mann_whitney_u({1, 3, 5}, {2, 4, 6});
  EXPECT_DOUBLE_EQ(t.u, 3);
  EXPECT_NEAR(t.p, 0.7, 1e-12);
  // Ties: the normal approximation with tie and continuity corrections; all equal: p = 1.
  t = mann_whitney_u({1, 1, 2, 2, 3}, {2, 3, 3, 4, 4});
  EXPECT_FALSE(t.exact);
  EXPECT_GT(t.p, 0.05);
  EXPECT_LT(t.p, 0.2);
  EXPECT_DOUBLE_EQ(mann_whitney_u({2, 2}, {2, 2, 2}).p, 1.0);
  EXPECT_DOUBLE_EQ(mann_whitney_u({}, {1}).p, 1.0);
  // Large samples: normal approximation, a clear shift is significant.
  std::vector<double> a, b;
  for (int i = 0; i < 60; ++i) a.push_back(i), b.push_back(i + 30.5);
  t = mann_whitney_u(a, b);
  EXPECT_FALSE(t.exact);
  EXPECT_LT(t.p, 1e-6);
}
