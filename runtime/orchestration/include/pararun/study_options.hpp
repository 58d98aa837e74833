// A study as the user gives it: flags or a YAML study file, as text, then checked into a
// StudySpec. Every problem is an InputError (errors.hpp) that names the option, or the file
// and line.
#pragma once

#include <functional>
#include <string>

#include "pararun/study.hpp"

namespace pararun {

/// What a site asks of every Slurm job (pararun submit, pararun batch submit): #SBATCH lines of
/// its own, in every job script, the report and merge jobs included.
struct SlurmSite {
  std::string account, qos, constraint, reservation;
  std::vector<std::string> sbatch_args;  ///< --sbatch-arg, each its own #SBATCH line
  std::string mpi;    ///< srun's MPI plugin (SLURM_MPI_TYPE); empty: the site's MpiDefault
  std::string setup;  ///< a script every job sources first (modules), absolute; or empty
};

struct StudyOptions {
  /// threads and ranks "auto": scaling_counts of the cores study_spec is given.
  std::string kernels = "matmul,reduction", backends = default_study_backends(), threads = "auto",
              ranks = "auto", sizes = "matmul=1024,reduction=2^26", scaling = "strong",
              launcher = "auto", out, variants;
  int reps = 5, max_reps = 0, oversubscribed_ranks = 0, cores = 0;  ///< max_reps 0: max(20, reps)
  int rounds = 1;
  std::string order = "auto";  ///< fixed, shuffled, or auto (shuffled when rounds > 1)
  long long order_seed = 1;
  bool resume = false;
  // pararun submit only
  std::string partition, time_limit = "00:30:00";
  SlurmSite site;
  int max_parallel = 4;
  bool dry_run = false;
};

/// The counts a scaling study steps through up to `cores`: 1, 2, 4, ... and `cores` itself
/// ("1,2,4,6" for 6).
std::string scaling_counts(int cores);

/// The study the options describe, checked (unknown backends, bad counts and sizes). Thread
/// counts "auto" are scaling_counts(node_cores) (the cores of one node: a process's threads
/// share it), rank counts "auto" scaling_counts(all_cores) (every node's), and with both auto
/// the hybrid shapes stay within all_cores; 0 means this process's usable CPUs. Sizes given for
/// kernels the study leaves out are warned about on stderr unless `quiet`.
StudySpec study_spec(const StudyOptions& o, int node_cores = 0, int all_cores = 0,
                     bool quiet = false);

/// The points of the study, each checked as every process of it would check it (the kernel's
/// own check, a rank's memory): what would be refused is refused now.
std::vector<Point> study_points(const StudySpec& spec);

/// The options of a YAML study file over `base`; unknown keys and wrong types name the file
/// and line.
StudyOptions load_study_file(const std::string& path, StudyOptions base);

/// The options of a study file with the command line's over them: every flag `given` says
/// the command line gave wins; the Slurm settings come from the command line only.
StudyOptions merge_study_options(const StudyOptions& file, const StudyOptions& flags,
                                 const std::function<bool(const std::string&)>& given);

}  // namespace pararun
