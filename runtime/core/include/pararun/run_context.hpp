// The execution context of one run as the runtime builds it, the same for `pararun run` and
// the MPI tests: for mpi/hybrid its own duplicate of MPI_COMM_WORLD and the ranks sharing
// each node; the thread count by the OpenMP conventions.
#pragma once

#include <string>
#include <vector>

#include "pararun/context.hpp"

namespace pararun {

/// Why `threads` OpenMP threads cannot all run ("" when they can): above OMP_THREAD_LIMIT a
/// team has fewer threads than asked for, and a record, a tuning or a ceiling would claim
/// threads that never ran. `option` names what asked ("--threads").
std::string thread_limit_problem(int threads, const std::string& option = "--threads");

/// A hybrid rank's threads when none are asked for: the CPUs it may use, shared with the ranks
/// of its node whose CPUs meet its own (`cpus[me]` is its own, `cpus` every rank's on the
/// node), at least 1. Unbound ranks of a whole node: its CPUs over its ranks; ranks bound to
/// cores or sockets: their own; two unbound ranks narrowed to 2 of 8 CPUs (taskset): 1 each
/// (the node's 8 over 2 ranks, 4 threads each, ran 8 threads on 2 CPUs).
int hybrid_default_threads(const std::vector<std::vector<int>>& cpus, std::size_t me);

class RunContext {
 public:
  /// `threads` > 0: that many per process (omp, hybrid); 0: OMP_NUM_THREADS where set, and
  /// for hybrid without it hybrid_default_threads; seq and mpi: 1.
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
