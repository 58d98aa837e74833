#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/run_record.hpp"
#include "pararun/timing.hpp"
#include "pararun/verify.hpp"

using namespace pararun;

namespace {

/// Rank r sleeps 5 (r + 1) ms per repetition: the slowest rank sets the time. (Sleeps of
/// 1-4 ms drowned in scheduling noise with 4 ranks on 2 cores under ASan.)
class SleepyInstance : public Instance {
 public:
  explicit SleepyInstance(int rank) : rank_(rank) {}
  void run() override { usleep(static_cast<useconds_t>(5000 * (rank_ + 1))); }
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
  for (double s : t.samples) EXPECT_GE(s, 5e-3 * ctx.ranks);  // at least the slowest sleep
  // Per-rank totals are proportional to rank+1: max/mean = P / ((P+1)/2), within noise.
  const double expected = ctx.ranks / ((ctx.ranks + 1) / 2.0);
  EXPECT_NEAR(t.imbalance, expected, 0.35 * expected);
  // Every rank holds the same samples.
  double first = t.samples[0], max_first = 0;
  MPI_Allreduce(&first, &max_first, 1, MPI_DOUBLE, MPI_MAX, ctx.comm);
  EXPECT_EQ(first, max_first);
}

TEST(MpiRuntime, ReductionsOverRanks) {
  const RunContext world(Backend::mpi, 1);  // as `pararun run` builds it
  const ExecContext& ctx = world.ctx();
  EXPECT_DOUBLE_EQ(ctx.sum(ctx.rank + 1.0), ctx.ranks * (ctx.ranks + 1) / 2.0);
  EXPECT_DOUBLE_EQ(ctx.max(ctx.rank), ctx.ranks - 1.0);
  // Each rank holds one element; together they make x = (r+1), ref = (r+1) + 1.
  const double x = ctx.rank + 1.0, ref = x + 1.0;
  double ref2 = 0;
  for (int r = 1; r <= ctx.ranks; ++r) ref2 += (r + 1.0) * (r + 1.0);
  EXPECT_NEAR(relative_frobenius_error(&x, &ref, 1, ctx), std::sqrt(ctx.ranks / ref2), 1e-15);
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
  const std::uint64_t per_rank_max = (1000 + ctx.ranks - 1) / ctx.ranks;
  EXPECT_EQ(r["size_per_rank"]["max"], per_rank_max);
  EXPECT_EQ(r["size_per_rank"]["min"], 1000 / ctx.ranks);
  EXPECT_EQ(r["meta"]["mpi_thread_level"], "funneled");
}
