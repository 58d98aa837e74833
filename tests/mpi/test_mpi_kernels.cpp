#include <gtest/gtest.h>
#include <omp.h>

#include <tuple>

#include "../kernel_cases.hpp"
#include "pararun/run_context.hpp"
#include "reduction/reduction.hpp"
#include "reduction/reproducible.hpp"

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

// The reproducible sum over P ranks (this test runs with 1, 2, 3 and 4) and 1 or 2 threads is
// the one-process sum to the last bit, on inputs where the order of the sum matters
// (Reduction.RoundingInputsDependOnTheOrderOfTheSum).
TEST(ReproducibleSum, BitwiseTheSameOnAnyRankCount) {
  using reduction::kChunk;
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  for (std::uint64_t n :
       {std::uint64_t{1}, kChunk - 1, kChunk + 1, 3 * kChunk, 5 * kChunk + 17, 37 * kChunk + 5}) {
    const std::vector<double> x = test::rounding_inputs(n, 9);
    const double one = reduction::reproducible_sum(x.data(), n, {0, n}, 1, MPI_COMM_NULL);
    const Range mine = reduction::reproducible_range(n, ranks, rank);
    for (int threads : {1, 2}) {
      const double sum =
          reduction::reproducible_sum(x.data() + mine.begin, n, mine, threads, MPI_COMM_WORLD);
      EXPECT_EQ(sum, one) << "n=" << n << " ranks=" << ranks << " threads=" << threads;
      // The same on every rank.
      double low = sum, high = sum;
      MPI_Allreduce(&sum, &low, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
      MPI_Allreduce(&sum, &high, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      EXPECT_EQ(low, high);
    }
  }
}
