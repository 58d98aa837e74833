#include <gtest/gtest.h>
#include <omp.h>

#include <tuple>

#include "../kernel_cases.hpp"
#include "pararun/run_context.hpp"

using namespace pararun;

class DistributedKernels
    : public ::testing::TestWithParam<std::tuple<std::tuple<std::string, std::uint64_t>, int>> {};

// threads == 1: the mpi backend; threads > 1: hybrid. Sizes below the rank count leave some
// ranks without rows or elements, which must still work.
TEST_P(DistributedKernels, VerifiesAndCatchesCorruption) {
  const auto& [kernel_size, threads] = GetParam();
  const auto& [kernel, size] = kernel_size;
  const RunContext run(threads == 1 ? Backend::mpi : Backend::hybrid, threads);
  omp_set_num_threads(threads);
  test::check_all_variants(kernel, run.ctx(), size);
}

INSTANTIATE_TEST_SUITE_P(All, DistributedKernels,
                         ::testing::Combine(::testing::ValuesIn(test::all_kernel_sizes()),
                                            ::testing::Values(1, 2)));
