// The execution context a kernel runs in: backend, thread count, communicator, and the
// helpers that keep MPI and OpenMP plumbing out of kernels (their share of the problem, sums
// and maxima over ranks, loops over threads).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "pararun/backend.hpp"
#include "pararun/partition.hpp"

namespace pararun {

struct ExecContext {
  Backend backend = Backend::seq;
  int threads = 1;                ///< OpenMP threads per process (1 for seq and mpi)
  MPI_Comm comm = MPI_COMM_NULL;  ///< valid for mpi and hybrid only
  int rank = 0;                   ///< rank in comm (0 without MPI)
  int ranks = 1;                  ///< size of comm (1 without MPI)
  int ranks_per_node = 1;         ///< ranks sharing this rank's node

  bool is_root() const { return rank == 0; }
  /// True for mpi and hybrid: the ranks share the problem.
  bool distributed() const { return comm != MPI_COMM_NULL; }
  /// More threads x ranks on a node than it has CPUs: the run measures concurrency.
  bool oversubscribed(int node_cpus) const { return threads * ranks_per_node > node_cpus; }

  /// This rank's block of n items (all of them without MPI).
  Range local_range(std::uint64_t n) const {
    return block_range(n, static_cast<std::uint64_t>(ranks), static_cast<std::uint64_t>(rank));
  }
  /// v summed over the ranks (v itself without MPI); collective.
  double sum(double v) const;
  /// The maximum of v over the ranks, NaN when any rank's v is NaN; collective.
  double max(double v) const;
  /// v[0..n) summed over the ranks in place; collective.
  void sum_in_place(double* v, int n) const;

  /// body(begin, end) once per thread on its static share of [0, n): the same split a
  /// `schedule(static)` loop gives, so it matches a parallel first touch. The inner loop is
  /// the kernel's own (and vectorises as such).
  template <class Body>
  void parallel_blocks(std::uint64_t n, Body body) const {
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      const Range r = thread_share(n);
      if (r.count) body(r.begin, r.begin + r.count);
    }
  }

 private:
  /// The calling OpenMP thread's share of [0, n) (the whole range outside a team).
  static Range thread_share(std::uint64_t n);
};

/// Every rank learns whether any rank has a problem ("" for none); when one has, every rank
/// throws AgreedInputError (errors.hpp), of which the lowest such rank's prints its own
/// message. Collective.
void agree(const std::string& problem, const ExecContext& ctx);

}  // namespace pararun
