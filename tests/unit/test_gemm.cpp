// ParaRun's GEMM: every micro-kernel the CPU runs on shapes around the block sizes, under each
// way of splitting C between threads. Also built for any x86-64 as isa_tests, which CTest runs
// under qemu-x86_64 -cpu max, a CPU with AVX2 and FMA but no AVX-512 (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../scoped_env.hpp"
#include "gemm_operands.hpp"
#include "matmul/gemm.hpp"

using namespace pararun;
using pararun::test::Operands;

namespace {

/// PARARUN_GEMM_SPLIT=way ("": unset, split_for's own choice).
struct ForcedSplit : test::ScopedEnv {
  explicit ForcedSplit(const char* way) : test::ScopedEnv("PARARUN_GEMM_SPLIT", way) {}
};

}  // namespace

TEST(Gemm, EveryMicroKernelOnEdgeShapesAndBlockBoundaries) {
  using matmul::MicroKernel;
  for (MicroKernel mk : {MicroKernel::avx512, MicroKernel::avx2, MicroKernel::portable}) {
    if (!matmul::cpu_supports(mk)) {
      std::printf("micro-kernel %s: not supported by this CPU, skipped\n",
                  matmul::to_string(mk).c_str());
      continue;
    }
    const matmul::Blocking bl = matmul::blocking_for(mk);
    // m, n, k and a forced NC (0: this CPU's blocking). With NC forced to 2 NR, 6 NR + 1
    // columns make three panels of 2, 2 and 3 slivers (the last one column into its third):
    // under the jr split on 3 threads, one thread has no B sliver in the first two.
    const std::vector<std::array<std::size_t, 4>> shapes = {
        {1, 1, 1, 0},
        {2, 3, 5, 0},
        {bl.mr, bl.nr, 7, 0},
        {bl.mr - 1, bl.nr + 1, 13, 0},
        {bl.mr + 1, bl.nr - 1, 31, 0},
        {37, 41, 43, 0},
        {bl.mc + 1, bl.nr + 3, bl.kc + 1, 0},
        {bl.mc - 1, 2 * bl.nr + 1, bl.kc - 1, 0},
        {3, 97, 2 * bl.kc + 5, 0},
        {101, 1, 17, 0},
        // By rows: two A blocks per thread on 2 and 3 threads.
        {6 * bl.mc + 5, 2 * bl.nr + 1, 9, 0},
        // C too short for its rows to go round (split in the jr loop); the second over three NC
        // panels and two KC steps; the third one panel NC + 1 columns wide (NC evened out);
        // then with NC forced to 2 NR.
        {3 * bl.mr - 1, 5 * bl.nr + 3, 9, 0},
        {3, 3 * bl.nc - bl.nr - 5, bl.kc + 3, 0},
        {bl.mr, bl.nc + 1, 20, 0},
        {3, 6 * bl.nr + 1, 9, 2 * bl.nr},
        {3 * bl.mr - 1, 6 * bl.nr + 1, bl.kc + 3, 2 * bl.nr}};
    for (const auto& s : shapes) {
      const std::size_t m = s[0], n = s[1], k = s[2];
      const test::ScopedEnv nc("PARARUN_GEMM_NC", s[3] ? std::to_string(s[3]) : "");
      const Operands op(m, n, k, 9);
      const auto& [a, b, ref] = op;
      for (int threads : {1, 2, 3})
        for (const char* way : {"", "rows", "jr"}) {  // split_for's choice, then each forced
          const ForcedSplit forced(way);
          SCOPED_TRACE(matmul::to_string(mk) + " " + std::to_string(m) + "x" + std::to_string(n) +
                       "x" + std::to_string(k) + " threads " + std::to_string(threads) + " split " +
                       way + " NC " + std::to_string(s[3]));
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

// By rows, a team packs the shared B panel in shares, each thread its own while its first A
// block multiplies them, then reads the others' after a barrier. Small forced blocks give the
// threads two A blocks each on 2 threads (1 or 2 on 3), three KC steps (the last shorter: the
// slivers' offsets change) and three NC panels of 2, 2 and 3 slivers (on 3 and 4 threads a
// thread has no share of a panel), on 2, 3 and 4 threads.
TEST(Gemm, ByRowsATeamPacksTheSharedPanelInSharesOverBlocksStepsAndPanels) {
  using matmul::MicroKernel;
  for (MicroKernel mk : {MicroKernel::avx512, MicroKernel::avx2, MicroKernel::portable}) {
    if (!matmul::cpu_supports(mk)) continue;
    const matmul::Blocking tile = matmul::tile_of(mk);
    const std::size_t m = 7 * tile.mr + 1, n = 6 * tile.nr + 1, k = 19;
    const ForcedSplit rows("rows");
    const test::ScopedEnv mc("PARARUN_GEMM_MC", std::to_string(2 * tile.mr)),
        kc("PARARUN_GEMM_KC", "8"), nc("PARARUN_GEMM_NC", std::to_string(2 * tile.nr));
    const Operands op(m, n, k, 11);
    const auto& [a, b, ref] = op;
    for (int threads : {2, 3, 4}) {
      SCOPED_TRACE(matmul::to_string(mk) + " threads " + std::to_string(threads));
      matmul::GemmTrace trace;
      std::vector<double> c(m * n, -99.0);
      matmul::gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads, false, mk, &trace);
      EXPECT_EQ(trace.split.way, matmul::SplitWay::rows);
      EXPECT_EQ(trace.split.threads, threads);
      for (std::size_t i = 0; i < c.size(); ++i)
        ASSERT_NEAR(c[i], ref[i], 1e-13 * static_cast<double>(k)) << "element " << i;
      matmul::gemm(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads, true, mk);
      for (std::size_t i = 0; i < c.size(); ++i)
        ASSERT_NEAR(c[i], 2 * ref[i], 2e-13 * static_cast<double>(k)) << "element " << i;
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
                                           {bl.mr, 2 * bl.nc + 5 * bl.nr, 8, 3},
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
      // The panels of this product (KC and NC evened out over k and n).
      const std::size_t team = trace.tiles.size(), slivers_m = ceil_div(m, bl.mr),
                        k_steps = ceil_div(k, bl.kc), panels = matmul::nc_panels(n, bl);
      std::size_t busiest = 0, total = 0;  // under the way split_for chose
      for (std::size_t i = 0; i < panels; ++i) {
        const std::size_t panel = ceil_div(matmul::nc_panel(n, bl, panels, i).second, bl.nr);
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

// The derivation from cache sizes, on the CPUs the project's machines have: the AVX2 and
// portable kernels (8 columns) keep their B sliver in half of L1 (BLIS's 6 x 8 on Zen 3: KC
// 256); the AVX-512 kernel's 24-column sliver would get only 80 to 128 k-steps there, so an A
// sliver fills 2/3 of L1 instead.
TEST(Gemm, BlockingIsDerivedFromTheCaches) {
  using matmul::MicroKernel;
  struct Case {
    const char* cpu;
    matmul::Caches caches;
    MicroKernel mk;
    std::size_t mr, nr, kc, mc, nc;
  };
  const std::size_t KiB = 1024, MiB = 1024 * KiB;
  const Case cases[] = {
      {"Zen 3", {32 * KiB, 512 * KiB, 32 * MiB}, MicroKernel::avx2, 6, 8, 256, 240, 4096},
      {"Zen 3", {32 * KiB, 512 * KiB, 32 * MiB}, MicroKernel::portable, 4, 8, 256, 240, 4096},
      {"Zen 5", {48 * KiB, 1 * MiB, 32 * MiB}, MicroKernel::avx512, 8, 24, 512, 240, 2040},
      {"Zen 5", {48 * KiB, 1 * MiB, 32 * MiB}, MicroKernel::avx2, 6, 8, 384, 318, 2728},
      {"Skylake-X", {32 * KiB, 1 * MiB, 32 * MiB}, MicroKernel::avx512, 8, 24, 336, 360, 3120},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.cpu) + ", " + matmul::to_string(c.mk));
    const matmul::Blocking b = matmul::derive_blocking(c.mk, c.caches);
    EXPECT_EQ(b.mr, c.mr);
    EXPECT_EQ(b.nr, c.nr);
    EXPECT_EQ(b.kc, c.kc);
    EXPECT_EQ(b.mc, c.mc);
    EXPECT_EQ(b.nc, c.nc);
    EXPECT_STREQ(b.from, "caches");
  }
  // A smaller L1, a shorter KC; a size not known (0) is kDefaultCaches' (32 KiB, 512 KiB,
  // 8 MiB), exactly.
  const matmul::Blocking small = matmul::derive_blocking(MicroKernel::portable, {24 * KiB, 0, 0});
  EXPECT_EQ(small.kc, 192u);
  EXPECT_EQ(small.mc, 320u);
  const matmul::Blocking none = matmul::derive_blocking(MicroKernel::avx2, {0, 0, 0});
  EXPECT_EQ(none.kc, 256u);
  EXPECT_EQ(none.mc, 240u);
  EXPECT_EQ(none.nc, 1024u);
  // This machine's own derivation is what blocking_for starts from.
  const test::ScopedEnv no_kc("PARARUN_GEMM_KC", ""), no_mc("PARARUN_GEMM_MC", ""),
      no_nc("PARARUN_GEMM_NC", "");
  const matmul::Blocking here =
      matmul::derive_blocking(MicroKernel::portable, matmul::this_machines_caches());
  EXPECT_EQ(matmul::blocking_for(MicroKernel::portable).kc, here.kc);
  EXPECT_EQ(matmul::blocking_for(MicroKernel::portable).mc, here.mc);
}

// KC and NC evened out over the product: no thin last panel that costs a pass of packing A
// (and of C's updates) for a few columns or k-steps. KC 512 and NC 2040 pinned (this Zen 5's
// derived blocking for the AVX-512 kernel), so the figures do not depend on the host's caches.
TEST(Gemm, BlockingIsEvenedOutOverTheProduct) {
  using matmul::MicroKernel;
  const test::ScopedEnv kc("PARARUN_GEMM_KC", "512"), nc("PARARUN_GEMM_NC", "2040");
  const auto ceil_div = [](std::size_t x, std::size_t y) { return (x + y - 1) / y; };
  for (MicroKernel mk : {MicroKernel::avx512, MicroKernel::avx2, MicroKernel::portable}) {
    SCOPED_TRACE(matmul::to_string(mk));
    const matmul::Blocking bl = matmul::blocking_for(mk);
    ASSERT_EQ(bl.kc, 512u);
    ASSERT_EQ(bl.nc, 2040u);  // a multiple of 24 and of 8
    // k: as many steps as KC gives, equal to within one.
    for (std::size_t k = 1; k <= 5000; k += 7) {
      const matmul::Blocking b = matmul::blocking_for(mk, k, 64);
      const std::size_t steps = ceil_div(k, b.kc);
      ASSERT_LE(b.kc, 512u) << k;
      ASSERT_EQ(steps, ceil_div(k, 512)) << k;
      ASSERT_GE(k - (steps - 1) * b.kc + steps, b.kc) << k << ": the last step is not thin";
    }
    EXPECT_EQ(matmul::blocking_for(mk, 520, 64).kc, 260u);
    // n: the panels tile n in order, whole slivers each (the last may end in a part of one),
    // none narrower than NC / 4 unless n is, none wider than 1.25 NC (and a sliver).
    for (std::size_t n = 1; n <= 3 * 2040 + 100; n += 3) {
      const std::size_t panels = matmul::nc_panels(n, bl);
      ASSERT_GE(panels, 1u) << n;
      std::size_t next = 0, widest = 0;
      for (std::size_t i = 0; i < panels; ++i) {
        const auto [first, width] = matmul::nc_panel(n, bl, panels, i);
        ASSERT_EQ(first, next) << n << " panel " << i;
        ASSERT_EQ(first % bl.nr, 0u) << n << " panel " << i;
        ASSERT_GE(width, std::min(n, std::size_t{2040 / 4 - 24})) << n << " panel " << i;
        ASSERT_LE(width, 2040 + 2040 / 4 + bl.nr) << n << " panel " << i;
        next += width;
        widest = std::max(widest, width);
      }
      ASSERT_EQ(next, n);
      ASSERT_EQ(matmul::blocking_for(mk, 64, n).nc, ceil_div(widest, bl.nr) * bl.nr) << n;
    }
    // n = 2048 with NC 2040: one panel, not one of 2040 and one of 8 columns; 4096 two, not
    // three; 2040 + 600 two (600 >= NC / 4).
    EXPECT_EQ(matmul::nc_panels(2048, bl), 1u);
    EXPECT_EQ(matmul::nc_panels(4096, bl), 2u);
    EXPECT_EQ(matmul::nc_panels(2640, bl), 2u);
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

TEST(Gemm, EachMicroKernelAloneWritesOrAddsItsTile) {
  using matmul::MicroKernel;
  for (MicroKernel mk : {MicroKernel::avx512, MicroKernel::avx2, MicroKernel::portable}) {
    if (!matmul::cpu_supports(mk)) {
      EXPECT_THROW(matmul::micro_kernel(mk, 1, nullptr, nullptr, nullptr, 1, false),
                   std::invalid_argument);
      continue;
    }
    const matmul::Blocking t = matmul::tile_of(mk);
    EXPECT_EQ(t.mr, matmul::blocking_for(mk).mr);
    EXPECT_EQ(t.nr, matmul::blocking_for(mk).nr);
    const std::size_t kc = 37, ldc = t.nr + 5;  // C's rows wider than the tile
    std::vector<double> ap(kc * t.mr), bspace(kc * t.nr + 8);
    double* const bp =
        bspace.data() + (64 - reinterpret_cast<std::uintptr_t>(bspace.data()) % 64) % 64 / 8;
    for (std::size_t i = 0; i < ap.size(); ++i) ap[i] = 0.25 * static_cast<double>(i % 7) - 0.5;
    for (std::size_t i = 0; i < kc * t.nr; ++i) bp[i] = 0.125 * static_cast<double>(i % 5) + 1;
    for (const bool accumulate : {false, true}) {
      std::vector<double> c(t.mr * ldc, 3.0);
      matmul::micro_kernel(mk, kc, ap.data(), bp, c.data(), ldc, accumulate);
      for (std::size_t i = 0; i < t.mr; ++i)
        for (std::size_t j = 0; j < ldc; ++j) {
          double want = 3.0;  // outside the tile: untouched
          if (j < t.nr) {
            double s = 0;  // (multiples of 1/32: exact in any order)
            for (std::size_t p = 0; p < kc; ++p) s += ap[p * t.mr + i] * bp[p * t.nr + j];
            want = accumulate ? 3.0 + s : s;
          }
          EXPECT_EQ(c[i * ldc + j], want) << matmul::to_string(mk) << " " << i << "," << j;
        }
    }
  }
}
