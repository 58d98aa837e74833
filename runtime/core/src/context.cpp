#include "pararun/context.hpp"

#include <omp.h>

#include <cmath>

#include "pararun/errors.hpp"
#include "pararun/phases.hpp"

namespace pararun {

namespace {

// The helpers' collectives are communication (phases.hpp): a kernel that uses them gets a
// compute-phase imbalance without marking anything itself.
void allreduce(const void* send, void* recv, int n, MPI_Op op, MPI_Comm comm) {
  ScopedPhase communicate(Phase::communicate);
  MPI_Allreduce(send, recv, n, MPI_DOUBLE, op, comm);
}

}  // namespace

double ExecContext::sum(double v) const {
  double out = v;
  if (distributed()) allreduce(&v, &out, 1, MPI_SUM, comm);
  return out;
}

double ExecContext::max(double v) const {
  if (!distributed()) return v;
  // MPI_MAX of a NaN is undefined: a NaN travels as a flag beside the value and comes back.
  const bool nan = std::isnan(v);
  const double in[2] = {nan ? 1.0 : 0.0, nan ? -HUGE_VAL : v};
  double out[2] = {0, 0};
  allreduce(in, out, 2, MPI_MAX, comm);
  return out[0] > 0 ? std::nan("") : out[1];
}

void ExecContext::sum_in_place(double* v, int n) const {
  if (distributed()) allreduce(MPI_IN_PLACE, v, n, MPI_SUM, comm);
}

Range ExecContext::thread_share(std::uint64_t n) {
  return block_range(n, static_cast<std::uint64_t>(omp_get_num_threads()),
                     static_cast<std::uint64_t>(omp_get_thread_num()));
}

void agree(const std::string& problem, const ExecContext& ctx) {
  int mine = problem.empty() ? ctx.ranks : ctx.rank, first = mine;
  if (ctx.comm != MPI_COMM_NULL) MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, ctx.comm);
  if (first < ctx.ranks) throw AgreedInputError(problem, first == ctx.rank);
}

}  // namespace pararun
