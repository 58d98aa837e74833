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

TEST(Stats, MedianCiRanksFollowLeBoudec) {
  // n = 10: floor(5 - 0.98*sqrt(10)) = 1, ceil(6 + 0.98*sqrt(10)) = 10 (Le Boudec's table).
  EXPECT_EQ(median_ci_ranks(10), (std::pair<std::size_t, std::size_t>{1, 10}));
  // n = 20: floor(10 - 4.38) = 5, ceil(11 + 4.38) = 16.
  EXPECT_EQ(median_ci_ranks(20), (std::pair<std::size_t, std::size_t>{5, 16}));
  // n = 100: floor(50 - 9.8) = 40, ceil(51 + 9.8) = 61.
  EXPECT_EQ(median_ci_ranks(100), (std::pair<std::size_t, std::size_t>{40, 61}));
  // Too few samples for a 95% interval: the whole range.
  EXPECT_EQ(median_ci_ranks(5), (std::pair<std::size_t, std::size_t>{1, 5}));
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
