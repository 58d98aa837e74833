// The metadata every record carries (DESIGN.md): where, how and with what it ran.
#pragma once

#include "pararun/context.hpp"
#include "pararun/record.hpp"

namespace pararun {

/// Build facts fixed at compile time: compiler, flags, build type, git commit, versions.
Json build_metadata();

/// Everything about this run's environment. Collective for mpi/hybrid (gathers host names
/// and the CPU affinity of every thread of every rank); the full result is on rank 0.
Json collect_metadata(const ExecContext& ctx);

/// OpenMP version from _OPENMP, e.g. "4.5 (201511)".
std::string openmp_version();
/// "3.4.0"
std::string eigen_version();

}  // namespace pararun
