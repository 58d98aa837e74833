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
