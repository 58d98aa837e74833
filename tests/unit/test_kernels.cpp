#include <gtest/gtest.h>
#include <omp.h>

#include <array>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "../kernel_cases.hpp"
#include "common/random.hpp"
#include "matmul/gemm.hpp"
#include "matmul/matmul.hpp"
#include "reduction/reduction.hpp"
#include "reduction/reproducible.hpp"

using namespace pararun;

// ---- every registered kernel x seq/omp x variant, through the Instance interface ----

class SharedMemoryKernels
    : public ::testing::TestWithParam<std::tuple<std::tuple<std::string, std::uint64_t>, int>> {};

TEST_P(SharedMemoryKernels, VerifiesAndCatchesCorruption) {
  const auto& [kernel_size, threads] = GetParam();
  const auto& [kernel, size] = kernel_size;
  ExecContext ctx;
  ctx.backend = threads == 1 ? Backend::seq : Backend::omp;
  ctx.threads = threads;
  omp_set_num_threads(threads);
  test::check_all_variants(kernel, ctx, size);
}

INSTANTIATE_TEST_SUITE_P(All, SharedMemoryKernels,
                         ::testing::Combine(::testing::ValuesIn(test::all_kernel_sizes()),
                                            ::testing::Values(1, 2, 3)));

// ---- independent references: results checked without the kernel's own verification ----

namespace {

/// C = A * B in long double, the plain definition.
std::vector<double> reference_product(const std::vector<double>& a, const std::vector<double>& b,
                                      std::size_t m, std::size_t n, std::size_t k) {
  std::vector<double> c(m * n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      long double s = 0;
      for (std::size_t p = 0; p < k; ++p)
        s += static_cast<long double>(a[i * k + p]) * b[p * n + j];
      c[i * n + j] = static_cast<double>(s);
    }
  return c;
}

/// Random inputs A (m x k) and B (k x n) and their long double product.
struct Operands {
  std::vector<double> a, b, ref;
  Operands(std::size_t m, std::size_t n, std::size_t k, std::uint64_t seed) : a(m * k), b(k * n) {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = random_unit(seed, 1, i);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = random_unit(seed, 2, i);
    ref = reference_product(a, b, m, n, k);
  }
};

std::vector<std::string> matmul_variants() {
  std::vector<std::string> v = {"blocked", "naive", "eigen"};
#ifdef PARARUN_HAVE_BLAS
  v.push_back("blas");
#endif
  return v;
}

}  // namespace

TEST(Matmul, LocalMultipliesMatchLongDoubleReferenceOnAnyShape) {
  const std::size_t shapes[][3] = {{1, 1, 1},   {2, 3, 4},    {7, 5, 3},    {1, 9, 1},
                                   {13, 1, 17}, {64, 64, 64}, {31, 67, 129}};
  for (const auto& s : shapes) {
    const std::size_t m = s[0], n = s[1], k = s[2];
    const Operands op(m, n, k, 3);
    const auto& [a, b, ref] = op;
    for (const auto& variant : matmul_variants())
      for (int threads : {1, 2}) {
        SCOPED_TRACE(variant + " " + std::to_string(m) + "x" + std::to_string(n) + "x" +
                     std::to_string(k) + " threads " + std::to_string(threads));
        const auto multiply = matmul::local_multiply(variant);
        std::vector<double> c(m * n, -99.0);
        multiply(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads, false);
        for (std::size_t i = 0; i < c.size(); ++i)
          ASSERT_NEAR(c[i], ref[i], 1e-13 * static_cast<double>(k)) << "element " << i;
        multiply(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads, true);  // C += A * B
        for (std::size_t i = 0; i < c.size(); ++i)
          ASSERT_NEAR(c[i], 2 * ref[i], 2e-13 * static_cast<double>(k)) << "element " << i;
      }
  }
}

TEST(Matmul, UnknownLocalMultiplyThrows) {
  EXPECT_THROW(matmul::local_multiply("nope"), std::invalid_argument);
}

TEST(Matmul, InputsAreDeterministicAndSeeded) {
  EXPECT_EQ(matmul::element_a(1, 10, 3, 4), matmul::element_a(1, 10, 3, 4));
  EXPECT_NE(matmul::element_a(1, 10, 3, 4), matmul::element_a(2, 10, 3, 4));
  EXPECT_NE(matmul::element_a(1, 10, 3, 4), matmul::element_b(1, 10, 3, 4));
  for (std::uint64_t i = 0; i < 1000; ++i) {
    const double v = matmul::element_a(5, 1000, i, i);
    EXPECT_GE(v, -1.0);
    EXPECT_LT(v, 1.0);
  }
}

TEST(Reduction, SumsMatchTheExactIntegerSum) {
  for (std::uint64_t n : {1ull, 2ull, 7ull, 64ull, 1000ull, 100003ull}) {
    std::vector<double> x(n);
    for (std::uint64_t i = 0; i < n; ++i) x[i] = reduction::element(11, i);
    const auto exact = reduction::exact_sum(11, 0, n);
    const double expected = static_cast<double>(exact.sum) / (1 << 20);
    for (const char* variant : {"plain", "simd"})
      for (int threads : {1, 2, 3})
        EXPECT_EQ(reduction::sum(variant, x.data(), n, threads), expected)
            << variant << " n=" << n << " threads=" << threads;
  }
}

TEST(Reduction, ReproducibleSumIsBitwiseTheSameForAnyThreadCount) {
  using reduction::kChunk;
  for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{31}, std::uint64_t{33}, kChunk - 1,
                          kChunk, kChunk + 1, 5 * kChunk + 17, 37 * kChunk + 5}) {
    const std::vector<double> x = test::rounding_inputs(n, 5);
    const Range all{0, n};
    const double one = reduction::reproducible_sum(x.data(), n, all, 1, MPI_COMM_NULL);
    for (int threads : {2, 3, 4})
      EXPECT_EQ(reduction::reproducible_sum(x.data(), n, all, threads, MPI_COMM_NULL), one)
          << "n=" << n << " threads=" << threads;
    // Close to the exact sum (long double accumulation is far more accurate here).
    long double ref = 0;
    for (double v : x) ref += v;
    double magnitude = 0;
    for (double v : x) magnitude += std::fabs(v);
    EXPECT_LE(std::fabs(one - static_cast<double>(ref)), 1e-14 * magnitude) << "n=" << n;
  }
}

TEST(Reduction, RoundingInputsDependOnTheOrderOfTheSum) {
  // Without this the test above would prove nothing: on these inputs the simd variant's sum
  // changes with the thread count (measured on Zen 4: ...2842.0059 on 1 and 2 threads,
  // ...2842.0039 on 3, ...2842.002 on 4) and the plain one's too.
  const std::uint64_t n = 5 * reduction::kChunk + 17;
  const std::vector<double> x = test::rounding_inputs(n, 5);
  for (const char* variant : {"simd", "plain"}) {
    std::set<double> sums;
    for (int threads = 1; threads <= 4; ++threads)
      sums.insert(reduction::sum(variant, x.data(), n, threads));
    EXPECT_GE(sums.size(), 2u) << variant;
  }
}

TEST(Reduction, ReproducibleRangesAreWholeChunksCoveringTheArray) {
  using reduction::kChunk;
  for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{5}, kChunk, 3 * kChunk + 1, 10 * kChunk})
    for (int ranks : {1, 2, 3, 4, 7}) {
      std::uint64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const Range range = reduction::reproducible_range(n, ranks, r);
        EXPECT_EQ(range.begin, next) << "n=" << n << " ranks=" << ranks << " rank " << r;
        if (range.count > 0) {
          EXPECT_EQ(range.begin % kChunk, 0u);
        }
        if (range.begin + range.count < n) {
          EXPECT_EQ(range.count % kChunk, 0u);
        }
        next = range.begin + range.count;
      }
      EXPECT_EQ(next, n);
    }
  const std::vector<double> x(10);
  EXPECT_THROW(reduction::reproducible_sum(x.data(), 3 * kChunk, Range{1, 5}, 1, MPI_COMM_NULL),
               std::invalid_argument);
}

TEST(Reduction, ExactSumIsAdditiveOverBlocks) {
  const auto whole = reduction::exact_sum(4, 0, 1000);
  const auto a = reduction::exact_sum(4, 0, 333), b = reduction::exact_sum(4, 333, 667);
  EXPECT_EQ(whole.sum, a.sum + b.sum);
  EXPECT_EQ(whole.abs_sum, a.abs_sum + b.abs_sum);
  EXPECT_GT(whole.abs_sum, 0);
}

TEST(Reduction, ToleranceIsZeroWhileEverySumIsExact) {
  EXPECT_EQ(reduction::tolerance(1000), 0.0);
  EXPECT_EQ(reduction::tolerance(1ull << 33), 0.0);
  EXPECT_GT(reduction::tolerance((1ull << 33) + 1), 0.0);
}

// ---- ParaRun's GEMM: every micro-kernel the CPU runs, shapes around the block sizes ----

/// PARARUN_GEMM_SPLIT=way for the life of the object ("": unset), then as it was.
class ForcedSplit {
 public:
  explicit ForcedSplit(const char* way) {
    if (const char* old = std::getenv(kName)) old_ = old;
    if (*way)
      setenv(kName, way, 1);
    else
      unsetenv(kName);
  }
  ~ForcedSplit() {
    if (old_)
      setenv(kName, old_->c_str(), 1);
    else
      unsetenv(kName);
  }
  ForcedSplit(const ForcedSplit&) = delete;
  ForcedSplit& operator=(const ForcedSplit&) = delete;

 private:
  static constexpr const char* kName = "PARARUN_GEMM_SPLIT";
  std::optional<std::string> old_;
};

TEST(Gemm, EveryMicroKernelOnEdgeShapesAndBlockBoundaries) {
  using matmul::MicroKernel;
  for (MicroKernel mk : {MicroKernel::avx512, MicroKernel::avx2, MicroKernel::portable}) {
    if (!matmul::cpu_supports(mk)) {
      std::printf("micro-kernel %s: not supported by this CPU, skipped\n",
                  matmul::to_string(mk).c_str());
      continue;
    }
    const matmul::Blocking bl = matmul::blocking_for(mk);
    const std::size_t shapes[][3] = {{1, 1, 1},
                                     {2, 3, 5},
                                     {bl.mr, bl.nr, 7},
                                     {bl.mr - 1, bl.nr + 1, 13},
                                     {bl.mr + 1, bl.nr - 1, 31},
                                     {37, 41, 43},
                                     {bl.mc + 1, bl.nr + 3, bl.kc + 1},
                                     {bl.mc - 1, 2 * bl.nr + 1, bl.kc - 1},
                                     {3, 97, 2 * bl.kc + 5},
                                     {101, 1, 17},
                                     // By rows: two A blocks per thread on 2 and 3 threads.
                                     {6 * bl.mc + 5, 2 * bl.nr + 1, 9},
                                     // C too short for its rows to go round (split in the jr
                                     // loop), the second over three NC panels and two KC steps,
                                     // the third with one sliver in its last panel (threads
                                     // without B slivers there).
                                     {3 * bl.mr - 1, 5 * bl.nr + 3, 9},
                                     {3, 2 * bl.nc + 2 * bl.nr + 5, bl.kc + 3},
                                     {bl.mr, bl.nc + 1, 20}};
    for (const auto& s : shapes) {
      const std::size_t m = s[0], n = s[1], k = s[2];
      const Operands op(m, n, k, 9);
      const auto& [a, b, ref] = op;
      for (int threads : {1, 2, 3})
        for (const char* way : {"", "rows", "jr"}) {  // split_for's choice, then each forced
          const ForcedSplit forced(way);
          SCOPED_TRACE(matmul::to_string(mk) + " " + std::to_string(m) + "x" + std::to_string(n) +
                       "x" + std::to_string(k) + " threads " + std::to_string(threads) + " split " +
                       way);
          std::vector<double> c(m * n, -99.0);
          matmul::gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads, false, mk);
          for (std::size_t i = 0; i < c.size(); ++i)
            ASSERT_NEAR(c[i], ref[i], 1e-13 * static_cast<double>(k)) << "element " << i;
          // accumulate: C += A * B gives twice the product.
          matmul::gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads, true, mk);
          for (std::size_t i = 0; i < c.size(); ++i)
            ASSERT_NEAR(c[i], 2 * ref[i], 2e-13 * static_cast<double>(k)) << "element " << i;
        }
    }
  }
}

TEST(Gemm, ShortWideProductsAreSplitInTheJrLoopSoEveryThreadWorks) {
  const ForcedSplit unset("");  // split_for's own choice, whatever the environment says
  for (matmul::MicroKernel mk :
       {matmul::MicroKernel::avx512, matmul::MicroKernel::avx2, matmul::MicroKernel::portable}) {
    const matmul::Blocking bl = matmul::blocking_for(mk);
    SCOPED_TRACE(matmul::to_string(mk));
    // Square and tall: rows, as many threads as there are row slivers.
    auto s = matmul::split_for(1024, 1024, 2, mk);  // (171 row slivers of 6 for avx2)
    EXPECT_EQ(s.way, matmul::SplitWay::rows);
    EXPECT_EQ(s.threads, 2);
    s = matmul::split_for(4096, 3, 4, mk);
    EXPECT_EQ(s.way, matmul::SplitWay::rows);
    EXPECT_EQ(s.threads, 4);
    // One row sliver: the rows would leave every thread but one idle.
    s = matmul::split_for(bl.mr, 2048, 2, mk);
    EXPECT_EQ(s.way, matmul::SplitWay::jr);
    EXPECT_EQ(s.threads, 2);
    s = matmul::split_for(1, 100 * bl.nr, 4, mk);
    EXPECT_EQ(s.way, matmul::SplitWay::jr);
    EXPECT_EQ(s.threads, 4);
    // Three row slivers on two threads: one thread would have two; in the jr loop, half each.
    s = matmul::split_for(3 * bl.mr, 64 * bl.nr, 2, mk);
    EXPECT_EQ(s.way, matmul::SplitWay::jr);
    // One tile: nothing to split.
    s = matmul::split_for(bl.mr, bl.nr, 3, mk);
    EXPECT_EQ(s.threads, 1);
    EXPECT_EQ(matmul::split_for(0, 5, 2, mk).threads, 1);
    // PARARUN_GEMM_SPLIT forces a way; a value that names none is ignored.
    {
      const ForcedSplit forced("jr");
      EXPECT_EQ(matmul::split_for(1024, 1024, 2, mk).way, matmul::SplitWay::jr);
    }
    {
      const ForcedSplit forced("rows");
      EXPECT_EQ(matmul::split_for(bl.mr, 2048, 2, mk).way, matmul::SplitWay::rows);
    }
    {
      const ForcedSplit nonsense("columns");
      EXPECT_EQ(matmul::split_for(bl.mr, 2048, 2, mk).way, matmul::SplitWay::jr);
    }
    // (split_for is arithmetic; gemm() runs the micro-kernel: only where the CPU can, a Zen 3
    // has no AVX-512.)
    if (!matmul::cpu_supports(mk)) {
      std::printf("micro-kernel %s: not supported by this CPU, gemm() not run\n",
                  matmul::to_string(mk).c_str());
      continue;
    }
    // gemm() splits as split_for says, every tile once, and every thread of the team works:
    // its share of the micro-tiles, and no more than the busiest thread's under that way.
    for (const auto& [m, n, k, threads] : {std::array<std::size_t, 4>{bl.mr, 2048, 64, 2},
                                           {3 * bl.mr, 64 * bl.nr, 16, 2},
                                           {bl.mr, bl.nc + 5 * bl.nr, 8, 3},
                                           {40 * bl.mr, 3 * bl.nr, bl.kc + 1, 2},
                                           {40 * bl.mr, 3 * bl.nr, 16, 3}}) {
      SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                   " threads " + std::to_string(threads));
      const std::vector<double> a(m * k, 1.0), b(k * n, 1.0);
      std::vector<double> c(m * n, -1.0);
      matmul::GemmTrace trace;
      matmul::gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, static_cast<int>(threads), false,
                   mk, &trace);
      EXPECT_EQ(c.front(), static_cast<double>(k));
      EXPECT_EQ(c.back(), static_cast<double>(k));
      const matmul::Split want = matmul::split_for(m, n, static_cast<int>(threads), mk);
      EXPECT_EQ(trace.split.way, want.way);
      ASSERT_EQ(trace.tiles.size(), static_cast<std::size_t>(want.threads));
      EXPECT_EQ(trace.tiles.size(), threads) << "each shape has work for every thread";
      const auto ceil_div = [](std::size_t x, std::size_t y) { return (x + y - 1) / y; };
      const std::size_t team = trace.tiles.size(), slivers_m = ceil_div(m, bl.mr),
                        k_steps = ceil_div(k, bl.kc);
      std::size_t busiest = 0, total = 0;  // under the way split_for chose
      for (std::size_t jc = 0; jc < n; jc += bl.nc) {
        const std::size_t panel = ceil_div(std::min(bl.nc, n - jc), bl.nr);
        total += slivers_m * panel * k_steps;
        busiest += want.way == matmul::SplitWay::jr ? slivers_m * ceil_div(panel, team) * k_steps
                                                    : ceil_div(slivers_m, team) * panel * k_steps;
      }
      std::size_t sum = 0;
      for (std::size_t t = 0; t < team; ++t) {
        EXPECT_GT(trace.tiles[t], 0u) << "thread " << t << " did nothing";
        EXPECT_LE(trace.tiles[t], busiest) << "thread " << t;
        sum += trace.tiles[t];
      }
      EXPECT_EQ(sum, total);
    }
  }
}

TEST(Gemm, LeadingDimensionsAndSubmatrices) {
  // C[1:4, 2:7] = A[0:3, 1:6] * B[2:7, 0:5] inside larger row-major arrays.
  const std::size_t lda = 9, ldb = 8, ldc = 11, m = 3, n = 5, k = 5;
  std::vector<double> a(6 * lda), b(9 * ldb), c(6 * ldc, 7.0);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = random_unit(2, 1, i);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = random_unit(2, 2, i);
  matmul::gemm(m, n, k, a.data() + 1, lda, b.data() + 2 * ldb, ldb, c.data() + ldc + 2, ldc, 2);
  for (std::size_t i = 0; i < 6; ++i)
    for (std::size_t j = 0; j < ldc; ++j) {
      const bool inside = i >= 1 && i < 1 + m && j >= 2 && j < 2 + n;
      if (!inside) {
        EXPECT_EQ(c[i * ldc + j], 7.0) << "written outside C at " << i << "," << j;
        continue;
      }
      long double s = 0;
      for (std::size_t p = 0; p < k; ++p)
        s += static_cast<long double>(a[(i - 1) * lda + 1 + p]) * b[(2 + p) * ldb + (j - 2)];
      EXPECT_NEAR(c[i * ldc + j], static_cast<double>(s), 1e-14);
    }
}

TEST(Gemm, DegenerateSizes) {
  std::vector<double> c(6, 5.0);
  double x = 1;
  matmul::gemm(2, 3, 0, &x, 1, &x, 3, c.data(), 3, 2);  // k = 0: C = 0
  for (double v : c) EXPECT_EQ(v, 0.0);
  std::fill(c.begin(), c.end(), 5.0);
  matmul::gemm(2, 3, 0, &x, 1, &x, 3, c.data(), 3, 2, /*accumulate=*/true);  // C += 0
  for (double v : c) EXPECT_EQ(v, 5.0);
  matmul::gemm(0, 3, 4, &x, 4, &x, 3, c.data(), 3, 2);  // nothing to do
  // A trace of an empty product says so: no thread multiplied a tile (not a stale trace).
  matmul::GemmTrace trace{{matmul::SplitWay::jr, 3}, {7, 7, 7}};
  matmul::gemm(2, 3, 0, &x, 1, &x, 3, c.data(), 3, 2, false, matmul::best_micro_kernel(), &trace);
  EXPECT_EQ(trace.split.way, matmul::SplitWay::rows);
  EXPECT_TRUE(trace.tiles.empty());
  trace = {{matmul::SplitWay::jr, 3}, {7, 7, 7}};
  matmul::gemm(0, 3, 4, &x, 4, &x, 3, c.data(), 3, 2, false, matmul::best_micro_kernel(), &trace);
  EXPECT_TRUE(trace.tiles.empty());
}
