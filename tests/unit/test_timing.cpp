#include <gtest/gtest.h>

#include "fake_kernel.hpp"
#include "pararun/timing.hpp"

using namespace pararun;

TEST(Timing, WarmupAndMinimumReps) {
  test::FakeInstance inst(100);
  Timings t = measure(inst, ExecContext{}, {3, 7, 7, 0.05});
  EXPECT_EQ(t.samples.size(), 7u);
  EXPECT_EQ(inst.runs, 10);  // 3 warm-up + 7 timed
  EXPECT_DOUBLE_EQ(t.imbalance, 1.0);
  for (double s : t.samples) EXPECT_GE(s, 0.0);
}

TEST(Timing, AdaptiveRepsStopAtTheCap) {
  test::FakeInstance inst(10);
  // A CI target of -1 can never be met: the loop must stop at max_reps.
  Timings t = measure(inst, ExecContext{}, {0, 5, 12, -1.0});
  EXPECT_EQ(t.samples.size(), 12u);
  EXPECT_EQ(inst.runs, 12);
}

TEST(Timing, AdaptiveRepsStopWhenCiIsNarrow) {
  test::FakeInstance inst(10);
  // Any CI is narrower than 1e12 x the median (even with a scheduler hiccup): stop at the minimum.
  Timings t = measure(inst, ExecContext{}, {0, 5, 50, 1e12});
  EXPECT_EQ(t.samples.size(), 5u);
}
