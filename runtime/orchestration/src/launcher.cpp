#include "pararun/launcher.hpp"

namespace pararun {

std::vector<std::string> launcher_prefix(const LaunchShape& s, const std::string& launcher,
                                         int cores, Placement placement) {
  if (!uses_mpi(s.backend)) return {};
  const bool over = s.ranks * s.threads > cores;
  const bool bind = placement == Placement::bind_cores && !over;
  const std::string n = std::to_string(s.ranks), t = std::to_string(s.threads);
  if (launcher == "srun") {
    // The site's MPI plugin (MpiDefault in slurm.conf, or SLURM_MPI_TYPE, which the job
    // scripts of `pararun submit --mpi` set), the CPUs of each rank, and a rank that dies
    // ends the step at once instead of leaving the others waiting in a collective until the
    // time limit.
    std::vector<std::string> a = {"srun", "-n", n, "--cpus-per-task", t, "--kill-on-bad-exit=1"};
    a.push_back(over ? "--overcommit" : bind ? "--cpu-bind=cores" : "--cpu-bind=none");
    return a;
  }
  std::vector<std::string> a = {"mpirun", "-n", n};
  if (over)
    a.insert(a.end(), {"--oversubscribe", "--bind-to", "none"});
  else if (!bind)
    a.insert(a.end(), {"--bind-to", "none"});
  else if (s.backend == Backend::hybrid)
    a.insert(a.end(), {"--map-by", "slot:PE=" + t, "--bind-to", "core"});
  else
    a.insert(a.end(), {"--bind-to", "core"});
  return a;
}

}  // namespace pararun
