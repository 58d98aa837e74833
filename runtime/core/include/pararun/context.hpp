// The execution context a kernel runs in: backend, thread count, communicator.
#pragma once

#include <mpi.h>

#include "pararun/backend.hpp"

namespace pararun {

struct ExecContext {
  Backend backend = Backend::seq;
  int threads = 1;                ///< OpenMP threads per process (1 for seq and mpi)
  MPI_Comm comm = MPI_COMM_NULL;  ///< valid for mpi and hybrid only
  int rank = 0;                   ///< rank in comm (0 without MPI)
  int ranks = 1;                  ///< size of comm (1 without MPI)
  int ranks_per_node = 1;         ///< ranks sharing this rank's node

  bool is_root() const { return rank == 0; }
  /// More threads x ranks on a node than it has CPUs: the run measures concurrency.
  bool oversubscribed(int node_cpus) const { return threads * ranks_per_node > node_cpus; }
};

}  // namespace pararun
