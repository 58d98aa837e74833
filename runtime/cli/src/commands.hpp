// The pararun subcommands. Each returns the process exit code.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pararun/analysis.hpp"
#include "pararun/errors.hpp"
#include "pararun/kernel.hpp"
#include "pararun/mpi_session.hpp"
#include "pararun/run_request.hpp"
#include "pararun/study_options.hpp"

namespace pararun::app {

using pararun::kExitOk;  // the exit codes (errors.hpp)
using pararun::kExitRuntimeError;
using pararun::kExitUsage;
using pararun::kExitVerificationFailed;

/// Bad input, already reported on stderr; main exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Prints "pararun: error: <what>" on rank 0 only, then throws UsageError. Printing before
/// the throw matters under mpirun: MPI_Finalize during unwinding keeps the other ranks from
/// exiting (and mpirun from killing rank 0) before the line is out.
[[noreturn]] void usage(const std::string& what);
/// Prints the line on this rank, then throws UsageError.
[[noreturn]] void usage_here(const std::string& what);

/// SIGUSR1 (Slurm's warning before the time limit), SIGTERM (scancel) and SIGINT set the
/// returned flag to the signal: studies and batches stop cleanly and can be resumed.
const volatile int* install_stop_handlers();

using RunOptions = RunRequest;

struct TuneOptions {
  std::string kernel, backend = "seq", variant, size = "1024", file;
  int threads = 1, reps = 3;
};

struct LauncherOptions {
  std::string launcher, backend = "mpi";
  int ranks = 1, threads = 1, cores = 0;  ///< cores 0: ranks x threads
  bool inherit = false;
};

struct BatchRunOptions {
  std::string manifest, out, launcher = "mpirun";
  std::vector<std::string> tags;  ///< run only jobs with one of these tags (empty: all)
  int cores = 0;                  ///< 0: every CPU of the node
  bool resume = false, compare = false;
};

struct BatchSubmitOptions {
  std::string manifest, out, partition;
  std::vector<std::string> tags;  ///< submit only jobs with one of these tags (empty: all)
  SlurmSite site;
  int max_parallel = 8;
  bool resume = false, dry_run = false;
};

struct ConcurrencyOptions {
  int tasks = 4, reps = 3;
  double wait_seconds = 0.1;
  long steps = 0;  ///< 0: the default arithmetic per compute task
  std::string out;
};

/// Runs a batch manifest on this node (see batch_run.hpp).
int batch_run_command(const BatchRunOptions& opt);
/// The manifest as Slurm job arrays (one per resource shape) plus a merge job.
int batch_submit_command(const BatchSubmitOptions& opt);
/// One job of a batch folder, inside a Slurm array task.
int batch_task_command(const std::string& dir, const std::string& job, const std::string& digest);
/// Remakes a batch folder's results.jsonl from its jobs' record files.
int batch_merge_command(const std::string& dir);
/// Prints the state of every job of a batch folder.
int batch_status_command(const std::string& dir);
int concurrency_command(const ConcurrencyOptions& opt);
/// Times every tuning setting of a kernel and stores the fastest (see tuning.hpp).
int tune_command(const TuneOptions& opt);
/// `mpi`: the session main started under a launcher; run starts one itself for mpi/hybrid.
int run_command(const RunOptions& opt, std::optional<MpiSession>& mpi, int* argc, char*** argv);
int list_command(bool json);
/// Prints launcher_prefix (launcher.hpp) for a shape, one word per line.
int launcher_command(const LauncherOptions& opt);
/// pararun compare BEFORE AFTER: per configuration, faster, slower or no change (exit 1 with
/// fail_on_slower when any is slower or failed after, or when none is in both sets).
int compare_command(const std::string& before, const std::string& after, double alpha,
                    double threshold, bool fail_on_slower);
int info_command(bool json);
/// `read_bytes`: --read-bytes as given (none: the rule, read_buffer_bytes()).
int ceilings_command(int max_threads, const std::optional<std::string>& read_bytes, bool json);
/// `format`: md (the report, and a study folder's files), csv, json (the analysis) or gbench.
int report_command(const std::vector<std::string>& files, const std::string& csv,
                   const std::string& format);
int study_command(const StudyOptions& opt);
/// The study as a Slurm job array plus an aggregation job (see submit.cpp).
int submit_command(const StudyOptions& opt);

}  // namespace pararun::app
