// Running a batch on this node: jobs packed onto free cores (never more than there are),
// each pinned to its own, ended at its time limit, retried, and recorded exactly once.
//
// A batch folder holds batch.json (the jobs), jobs/ID.jsonl (each job's final record, written
// whole: a job is done exactly when its file exists; --resume runs again the jobs whose record
// is not a verified one), logs/ID.log, running/ID (a marker while
// a job runs) and results.jsonl (every final record in job order, remade from jobs/).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pararun/batch.hpp"
#include "pararun/files.hpp"

namespace pararun {

struct BatchOptions {
  std::string out;      ///< the batch folder
  bool resume = false;  ///< go on with the batch in `out`
  int cores = 0;        ///< cores to pack onto (0: every CPU of the node)
  std::string launcher = "mpirun";
  std::string exe;  ///< the pararun binary jobs run
  /// Pin each job to cores of its own (this node); false inside a Slurm allocation, whose
  /// CPUs Slurm has chosen.
  bool pin = true;
  /// Remake results.jsonl (and write checkpoint.json when stopped) at the end; false for a
  /// Slurm array task, which writes its job's file only (the merge job makes results.jsonl).
  bool merge = true;
};

/// The batch folder for `m`: created with batch.json, or (with --resume) the existing one.
/// A folder of another batch is refused; a manifest that gained jobs has them added (their ids
/// in `added`); a manifest that lost or changed a job is refused, naming it. With `lock`, the
/// folder is locked into it (unless it holds a lock) before batch.json is read or written:
/// of two runs started into one new folder at once, the second is refused.
std::string prepare_batch_dir(const BatchManifest& m, const BatchOptions& o,
                              std::vector<std::string>* added,
                              std::optional<FolderLock>* lock = nullptr);

/// Where a batch stands, after each event of a run.
struct BatchProgress {
  int total = 0, done = 0, failed = 0, running = 0, pending = 0;
  double elapsed_s = 0, eta_s = 0;
};

struct BatchEvent {
  enum Kind { started, finished, retrying } kind = started;
  const BatchJob* job = nullptr;
  int attempt = 1;
  int exit_code = 0;
  bool ok = false;  ///< finished with a verified record
  bool timed_out = false;
  double wall_s = 0;
  std::string cpus;  ///< "0-1"
  BatchProgress progress;
};

struct BatchRun {
  int total = 0, ran = 0, ok = 0, failed = 0, skipped = 0, retries = 0;
  int stopped_by = 0;  ///< the signal that stopped the batch, or 0
  /// Why it started no more jobs without a signal: its binary was replaced (a rebuild).
  std::string replaced;
  int cores = 0;
  double makespan_s = 0;
  double held_core_s = 0;  ///< sum over jobs of wall time x cores held
  double cpu_s = 0;        ///< user + system time of the jobs (getrusage of each child)
  double idle_core_s = 0;  ///< core time between a core's jobs while jobs were waiting
  /// Why results.jsonl was not remade at the end ("" when it was): the records stay in jobs/.
  std::string merge_problem;
};

/// Runs every job of `jobs` without a verified final record in `dir` (a job recorded as failed
/// runs again). One run per folder at a time (a lock file); InputError for another, or for two
/// jobs with one id. When `*stop` becomes non-zero,
/// running jobs are ended (they run again on --resume) and checkpoint.json says what is left;
/// when the file at `o.exe` is no longer this program (a rebuild), no job starts any more
/// (those running finish) and checkpoint.json says what is left.
/// results.jsonl is remade at the end.
BatchRun run_batch(const std::vector<BatchJob>& jobs, const std::string& dir, const BatchOptions& o,
                   const volatile int* stop,
                   const std::function<void(const BatchEvent&)>& on_event);

/// A run's summary as summary.json holds it: jobs, ran, ok, failed, skipped, retries, cores,
/// makespan_s, jobs_per_s, cores_held and cpu_busy (shares of cores x makespan),
/// idle_core_s_per_job.
Json batch_summary(const BatchRun& r);

/// Runs `jobs` in `dir` (run_batch) and writes dir/summary.json, naming the jobs a changed
/// manifest `added`.
BatchRun run_batch_with_summary(const std::vector<BatchJob>& jobs, const std::string& dir,
                                const BatchOptions& o, const volatile int* stop,
                                const std::function<void(const BatchEvent&)>& on_event,
                                const std::vector<std::string>& added = {});

/// One way to spend the cores in `pararun batch run --compare`.
struct CompareMode {
  std::string name;  ///< "throughput": a core per job; "latency": every core for each job
  int pes = 1;       ///< cores (threads or ranks) each job gets
  std::string dir;   ///< its batch folder
  BatchRun run;
  double median_job_s = 0;  ///< the median wall time of its verified jobs
};

/// The seeds' distinction at job level, measured: the jobs of `m` on o.cores cores, many at
/// once with one core each (concurrency of jobs: throughput), then one at a time with every
/// core (parallelism inside each job: latency), each in its own folder under o.out after an
/// untimed warm-up; o.out/compare.json holds both summaries. `say` hears what starts. A stop
/// (`*stop`) ends it early: the last mode returned is the stopped one. InputError for a
/// sequential job (it cannot take every core).
std::vector<CompareMode> compare_batch(const BatchManifest& m, BatchOptions o,
                                       const volatile int* stop,
                                       const std::function<void(const std::string&)>& say,
                                       const std::function<void(const BatchEvent&)>& on_event);

/// What the packing sees of a job waiting to start, and of one running.
struct WaitingJob {
  int cores = 1;
  double time_limit_s = 0;   ///< the estimate of how long it runs (its limit)
  std::uint64_t memory = 0;  ///< bytes it reserves
};
struct RunningJob {
  int cores = 1;
  double ends_s = 0;  ///< when its time limit ends it at the latest
};

/// The waiting jobs (indices into `waiting`, in order) that start now on `free_cores`, by EASY
/// backfill, as Slurm's backfill scheduler does with the time limits as estimates: jobs start
/// in order while they fit; the first that does not fit gets a reservation at the earliest
/// time enough cores are free; a later job may pass it only when it fits now and either ends
/// (by its limit) before that time or takes only cores the reserved job leaves over. So a
/// 2-core job is never starved by a stream of 1-core jobs. Memory: a job's reservation must
/// fit `memory_budget` beside those running (`memory_used`), unless nothing else holds any.
std::vector<std::size_t> backfill(int free_cores, std::uint64_t memory_used,
                                  std::uint64_t memory_budget,
                                  const std::vector<RunningJob>& running,
                                  const std::vector<WaitingJob>& waiting, double now_s);

/// The state of one job of a batch folder (pararun batch status).
struct BatchJobState {
  std::string id;
  std::string state;  ///< pending, running, interrupted, done, failed
  int attempts = 0, exit_code = 0;
  double wall_s = 0;
  std::string log, reason;
};

/// Every job of the batch in `dir`, in order; InputError when `dir` is not a batch folder.
std::vector<BatchJobState> batch_status(const std::string& dir);

/// The jobs of the batch folder `dir` (its batch.json); InputError when it is not one.
std::vector<BatchJob> batch_jobs(const std::string& dir);

/// Remakes dir/results.jsonl from the final records in dir/jobs, in the order of `ids`, then
/// the records it held that none of those replaces (of other jobs, or added by hand; their
/// number in `kept`) and its lines that are not records (named on stderr). The file is read
/// and replaced under the lock append_record takes, so no record appended meanwhile is lost.
/// Returns how many job records it merged. WriteError, the file unchanged, when another
/// process holds that lock past `lock_wait_s` (the records stay in jobs/ for a later merge).
int merge_batch_results(const std::string& dir, const std::vector<std::string>& ids,
                        int* kept = nullptr, double lock_wait_s = 60);

}  // namespace pararun
