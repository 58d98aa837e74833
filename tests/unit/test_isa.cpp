// What depends on the CPU's instruction set outside the GEMM: the reduction's SIMD sum (an
// AVX-512 version where the CPU has it, else portable lanes). With test_gemm.cpp also built for
// any x86-64 as isa_tests and run under qemu-x86_64 -cpu max (AVX2 and FMA, no AVX-512: a
// Zen 3's instruction set), where PARARUN_EXPECT_CPU=no-avx512 makes sure of the CPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/simd_sum.hpp"
#include "matmul/gemm.hpp"

using namespace pararun;

TEST(Isa, TheCpuIsTheOneTheTestWasRunFor) {
  const char* expect = std::getenv("PARARUN_EXPECT_CPU");
  if (!expect) GTEST_SKIP() << "PARARUN_EXPECT_CPU not set: any CPU";
  ASSERT_STREQ(expect, "no-avx512") << "the one CPU this test knows";
  // Else an emulator that grew AVX-512, or none at all, would test the AVX-512 paths again.
  EXPECT_FALSE(matmul::cpu_supports(matmul::MicroKernel::avx512));
  EXPECT_TRUE(matmul::cpu_supports(matmul::MicroKernel::avx2));
  EXPECT_EQ(matmul::best_micro_kernel(), matmul::MicroKernel::avx2);
}

TEST(Isa, SimdSumIsExactOnIntegersOfEveryLengthAndAlignment) {
  // Small integers add exactly in any order: every version must give the exact sum.
  std::vector<double> x(300);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>((i * 7919) % 101) - 50;
  for (std::size_t offset : {0, 1, 3})
    for (std::size_t n = 0; n + offset <= x.size(); ++n) {
      double exact = 0;
      for (std::size_t i = 0; i < n; ++i) exact += x[offset + i];
      ASSERT_EQ(common::simd_sum(x.data() + offset, n), exact) << "n " << n << " offset " << offset;
      ASSERT_EQ(common::simd_sum_portable(x.data() + offset, n), exact) << "n " << n;
    }
}
