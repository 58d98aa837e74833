// The timed repetition loop: warm-up, barrier before each rep, max over ranks.
#pragma once

#include <vector>

#include "pararun/context.hpp"
#include "pararun/kernel.hpp"

namespace pararun {

struct TimingPolicy {
  int warmup = 1;     ///< untimed repetitions first
  int min_reps = 5;   ///< timed repetitions at least
  int max_reps = 20;  ///< cap for the adaptive repetitions
  double ci_target =
      0.05;  ///< repeat while the 95% CI of the median is wider than this share of it
};

struct Timings {
  std::vector<double> samples;  ///< per rep: the slowest rank's time in seconds
  double imbalance = 1.0;       ///< max / mean over ranks of each rank's total timed seconds
};

/// Runs `instance` as the policy says. Collective for mpi/hybrid; every rank returns the same.
Timings measure(Instance& instance, const ExecContext& ctx, const TimingPolicy& policy);

}  // namespace pararun
