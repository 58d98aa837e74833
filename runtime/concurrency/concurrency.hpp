// Concurrency is not parallelism, measured. N tasks of a workload run in four modes:
//   sequential         one task after another, blocking;
//   event-loop         one thread, non-blocking: epoll over timerfds/eventfds interleaves all
//                      N tasks (like an async runtime);
//   threads-one-core   N threads pinned to one CPU: concurrency without parallelism;
//   threads-all-cores  N threads, not pinned: concurrency and parallelism.
// Workloads: compute (fixed arithmetic) and wait (a timer stands for I/O, then a little work).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pararun::concurrency {

enum class Workload { compute, wait };
enum class Mode { sequential, event_loop, threads_one_core, threads_all_cores };

inline constexpr Workload kWorkloads[] = {Workload::compute, Workload::wait};
inline constexpr Mode kModes[] = {Mode::sequential, Mode::event_loop, Mode::threads_one_core,
                                  Mode::threads_all_cores};

std::string to_string(Workload w);
std::string to_string(Mode m);

struct Config {
  int tasks = 4;
  std::uint64_t compute_steps = 40'000'000;  ///< arithmetic per compute task
  double wait_seconds = 0.1;                 ///< simulated I/O latency per wait task
  std::uint64_t wait_steps = 100'000;        ///< the little work after the wait
  std::vector<double> wait_per_task;         ///< overrides wait_seconds per task (tests)
  int failing_task = -1;                     ///< this task throws (tests the failure path)
};

struct TaskResult {
  int task = 0;
  bool ok = false;
  double value = 0;   ///< the task's result (the same in every mode)
  std::string cpus;   ///< CPU affinity seen from inside the task
  std::string error;  ///< why it failed
};

struct ModeResult {
  double seconds = 0;
  std::vector<TaskResult> tasks;
};

/// A task's arithmetic: `steps` links of a dependent chain from x (so it cannot be vectorised
/// away). The event loop runs it in slices of kSlice steps: advance(advance(x, a), b) is
/// advance(x, a + b), bit for bit.
double advance(double x, std::uint64_t steps);
inline constexpr std::uint64_t kSlice = 1'000'000;

/// The result of task i's arithmetic (what every mode must reproduce).
double task_value(int task, std::uint64_t steps);

/// What a mode's measured speedup over the sequential mode shows. The model: one thread (the
/// event loop, or threads sharing one CPU) cannot speed up compute (~1x) but overlaps waits
/// (~tasks x); threads on all CPUs give compute at most min(tasks, cpus) x. `as_expected` when
/// the measurement is within [0.6, 1.5] of the expectation (compute on several CPUs: at
/// least 0.6 of it, at most 1.1x more); the text says what was measured and, when it
/// disagrees, what was expected instead.
struct Reading {
  double expected = 1;
  bool as_expected = true;
  std::string text;
};
Reading interpret(Workload w, Mode m, int tasks, int cpus, double speedup);

/// Runs all tasks of the workload in the mode once and times it. Failures are reported in the
/// task results; the other tasks still complete.
ModeResult run(Workload w, Mode m, const Config& config);

}  // namespace pararun::concurrency
