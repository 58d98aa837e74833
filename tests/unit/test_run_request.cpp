// resolve_run: a run request checked against the registry before anything runs.
#include <gtest/gtest.h>

#include "pararun/errors.hpp"
#include "pararun/run_request.hpp"

using namespace pararun;

namespace {

RunRequest request(const std::string& kernel, const std::string& backend, const std::string& size) {
  RunRequest r;
  r.kernel = kernel;
  r.backend = backend;
  r.size = size;
  return r;
}

std::string refusal(const RunRequest& r, int ranks = 1) {
  try {
    resolve_run(r, ranks);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RunRequest, DefaultsResolveToTheBackendsFirstVariantAndTheAdaptiveCap) {
  const ResolvedRun r = resolve_run(request("matmul", "omp", "2^8"), 1);
  ASSERT_NE(r.kernel, nullptr);
  EXPECT_EQ(r.kernel->name(), "matmul");
  EXPECT_EQ(r.backend, Backend::omp);
  EXPECT_EQ(r.variant.name, r.kernel->variants_of(Backend::omp).front().name);
  EXPECT_EQ(r.spec.problem.size, 256u);
  EXPECT_EQ(r.spec.problem.seed, 42u);
  EXPECT_EQ(r.spec.timing.min_reps, 5);
  EXPECT_EQ(r.spec.timing.max_reps, 20);  // --max-reps 0: at least 20
  EXPECT_EQ(r.spec.fault, Fault::none);
  RunRequest many = request("matmul", "seq", "8");
  many.reps = 30;
  EXPECT_EQ(resolve_run(many, 1).spec.timing.max_reps, 30);
  many.inject_fault = "panel";
  EXPECT_EQ(resolve_run(many, 1).spec.fault, Fault::panel);
}

TEST(RunRequest, EachProblemIsNamed) {
  EXPECT_EQ(refusal(request("matmul", "seq", "")),
            "--size is required (or --input for a kernel that reads files)");
  EXPECT_EQ(refusal(request("matmul", "gpu", "8")),
            "unknown backend 'gpu'; backends: seq, omp, mpi, hybrid");
  EXPECT_EQ(refusal(request("matmul", "seq", "8"), 2),
            "backend 'seq' runs on one process, but 2 MPI ranks were launched; use mpi or hybrid");
  EXPECT_EQ(resolve_run(request("matmul", "mpi", "8"), 2).backend, Backend::mpi);
  RunRequest r = request("matmul", "seq", "8");
  r.max_reps = 3;
  r.reps = 9;
  EXPECT_EQ(refusal(r), "--max-reps (3) is less than --reps (9)");
  r = request("matmul", "seq", "8");
  r.scaling = "diagonal";
  EXPECT_EQ(refusal(r), "--scaling must be none, strong or weak, got 'diagonal'");
  r = request("mandelbrot", "seq", "8");
  r.input = "x.mtx";
  EXPECT_EQ(refusal(r),
            "kernel 'mandelbrot' reads no input files; it generates its data from --seed");
}
