#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

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

TEST(Timing, AdaptiveRepsStopWhenCiIsNarrowAndReally95Percent) {
  test::FakeInstance inst(10);
  // Any CI is narrower than 1e12 x the median (even with a scheduler hiccup), but 5 samples
  // give a 93.75% interval only: the loop goes on to 6, the fewest for a 95% one.
  Timings t = measure(inst, ExecContext{}, {0, 5, 50, 1e12});
  EXPECT_EQ(t.samples.size(), 6u);
  Timings more = measure(inst, ExecContext{}, {0, 8, 50, 1e12});
  EXPECT_EQ(more.samples.size(), 8u);  // at least min_reps, as asked
  Timings capped = measure(inst, ExecContext{}, {0, 2, 3, 1e12});
  EXPECT_EQ(capped.samples.size(), 3u);  // the cap wins; the record then states the coverage
}

namespace {

/// reset() sleeps 200 ms and records the order of calls; run() is short.
class SlowResetInstance : public test::FakeInstance {
 public:
  SlowResetInstance() : FakeInstance(100) {}
  void reset() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    calls += "r";
  }
  void run() override {
    FakeInstance::run();
    calls += "x";
  }
  std::string calls;
};

}  // namespace

TEST(Timing, ResetRunsBeforeEveryRepetitionAndOutsideTheTimer) {
  SlowResetInstance inst;
  Timings t = measure(inst, ExecContext{}, {2, 5, 5, 0.05});
  EXPECT_EQ(inst.calls, "rxrxrxrxrxrxrx");  // 2 warm-up + 5 timed, each after its reset
  ASSERT_EQ(t.samples.size(), 5u);
  // Summing 1..100 takes well under a microsecond; the 200 ms reset must not be in any sample
  // (a bound of half of it leaves a preempted sample room on a loaded host).
  for (double s : t.samples) EXPECT_LT(s, 0.100);
}
