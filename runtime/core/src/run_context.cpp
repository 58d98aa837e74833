#include "pararun/run_context.hpp"

#include <omp.h>

#include <sched.h>

#include <algorithm>
#include <cstdint>
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

int hybrid_default_threads(const std::vector<std::vector<int>>& cpus, std::size_t me) {
  const std::vector<int>& mine = cpus.at(me);
  std::size_t sharing = 0;  // (itself among them)
  for (const auto& other : cpus)
    sharing +=
        std::find_first_of(mine.begin(), mine.end(), other.begin(), other.end()) != mine.end();
  return std::max(1, static_cast<int>(mine.size() / std::max<std::size_t>(1, sharing)));
}

namespace {

/// Every rank's usable_cpus() on the node of `node` (a communicator of one node's ranks).
std::vector<std::vector<int>> node_ranks_cpus(MPI_Comm node) {
  constexpr int kWords = CPU_SETSIZE / 64;
  std::vector<std::uint64_t> mine(kWords, 0);
  for (int c : usable_cpus())
    if (c >= 0 && c < CPU_SETSIZE) mine[c / 64] |= std::uint64_t{1} << (c % 64);
  int n = 1;
  MPI_Comm_size(node, &n);
  std::vector<std::uint64_t> all(static_cast<std::size_t>(kWords) * n);
  MPI_Allgather(mine.data(), kWords, MPI_UINT64_T, all.data(), kWords, MPI_UINT64_T, node);
  std::vector<std::vector<int>> out(n);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (all[static_cast<std::size_t>(r) * kWords + c / 64] >> (c % 64) & 1) out[r].push_back(c);
  return out;
}

}  // namespace

RunContext::RunContext(Backend backend, int threads) {
  ctx_.backend = backend;
  // (Whether the CPU sets are gathered depends on the arguments only, the same on every rank:
  // OMP_NUM_THREADS may be set for some ranks and not others, and a collective entered by
  // some ranks only would never end.)
  const bool gather = backend == Backend::hybrid && threads <= 0;
  const bool hybrid_default = gather && !std::getenv("OMP_NUM_THREADS");
  int default_threads = 1;
  if (uses_mpi(backend)) {
    MPI_Comm_dup(MPI_COMM_WORLD, &ctx_.comm);
    MPI_Comm_rank(ctx_.comm, &ctx_.rank);
    MPI_Comm_size(ctx_.comm, &ctx_.ranks);
    MPI_Comm node;
    MPI_Comm_split_type(ctx_.comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &ctx_.ranks_per_node);
    if (gather) {  // (collective over the node's ranks)
      int me = 0;
      MPI_Comm_rank(node, &me);
      default_threads = hybrid_default_threads(node_ranks_cpus(node), static_cast<std::size_t>(me));
    }
    MPI_Comm_free(&node);
  }
  // A team of exactly ctx_.threads, or the record would claim threads that never ran:
  // OMP_DYNAMIC=true let libgomp shrink teams by the load average.
  if (uses_threads(backend)) omp_set_dynamic(0);
  if (!uses_threads(backend))
    ctx_.threads = 1;
  else if (threads > 0)
    ctx_.threads = threads;
  else if (hybrid_default)
    // The CPUs this rank was started on, shared with the node's ranks started on them (a
    // rank bound to one core by mpirun would otherwise run all its threads there).
    ctx_.threads = default_threads;
  else
    ctx_.threads = omp_get_max_threads();
  // (A count asked for above the limit is refused before: thread_limit_problem.)
  ctx_.threads = std::min(ctx_.threads, std::max(1, omp_get_thread_limit()));
}

RunContext::~RunContext() {
  if (ctx_.comm != MPI_COMM_NULL) MPI_Comm_free(&ctx_.comm);
}

}  // namespace pararun
