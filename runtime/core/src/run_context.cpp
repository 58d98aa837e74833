#include "pararun/run_context.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>

#include "pararun/sysinfo.hpp"

namespace pararun {

std::string thread_limit_problem(int threads, const std::string& option) {
  const int limit = omp_get_thread_limit();
  if (threads <= limit) return "";
  return option + " " + std::to_string(threads) + " is above OMP_THREAD_LIMIT (" +
         std::to_string(limit) +
         "), which would run fewer threads than recorded; raise it or ask for fewer";
}

RunContext::RunContext(Backend backend, int threads) {
  ctx_.backend = backend;
  if (uses_mpi(backend)) {
    MPI_Comm_dup(MPI_COMM_WORLD, &ctx_.comm);
    MPI_Comm_rank(ctx_.comm, &ctx_.rank);
    MPI_Comm_size(ctx_.comm, &ctx_.ranks);
    MPI_Comm node;
    MPI_Comm_split_type(ctx_.comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &ctx_.ranks_per_node);
    MPI_Comm_free(&node);
  }
  // A team of exactly ctx_.threads, or the record would claim threads that never ran:
  // OMP_DYNAMIC=true let libgomp shrink teams by the load average.
  if (uses_threads(backend)) omp_set_dynamic(0);
  if (!uses_threads(backend))
    ctx_.threads = 1;
  else if (threads > 0)
    ctx_.threads = threads;
  else if (backend == Backend::hybrid && !std::getenv("OMP_NUM_THREADS"))
    // The node's CPUs shared by its ranks, and no more than this rank was started on (a rank
    // bound to one core by mpirun would otherwise run all its threads there).
    ctx_.threads = std::max(1, std::min(online_cpus(), node_cpu_count() / ctx_.ranks_per_node));
  else
    ctx_.threads = omp_get_max_threads();
  // (A count asked for above the limit is refused before: thread_limit_problem.)
  ctx_.threads = std::min(ctx_.threads, std::max(1, omp_get_thread_limit()));
}

RunContext::~RunContext() {
  if (ctx_.comm != MPI_COMM_NULL) MPI_Comm_free(&ctx_.comm);
}

}  // namespace pararun
