#include "pararun/verify.hpp"

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

double relative_frobenius_error(const double* x, const double* ref, std::size_t n,
                                const ExecContext& ctx) {
  CompensatedSum diff2, ref2;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = x[i] - ref[i];
    diff2.add(d * d);
    ref2.add(ref[i] * ref[i]);
  }
  double local[2] = {diff2.value(), ref2.value()}, global[2] = {local[0], local[1]};
  if (ctx.comm != MPI_COMM_NULL) MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_SUM, ctx.comm);
  const double num = std::sqrt(global[0]);
  return global[1] > 0 ? num / std::sqrt(global[1]) : num;
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
