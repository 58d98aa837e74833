// The pararun command line: every subcommand, its options, and the one line and exit code each
// kind of error ends in. The pararun binary is this plus the kernels it links (apps/pararun).
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <tuple>

#include "commands.hpp"
#include "pararun/backend.hpp"
#include "pararun/cli.hpp"
#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/metadata.hpp"
#include "pararun/mpi_session.hpp"

namespace app = pararun::app;

namespace {

bool prints_messages() {
  int rank = pararun::launcher_world_rank();
  if (pararun::MpiSession::active()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank == 0;
}

/// Under a launcher, a rank that exits non-zero makes mpirun kill the others, maybe before
/// rank 0 has printed. When MPI never started (bad arguments), meet once before exiting;
/// when it did, every rank has the same arguments (checked at start) and comes here too.
int exit_together(int code) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && pararun::launcher_world_size() > 1) {
    MPI_Init(nullptr, nullptr);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
  }
  return code;
}

/// The options that describe a study (pararun study and pararun submit take the same).
void add_study_options(CLI::App* sub, pararun::StudyOptions& so, std::string& file) {
  sub->add_option("file", file, "A YAML study file (flags given as well win over it)");
  sub->add_option("--kernels", so.kernels, "Kernels, comma-separated (default matmul,reduction)");
  sub->add_option("--backends", so.backends,
                  "Backends, comma-separated (default seq,omp,mpi: those this build has)");
  sub->add_option("--threads", so.threads,
                  "Thread counts for omp and hybrid (default auto: 1, 2, 4, ... up to the cores "
                  "of a node, and their number; pararun study: the CPUs it may use)");
  sub->add_option("--ranks", so.ranks,
                  "Rank counts for mpi and hybrid (default auto: 1, 2, 4, ... and the CPU count: "
                  "for study the CPUs it may use, all of the allocation's with srun; for submit "
                  "one node's; with --threads auto too, hybrid shapes stay within them)");
  sub->add_option("--variants", so.variants,
                  "Variants of omp, mpi and hybrid, comma-separated, each where the backend has "
                  "it (default: each backend's first; seq always runs every variant)");
  sub->add_option("--cores", so.cores,
                  "A core budget N: omp on N threads, mpi on N ranks, hybrid in every ranks x "
                  "threads shape of N (instead of --threads and --ranks)");
  sub->add_option("--sizes", so.sizes,
                  "Sizes: N for all kernels or KERNEL=N,... (default matmul=1024,reduction=2^26); "
                  "with weak scaling the size at 1 PE");
  sub->add_option("--scaling", so.scaling, "strong (default) or weak");
  sub->add_option("--reps", so.reps, "Timed repetitions per point, at least (default 5)");
  sub->add_option("--max-reps", so.max_reps,
                  "Cap of the adaptive repetitions (default max(20, --reps)); below --reps is "
                  "refused");
  sub->add_option("--rounds", so.rounds,
                  "Run every point this many times; the report pools them and bootstraps the "
                  "speedup's interval over rounds and repetitions (default 1)");
  sub->add_option("--order", so.order,
                  "fixed (the planned order), shuffled (each round in a random order) or auto "
                  "(default: shuffled when --rounds > 1)");
  sub->add_option("--order-seed", so.order_seed,
                  "Seed of the shuffled order (default 1; study.json keeps seed and order)");
  sub->add_option("--oversubscribed-ranks", so.oversubscribed_ranks,
                  "Add an mpi point with this many ranks, labelled oversubscribed (default none)");
  sub->add_option("--launcher", so.launcher,
                  "auto (srun inside Slurm, else mpirun), mpirun or srun");
  sub->add_option("-o,--out", so.out, "Output folder (default results/study-<UTC time>)");
  sub->add_flag("--resume", so.resume, "Continue the study in --out: skip verified points");
}

/// What a site asks of every job: pararun submit and pararun batch submit take the same.
void add_site_options(CLI::App* sub, pararun::SlurmSite& site) {
  sub->add_option("-A,--account", site.account, "Slurm account to charge (#SBATCH --account)");
  sub->add_option("-q,--qos", site.qos, "Quality of service (#SBATCH --qos)");
  sub->add_option("-C,--constraint", site.constraint, "Node features (#SBATCH --constraint)");
  sub->add_option("--reservation", site.reservation, "Reservation (#SBATCH --reservation)");
  sub->add_option("--sbatch-arg", site.sbatch_args,
                  "One more #SBATCH option for every job, e.g. --sbatch-arg=--mail-type=END "
                  "(repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--mpi", site.mpi,
                  "srun's MPI plugin for every step, e.g. pmix (default: the site's MpiDefault)");
  // The setup script: modules or environment every job needs, sourced before anything runs.
  if (const char* setup = std::getenv("PARARUN_SETUP")) site.setup = setup;
  sub->add_option("--setup", site.setup,
                  "A script every job sources first, e.g. module loads (default: "
                  "$PARARUN_SETUP); an absolute path the nodes can read");
}

}  // namespace

[[noreturn]] void app::usage_here(const std::string& what) {
  std::fprintf(stderr, "pararun: error: %s\n", pararun::printable(what).c_str());
  throw UsageError(what);
}

[[noreturn]] void app::usage(const std::string& what) {
  if (prints_messages()) usage_here(what);
  throw UsageError(what);
}

namespace pararun {
namespace {

/// The command line, run: cli_main's exit code before stdout is checked.
int dispatch(int argc, char** argv) {
  // `pararun run` under a launcher: MPI first, and every rank must have been started with
  // the same command line, or the ranks would take different paths and wait for each other
  // forever (a different kernel, size, --reps or a bad option on one rank).
  // A build without MPI is one process: started as one of several ranks, each would run the
  // whole problem and write its own record.
  if (!pararun::built_with_mpi() && pararun::launcher_world_size() > 1) {
    if (pararun::launcher_world_rank() == 0)
      std::fprintf(stderr,
                   "pararun: error: started as %d ranks, but this pararun was built without MPI "
                   "(PARARUN_MPI=OFF): run it as one process, or build it with MPI\n",
                   pararun::launcher_world_size());
    else  // rank 0 prints first: the launcher ends every rank once one fails
      std::this_thread::sleep_for(std::chrono::seconds(1));
    return app::kExitUsage;
  }
  std::optional<pararun::MpiSession> mpi;
  if (argc > 1 && std::string(argv[1]) == "run" && pararun::launched_by_mpi_launcher()) {
    mpi.emplace(&argc, &argv);
    if (const int other = pararun::first_rank_with_other_arguments(argc, argv); other >= 0) {
      if (mpi->rank() == 0)
        std::fprintf(stderr,
                     "pararun: error: rank %d was started with other arguments than rank 0; "
                     "every rank of a run needs the same command line\n",
                     other);
      return app::kExitUsage;
    }
  }
  CLI::App cli{
      "ParaRun: run compute kernels sequentially, with OpenMP threads, with MPI ranks or\n"
      "hybrid MPI+OpenMP, verify every result and measure the speedup honestly.",
      "pararun"};
  cli.require_subcommand(1);
  {
    const pararun::Json build = pararun::build_metadata();
    // (job-common.sh finds the build ID here: a job's binary rebuilt while it waited)
    const std::string id = build.value("build_id", "");
    cli.set_version_flag("--version", "pararun " + build.value("pararun_version", "?") + " (git " +
                                          build.value("git_commit", "?") + ", " +
                                          (id.empty() ? "" : "build id " + id + ", ") +
                                          build.value("build_type", "?") + ", " +
                                          build.value("compiler", "?") + ")");
  }
  cli.set_help_all_flag("--help-all", "Help for every subcommand");

  auto* list = cli.add_subcommand("list", "List kernels, backends and variants, one line each");
  bool list_json = false;
  list->add_flag("--json", list_json, "Print them as JSON (name, summary, sizes, variants)");

  bool info_json = false;
  auto* info = cli.add_subcommand("info", "Host, cores, compiler, flags and library versions");
  info->add_flag("--json", info_json, "Print JSON instead of text");

  bool ceilings_json = false;
  int ceilings_threads = std::min(omp_get_num_procs(), omp_get_thread_limit());
  auto* ceilings = cli.add_subcommand("ceilings",
                                      "Measure this machine's FMA peak and read "
                                      "bandwidth for 1..N threads (about 10 s per thread count)");
  ceilings->add_option("-t,--threads", ceilings_threads,
                       "Up to this many threads (default: the CPUs, at most OMP_THREAD_LIMIT)");
  std::string ceilings_read_bytes;
  ceilings->add_option("--read-bytes", ceilings_read_bytes,
                       "Read this much, 2M to 1T in whole 2 MiB pages, e.g. 64M (default: 4x the "
                       "last-level cache, at least 512 MiB; less may measure the cache)");
  ceilings->add_flag("--json", ceilings_json, "Print JSON instead of text");

  app::ConcurrencyOptions co;
  auto* conc = cli.add_subcommand(
      "concurrency",
      "Concurrency is not parallelism, measured: N compute-bound and N wait-bound "
      "tasks, sequential, in an event loop, as threads on one core, on all cores");
  conc->add_option("--tasks", co.tasks, "Tasks per workload (default 4)");
  conc->add_option("--reps", co.reps,
                   "Repetitions of each mode; the median is reported (default 3)");
  conc->add_option("--wait", co.wait_seconds,
                   "Simulated I/O latency of a wait task in seconds (default 0.1)");
  conc->add_option("--steps", co.steps, "Arithmetic steps of a compute task (default 40000000)");
  conc->add_option("-o,--out", co.out, "Append the records to this JSON Lines file");

  pararun::StudyOptions so;
  std::string study_file;
  auto* study = cli.add_subcommand("study",
                                   "A scaling study: every kernel x backend x thread "
                                   "and rank count as its own run, then the report");
  add_study_options(study, so, study_file);
  auto* submit = cli.add_subcommand(
      "submit", "A study as a Slurm job array (one task per point) plus a report job");
  add_study_options(submit, so, study_file);
  submit->add_option("-p,--partition", so.partition, "Slurm partition (default: the default one)");
  submit->add_option("--time", so.time_limit, "Time limit of each point's task (default 00:30:00)");
  submit->add_option("--max-parallel", so.max_parallel,
                     "Array tasks running at once, the %N of --array (default 4)");
  submit->add_flag("--dry-run", so.dry_run, "Print the job scripts and sbatch commands only");
  add_site_options(submit, so.site);

  app::BatchRunOptions bo;
  std::string batch_dir;
  auto* batch = cli.add_subcommand(
      "batch", "Many independent jobs from a YAML manifest, packed onto this node's cores");
  batch->require_subcommand(1);
  auto* batch_run = batch->add_subcommand(
      "run", "Run every job of the manifest (each pinned to its cores, retried, recorded once)");
  batch_run->add_option("manifest", bo.manifest, "The batch manifest (YAML)")->required();
  batch_run->add_option("-o,--out", bo.out, "Batch folder (default results/batch-<UTC time>)");
  batch_run->add_flag("--resume", bo.resume,
                      "Continue the batch in --out: run only jobs without a verified record");
  batch_run->add_option(
      "--cores", bo.cores,
      "Cores to pack jobs onto (default: every CPU it may use: the cgroup's within its start-up "
      "affinity)");
  batch_run->add_option("--tags", bo.tags, "Run only the jobs with one of these tags")
      ->delimiter(',');
  batch_run->add_option("--launcher", bo.launcher, "mpirun (default) or srun, for mpi jobs");
  batch_run->add_flag("--compare", bo.compare,
                      "Run the jobs twice: all at once with 1 core each (throughput) and one at a "
                      "time with every core (latency); print both");
  auto* batch_status = batch->add_subcommand("status", "The state of every job of a batch folder");
  batch_status->add_option("dir", batch_dir, "The batch folder")->required();
  app::BatchSubmitOptions bso;
  auto* batch_submit = batch->add_subcommand(
      "submit", "The manifest as Slurm job arrays (one per resource shape) plus a merge job");
  batch_submit->add_option("manifest", bso.manifest, "The batch manifest (YAML)")->required();
  batch_submit->add_option("-o,--out", bso.out,
                           "Batch folder on a filesystem every node sees (default "
                           "results/batch-<UTC time>)");
  batch_submit->add_option("--tags", bso.tags, "Submit only the jobs with one of these tags")
      ->delimiter(',');
  batch_submit->add_option("-p,--partition", bso.partition,
                           "Slurm partition (default: the default one)");
  batch_submit->add_option("--max-parallel", bso.max_parallel,
                           "Array tasks of one shape running at once, the %N of --array "
                           "(default 8)");
  batch_submit->add_flag("--resume", bso.resume,
                         "Submit again only the jobs of --out without a verified record");
  batch_submit->add_flag("--dry-run", bso.dry_run,
                         "Print the job scripts and sbatch commands only");
  add_site_options(batch_submit, bso.site);
  std::string task_job;
  auto* batch_task = batch->add_subcommand("task", "One job of a batch folder (Slurm array tasks)");
  batch_task->group("");  // run by the job scripts of batch submit
  batch_task->add_option("dir", batch_dir, "The batch folder")->required();
  batch_task->add_option("job", task_job, "The job id")->required();
  std::string task_digest;
  batch_task->add_option("--digest", task_digest,
                         "The job's digest when it was submitted: not run if batch.json changed");
  auto* batch_merge = batch->add_subcommand(
      "merge", "Remake a batch folder's results.jsonl from its jobs' record files");
  batch_merge->add_option("dir", batch_dir, "The batch folder")->required();

  app::TuneOptions to;
  auto* tune = cli.add_subcommand(
      "tune",
      "Time every tuning setting of a kernel (matmul: GEMM blocking) on this CPU and "
      "store the fastest for later runs");
  tune->add_option("kernel", to.kernel, "Kernel name (see 'pararun list')")->required();
  tune->add_option("-b,--backend", to.backend, "seq (default) or omp");
  tune->add_option("-v,--variant", to.variant,
                   "Variant (default: every variant with settings, e.g. each micro-kernel)");
  tune->add_option("-n,--size", to.size, "Problem size to tune at (default 1024)");
  tune->add_option("-t,--threads", to.threads, "OpenMP threads with -b omp (default 1)");
  tune->add_option("-r,--reps", to.reps, "Timed repetitions per setting (default 3)");
  tune->add_option("--tuning", to.file,
                   "Tuning file (default $PARARUN_TUNING, else ~/.config/pararun/tuning.json)");
  app::RunOptions o;
  auto* run = cli.add_subcommand("run", "Run one kernel, verify it, time it, print and record it");
  run->add_option("kernel", o.kernel, "Kernel name (see 'pararun list')")->required();
  run->add_option("-b,--backend", o.backend, "Backend: " + pararun::backend_names())->required();
  run->add_option("-v,--variant", o.variant,
                  "Variant within the backend (default: the first listed)");
  run->add_option("-n,--size", o.size,
                  "Problem size, e.g. 1024 or 2^26 (with --input: the file's, may be left out)");
  // (What each kernel reads, from the kernels themselves: cgsolve's was left out by hand.)
  std::string readers;
  for (const Kernel* k : Registry::global().kernels())
    if (!k->input_kind().empty()) readers += (readers.empty() ? "" : ", ") + k->name();
  run->add_option("-i,--input", o.input,
                  "Read the data from this file instead of generating it (kernels that read "
                  "files: " +
                      readers + "; what each reads: pararun list --json)");
  run->add_option(
      "-t,--threads", o.threads,
      "OpenMP threads per process (default: OMP_NUM_THREADS, else the CPUs it was started "
      "on, for hybrid shared by the node's ranks started on them; at most OMP_THREAD_LIMIT)");
  run->add_option("-r,--reps", o.reps, "Timed repetitions, at least (default 5)");
  run->add_option("--max-reps", o.max_reps,
                  "Repeat up to this many times while the 95% CI of the median is wider than "
                  "--ci-target of it (default max(20, --reps))");
  run->add_option("--ci-target", o.ci_target, "Target relative width of the CI (default 0.05)");
  run->add_option("-w,--warmup", o.warmup, "Untimed warm-up repetitions, at least (default 1)");
  run->add_option("--warmup-time", o.warmup_time,
                  "...and warm-up repetitions until they have taken this many seconds (default "
                  "$PARARUN_WARMUP_TIME, else 1: a CPU's first half second can run slower)");
  run->add_option("-s,--seed", o.seed, "Seed of the input data (default 42)");
  run->add_option("--time-limit", o.time_limit,
                  "End the run (exit 3) when it takes longer than this many seconds, e.g. a "
                  "stopped rank (default 21600, 0: none)");
  run->add_option("-o,--out", o.out, "Append the result record to this JSON Lines file");
  run->add_flag("--json", o.json, "Print the record as JSON instead of the table");
  run->add_flag("--inject-fault{output}", o.inject_fault,
                "Corrupt data so that verification must fail (tests the failure path): output "
                "(the default), rank (the last rank's result only), input, halo (mpi/hybrid "
                "stencil) or panel (mpi/hybrid matmul's SUMMA panels)");
  run->add_option("--crash-rank", o.crash_rank,
                  "Fault injection: this rank crashes (SIGSEGV) before the run; tests launchers")
      ->group("Fault injection");  // (a hidden option has no name in CLI11's errors)
  run->add_option("--tuning", o.tuning,
                  "Tuning file from 'pararun tune' (default $PARARUN_TUNING, else "
                  "~/.config/pararun/tuning.json; a setting made on another CPU is not used)");
  run->add_option(
      "--ceilings", o.ceilings,
      "JSON from 'pararun ceilings --json': the record carries the share of the ceiling");
  run->add_option("--scaling", o.scaling, "Label: none, strong or weak (set by 'pararun study')");
  run->add_option("--point", o.point, "Study point id to record (set by 'pararun study')");
  run->add_option("--round", o.round, "Study round to record (set by 'pararun study')");
  run->add_option("--base-size", o.base_size,
                  "Weak scaling: the size at 1 PE (set by 'pararun study')");

  std::vector<std::string> files;
  std::string csv;
  auto* report = cli.add_subcommand("report", "Speedup table of recorded runs (JSON Lines files)");
  report->add_option("files", files, "Result files or study folders")->required();
  report->add_option("--csv", csv, "Also write the table as CSV to this file");
  std::string report_format = "md";
  report->add_option("--format", report_format,
                     "md (the report; a study folder's files are rewritten), csv (the table), "
                     "json (the analysis: groups, speedups, fits) or gbench (Google Benchmark "
                     "JSON, for its compare.py), on stdout");

  std::string before, after;
  double alpha = 0.05, threshold = 0.02;
  bool fail_on_slower = false;
  auto* compare = cli.add_subcommand(
      "compare", "Faster, slower or no change per configuration between two result sets");
  compare->add_option("before", before, "Result file or study folder measured first")->required();
  compare->add_option("after", after, "Result file or study folder measured since")->required();
  compare->add_option("--alpha", alpha, "Significance level of the Mann-Whitney U test (0.05)");
  compare->add_option("--threshold", threshold,
                      "Smallest relative change of the median that counts (default 0.02)");
  compare->add_flag("--fail-on-slower", fail_on_slower,
                    "Exit 1 when any configuration got slower or failed after verifying "
                    "before, or when nothing was compared (for CI regression checks)");

  app::LauncherOptions lo;
  auto* launcher = cli.add_subcommand(
      "launcher",
      "Print the words ParaRun starts the ranks of a run with, one per line (the one launcher "
      "policy, for job scripts: mapfile -t launch < <(pararun launcher srun --ranks 4))");
  launcher->add_option("launcher", lo.launcher, "mpirun or srun")->required();
  launcher->add_option("-b,--backend", lo.backend, "mpi (default) or hybrid");
  launcher->add_option("--ranks", lo.ranks, "MPI ranks (default 1)");
  launcher->add_option("-t,--threads", lo.threads, "OpenMP threads per rank (default 1)");
  launcher->add_option("--cores", lo.cores,
                       "CPUs the run has; more PEs oversubscribe them (default ranks x threads)");
  launcher->add_flag("--inherit", lo.inherit,
                     "Bind nothing: the launcher was pinned to the run's CPUs already");

  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const auto* sub : cli.get_subcommands({})) {
      known |= sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      if (prints_messages())
        std::fprintf(stderr, "pararun: error: unknown command '%s'; commands: %s\n",
                     pararun::printable(argv[1]).c_str(), names.c_str());
      return exit_together(app::kExitUsage);
    }
  }

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    if (prints_messages())
      std::fprintf(stderr, "pararun: error: %s (see 'pararun --help')\n",
                   pararun::printable(e.what()).c_str());
    return exit_together(app::kExitUsage);
  }

  o.threads_given = run->count("--threads") > 0;
  // An output named but empty (-o '') would silently write nothing.
  for (auto [sub, flag, value] :
       {std::make_tuple(run, "--out", &o.out), std::make_tuple(conc, "--out", &co.out),
        std::make_tuple(report, "--csv", &csv), std::make_tuple(study, "--out", &so.out),
        std::make_tuple(submit, "--out", &so.out), std::make_tuple(tune, "--tuning", &to.file),
        std::make_tuple(run, "--tuning", &o.tuning), std::make_tuple(batch_run, "--out", &bo.out),
        std::make_tuple(batch_submit, "--out", &bso.out)})
    if (sub->parsed() && sub->count(flag) > 0 && value->empty()) {
      if (prints_messages())
        std::fprintf(stderr, "pararun: error: %s: the output path is empty\n", flag);
      return exit_together(app::kExitUsage);
    }
  // 0 is how these options say "not given" (the default): given, it is a mistake, not the
  // default (`--cores 0` ran the study over every thread count).
  for (auto [sub, flag, value] :
       {std::make_tuple(study, "--cores", &so.cores), std::make_tuple(submit, "--cores", &so.cores),
        std::make_tuple(study, "--max-reps", &so.max_reps),
        std::make_tuple(submit, "--max-reps", &so.max_reps),
        std::make_tuple(batch_run, "--cores", &bo.cores),
        std::make_tuple(launcher, "--cores", &lo.cores),
        std::make_tuple(run, "--max-reps", &o.max_reps)})
    if (sub->parsed() && sub->count(flag) > 0 && *value == 0) {
      if (prints_messages())
        std::fprintf(stderr,
                     "pararun: error: %s must be 1 or more, got 0 (leave it out for the default)\n",
                     flag);
      return exit_together(app::kExitUsage);
    }
  for (auto* sub : {study, submit})
    if (sub->parsed() && sub->count("--cores") > 0 &&
        (sub->count("--threads") > 0 || sub->count("--ranks") > 0)) {
      std::fprintf(stderr,
                   "pararun: error: --cores replaces --threads and --ranks; give one or the "
                   "other\n");
      return app::kExitUsage;
    }
  if (submit->parsed() && submit->count("--partition") > 0 && so.partition.empty()) {
    std::fprintf(stderr,
                 "pararun: error: --partition is empty; leave it out for the default partition\n");
    return app::kExitUsage;
  }

  try {
    // The commands that start their runs' ranks themselves, or write one folder's files, run
    // as one process: under mpirun each rank ran the whole study (rank 1 refused by the
    // folder lock while rank 0's runs went on, and mpirun waited for it for ever).
    for (auto [sub, name] :
         {std::make_pair(study, "study"), std::make_pair(submit, "submit"),
          std::make_pair(batch_run, "batch run"), std::make_pair(batch_submit, "batch submit"),
          std::make_pair(batch_merge, "batch merge"), std::make_pair(report, "report"),
          std::make_pair(compare, "compare")})
      if (sub->parsed() && pararun::launcher_world_size() > 1)
        app::usage(std::string(name) + " runs on one process; start it without mpirun or srun");
    // The commands that start runs name a bad PARARUN_WARMUP_TIME before anything runs or is
    // submitted, not once per run.
    for (auto* sub : {study, submit, batch_run, batch_submit, tune})
      if (sub->parsed()) pararun::default_warmup_time();
    if (cli.got_subcommand("list")) return app::list_command(list_json);
    if (cli.got_subcommand("info")) return app::info_command(info_json);
    for (auto* sub : {study, submit}) {
      if (!sub->parsed()) continue;
      pararun::StudyOptions merged = so;
      if (!study_file.empty())
        merged = pararun::merge_study_options(
            pararun::load_study_file(study_file, pararun::StudyOptions{}), so,
            [&](const std::string& flag) { return sub->count(flag) > 0; });
      if (const std::string why = pararun::input_replaced_by_folder(study_file, merged.out);
          !why.empty())
        throw pararun::InputError(why);
      return sub == study ? app::study_command(merged) : app::submit_command(merged);
    }
    if (cli.got_subcommand("concurrency")) return app::concurrency_command(co);
    if (cli.got_subcommand("ceilings"))
      return app::ceilings_command(ceilings_threads,
                                   ceilings->count("--read-bytes") > 0
                                       ? std::optional<std::string>(ceilings_read_bytes)
                                       : std::nullopt,
                                   ceilings_json);
    if (cli.got_subcommand("report")) return app::report_command(files, csv, report_format);
    if (cli.got_subcommand("compare"))
      return app::compare_command(before, after, alpha, threshold, fail_on_slower);
    if (launcher->parsed()) return app::launcher_command(lo);
    if (tune->parsed()) return app::tune_command(to);
    if (batch_run->parsed()) return app::batch_run_command(bo);
    if (batch_status->parsed()) return app::batch_status_command(batch_dir);
    if (batch_submit->parsed()) return app::batch_submit_command(bso);
    if (batch_task->parsed()) return app::batch_task_command(batch_dir, task_job, task_digest);
    if (batch_merge->parsed()) return app::batch_merge_command(batch_dir);
    return app::run_command(o, mpi, &argc, &argv);
  } catch (const app::UsageError&) {  // already printed
    return exit_together(app::kExitUsage);
  } catch (const pararun::AgreedInputError& e) {  // every rank: the one that found it prints
    if (e.prints())
      std::fprintf(stderr, "pararun: error: %s\n", pararun::printable(e.what()).c_str());
    return exit_together(app::kExitUsage);
  } catch (const pararun::InputError& e) {
    if (prints_messages())
      std::fprintf(stderr, "pararun: error: %s\n", pararun::printable(e.what()).c_str());
    return exit_together(app::kExitUsage);
  } catch (const pararun::WriteError& e) {
    std::fprintf(stderr, "pararun: error: %s\n", pararun::printable(e.what()).c_str());
    pararun::abort_all(app::kExitRuntimeError);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pararun: error on rank %d: %s\n", pararun::launcher_world_rank(),
                 pararun::printable(e.what()).c_str());
    pararun::abort_all(app::kExitRuntimeError);
  }
}

}  // namespace
}  // namespace pararun

int pararun::cli_main(int argc, char** argv) {
  const int code = dispatch(argc, argv);
  // What went to stdout (a report, a record with --json) is written, or the exit says it is
  // not: to a full disk it was cut short, and the exit was 0.
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    const int err = errno;
    std::fprintf(stderr, "pararun: error: cannot write to standard output%s%s\n", err ? ": " : "",
                 err ? std::strerror(err) : "");
    return code == app::kExitOk ? app::kExitRuntimeError : code;
  }
  return code;
}
