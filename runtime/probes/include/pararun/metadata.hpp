// The metadata every record carries (DESIGN.md): where, how and with what it ran.
#pragma once

#include "pararun/context.hpp"
#include "pararun/json.hpp"

namespace pararun {

/// Build facts fixed at compile time: compiler, flags, build type, git commit, OpenMP and MPI
/// versions (the libraries a kernel uses are the kernel's: Kernel::libraries()).
Json build_metadata();

/// Everything about this run's environment. Collective for mpi/hybrid (gathers host names
/// and the CPU affinity of every thread of every rank); the full result is on rank 0.
Json collect_metadata(const ExecContext& ctx);

/// The node whose processing elements (threads of its ranks) have the fewest CPUs each to run
/// on, from collect_metadata's "affinity": how many PEs, and how many distinct CPUs their
/// affinity masks allow. cpus < pes: they share CPUs (a rank bound to one core running two
/// threads, or more ranks than cores) and the run measures concurrency, not parallelism.
struct NodeCpuUse {
  std::string host;  ///< its host name(s): several when "nodes" are one machine
  int pes = 0;
  int cpus = 0;
};
NodeCpuUse busiest_node(const Json& affinity);

/// OpenMP version from _OPENMP, e.g. "4.5 (201511)".
std::string openmp_version();

}  // namespace pararun
