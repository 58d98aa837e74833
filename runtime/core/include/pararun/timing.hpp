// The timed repetition loop: warm-up, barrier before each rep, max over ranks.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "pararun/context.hpp"
#include "pararun/kernel.hpp"
#include "pararun/phases.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

struct TimingPolicy {
  int warmup = 1;     ///< untimed repetitions first, at least
  int min_reps = 5;   ///< timed repetitions at least
  int max_reps = 20;  ///< cap for the adaptive repetitions
  double ci_target =
      0.05;  ///< repeat while the 95% CI of the median is wider than this share of it
  /// Untimed repetitions also until they have taken this many seconds: on a shared host a
  /// CPU's first few hundred milliseconds of work can run up to 3x slower (BENCHMARKS.md).
  double warmup_seconds = 0;
};

struct Timings {
  std::vector<double> samples;   ///< per rep: the slowest rank's time in seconds
  std::int64_t warmup_reps = 0;  ///< untimed repetitions run first
  double warmup_seconds = 0;     ///< what they took (the slowest rank's)
  /// max / mean over ranks of each rank's total compute-phase seconds when the kernel marks
  /// phases (phases.hpp), else of each rank's whole run() (basis "run").
  double imbalance = 1.0;
  const char* imbalance_basis = "run";  ///< "compute phase" or "run"
  /// Per phase (Phase order): the largest and the mean over ranks of a rank's total seconds
  /// in it over all timed reps; zero when the kernel marks no phases.
  std::array<double, kPhases> phase_max{}, phase_mean{};
  /// Mean over ranks of (communication seconds / run() seconds); 0 without marks.
  double communication_share = 0;
  /// Rank 0 only: every rank's own time of every timed rep, [rank][rep].
  std::vector<std::vector<double>> rank_samples;
  /// This rank's CPU-time samples before the first and after the last timed rep: what the
  /// machine and this process used meanwhile (host_load in metadata.hpp judges it).
  CpuTimes cpu_before, cpu_after;
};

/// Runs `instance` as the policy says. Collective for mpi/hybrid; every rank returns the same.
Timings measure(Instance& instance, const ExecContext& ctx, const TimingPolicy& policy);

}  // namespace pararun
