#include "pararun/models.hpp"

#include <gtest/gtest.h>

using namespace pararun;

TEST(Models, KarpFlattOfPerfectAndSerialRuns) {
  EXPECT_DOUBLE_EQ(*karp_flatt(4.0, 4.0), 0.0);  // perfect speedup: no serial part
  EXPECT_DOUBLE_EQ(*karp_flatt(1.0, 4.0), 1.0);  // no speedup: all serial
  // Amdahl with f = 0.1 on p = 8: S = 1 / (0.1 + 0.9 / 8); Karp-Flatt gives back 0.1.
  EXPECT_NEAR(*karp_flatt(1.0 / (0.1 + 0.9 / 8), 8.0), 0.1, 1e-12);
  EXPECT_FALSE(karp_flatt(1.0, 1.0).has_value());
}

TEST(Models, AmdahlFitRecoversAKnownSerialFraction) {
  // T(p) = 2 + 18 / p: serial fraction 0.1, at most 10x.
  std::vector<double> p = {1, 2, 4, 8, 16}, t;
  for (double q : p) t.push_back(2 + 18 / q);
  const auto f = fit_amdahl(p, t);
  ASSERT_TRUE(f.has_value());
  EXPECT_NEAR(f->a, 2.0, 1e-12);
  EXPECT_NEAR(f->b, 18.0, 1e-12);
  EXPECT_NEAR(f->serial_fraction, 0.1, 1e-12);
  EXPECT_NEAR(f->max_speedup, 10.0, 1e-10);
  EXPECT_NEAR(f->r2, 1.0, 1e-12);
  EXPECT_EQ(f->points, 5);
}

TEST(Models, AmdahlFitOnNoisyTimesReportsItsQuality) {
  // T(p) = 2 + 18 / p with +-1% alternating noise: the fit stays near f = 0.1, R^2 < 1.
  std::vector<double> p = {1, 2, 4, 8, 16}, t;
  for (std::size_t i = 0; i < p.size(); ++i) t.push_back((2 + 18 / p[i]) * (i % 2 ? 0.99 : 1.01));
  const auto f = fit_amdahl(p, t);
  ASSERT_TRUE(f.has_value());
  EXPECT_GT(f->r2, 0.99);
  EXPECT_LT(f->r2, 1.0);
  EXPECT_NEAR(f->serial_fraction, 0.1, 0.01);
  EXPECT_FALSE(fit_amdahl({2, 2}, {1, 1}).has_value());  // one distinct p only
  // Times that grow with p (more ranks than cores) or fall faster than 1/p: no Amdahl.
  const auto growing = fit_amdahl({1, 2, 4}, {1.0, 1.5, 2.2});
  ASSERT_TRUE(growing.has_value());
  EXPECT_FALSE(growing->applies());
  const auto superlinear = fit_amdahl({1, 2, 4}, {1.0, 0.3, 0.1});
  ASSERT_TRUE(superlinear.has_value());
  EXPECT_FALSE(superlinear->applies());
  EXPECT_TRUE(fit_amdahl({1, 2, 4}, {1.0, 0.55, 0.325})->applies());  // f = 0.1
  EXPECT_FALSE(fit_amdahl({1}, {1}).has_value());
}

TEST(Models, GustafsonScaledSpeedup) {
  // Weak scaling, 4x the work on 4 PEs in the same time: scaled speedup 4, no serial part.
  EXPECT_DOUBLE_EQ(gustafson_scaled_speedup(4, 1.0, 1.0), 4.0);
  // Serial fraction s = 0.25 gives S = p - s (p - 1) = 4 - 0.75 = 3.25.
  EXPECT_DOUBLE_EQ(*gustafson_serial_fraction(3.25, 4), 0.25);
  EXPECT_FALSE(gustafson_serial_fraction(1.0, 1).has_value());
}
