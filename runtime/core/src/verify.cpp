#include "pararun/verify.hpp"

#include <algorithm>
#include <cmath>

namespace pararun {

Verification make_verification(double error, double tolerance, std::string reference) {
  Verification v;
  v.error = error;
  v.tolerance = tolerance;
  v.passed = error <= tolerance;  // false for NaN
  v.reference = std::move(reference);
  return v;
}

double frobenius_error_relative_to(const double* x, const double* ref, const double* scale,
                                   std::size_t n, const ExecContext& ctx) {
  CompensatedSum diff2, scale2;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = x[i] - ref[i];
    diff2.add(d * d);
    scale2.add(scale[i] * scale[i]);
  }
  double local[2] = {diff2.value(), scale2.value()}, global[2] = {local[0], local[1]};
  if (ctx.comm != MPI_COMM_NULL) MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_SUM, ctx.comm);
  const double num = std::sqrt(global[0]);
  return global[1] > 0 ? num / std::sqrt(global[1]) : num;
}

double relative_frobenius_error(const double* x, const double* ref, std::size_t n,
                                const ExecContext& ctx) {
  return frobenius_error_relative_to(x, ref, ref, n, ctx);
}

double componentwise_error(const double* x, const double* ref, const double* scale, std::size_t n,
                           double bound, double floor, const ExecContext& ctx) {
  double worst = 0;
  bool nan = false;
  for (std::size_t i = 0; i < n; ++i) {
    const double share = std::fabs(x[i] - ref[i]) / (bound * scale[i] + floor);
    nan |= std::isnan(share);
    worst = std::max(worst, share);
  }
  return ctx.max(nan ? std::nan("") : worst);
}

double rounding_gamma(std::uint64_t n) {
  const double nu = static_cast<double>(n) * kUnitRoundoff;
  return nu < 1 ? nu / (1 - nu) : HUGE_VAL;
}

void CompensatedSum::add(double v) {
  const double t = sum_ + v;
  if (std::fabs(sum_) >= std::fabs(v))
    compensation_ += (sum_ - t) + v;
  else
    compensation_ += (v - t) + sum_;
  sum_ = t;
}

}  // namespace pararun
