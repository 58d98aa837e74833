#include "pararun/timing.hpp"

#include <algorithm>
#include <chrono>

#include "pararun/stats.hpp"

namespace pararun {

namespace {

/// reset() untimed, then the barrier, then run() timed; its phases counted from zero.
double timed_rep(Instance& instance, const ExecContext& ctx) {
  instance.reset();
  if (ctx.comm != MPI_COMM_NULL) MPI_Barrier(ctx.comm);
  reset_phases();
  const auto t0 = std::chrono::steady_clock::now();
  instance.run();
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(t1 - t0).count();
}

/// max / mean over ranks of `mine` (1 when the mean is 0).
double max_over_mean(double mine, const ExecContext& ctx, double* max_out, double* mean_out) {
  double max = mine, sum = mine;
  if (ctx.comm != MPI_COMM_NULL) {
    MPI_Allreduce(&mine, &max, 1, MPI_DOUBLE, MPI_MAX, ctx.comm);
    MPI_Allreduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, ctx.comm);
  }
  const double mean = sum / std::max(ctx.ranks, 1);
  if (max_out) *max_out = max;
  if (mean_out) *mean_out = mean;
  return mean > 0 ? max / mean : 1.0;
}

}  // namespace

Timings measure(Instance& instance, const ExecContext& ctx, const TimingPolicy& policy) {
  Timings t;
  // At least `warmup` repetitions, then more while any rank has warmed up for less than
  // warmup_seconds: every rank takes the same decision, even should their policies differ.
  const auto warmup_start = std::chrono::steady_clock::now();
  const auto warm_for = [&warmup_start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - warmup_start).count();
  };
  for (;; ++t.warmup_reps) {
    int more = t.warmup_reps < policy.warmup || warm_for() < policy.warmup_seconds;
    if (ctx.comm != MPI_COMM_NULL)
      MPI_Allreduce(MPI_IN_PLACE, &more, 1, MPI_INT, MPI_MAX, ctx.comm);
    if (!more) break;
    timed_rep(instance, ctx);
  }
  t.warmup_seconds = warm_for();
  if (ctx.comm != MPI_COMM_NULL)
    MPI_Allreduce(MPI_IN_PLACE, &t.warmup_seconds, 1, MPI_DOUBLE, MPI_MAX, ctx.comm);

  std::vector<double> own;  // this rank's own time of each timed rep
  std::array<double, kPhases> own_phases{};
  const int cap = std::max(policy.min_reps, policy.max_reps);
  t.cpu_before = cpu_times();
  for (int rep = 0; rep < cap; ++rep) {
    const double mine = timed_rep(instance, ctx);
    auto phases = phase_seconds();
    // A kernel that marks only its communication computes the rest of the time.
    const int compute = static_cast<int>(Phase::compute),
              communicate = static_cast<int>(Phase::communicate);
    if (phases[compute] == 0 && phases[communicate] > 0)
      phases[compute] = std::max(0.0, mine - phases[communicate]);
    for (int p = 0; p < kPhases; ++p) own_phases[p] += phases[p];
    own.push_back(mine);
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

  t.cpu_after = cpu_times();
  double own_total = 0;
  for (double s : own) own_total += s;
  for (int p = 0; p < kPhases; ++p)
    max_over_mean(own_phases[p], ctx, &t.phase_max[p], &t.phase_mean[p]);
  const int compute = static_cast<int>(Phase::compute);
  if (t.phase_max[compute] > 0) {  // marked on some rank: the compute phase is the work
    t.imbalance = max_over_mean(own_phases[compute], ctx, nullptr, nullptr);
    t.imbalance_basis = "compute phase";
  } else {
    t.imbalance = max_over_mean(own_total, ctx, nullptr, nullptr);
  }
  const double share =
      own_total > 0 ? own_phases[static_cast<int>(Phase::communicate)] / own_total : 0;
  max_over_mean(share, ctx, nullptr, &t.communication_share);

  // Every rank's own samples to rank 0 (the same count everywhere: the loop's decisions agree).
  const int reps = static_cast<int>(own.size());
  if (ctx.comm == MPI_COMM_NULL) {
    t.rank_samples = {own};
  } else {
    std::vector<double> all(ctx.is_root() ? static_cast<std::size_t>(reps * ctx.ranks) : 0);
    MPI_Gather(own.data(), reps, MPI_DOUBLE, all.data(), reps, MPI_DOUBLE, 0, ctx.comm);
    if (ctx.is_root())
      for (int r = 0; r < ctx.ranks; ++r)
        t.rank_samples.emplace_back(all.begin() + r * reps, all.begin() + (r + 1) * reps);
  }
  return t;
}

}  // namespace pararun
