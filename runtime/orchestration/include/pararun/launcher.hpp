// The one launcher policy: the words with which mpirun or srun starts the ranks of a run.
// Studies, the job scripts `pararun submit` writes, batches, the Slurm templates and the
// benchmark script (the last two through `pararun launcher`) all take them from here.
#pragma once

#include <string>
#include <vector>

#include "pararun/backend.hpp"

namespace pararun {

/// Who places the ranks: the launcher, on cores of its choosing (one rank per core, a hybrid
/// rank on `threads` cores), or nobody, because the caller pinned the launcher to the CPUs
/// the run may use (a batch job) and binding would move the ranks to the node's first cores.
enum class Placement { bind_cores, inherit };

struct LaunchShape {
  Backend backend = Backend::mpi;
  int ranks = 1, threads = 1;
};

/// Empty for seq and omp; for mpi and hybrid the launcher ("mpirun" or "srun") and its
/// options. `cores`: the CPUs the run has (a node's, or an allocation's); more PEs than
/// cores oversubscribe on purpose (no binding, `--oversubscribe` / `--overcommit`).
std::vector<std::string> launcher_prefix(const LaunchShape& shape, const std::string& launcher,
                                         int cores, Placement placement = Placement::bind_cores);

}  // namespace pararun
