#include "pararun/verify.hpp"

#include <omp.h>

#include <cmath>

namespace pararun {

double ExecContext::sum(double v) const {
  double out = v;
  if (distributed()) MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, comm);
  return out;
}

double ExecContext::max(double v) const {
  double out = v;
  if (distributed()) MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm);
  return out;
}

void ExecContext::sum_in_place(double* v, int n) const {
  if (distributed()) MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, comm);
}

Range ExecContext::thread_share(std::uint64_t n) {
  return block_range(n, static_cast<std::uint64_t>(omp_get_num_threads()),
                     static_cast<std::uint64_t>(omp_get_thread_num()));
}

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
