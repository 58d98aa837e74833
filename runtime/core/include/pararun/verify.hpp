// Verification helpers shared by the kernels.
#pragma once

#include <cstddef>
#include <string>

#include "pararun/context.hpp"
#include "pararun/kernel.hpp"

namespace pararun {

/// Passed when error <= tolerance (a NaN error fails).
Verification make_verification(double error, double tolerance, std::string reference);

/// ||x - ref||_F / ||scale||_F over all ranks' parts (absolute when ||scale|| is 0).
double frobenius_error_relative_to(const double* x, const double* ref, const double* scale,
                                   std::size_t n, const ExecContext& ctx);

/// ||x - ref||_F / ||ref||_F over all ranks' parts (absolute when ||ref|| is 0).
double relative_frobenius_error(const double* x, const double* ref, std::size_t n,
                                const ExecContext& ctx);

/// The worst element's share of its rounding-error bound, over all ranks' parts:
/// max_i |x_i - ref_i| / (bound * scale_i + floor), where scale_i >= 0 is the element's
/// magnitude scale (|A| |B| for a product) and floor an absolute slack (underflow). 1 or
/// less: every element within its bound. NaN anywhere gives NaN (a failure).
double componentwise_error(const double* x, const double* ref, const double* scale, std::size_t n,
                           double bound, double floor, const ExecContext& ctx);

/// Higham's gamma_n = n u / (1 - n u): |fl(x . y) - x . y| <= gamma_n |x| . |y| for a dot
/// product of length n summed in any order (FMA or not). Infinite when n u >= 1.
double rounding_gamma(std::uint64_t n);

/// Neumaier's compensated summation.
class CompensatedSum {
 public:
  void add(double v);
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0, compensation_ = 0;
};

/// Unit roundoff of double, 2^-53.
inline constexpr double kUnitRoundoff = 0x1.0p-53;

}  // namespace pararun
