// The NPB kernels against NPB itself: the generator against NPB's double-precision algorithm,
// EP's counts and sums against NPB's published class S output, CG's matrix and zeta.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "cg/cg.hpp"
#include "common/npb_random.hpp"
#include "ep/ep.hpp"
#include "pararun/registry.hpp"

using namespace pararun;

namespace {

/// NPB's randlc as NPB computes it: in double arithmetic, splitting a and x into 23-bit
/// halves so that every product is exact (randdp.c / randi8.f).
double randlc_in_doubles(double* x, double a) {
  const double r23 = std::ldexp(1.0, -23), r46 = r23 * r23;
  const double t23 = std::ldexp(1.0, 23), t46 = t23 * t23;
  double t1 = r23 * a;
  const double a1 = static_cast<int>(t1), a2 = a - t23 * a1;
  t1 = r23 * *x;
  const double x1 = static_cast<int>(t1), x2 = *x - t23 * x1;
  t1 = a1 * x2 + a2 * x1;
  const double t2 = static_cast<int>(r23 * t1), z = t1 - t23 * t2;
  const double t3 = t23 * z + a2 * x2;
  const double t4 = static_cast<int>(r46 * t3);
  *x = t3 - t46 * t4;
  return r46 * *x;
}

/// One run of a registered NPB kernel on one process; the verification's outcome.
Verification run_once(const std::string& kernel, const std::string& size_name, int threads) {
  const Kernel* k = Registry::global().find(kernel);
  EXPECT_NE(k, nullptr);
  ExecContext ctx;
  ctx.backend = threads == 1 ? Backend::seq : Backend::omp;
  ctx.threads = threads;
  omp_set_num_threads(threads);
  const Problem p{*k->parse_size(size_name), 42};
  EXPECT_EQ(k->check(p, ctx), "");
  auto inst = k->setup(p, k->variants_of(ctx.backend).front(), ctx);
  inst->reset();
  inst->run();
  return inst->verify();
}

}  // namespace

TEST(NpbRandom, IntegerGeneratorEqualsNpbsDoubleArithmetic) {
  // The multiplier 5^13 and a large one (EP's batch jump), from two seeds.
  const std::uint64_t multipliers[] = {npb::kMultiplier,
                                       npb::pow46(npb::kMultiplier, std::uint64_t{1} << 17)};
  for (std::uint64_t a : multipliers)
    for (std::uint64_t seed : {std::uint64_t{271828183}, std::uint64_t{314159265}}) {
      std::uint64_t xi = seed;
      double xd = static_cast<double>(seed);
      for (int i = 0; i < 100000; ++i) {
        const double ri = npb::randlc(xi, static_cast<std::uint64_t>(a));
        const double rd = randlc_in_doubles(&xd, static_cast<double>(a));
        ASSERT_EQ(ri, rd) << "step " << i << " multiplier " << a;
        ASSERT_EQ(static_cast<double>(xi), xd);
      }
    }
}

TEST(NpbRandom, VranlcAndJumpsFollowTheSequence) {
  std::uint64_t x = 271828183, y = x;
  double v[1000];
  npb::vranlc(1000, x, npb::kMultiplier, v);
  for (double e : v) EXPECT_EQ(e, npb::randlc(y, npb::kMultiplier));
  EXPECT_EQ(x, y);
  // 1000 steps at once: the seed times a^1000.
  EXPECT_EQ(npb::mul46(271828183, npb::pow46(npb::kMultiplier, 1000)), x);
  EXPECT_EQ(npb::pow46(npb::kMultiplier, 0), 1u);
}

TEST(NpbEp, ClassSMatchesNpbsPublishedOutput) {
  // NPB 3.3.1 EP class S output: 13176389 Gaussian pairs, these annulus counts, and the
  // verification sums of ep.f.
  const ep::Tally t = ep::tally_batches(0, 1u << (24 - ep::kLogBatch));
  const double counts[ep::kAnnuli] = {6140517, 5865300, 1100361, 68546, 1648, 17, 0, 0, 0, 0};
  double pairs = 0;
  for (int l = 0; l < ep::kAnnuli; ++l) {
    EXPECT_EQ(t.q[static_cast<std::size_t>(l)], counts[l]) << "annulus " << l;
    pairs += t.q[static_cast<std::size_t>(l)];
  }
  EXPECT_EQ(pairs, 13176389);
  EXPECT_LE(std::fabs(t.sx / -3.247834652034740e3 - 1), 1e-8);
  EXPECT_LE(std::fabs(t.sy / -6.958407078382297e3 - 1), 1e-8);
  // Batches are independent: any split gives the same counts and (to rounding) sums.
  const ep::Tally a = ep::tally_batches(0, 100), b = ep::tally_batches(100, 156);
  for (std::size_t l = 0; l < ep::kAnnuli; ++l) EXPECT_EQ(a.q[l] + b.q[l], t.q[l]);
  EXPECT_NEAR(a.sx + b.sx, t.sx, 1e-9 * std::fabs(t.sx));
  EXPECT_NEAR(a.sy + b.sy, t.sy, 1e-9 * std::fabs(t.sy));
}

TEST(NpbEp, ClassWVerifiesSequentiallyAndWithThreads) {
  for (int threads : {1, 2}) {
    const Verification v = run_once("ep", "W", threads);
    EXPECT_TRUE(v.passed) << v.reference << " error " << v.error;
    EXPECT_NE(v.reference.find("class W"), std::string::npos) << v.reference;
  }
}

TEST(NpbEp, SizesAreClassesOnly) {
  const Kernel* k = Registry::global().find("ep");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->parse_size("S"), 24u);
  EXPECT_EQ(k->parse_size("a"), 28u);
  EXPECT_EQ(k->parse_size("25"), 25u);
  EXPECT_FALSE(k->parse_size("Q"));
  const ExecContext ctx;
  EXPECT_EQ(k->check({24, 1}, ctx), "");
  EXPECT_NE(k->check({20, 1}, ctx).find("not an NPB class"), std::string::npos);
  EXPECT_NE(k->describe({28, 1}).find("class A"), std::string::npos);
}

TEST(NpbCg, GeneratedMatrixHasNpbsShape) {
  for (const char* name : {"S", "W"}) {
    const cg::ClassInfo& c = *cg::find_class(*Registry::global().find("cg")->parse_size(name));
    SCOPED_TRACE(name);
    const cg::Csr a = cg::make_matrix(c, 0, c.na);
    EXPECT_EQ(a.col.size(), c.nnz);
    ASSERT_EQ(a.row_start.size(), c.na + 1);
    // Columns ascending, a diagonal in every row, symmetric to rounding.
    auto at = [&](std::uint64_t i, std::uint64_t j) {
      for (std::uint64_t k = a.row_start[i]; k < a.row_start[i + 1]; ++k)
        if (static_cast<std::uint64_t>(a.col[k]) == j) return a.val[k];
      return std::nan("");
    };
    for (std::uint64_t i = 0; i < c.na; ++i) {
      for (std::uint64_t k = a.row_start[i] + 1; k < a.row_start[i + 1]; ++k)
        ASSERT_LT(a.col[k - 1], a.col[k]);
      ASSERT_FALSE(std::isnan(at(i, i))) << "row " << i;
      for (std::uint64_t k = a.row_start[i]; k < a.row_start[i + 1]; ++k) {
        const auto j = static_cast<std::uint64_t>(a.col[k]);
        ASSERT_NEAR(at(j, i), a.val[k], 1e-14 * (1 + std::fabs(a.val[k])))
            << "(" << i << ", " << j << ")";
      }
    }
    // Row blocks (the MPI distribution) are the whole matrix's rows, bit for bit.
    const std::uint64_t cut = c.na / 3;
    const cg::Csr top = cg::make_matrix(c, 0, cut), rest = cg::make_matrix(c, cut, c.na - cut);
    EXPECT_EQ(top.col.size() + rest.col.size(), a.col.size());
    for (std::uint64_t k = 0; k < top.col.size(); ++k) {
      ASSERT_EQ(top.col[k], a.col[k]);
      ASSERT_EQ(top.val[k], a.val[k]);
    }
    for (std::uint64_t k = 0; k < rest.col.size(); ++k) {
      ASSERT_EQ(rest.col[k], a.col[top.col.size() + k]);
      ASSERT_EQ(rest.val[k], a.val[top.col.size() + k]);
    }
  }
}

TEST(NpbCg, ClassWVerifiesSequentiallyAndWithThreads) {
  for (int threads : {1, 2, 3}) {
    const Verification v = run_once("cg", "W", threads);
    EXPECT_TRUE(v.passed) << v.reference << " error " << v.error;
    EXPECT_LE(v.tolerance, 1e-10);
    EXPECT_NE(v.reference.find("10.362595087124"), std::string::npos) << v.reference;
  }
}

TEST(NpbCg, SizesAreClassesOnly) {
  const Kernel* k = Registry::global().find("cg");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->parse_size("s"), 1400u);
  EXPECT_EQ(k->parse_size("A"), 14000u);
  const ExecContext ctx;
  EXPECT_NE(k->check({1000, 1}, ctx).find("not an NPB class"), std::string::npos);
  EXPECT_EQ(k->check({1400, 1}, ctx), "");
}
