// The execution context of one run as the runtime builds it, the same for `pararun run` and
// the MPI tests: for mpi/hybrid its own duplicate of MPI_COMM_WORLD and the ranks sharing
// each node; the thread count by the OpenMP conventions.
#pragma once

#include <string>

#include "pararun/context.hpp"

namespace pararun {

/// Why `threads` OpenMP threads cannot all run ("" when they can): above OMP_THREAD_LIMIT a
/// team has fewer threads than asked for, and a record, a tuning or a ceiling would claim
/// threads that never ran. `option` names what asked ("--threads").
std::string thread_limit_problem(int threads, const std::string& option = "--threads");

class RunContext {
 public:
  /// `threads` > 0: that many per process (omp, hybrid); 0: OMP_NUM_THREADS where set, and
  /// for hybrid without it the node's CPUs over the ranks on the node; seq and mpi: 1.
  /// Collective over MPI_COMM_WORLD for mpi/hybrid (MPI must be initialised).
  RunContext(Backend backend, int threads);
  ~RunContext();
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  const ExecContext& ctx() const { return ctx_; }

 private:
  ExecContext ctx_;
};

}  // namespace pararun
