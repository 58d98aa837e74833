// A study as Slurm jobs: one job array per node count (one task per point, whole nodes,
// a %N throttle) plus a report job that runs after the arrays, however they ended.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pararun/batch.hpp"
#include "pararun/study_options.hpp"

namespace pararun {

/// The Slurm settings of `pararun submit`: InputError for a --max-parallel below 1 or a
/// --time that is not a positive Slurm time (MINUTES, MINUTES:SECONDS, HH:MM:SS, D-HH[:MM[:SS]]).
void check_submit_options(const StudyOptions& o);

/// InputError when `dir` (absolute) holds a space, a % or a control character: #SBATCH lines
/// cannot carry it, and a newline would start a command in the job script.
void check_sbatch_path(const std::string& dir);

/// InputError when srun is to start ranks outside a Slurm allocation (no SLURM_JOB_ID): every
/// run's srun would ask Slurm for an allocation of its own, or fail without a controller, each
/// an error record after the runs without MPI had run. `what` is "the study" or "the batch",
/// `submit` the command that submits it.
void check_srun_in_allocation(const std::string& what, const std::string& submit);

/// A partition as sinfo describes it.
struct Partition {
  std::string name;
  int nodes = 0, cpus = 0;   ///< node count, cores of its smallest node (not hardware threads)
  int threads_per_core = 1;  ///< SMT: above 1, jobs ask for --hint=nomultithread
};

/// The partition `wanted` (empty: the default one) of `sinfo -h -N -o "%N %P %c %z"` output;
/// InputError when it is not there. Output of `sinfo -M A,B` holds a "CLUSTER: A" line before
/// each cluster's nodes: the partition is then the smallest of those the clusters that have it
/// hold (one job script must fit whichever sbatch takes). `clusters` names them in errors.
Partition parse_sinfo(const std::string& text, const std::string& wanted,
                      const std::string& clusters = "");

/// The clusters the site's jobs go to: the value of --sbatch-arg=--clusters=LIST (or -MLIST),
/// empty for the local one. InputError when LIST is not a list of cluster names.
std::string clusters_of(const SlurmSite& site);

/// The partition `wanted` (empty: the default one) from sinfo, asked on `clusters` (-M; empty:
/// the local cluster); InputError when sinfo fails or the partition does not exist.
Partition query_partition(const std::string& wanted, const std::string& clusters = "");

/// Whole nodes a point needs on `part`; InputError when the partition cannot hold it.
int nodes_for(const Point& p, const Partition& part);

struct JobScript {
  std::string path, text;
  int tasks = 0;                  ///< array tasks (points) it runs
  std::vector<std::string> jobs;  ///< the point or job each task runs, by task index
  Json points = Json::array();    ///< a study's: each task's point (point_json), by task index
};

struct Submission {
  std::vector<JobScript> arrays;  ///< one per node count; empty when every point is done
  JobScript report;
  std::string report_name = "report";  ///< what `report` is called: "report", "merge"
};

/// The job scripts of the study in `dir` (an absolute path), for the points not in `done`.
/// `exe` is the pararun binary the tasks run, `common` the job-common.sh they source.
Submission plan_submission(const StudyOptions& o, const StudySpec& spec,
                           const std::vector<Point>& points, const Partition& part,
                           const std::string& dir, const std::set<std::string>& done,
                           const std::string& exe, const std::string& common);

/// The jobs of a batch as Slurm job arrays, one per resource shape (ranks, CPUs per rank,
/// time limit), plus a merge job after them. Each array task runs one job with `pararun batch
/// task DIR JOB`, which writes that job's own record file (many nodes appending to one file
/// on a network filesystem is not safe); the merge job makes results.jsonl from them.
/// InputError when a job does not fit `part` (more CPUs per rank than a node has, more
/// ranks x CPUs than the partition).
Submission plan_batch_submission(const std::vector<BatchJob>& jobs,
                                 const std::set<std::string>& done, const Partition& part,
                                 const std::string& dir, int max_parallel, const std::string& exe,
                                 const std::string& common, const SlurmSite& site = {});

/// Refuses what a site option cannot carry into an #SBATCH line (a space, a quote, a control
/// character: a newline would start a command) and --sbatch-arg options ParaRun sets itself
/// (--array, --nodes, --output, ...: each has its own option or is the plan's).
void check_site(const SlurmSite& site);

/// Writes the script and submits it with sbatch (no shell), after `dependency` (e.g.
/// "--dependency=afterany:12:13", or empty). Returns the job id; InputError when sbatch
/// refuses it. `cluster`, when given, gets the cluster sbatch names after the id ("12;gpu",
/// a site whose --sbatch-arg is --clusters=gpu), or "" for the local one.
std::string submit_job(const JobScript& s, const std::string& dependency,
                       std::string* cluster = nullptr);

/// The job ids of a submission.
struct Submitted {
  std::vector<std::string> arrays;
  std::string report;
  int tasks = 0;        ///< array tasks in all
  std::string cluster;  ///< the cluster sbatch named (the site's --clusters), "" the local one
};

/// Submits every array, then the report (or merge) job after all of them (afterany: it runs
/// however they end). `on_array(script, id)` runs after each array's sbatch, before the next
/// one may fail (to print it). Every submission is kept in DIR/slurm/submitted.json, written
/// after each sbatch (an array submitted before a later sbatch fails stays known): which array
/// task runs which batch job or study point (submitted_tasks).
Submitted submit_all(const Submission& sub, const std::string& dir,
                     const std::function<void(const JobScript&, const std::string&)>& on_array);

/// From DIR/slurm/submitted.json: the latest array task ("ARRAYID_TASK") of each batch job or
/// study point submitted there, and the array ids (empty when nothing was submitted).
struct SubmittedTasks {
  std::map<std::string, std::string> task_of;
  std::vector<std::string> arrays;
  /// When the first of them was submitted ("2026-12-05T14:57:00Z", submitted.json's "at"):
  /// jobs of the same number from before are someone else's.
  std::string since;
  std::map<std::string, Json> point_of;  ///< a study's points (point_json), by point id
  /// The cluster sbatch named for an array (--clusters at the site), by array id; arrays of
  /// the local cluster are not in it.
  std::map<std::string, std::string> cluster_of;
};
SubmittedTasks submitted_tasks(const std::string& dir);

/// Before a study or batch resumes the folder `dir`: InputError when a task submitted from it
/// to Slurm is still pending or running, or when Slurm cannot say and `must_answer` (a
/// submission; a run on this machine goes on where Slurm is not there to ask): run again, a
/// point would run twice, and the later of its records, verified or not, would win.
void check_nothing_still_queued(const std::string& dir, bool must_answer = true);

/// Every script of `sub` as "# PATH" and its text: what --dry-run prints.
std::string dry_run_text(const Submission& sub);

/// What Slurm says of one array task.
struct SlurmTask {
  std::string state;   ///< PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL...
  std::string reason;  ///< why it is pending (squeue's %r), or its exit code (sacct)
  std::string nodes;
  bool from_accounting = false;  ///< sacct's: squeue no longer lists it (ended)
};

/// The tasks of the job arrays `array_ids` that Slurm knows, keyed "ARRAYID_TASK": from
/// `squeue --states=all` (pending, running, and ended ones the controller still holds), then
/// from sacct where accounting is on. A task missing from the answer is neither queued nor
/// running (it ended long ago, or was cancelled before it started). nullopt when squeue
/// does not answer. `since` (UTC, as SubmittedTasks::since): accounting is asked only about
/// jobs from then on, and of a number that occurs twice the later job counts (job numbers
/// are reused after the controller's counter wraps or restarts). `cluster_of` (as
/// SubmittedTasks::cluster_of): an array on another cluster is asked for there (-M), each
/// cluster once; nullopt when no cluster's squeue answers (`every_cluster`: whether each did).
std::optional<std::map<std::string, SlurmTask>> query_array_tasks(
    const std::vector<std::string>& array_ids, const std::string& since = "",
    const std::map<std::string, std::string>& cluster_of = {}, bool* every_cluster = nullptr);

/// True for a Slurm job state of a job that has not ended (PENDING, RUNNING, ...).
bool slurm_state_active(const std::string& state);

}  // namespace pararun
