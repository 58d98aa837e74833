#include "pararun/timing.hpp"

#include <algorithm>
#include <chrono>

#include "pararun/stats.hpp"

namespace pararun {

namespace {

/// reset() untimed, then the barrier, then run() timed.
double timed_rep(Instance& instance, const ExecContext& ctx) {
  instance.reset();
  if (ctx.comm != MPI_COMM_NULL) MPI_Barrier(ctx.comm);
  const auto t0 = std::chrono::steady_clock::now();
  instance.run();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(t1 - t0).count();
}

}  // namespace

Timings measure(Instance& instance, const ExecContext& ctx, const TimingPolicy& policy) {
  for (int i = 0; i < policy.warmup; ++i) timed_rep(instance, ctx);

  Timings t;
  double own_total = 0;
  const int cap = std::max(policy.min_reps, policy.max_reps);
  for (int rep = 0; rep < cap; ++rep) {
    const double mine = timed_rep(instance, ctx);
    own_total += mine;
    double slowest = mine;
    if (ctx.comm != MPI_COMM_NULL) MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, ctx.comm);
    t.samples.push_back(slowest);
    // Every rank holds the same samples, so every rank takes the same decision.
    // The CI target counts only when the interval really is a 95% one (6 samples or more).
    if (rep + 1 >= policy.min_reps) {
      const Summary s = summarize(t.samples);
      if (s.ci_coverage >= kCiConfidence && s.ci_relative_width() <= policy.ci_target) break;
    }
  }

  if (ctx.comm != MPI_COMM_NULL) {
    double max_total = 0, sum_total = 0;
    MPI_Allreduce(&own_total, &max_total, 1, MPI_DOUBLE, MPI_MAX, ctx.comm);
    MPI_Allreduce(&own_total, &sum_total, 1, MPI_DOUBLE, MPI_SUM, ctx.comm);
    const double mean_total = sum_total / ctx.ranks;
    t.imbalance = mean_total > 0 ? max_total / mean_total : 1.0;
  }
  return t;
}

}  // namespace pararun
