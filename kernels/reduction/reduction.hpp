// Sum of n doubles: the local sums that every backend of the reduction kernel uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pararun::reduction {

/// Strictly ordered scalar loop (no reassociation, so no SIMD); OpenMP reduction when threads > 1.
double sum_plain(const double* x, std::size_t n, int threads);
/// Reassociated SIMD sum with 32 independent accumulators; OpenMP threads when threads > 1.
double sum_simd(const double* x, std::size_t n, int threads);
/// Calls the sum named "plain" or "simd"; throws std::invalid_argument otherwise.
double sum(const std::string& variant, const double* x, std::size_t n, int threads);

/// Element i of the input under `seed`: a multiple of 2^-20 in [-1, 1).
double element(std::uint64_t seed, std::uint64_t i);

/// The exact sum of elements [begin, begin + count) and of their magnitudes, in units of
/// 2^-20 (integers, so exact for any n this machine can hold).
struct ExactSum {
  std::int64_t sum = 0;
  std::int64_t abs_sum = 0;
};
ExactSum exact_sum(std::uint64_t seed, std::uint64_t begin, std::uint64_t count);

/// The error bound: 0 while every partial sum of any order is exact, else n * u.
double tolerance(std::uint64_t n);

}  // namespace pararun::reduction
