// The one place that initialises and finalises MPI.
#pragma once

#include <mpi.h>

#include <string>

namespace pararun {

/// RAII: MPI_Init_thread (MPI_THREAD_FUNNELED) in the constructor, MPI_Finalize in the
/// destructor. Installs an error handler on MPI_COMM_WORLD that prints one line and aborts.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int thread_level() const { return thread_level_; }

  /// True between MPI_Init and MPI_Finalize.
  static bool active();

 private:
  int rank_ = 0, size_ = 1, thread_level_ = 0;
};

/// The first rank whose command line (argv[1..]) differs from rank 0's, or -1 when every
/// rank was started with the same one. Collective over MPI_COMM_WORLD.
int first_rank_with_other_arguments(int argc, char** argv);

/// True when the process was started by an MPI launcher (mpirun/mpiexec, srun with PMIx).
bool launched_by_mpi_launcher();
/// World size and rank as the launcher's environment says (1 and 0 without a launcher).
int launcher_world_size();
int launcher_world_rank();
/// First line of MPI_Get_library_version (works before MPI_Init).
std::string mpi_library_version();
/// Ends every rank: MPI_Abort when MPI is active and there are several ranks, else exit.
[[noreturn]] void abort_all(int code);

}  // namespace pararun
