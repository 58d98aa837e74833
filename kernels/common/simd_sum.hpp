// Sum of x[0..n) streamed with enough independent SIMD accumulators to run at memory speed
// (eight AVX-512 registers where the CPU has them, else 32 lanes the compiler vectorises).
// A kernel helper (the reduction's simd variant): the ceilings measure with code of their own.
#pragma once

#include <immintrin.h>

#include <cstddef>

namespace pararun::common {

__attribute__((target("avx512f"))) inline double simd_sum_avx512(const double* x, std::size_t n) {
  __m512d acc[8];
  for (auto& a : acc) a = _mm512_setzero_pd();
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64)
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) acc[j] = _mm512_add_pd(acc[j], _mm512_loadu_pd(x + i + 8 * j));
  for (int j = 1; j < 8; ++j) acc[0] = _mm512_add_pd(acc[0], acc[j]);
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, acc[0]);
  double s = 0;
  for (double v : lanes) s += v;
  for (; i < n; ++i) s += x[i];
  return s;
}

constexpr std::size_t kLanes = 32;

/// Adds x[0, n) into kLanes lanes: lane j gets x[j], x[j + 32], x[j + 64], ... in that order
/// (the tail too). The compiler vectorises across lanes without reordering any lane's sum.
inline void add_into_lanes(const double* x, std::size_t n, double (&lane)[kLanes]) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
#pragma omp simd
    for (std::size_t j = 0; j < kLanes; ++j) lane[j] += x[i + j];
  for (std::size_t j = 0; i < n; ++i, ++j) lane[j] += x[i];
}

inline double simd_sum_portable(const double* x, std::size_t n) {
  double lane[kLanes] = {};
  add_into_lanes(x, n, lane);
  double s = 0;
  for (double v : lane) s += v;
  return s;
}

/// The widest version this CPU runs.
inline double simd_sum(const double* x, std::size_t n) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512 ? simd_sum_avx512(x, n) : simd_sum_portable(x, n);
}

}  // namespace pararun::common
