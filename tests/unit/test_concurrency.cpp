#include "concurrency.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>

#include "pararun/sysinfo.hpp"

using namespace pararun::concurrency;

namespace {

Config small() {
  Config c;
  c.tasks = 5;
  c.compute_steps = 2'500'000;  // spans several event-loop slices
  c.wait_seconds = 0.01;
  c.wait_steps = 1000;
  return c;
}

bool single_cpu(const std::string& cpus) {
  return !cpus.empty() && cpus.find_first_of(",-") == std::string::npos;
}

}  // namespace

TEST(Concurrency, EveryModeComputesTheSameTaskValues) {
  const Config c = small();
  for (Workload w : kWorkloads)
    for (Mode m : kModes) {
      SCOPED_TRACE(to_string(w) + "/" + to_string(m));
      const ModeResult r = run(w, m, c);
      ASSERT_EQ(r.tasks.size(), 5u);
      const auto steps = w == Workload::compute ? c.compute_steps : c.wait_steps;
      for (int t = 0; t < 5; ++t) {
        EXPECT_EQ(r.tasks[t].task, t);
        EXPECT_TRUE(r.tasks[t].ok) << r.tasks[t].error;
        EXPECT_EQ(r.tasks[t].value, task_value(t, steps));
      }
      EXPECT_GT(r.seconds, 0.0);
    }
}

TEST(Concurrency, SlicedChainEqualsTheWholeChain) {
  // The event loop computes each task in kSlice-step slices, taking turns; a task of two and a
  // bit slices must end where the whole chain does, bit for bit (a lost, repeated or
  // misordered slice would not).
  Config c = small();
  c.tasks = 3;
  c.compute_steps = 2 * kSlice + 7;
  const ModeResult r = run(Workload::compute, Mode::event_loop, c);
  ASSERT_EQ(r.tasks.size(), 3u);
  for (const auto& t : r.tasks) {
    ASSERT_TRUE(t.ok) << t.error;
    EXPECT_EQ(t.value, advance(t.task, c.compute_steps)) << "task " << t.task;
    // and not what one slice fewer or more gives
    EXPECT_NE(t.value, advance(t.task, c.compute_steps - kSlice));
    EXPECT_NE(t.value, advance(t.task, c.compute_steps + kSlice));
  }
  EXPECT_EQ(advance(advance(1, 7), 5), advance(1, 12));
}

TEST(Concurrency, OneCoreModePinsEveryTaskToOneCpu) {
  const std::string process = pararun::thread_affinity();
  for (Workload w : kWorkloads) {
    const ModeResult one = run(w, Mode::threads_one_core, small());
    const ModeResult all = run(w, Mode::threads_all_cores, small());
    for (const auto& t : one.tasks) EXPECT_TRUE(single_cpu(t.cpus)) << t.cpus;
    EXPECT_EQ(one.tasks[0].cpus, one.tasks[4].cpus);  // the same CPU for all
    const std::string every =
        pararun::online_cpus() > 1 ? "0-" + std::to_string(pararun::online_cpus() - 1) : "0";
    for (const auto& t : all.tasks) EXPECT_EQ(t.cpus, every);
  }
  // The pinning belongs to the task threads, not to the caller.
  EXPECT_EQ(pararun::thread_affinity(), process);
}

TEST(Concurrency, AllCoresModeUndoesAnInheritedPinning) {
  // As OMP_PROC_BIND does to the initial thread: pin the caller to one CPU first.
  cpu_set_t saved, one;
  sched_getaffinity(0, sizeof saved, &saved);
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  const ModeResult all = run(Workload::wait, Mode::threads_all_cores, small());
  sched_setaffinity(0, sizeof saved, &saved);
  if (pararun::online_cpus() > 1) {
    for (const auto& t : all.tasks) EXPECT_FALSE(single_cpu(t.cpus)) << t.cpus;
  }
}

TEST(Concurrency, WaitsOverlapInTheEventLoopAndOnOneCore) {
  Config c = small();
  c.wait_seconds = 0.2;  // (50 ms left a stall of 150 ms on a loaded host no margin)
  const double seq = run(Workload::wait, Mode::sequential, c).seconds;
  EXPECT_GE(seq, 5 * 0.2);
  // Not a timing target: only that the waits overlapped at all (5 waits of 200 ms).
  EXPECT_LT(run(Workload::wait, Mode::event_loop, c).seconds, seq * 0.8);
  EXPECT_LT(run(Workload::wait, Mode::threads_one_core, c).seconds, seq * 0.8);
}

TEST(Concurrency, EventLoopCompletesAllTasksUnderBadTimings) {
  Config c = small();
  // Zero waits (already due), equal waits, a long one last, a tiny one.
  c.wait_per_task = {0.0, 0.02, 0.02, 0.0, 1e-7};
  const ModeResult r = run(Workload::wait, Mode::event_loop, c);
  for (const auto& t : r.tasks) {
    EXPECT_TRUE(t.ok) << t.task << ": " << t.error;
    EXPECT_EQ(t.value, task_value(t.task, c.wait_steps));
  }
}

TEST(Concurrency, AFailingTaskIsReportedAndDoesNotBlockTheRest) {
  Config c = small();
  c.failing_task = 2;
  for (Workload w : kWorkloads)
    for (Mode m : kModes) {
      SCOPED_TRACE(to_string(w) + "/" + to_string(m));
      const ModeResult r = run(w, m, c);
      ASSERT_EQ(r.tasks.size(), 5u);
      for (const auto& t : r.tasks) {
        if (t.task == 2) {
          EXPECT_FALSE(t.ok);
          EXPECT_EQ(t.error, "task 2 failed (injected)");
        } else {
          EXPECT_TRUE(t.ok) << t.error;
        }
      }
    }
}

TEST(Concurrency, TheReadingFollowsTheNumbers) {
  // What was measured, against the model's expectation; a disagreement is said, not hidden.
  Reading r = interpret(Workload::compute, Mode::event_loop, 4, 2, 0.98);
  EXPECT_TRUE(r.as_expected);
  EXPECT_EQ(r.text,
            "one thread taking turns: concurrency without parallelism, 0.98x of ~1x expected");
  r = interpret(Workload::wait, Mode::event_loop, 4, 2, 3.9);
  EXPECT_TRUE(r.as_expected);
  EXPECT_DOUBLE_EQ(r.expected, 4);
  r = interpret(Workload::wait, Mode::threads_one_core, 4, 2, 1.1);  // waits did not overlap
  EXPECT_FALSE(r.as_expected);
  EXPECT_NE(r.text.find("1.10x of ~4x expected: LESS than the model predicts"), std::string::npos)
      << r.text;
  r = interpret(Workload::compute, Mode::threads_all_cores, 4, 2, 1.93);
  EXPECT_TRUE(r.as_expected);
  EXPECT_EQ(r.text, "threads on 2 CPUs: parallelism, 1.93x of ~2x expected");
  r = interpret(Workload::compute, Mode::threads_all_cores, 4, 2, 1.0);  // a busy machine
  EXPECT_FALSE(r.as_expected);
  r = interpret(Workload::compute, Mode::threads_one_core, 4, 2, 1.9);  // not pinned after all
  EXPECT_FALSE(r.as_expected);
  EXPECT_NE(r.text.find("MORE than the model predicts"), std::string::npos);
  r = interpret(Workload::compute, Mode::threads_all_cores, 4, 1, 1.0);  // one CPU: 1x at most
  EXPECT_TRUE(r.as_expected);
  EXPECT_EQ(interpret(Workload::compute, Mode::sequential, 4, 2, 1).text,
            "baseline: one task after another, blocking");
}
