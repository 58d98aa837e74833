// The pseudorandom generator of the NAS Parallel Benchmarks (randlc/vranlc in NPB):
//   x_{k+1} = a * x_k mod 2^46,  returned as x_{k+1} * 2^-46 in (0, 1),
// with a = 5^13 in the benchmarks. NPB computes it in double arithmetic, exactly (split into
// 23-bit halves); the same sequence comes from 64-bit integers, because the low 46 bits of a
// product are those of its wrapped 64-bit value (2^46 divides 2^64). Used by the NPB kernels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pararun::npb {

inline constexpr std::uint64_t kModMask = (std::uint64_t{1} << 46) - 1;
inline constexpr double kTwoToMinus46 = 0x1.0p-46;
/// NPB's multiplier 5^13.
inline constexpr std::uint64_t kMultiplier = 1220703125;

/// a * b mod 2^46.
constexpr std::uint64_t mul46(std::uint64_t a, std::uint64_t b) {
  return (a * b) & kModMask;
}

/// NPB's randlc(&x, a): advances the seed and returns the new one scaled to (0, 1).
inline double randlc(std::uint64_t& x, std::uint64_t a) {
  x = mul46(x, a);
  return static_cast<double>(x) * kTwoToMinus46;
}

/// NPB's vranlc(n, &x, a, y): the next n numbers of the sequence into y[0..n).
inline void vranlc(std::size_t n, std::uint64_t& x, std::uint64_t a, double* y) {
  std::uint64_t s = x;
  for (std::size_t i = 0; i < n; ++i) {
    s = mul46(s, a);
    y[i] = static_cast<double>(s) * kTwoToMinus46;
  }
  x = s;
}

/// a^k mod 2^46 (k-fold jump of the sequence: seed * pow46(a, k) is k steps ahead).
constexpr std::uint64_t pow46(std::uint64_t a, std::uint64_t k) {
  std::uint64_t r = 1;
  for (; k; k >>= 1, a = mul46(a, a))
    if (k & 1) r = mul46(r, a);
  return r;
}

}  // namespace pararun::npb
