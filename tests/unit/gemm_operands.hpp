// Random GEMM operands and their long double product: the independent reference of the
// matmul and GEMM unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/random.hpp"

namespace pararun::test {

/// C = A * B in long double, the plain definition.
inline std::vector<double> reference_product(const std::vector<double>& a,
                                             const std::vector<double>& b, std::size_t m,
                                             std::size_t n, std::size_t k) {
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

}  // namespace pararun::test
