#include <gtest/gtest.h>

#include "fake_kernel.hpp"
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
  spec.inject_fault = true;
  RunOutcome out = execute(k, k.variants().front(), spec, ExecContext{});
  EXPECT_FALSE(out.verified());
  const Json r = run_record(k, k.variants().front(), spec, ExecContext{}, out);
  EXPECT_EQ(r["status"], "verification_failed");
  EXPECT_EQ(r["verification"]["status"], "failed");
  EXPECT_DOUBLE_EQ(r["verification"]["error"].get<double>(), 1.0);
}
