// Dense matrix multiply C = A * B on doubles (row-major), the local multiplies that every
// backend of the matmul kernel uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pararun::matmul {

/// C (m x n) = A (m x k) * B (k x n), all row-major and contiguous.
/// `threads` > 1 runs the multiply with that many OpenMP threads.
void multiply_naive(const double* a, const double* b, double* c, std::size_t m, std::size_t n,
                    std::size_t k, int threads);
void multiply_eigen(const double* a, const double* b, double* c, std::size_t m, std::size_t n,
                    std::size_t k, int threads);
#ifdef PARARUN_HAVE_BLAS
void multiply_blas(const double* a, const double* b, double* c, std::size_t m, std::size_t n,
                   std::size_t k, int threads);
#endif

/// Calls the multiply named "blocked" (gemm.hpp), "naive", "eigen" or "blas"; throws
/// std::invalid_argument otherwise.
void multiply(const std::string& variant, const double* a, const double* b, double* c,
              std::size_t m, std::size_t n, std::size_t k, int threads);

/// Element (i, j) of the n x n input matrices under `seed`: uniform in [-1, 1).
double element_a(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j);
double element_b(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j);

/// Tolerance of the relative Frobenius error against Eigen for size n.
double tolerance(std::uint64_t n);

}  // namespace pararun::matmul
