#include <gtest/gtest.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/run_record.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/timing.hpp"
#include "pararun/verify.hpp"

using namespace pararun;

namespace {

/// Rank r sleeps (r + 1) units of 50 ms per repetition: the slowest rank sets the time.
/// (Sleeps of 1-4 ms drowned in scheduling noise with 4 ranks on 2 cores under ASan; at 5 ms a
/// wake-up 2.4 ms late on average took 2 ranks' imbalance below its bound; at 20 ms, 37 ms of
/// common delay would.)
constexpr double kSleepUnit = 0.050;  // (a late wake-up on a loaded machine is small beside it)

void sleep_units(int units) {
  usleep(static_cast<useconds_t>(kSleepUnit * 1e6 * units));
}

class SleepyInstance : public Instance {
 public:
  explicit SleepyInstance(int rank) : rank_(rank) {}
  void run() override { sleep_units(rank_ + 1); }
  Verification verify() override { return make_verification(0, 0, "none"); }
  std::uint64_t local_size() const override { return 1; }
  void inject_fault() override {}

 private:
  int rank_;
};

}  // namespace

TEST(MpiRuntime, TimesAreTheSlowestRankAndImbalanceIsMaxOverMean) {
  const RunContext world(Backend::mpi, 1);  // as `pararun run` builds it
  const ExecContext& ctx = world.ctx();
  SleepyInstance inst(ctx.rank);
  const Timings t = measure(inst, ctx, {1, 5, 5, 0.05});
  ASSERT_EQ(t.samples.size(), 5u);
  for (double s : t.samples) EXPECT_GE(s, kSleepUnit * ctx.ranks);  // the slowest sleep at least
  // Per-rank totals are proportional to rank+1: max/mean = P / ((P+1)/2), within noise.
  const double expected = ctx.ranks / ((ctx.ranks + 1) / 2.0);
  EXPECT_NEAR(t.imbalance, expected, 0.35 * expected);
  // Every rank holds the same samples.
  double first = t.samples[0], max_first = 0;
  MPI_Allreduce(&first, &max_first, 1, MPI_DOUBLE, MPI_MAX, ctx.comm);
  EXPECT_EQ(first, max_first);
}

namespace {

/// Rank r computes (r + 1) units, then every rank waits for the slowest in a barrier: the whole
/// run() takes the same time on every rank, only the marked compute phase differs.
class PhasedInstance : public Instance {
 public:
  PhasedInstance(int rank, MPI_Comm comm) : rank_(rank), comm_(comm) {}
  void run() override {
    {
      ScopedPhase compute(Phase::compute);
      sleep_units(rank_ + 1);
    }
    ScopedPhase communicate(Phase::communicate);
    MPI_Barrier(comm_);
  }
  Verification verify() override { return make_verification(0, 0, "none"); }
  std::uint64_t local_size() const override { return 1; }
  void inject_fault() override {}

 private:
  int rank_;
  MPI_Comm comm_;
};

}  // namespace

// Issue #13.2: timing the whole run() made imbalance ~1.0 by construction (the fast ranks'
// wait counted as work); the compute phase shows it.
TEST(MpiRuntime, ImbalanceComesFromTheComputePhaseAndEveryRankRepIsKept) {
  const RunContext world(Backend::mpi, 1);
  const ExecContext& ctx = world.ctx();
  PhasedInstance inst(ctx.rank, ctx.comm);
  const Timings t = measure(inst, ctx, {1, 5, 5, 0.05});
  EXPECT_STREQ(t.imbalance_basis, "compute phase");
  const double expected = ctx.ranks / ((ctx.ranks + 1) / 2.0);
  EXPECT_NEAR(t.imbalance, expected, 0.35 * expected);
  if (ctx.ranks > 1) {
    EXPECT_GT(t.imbalance, 1.15);
  }
  // The fast ranks wait: on average a share of run() is communication.
  if (ctx.ranks > 1) {
    EXPECT_GT(t.communication_share, 0.1);
  }
  EXPECT_GT(t.phase_max[static_cast<int>(Phase::compute)], 0.0);
  EXPECT_GE(t.phase_max[0], t.phase_mean[0]);
  if (ctx.rank == 0) {
    ASSERT_EQ(t.rank_samples.size(), static_cast<std::size_t>(ctx.ranks));
    for (const auto& rank : t.rank_samples) EXPECT_EQ(rank.size(), t.samples.size());
    // The slowest rank's own times are the samples' lower bound, within clock noise.
    for (std::size_t i = 0; i < t.samples.size(); ++i)
      for (const auto& rank : t.rank_samples) EXPECT_LE(rank[i], t.samples[i] + 1e-9);
  } else {
    EXPECT_TRUE(t.rank_samples.empty());
  }
}

TEST(MpiRuntime, MandelbrotBlockRowsAreImbalancedAndCyclicRowsAreNot) {
  // Measured with 2 and 3 ranks at n = 1000 (Zen 4): block 1.95 and 2.79, cyclic 1.03 and
  // 1.02 (before phases, block read 1.00: the fast ranks' wait counted as work).
  const RunContext world(Backend::mpi, 1);
  const ExecContext& ctx = world.ctx();
  if (ctx.ranks < 2) GTEST_SKIP() << "needs 2 or more ranks";
  const Kernel* k = Registry::global().find("mandelbrot");
  ASSERT_NE(k, nullptr);
  RunSpec spec;
  spec.problem = {400, 1};
  spec.timing = {0, 3, 3, 0.05};
  const auto block = k->find_variant(Backend::mpi, "block"),
             cyclic = k->find_variant(Backend::mpi, "cyclic");
  ASSERT_TRUE(block && cyclic);
  const RunOutcome b = execute(*k, *block, spec, ctx), c = execute(*k, *cyclic, spec, ctx);
  EXPECT_TRUE(b.verified() && c.verified());
  EXPECT_STREQ(b.timings.imbalance_basis, "compute phase");
  EXPECT_GT(b.timings.imbalance, 1.3) << "block";
  EXPECT_LT(c.timings.imbalance, b.timings.imbalance) << "cyclic";
}

TEST(MpiRuntime, ReductionsOverRanks) {
  const RunContext world(Backend::mpi, 1);  // as `pararun run` builds it
  const ExecContext& ctx = world.ctx();
  EXPECT_DOUBLE_EQ(ctx.sum(ctx.rank + 1.0), ctx.ranks * (ctx.ranks + 1) / 2.0);
  EXPECT_DOUBLE_EQ(ctx.max(ctx.rank), ctx.ranks - 1.0);
  // A NaN on any one rank is the maximum everywhere (MPI_MAX alone leaves it undefined).
  EXPECT_TRUE(std::isnan(ctx.max(ctx.rank == ctx.ranks - 1 ? std::nan("") : 1.0)));
  EXPECT_DOUBLE_EQ(ctx.max(-5.0 - ctx.rank), -5.0);
  // Each rank holds one element; together they make x = (r+1), ref = (r+1) + 1.
  const double x = ctx.rank + 1.0, ref = x + 1.0;
  double ref2 = 0;
  for (int r = 1; r <= ctx.ranks; ++r) ref2 += (r + 1.0) * (r + 1.0);
  EXPECT_NEAR(relative_frobenius_error(&x, &ref, 1, ctx), std::sqrt(ctx.ranks / ref2), 1e-15);
  // The worst element's share of its bound, over every rank: rank r is off by 1 against
  // (r + 1) x scale 1 + floor 1, a share of 1 / (r + 2): rank 0's 1/2 is the largest.
  const double scale = 1.0;
  EXPECT_DOUBLE_EQ(componentwise_error(&x, &ref, &scale, 1, ctx.rank + 1.0, 1.0, ctx), 0.5);
  // A NaN on any one rank fails on all of them.
  const double nan = ctx.rank == ctx.ranks - 1 ? std::nan("") : x;
  EXPECT_TRUE(std::isnan(componentwise_error(&nan, &ref, &scale, 1, 1.0, 0.0, ctx)));
}

TEST(MpiRuntime, RecordOnRootHasEveryRanksAffinity) {
  const RunContext world(Backend::mpi, 1);  // as `pararun run` builds it
  const ExecContext& ctx = world.ctx();
  const Kernel* k = Registry::global().find("reduction");
  ASSERT_NE(k, nullptr);
  RunSpec spec;
  spec.problem = {1000, 1};
  spec.timing = {0, 5, 5, 0.05};
  const RunOutcome out = execute(*k, k->variants_of(Backend::mpi).front(), spec, ctx);
  EXPECT_TRUE(out.verified());
  const Json r = run_record(*k, k->variants_of(Backend::mpi).front(), spec, ctx, out);
  if (ctx.rank != 0) {
    EXPECT_TRUE(r.empty());
    return;
  }
  EXPECT_EQ(r["ranks"], ctx.ranks);
  EXPECT_EQ(r["meta"]["affinity"].size(), static_cast<std::size_t>(ctx.ranks));
  for (int i = 0; i < ctx.ranks; ++i) EXPECT_EQ(r["meta"]["affinity"][i]["rank"], i);
  // The reduction marks its phases: imbalance from the compute phase, every rank's reps kept.
  EXPECT_EQ(r["imbalance_basis"], "compute phase");
  EXPECT_TRUE(r["phases"].contains("compute")) << r["phases"].dump();
  ASSERT_EQ(r["rank_samples"].size(), static_cast<std::size_t>(ctx.ranks));
  EXPECT_EQ(r["rank_samples"][0].size(), r["samples"].size());
  const std::uint64_t per_rank_max = (1000 + ctx.ranks - 1) / ctx.ranks;
  EXPECT_EQ(r["size_per_rank"]["max"], per_rank_max);
  EXPECT_EQ(r["size_per_rank"]["min"], 1000 / ctx.ranks);
  EXPECT_EQ(r["meta"]["mpi_thread_level"], "funneled");
}

// A hybrid rank's threads when none are asked for: the CPUs it was started on, shared with the
// node's ranks started on them. Two unbound ranks narrowed to 2 of 8 CPUs ran 4 threads each
// (the node's CPUs over its ranks).
TEST(MpiRuntime, HybridDefaultThreadsShareTheCpusOfTheRanksStartedOnThem) {
  const std::vector<int> node = {0, 1, 2, 3, 4, 5, 6, 7}, low = {0, 1, 2, 3}, high = {4, 5, 6, 7};
  EXPECT_EQ(hybrid_default_threads({node, node}, 0), 4);              // unbound
  EXPECT_EQ(hybrid_default_threads({{0, 1}, {0, 1}}, 1), 1);          // narrowed (taskset)
  EXPECT_EQ(hybrid_default_threads({{0}, {1}}, 0), 1);                // bound to cores
  EXPECT_EQ(hybrid_default_threads({low, low, high, high}, 2), 2);    // bound to sockets
  EXPECT_EQ(hybrid_default_threads({{0, 1}, {0, 1}, {0, 1}}, 0), 1);  // more ranks: 1 each
  EXPECT_EQ(hybrid_default_threads({node}, 0), 8);                    // one rank
  // As run here (one node): together the ranks' threads are at most its CPUs, or one each.
  const char* set = std::getenv("OMP_NUM_THREADS");
  const std::string before = set ? set : "";
  unsetenv("OMP_NUM_THREADS");
  const RunContext hybrid(Backend::hybrid, 0);
  if (set) setenv("OMP_NUM_THREADS", before.c_str(), 1);
  const ExecContext& ctx = hybrid.ctx();
  int total = 0;
  MPI_Allreduce(&ctx.threads, &total, 1, MPI_INT, MPI_SUM, ctx.comm);
  EXPECT_GE(ctx.threads, 1);
  EXPECT_LE(total, std::max(ctx.ranks, node_cpu_count()));
  if (ctx.ranks == 1) {
    EXPECT_EQ(ctx.threads, std::min(online_cpus(), omp_get_thread_limit()));
  }
  // OMP_NUM_THREADS set for one rank only (a wrapper, mpirun's MPMD form): every rank still
  // takes part in gathering the CPU sets (the others waited in it for ever).
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (world_rank == 0) setenv("OMP_NUM_THREADS", "1", 1);
  {
    const RunContext mixed(Backend::hybrid, 0);
    EXPECT_GE(mixed.ctx().threads, 1);
  }
  if (set)
    setenv("OMP_NUM_THREADS", before.c_str(), 1);
  else
    unsetenv("OMP_NUM_THREADS");
}
