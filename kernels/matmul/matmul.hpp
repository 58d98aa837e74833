// Dense matrix multiply C = A * B on doubles (row-major): the local multiplies that every
// backend of the matmul kernel uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pararun::matmul {

/// C (m x n) = A (m x k) * B (k x n), or C += A * B when `accumulate`; row-major with leading
/// dimensions. `threads` > 1 runs the multiply with that many OpenMP threads.
using LocalMultiply = void (*)(std::size_t m, std::size_t n, std::size_t k, const double* a,
                               std::size_t lda, const double* b, std::size_t ldb, double* c,
                               std::size_t ldc, int threads, bool accumulate);

void multiply_naive(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                    const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                    bool accumulate);
void multiply_eigen(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                    const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                    bool accumulate);
#ifdef PARARUN_HAVE_BLAS
void multiply_blas(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                   const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                   bool accumulate);
#endif

/// The local multiply named "blocked" (ParaRun's GEMM, gemm.hpp), "naive", "eigen" or "blas";
/// throws std::invalid_argument for any other name.
LocalMultiply local_multiply(const std::string& variant);

/// Element (i, j) of the n x n input matrices under `seed`: uniform in [-1, 1).
double element_a(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j);
double element_b(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j);

}  // namespace pararun::matmul
