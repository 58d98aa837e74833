// Shared by the unit and MPI kernel tests: run every variant of a kernel on a backend and
// check that its own verification passes, and fails once the result is corrupted.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "common/random.hpp"
#include "pararun/registry.hpp"

namespace pararun::test {

/// n doubles whose sum rounds in almost every order: uniform in [-1, 1) times 2^e, e in
/// [-40, 40] (the reduction kernel's own inputs sum exactly in any order, so they could not
/// show an order dependence).
inline std::vector<double> rounding_inputs(std::uint64_t n, std::uint64_t seed) {
  std::vector<double> x(n);
  for (std::uint64_t i = 0; i < n; ++i)
    x[i] = std::ldexp(random_unit(seed, 7, i), static_cast<int>(random_bits(seed, 8, i) % 81) - 40);
  return x;
}

// The sanitizer build (about 10x slower) takes 520 for 1000: still more than one K and M block
// of the GEMM on every CPU, an eighth of the naive product's work. Release tests keep 1000.
#ifdef PARARUN_SANITIZED
inline constexpr std::uint64_t kSizes[] = {1, 2, 7, 64, 520};
#else
inline constexpr std::uint64_t kSizes[] = {1, 2, 7, 64, 1000};
#endif

/// Every registered kernel (a new kernel folder is tested without editing the tests) with the
/// sizes it is tested at: kSizes, or the smallest named
/// size (an NPB class) for kernels that have named sizes.
inline std::vector<std::tuple<std::string, std::uint64_t>> all_kernel_sizes() {
  std::vector<std::tuple<std::string, std::uint64_t>> out;
  for (const Kernel* k : Registry::global().kernels()) {
    const auto named = k->named_sizes();
    if (!named.empty()) {
      out.emplace_back(k->name(), named.front().size);
      continue;
    }
    for (std::uint64_t n : kSizes) out.emplace_back(k->name(), n);
  }
  return out;
}

inline void check_all_variants(const std::string& kernel_name, const ExecContext& ctx,
                               std::uint64_t size) {
  const Kernel* k = Registry::global().find(kernel_name);
  ASSERT_NE(k, nullptr);
  const auto variants = k->variants_of(ctx.backend);
  ASSERT_FALSE(variants.empty());
  for (const auto& v : variants) {
    SCOPED_TRACE(kernel_name + "/" + to_string(ctx.backend) + "/" + v.name +
                 " n=" + std::to_string(size) + " threads=" + std::to_string(ctx.threads) +
                 " ranks=" + std::to_string(ctx.ranks));
    const Problem p{size, 7};
    ASSERT_EQ(k->check(p, ctx), "");
    auto inst = k->setup(p, v, ctx);
    // The lifecycle as the runtime drives it: reset before every repetition.
    inst->reset();
    inst->run();
    inst->reset();
    inst->run();  // a second repetition must give the same verified result
    const Verification ok = inst->verify();
    EXPECT_TRUE(ok.passed) << "error " << ok.error << " > tolerance " << ok.tolerance;
    EXPECT_FALSE(ok.reference.empty());
    // What it computed travels as numbers (a checksum, CG's zeta, EP's sums), not only as text.
    EXPECT_FALSE(ok.results.empty());
    for (const auto& [name, value] : ok.results) EXPECT_TRUE(std::isfinite(value)) << name;
    inst->inject_fault();
    const Verification bad = inst->verify();
    EXPECT_FALSE(bad.passed) << "a corrupted result passed: error " << bad.error;
    // Faults that strike while it runs (a corrupted input, halo or SUMMA panel), where the
    // instance has such data: each must fail too (at the small sizes: a fresh setup each).
    if (size > 64) continue;
    for (Fault f : {Fault::input, Fault::halo, Fault::panel}) {
      auto faulty = k->setup(p, v, ctx);
      if (!faulty->arm_fault(f)) continue;
      faulty->reset();
      faulty->run();
      const Verification caught = faulty->verify();
      EXPECT_FALSE(caught.passed) << "a corrupted " << to_string(f) << " passed: error "
                                  << caught.error;
    }
  }
}

}  // namespace pararun::test
