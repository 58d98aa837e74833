#include <gtest/gtest.h>

#include <omp.h>

#include "fake_kernel.hpp"
#include "pararun/described_kernel.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_record.hpp"

using namespace pararun;

TEST(Registry, AddFindAndRefuseDuplicates) {
  Registry r;
  EXPECT_TRUE(r.add(std::make_unique<test::FakeKernel>("b")));
  EXPECT_TRUE(r.add(std::make_unique<test::FakeKernel>("a")));
  EXPECT_FALSE(r.add(std::make_unique<test::FakeKernel>("a")));
  ASSERT_NE(r.find("a"), nullptr);
  EXPECT_EQ(r.find("a")->name(), "a");
  EXPECT_EQ(r.find("zzz"), nullptr);
  EXPECT_EQ(r.names(), "a, b");
  ASSERT_EQ(r.kernels().size(), 2u);
  EXPECT_EQ(r.kernels()[0]->name(), "a");
}

TEST(Registry, GlobalHasTheSelfRegisteredKernels) {
  const Registry& r = Registry::global();
  for (const char* name : {"matmul", "reduction"}) {
    const Kernel* k = r.find(name);
    ASSERT_NE(k, nullptr) << name;
    for (Backend b : kAllBackends) EXPECT_TRUE(k->supports(b)) << name << "/" << to_string(b);
  }
}

TEST(Kernel, VariantsPerBackendAndDefaults) {
  test::FakeKernel k;
  EXPECT_TRUE(k.supports(Backend::seq));
  EXPECT_FALSE(k.supports(Backend::mpi));
  ASSERT_EQ(k.variants_of(Backend::seq).size(), 2u);
  EXPECT_EQ(k.variants_of(Backend::seq).front().name, "loop");
  EXPECT_TRUE(k.find_variant(Backend::seq, "other").has_value());
  EXPECT_FALSE(k.find_variant(Backend::omp, "loop").has_value());
}

TEST(Runner, RunProblemNamesTheReason) {
  test::FakeKernel k;
  RunSpec spec;
  spec.problem = {3, 1};
  ExecContext ctx;
  EXPECT_EQ(run_problem(k, spec, ctx), "");
  ctx.backend = Backend::mpi;
  EXPECT_EQ(run_problem(k, spec, ctx), "kernel 'fake' does not support backend 'mpi'");
  ctx.backend = Backend::seq;
  ctx.ranks = 4;
  EXPECT_EQ(run_problem(k, spec, ctx), "fewer rows than ranks");
  ctx.ranks = 1;
  spec.problem.size = 1ull << 62;  // 4 EiB of memory
  EXPECT_NE(run_problem(k, spec, ctx).find("needs about"), std::string::npos);
}

TEST(Runner, ExecuteBuildsAVerifiedRecord) {
  test::FakeKernel k;
  RunSpec spec;
  spec.problem = {1000, 1};
  spec.timing = {2, 5, 5, 0.05};
  ExecContext ctx;
  RunOutcome out = execute(k, k.variants().front(), spec, ctx);
  EXPECT_TRUE(out.verified());
  const Json r = run_record(k, k.variants().front(), spec, ctx, out);
  EXPECT_EQ(r["schema"], kRecordSchema);
  EXPECT_EQ(r["kernel"], "fake");
  EXPECT_EQ(r["backend"], "seq");
  EXPECT_EQ(r["variant"], "loop");
  EXPECT_EQ(r["size"], 1000);
  EXPECT_EQ(r["reps"], 5);
  EXPECT_EQ(r["samples"].size(), 5u);
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["verification"]["status"], "passed");
  EXPECT_EQ(r["verification"]["reference"], "analytic n(n+1)/2");
  EXPECT_GT(r["time"]["median"].get<double>(), 0.0);
  EXPECT_LE(r["time"]["min"].get<double>(), r["time"]["median"].get<double>());
  for (const char* key : {"timestamp", "hosts", "cpu_model", "cores", "build", "affinity", "env"})
    EXPECT_TRUE(r["meta"].contains(key)) << key;
}

TEST(Runner, InjectedFaultFailsVerification) {
  test::FakeKernel k;
  RunSpec spec;
  spec.problem = {10, 1};
  spec.fault = Fault::output;
  RunOutcome out = execute(k, k.variants().front(), spec, ExecContext{});
  EXPECT_FALSE(out.verified());
  const Json r = run_record(k, k.variants().front(), spec, ExecContext{}, out);
  EXPECT_EQ(r["status"], "verification_failed");
  EXPECT_EQ(r["verification"]["status"], "failed");
  EXPECT_DOUBLE_EQ(r["verification"]["error"].get<double>(), 1.0);
}

TEST(DescribedKernel, ExpandsVariantsPerBackendAndAppliesTheModels) {
  KernelDescription d;
  d.name = "described";
  d.summary = "a test";
  d.size_meaning = "n";
  d.variants = {{"a", "first"}, {"b", "second", {Backend::omp}}};
  d.work = [](const Problem& p) { return Work{1.0 * p.size, 8.0 * p.size}; };
  d.bytes_per_item = 16;
  d.weak = WeakScaling::square_root;
  d.max_size = 1000;
  d.setup = instance_of<test::FakeInstanceFor>();
  const DescribedKernel k(d);
  ASSERT_EQ(k.variants_of(Backend::omp).size(), 2u);
  EXPECT_EQ(k.variants_of(Backend::omp)[0].name, "a");  // the first listed is the default
  EXPECT_EQ(k.variants_of(Backend::omp)[1].description, "second; OpenMP threads, static schedule");
  EXPECT_EQ(k.variants_of(Backend::mpi).size(), 1u);
  EXPECT_EQ(k.variants_of(Backend::seq)[0].description, "first; 1 thread");
  EXPECT_DOUBLE_EQ(k.memory_per_rank({10, 1}, 3), 16.0 * 4);  // ceil(10 / 3) items
  EXPECT_EQ(k.weak_size(100, 4), 200u);
  EXPECT_EQ(k.check({1000, 1}, ExecContext{}), "");
  EXPECT_EQ(k.check({1001, 1}, ExecContext{}), "described: size 1001 is beyond its limit of 1000");
  EXPECT_DOUBLE_EQ(k.work({10, 1}, k.variants().front()).bytes, 80.0);
  auto inst = k.setup({10, 1}, k.variants().front(), ExecContext{});
  inst->reset();
  inst->run();
  EXPECT_TRUE(inst->verify().passed);
}

TEST(ExecContext, ParallelBlocksSplitLikeAStaticSchedule) {
  ExecContext ctx;
  ctx.backend = Backend::omp;
  ctx.threads = 3;
  std::vector<int> owner(10, -1);
  ctx.parallel_blocks(10, [&](std::uint64_t b, std::uint64_t e) {
    for (std::uint64_t i = b; i < e; ++i) owner[i] = omp_get_thread_num();
  });
  // 10 items over 3 threads: 4, 3, 3, in thread order, as schedule(static) splits them.
  EXPECT_EQ(owner, (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(ctx.local_range(10).count, 10u);  // one rank: everything
  EXPECT_DOUBLE_EQ(ctx.sum(2.5), 2.5);
  EXPECT_DOUBLE_EQ(ctx.max(-1.0), -1.0);
}
