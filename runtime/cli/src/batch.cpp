// pararun batch: a manifest of many jobs run on this node's cores (runtime/orchestration
// batch_run), with progress on stderr, a clean stop on SIGUSR1/SIGTERM/SIGINT, and the
// comparison of two ways to spend the same cores (--compare).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "commands.hpp"
#include "pararun/batch_run.hpp"
#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/process.hpp"
#include "pararun/slurm.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

namespace pararun::app {

namespace {

const volatile int* g_batch_stop = nullptr;  // install_stop_handlers' flag

bool is_folder(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void print_event(const BatchEvent& e, bool tty) {
  const BatchProgress& p = e.progress;
  const int finished = p.done;
  if (tty) {
    const int width = 30;
    const int filled = p.total ? width * finished / p.total : width;
    std::fprintf(stderr, "\r\033[K[%s%s] %d/%d done, %d failed, %d running, elapsed %s, ETA %s",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), finished,
                 p.total, p.failed, p.running, format_duration(p.elapsed_s).c_str(),
                 format_duration(p.eta_s).c_str());
    return;
  }
  if (e.kind == BatchEvent::started) return;
  const std::string what =
      e.ok ? "ok" : format("FAILED (exit %d%s)", e.exit_code, e.timed_out ? ", time limit" : "");
  if (e.kind == BatchEvent::retrying)
    std::fprintf(stderr, "[%d/%d] %s: %s on CPUs %s, attempt %d of %d, retrying\n", finished,
                 p.total, e.job->id.c_str(), what.c_str(), e.cpus.c_str(), e.attempt,
                 e.job->retries + 1);
  else
    std::fprintf(stderr, "[%d/%d] %s: %s, %.2f s on CPUs %s; %d running, %d failed, ETA %s\n",
                 finished, p.total, e.job->id.c_str(), what.c_str(), e.wall_s, e.cpus.c_str(),
                 p.running, p.failed, format_duration(p.eta_s).c_str());
}

/// Runs the jobs in `dir` with progress; the summary goes to dir/summary.json, naming the jobs
/// a changed manifest `added`.
BatchRun run_with_progress(const std::vector<BatchJob>& jobs, const std::string& dir,
                           const BatchOptions& o, const std::vector<std::string>& added = {}) {
  const bool tty = isatty(2);
  const BatchRun r = run_batch_with_summary(
      jobs, dir, o, g_batch_stop, [tty](const BatchEvent& e) { print_event(e, tty); }, added);
  if (tty && r.ran) std::fprintf(stderr, "\n");
  return r;
}

int finish(const BatchRun& r, const std::string& dir) {
  if (r.skipped)
    std::fprintf(stderr, "%d job(s) already had a verified record (--resume)\n", r.skipped);
  if (!r.merge_problem.empty())
    std::fprintf(stderr, "pararun: error: %s\n", printable(r.merge_problem).c_str());
  if (r.stopped_by) {
    std::fprintf(stderr,
                 "pararun: batch stopped by signal %d (%s): records kept in %s/jobs; continue "
                 "with --out %s --resume\n",
                 r.stopped_by, strsignal(r.stopped_by), dir.c_str(), shell_quote(dir).c_str());
    return 128 + r.stopped_by;
  }
  if (!r.replaced.empty()) {
    std::fprintf(stderr,
                 "pararun: error: batch stopped: %s, and the jobs left would be measured by "
                 "another build: records kept in %s/jobs; resume it (--out %s --resume) with "
                 "the build that measured them, or run the batch again into a new folder\n",
                 printable(r.replaced).c_str(), dir.c_str(), shell_quote(dir).c_str());
    return kExitRuntimeError;
  }
  const Json s = batch_summary(r);
  std::printf(
      "Batch %s: %d job(s), %d ok, %d failed, %d skipped; makespan %s on %d core(s), %.2f jobs/s, "
      "cores held %.0f%%, CPU busy %.0f%%\nRecords: %s/results.jsonl (one per job), status: "
      "pararun batch status %s\n",
      dir.c_str(), r.total, r.ok, r.failed, r.skipped, format_seconds(r.makespan_s).c_str(),
      r.cores, s["jobs_per_s"].get<double>(), 100 * s["cores_held"].get<double>(),
      100 * s["cpu_busy"].get<double>(), dir.c_str(), shell_quote(dir).c_str());
  if (!r.merge_problem.empty()) return kExitRuntimeError;
  return r.failed ? kExitVerificationFailed : kExitOk;
}

/// --compare (compare_batch): the two ways to spend the cores, as a table.
int compare(const BatchManifest& m, const BatchOptions& o) {
  const bool tty = isatty(2);
  const auto modes = compare_batch(
      m, o, g_batch_stop,
      [tty](const std::string& s) {  // on a terminal, over the last mode's progress bar
        std::fprintf(stderr, "%s%s\n", tty ? "\r\033[K" : "", s.c_str());
      },
      [tty](const BatchEvent& e) { print_event(e, tty); });
  if (tty) std::fprintf(stderr, "\n");
  if (modes.back().run.stopped_by || !modes.back().run.replaced.empty())
    return finish(modes.back().run, modes.back().dir);
  Table t({"mode", "jobs at once", "jobs", "failed", "makespan", "jobs/s", "cores held", "CPU busy",
           "median job"});
  for (const auto& mode : modes) {
    const Json s = batch_summary(mode.run);
    t.add({format("%s (%d x %d core%s)", mode.name.c_str(), o.cores / mode.pes, mode.pes,
                  mode.pes > 1 ? "s" : ""),
           std::to_string(o.cores / mode.pes), std::to_string(mode.run.ok + mode.run.failed),
           std::to_string(mode.run.failed), format_seconds(mode.run.makespan_s),
           format("%.3f", s["jobs_per_s"].get<double>()),
           format("%.0f%%", 100 * s["cores_held"].get<double>()),
           format("%.0f%%", 100 * s["cpu_busy"].get<double>()), format_seconds(mode.median_job_s)});
  }
  std::printf("Same %d job(s), same %d core(s), %s (%s):\n%s", modes[0].run.total, o.cores,
              cpu_identity().c_str(), host_name().c_str(), t.str().c_str());
  const double tput = modes[0].run.makespan_s > 0 && modes[1].run.makespan_s > 0
                          ? modes[1].run.makespan_s / modes[0].run.makespan_s
                          : 0;
  std::printf(
      "Throughput mode finishes the batch %.2fx as fast; latency mode finishes each job %.2fx as "
      "fast.\nRecords: %s/{throughput,latency}/results.jsonl\n",
      tput, modes[1].median_job_s > 0 ? modes[0].median_job_s / modes[1].median_job_s : 0,
      o.out.c_str());
  for (const auto& mode : modes)
    if (!mode.run.merge_problem.empty()) {
      std::fprintf(stderr, "pararun: error: %s\n", printable(mode.run.merge_problem).c_str());
      return kExitRuntimeError;
    }
  return modes[0].run.failed || modes[1].run.failed ? kExitVerificationFailed : kExitOk;
}

/// Keeps the jobs of `m` carrying one of `tags` and, with `this_cpu`, those whose cpu_flags
/// this CPU has; says on stderr how many were left out and why. InputError when none is left.
void select_jobs(BatchManifest& m, const std::vector<std::string>& tags, bool this_cpu) {
  std::vector<std::pair<std::string, std::string>> left_out;
  const std::vector<std::string> flags = cpu_flags();
  // Without this_cpu (batch submit) the nodes' CPUs are not known here: no job is left out
  // for its flags.
  const std::vector<BatchJob> all = m.jobs;
  m.jobs = select_batch_jobs(all, tags, this_cpu ? &flags : nullptr, &left_out);
  std::set<std::string> kept;
  for (const auto& j : m.jobs) kept.insert(j.id);
  for (const auto& j : all)
    if (!kept.count(j.id)) m.left_out.push_back(j);
  std::map<std::string, int> why;
  for (const auto& [id, reason] : left_out) ++why[reason];
  for (const auto& [reason, n] : why)
    std::fprintf(stderr, "leaving out %d job(s) of %s: %s%s\n", n, m.path.c_str(), reason.c_str(),
                 reason.rfind("needs", 0) == 0 ? " (this CPU lacks it)" : "");
  if (m.jobs.empty())
    throw InputError(m.path + ": no job is left to run (" + std::to_string(left_out.size()) +
                     " left out; see above)");
}

}  // namespace

int batch_run_command(const BatchRunOptions& opt) {
  BatchOptions o;
  o.out = opt.out.empty() ? default_output_folder("batch") : opt.out;
  if (const std::string why = input_replaced_by_folder(opt.manifest, o.out); !why.empty())
    usage_here(why);
  o.resume = opt.resume;
  o.exe = self_executable();
  const int cpus = online_cpus();
  if (opt.cores < 0 || opt.cores > cpus)
    usage_here("--cores must be 1 to " + std::to_string(cpus) + " (the CPUs it may use, " +
               format_cpu_list(usable_cpus()) + "), got " + std::to_string(opt.cores));
  if (const std::string note = narrowed_cpus_note("the batch"); !note.empty())
    std::fprintf(stderr, "pararun: note: %s\n", note.c_str());
  o.cores = opt.cores ? opt.cores : cpus;
  if (opt.launcher != "mpirun" && opt.launcher != "srun")
    usage_here("--launcher must be mpirun or srun, got '" + opt.launcher + "'");
  o.launcher = opt.launcher;
  BatchLimits limits;
  limits.cores = o.cores;
  limits.memory = available_memory_bytes() / 10 * 9;
  BatchManifest m = load_batch_manifest(opt.manifest, limits);
  select_jobs(m, opt.tags, true);
  const bool needs_mpi = std::any_of(m.jobs.begin(), m.jobs.end(),
                                     [](const BatchJob& j) { return uses_mpi(j.backend); });
  if (needs_mpi && !on_path(o.launcher))
    throw InputError("launcher '" + o.launcher +
                     "' is not on PATH; install it (mpirun: Debian's openmpi-bin) or leave mpi "
                     "and hybrid jobs out");
  if (needs_mpi && o.launcher == "srun")
    check_srun_in_allocation("the batch", "pararun batch submit");
  g_batch_stop = install_stop_handlers();
  if (opt.compare) return compare(m, o);
  // A batch running in the folder already: refused before its batch.json is touched.
  std::optional<FolderLock> lock;
  if (opt.resume && is_folder(o.out)) lock.emplace(o.out, "batch");
  // A folder submitted to Slurm: not while its tasks still run there (where Slurm answers).
  if (opt.resume) check_nothing_still_queued(o.out, false);
  std::vector<std::string> added;
  const std::string dir = prepare_batch_dir(m, o, &added, &lock);
  if (!added.empty())
    std::fprintf(
        stderr,
        "%zu job(s) new to this batch are added (the manifest gained them, or --tags chose them)\n",
        added.size());
  return finish(run_with_progress(m.jobs, dir, o, added), dir);
}

int batch_submit_command(const BatchSubmitOptions& opt) {
  if (opt.max_parallel < 1)
    usage_here("--max-parallel must be at least 1, got " + std::to_string(opt.max_parallel));
  check_site(opt.site);
  if (!on_path("sbatch"))
    throw InputError(
        "sbatch is not on PATH: no Slurm here. Run the batch on this machine with 'pararun batch "
        "run' (same manifest), or try Slurm locally: scripts/local-cluster.sh start");
  const Partition part = query_partition(opt.partition, clusters_of(opt.site));
  BatchLimits limits;
  limits.cores = part.cpus * part.nodes;
  BatchManifest m = load_batch_manifest(opt.manifest, limits);
  select_jobs(m, opt.tags, false);
  BatchOptions o;
  o.out = opt.out.empty() ? default_output_folder("batch") : opt.out;
  if (const std::string why = input_replaced_by_folder(opt.manifest, o.out); !why.empty())
    usage_here(why);
  o.resume = opt.resume;
  o.merge = false;  // Slurm's merge job makes results.jsonl (batch.json's history: "submit")
  check_sbatch_path(absolute_path(o.out));  // before any file is made
  std::set<std::string> done;
  // Locked (held while it submits: not beside a batch run here) before Slurm is asked: two
  // resumes at once would both see nothing queued, then submit the same jobs twice.
  std::optional<FolderLock> lock;
  if (!opt.dry_run && opt.resume && is_folder(o.out)) lock.emplace(o.out, "batch");
  if (opt.resume && !opt.dry_run) check_nothing_still_queued(o.out);
  if (!opt.dry_run) {
    std::vector<std::string> added;
    prepare_batch_dir(m, o, &added, &lock);
    if (!added.empty())
      std::fprintf(stderr,
                   "%zu job(s) new to this batch are added (the manifest gained them, or --tags "
                   "chose them)\n",
                   added.size());
    for (const auto& s : batch_status(o.out))
      if (s.state == "done") done.insert(s.id);
    if (const std::string why = make_dirs(o.out + "/slurm"); !why.empty()) throw InputError(why);
  }
  const std::string dir = absolute_path(o.out);
  const Submission sub =
      plan_batch_submission(m.jobs, done, part, dir, opt.max_parallel, self_executable(),
                            data_file("slurm/job-common.sh"), opt.site);
  if (sub.arrays.empty()) {
    std::printf("Every job of %s has a verified record: %s/results.jsonl\n", dir.c_str(),
                dir.c_str());
    return kExitOk;
  }
  if (opt.dry_run) {
    std::printf("%s", dry_run_text(sub).c_str());
    return kExitOk;
  }
  // Every submission is kept in slurm/submitted.json, for batch status.
  const Submitted ids = submit_all(sub, dir, [&](const JobScript& s, const std::string& id) {
    std::printf("submitted job array %s: %d job(s), at most %d at once (%s)\n", id.c_str(), s.tasks,
                opt.max_parallel, s.path.c_str());
  });
  std::printf("submitted merge job %s (after the arrays end)\n", ids.report.c_str());
  std::printf("batch %s: %d job(s) to run on partition %s; state: pararun batch status %s\n",
              dir.c_str(), ids.tasks, part.name.c_str(), shell_quote(dir).c_str());
  return kExitOk;
}

int batch_task_command(const std::string& dir, const std::string& id, const std::string& digest) {
  const std::vector<BatchJob> jobs = batch_jobs(dir);
  const auto it =
      std::find_if(jobs.begin(), jobs.end(), [&](const BatchJob& j) { return j.id == id; });
  if (it == jobs.end()) usage_here("batch " + dir + " has no job '" + id + "'");
  // The task reads what it runs (kernel, input, env) from batch.json: when that is not what
  // was submitted (a folder others can write), nothing runs as the submitting user.
  if (!digest.empty() && it->digest() != digest)
    throw InputError("job " + id + " in " + dir +
                     "/batch.json is not the job that was submitted (batch.json changed since); "
                     "not run: submit the batch again");
  // batch submit cannot know the nodes' CPUs: a job that needs a flag this node lacks ends
  // here with one line (it would die with SIGILL), and batch status shows it without a record.
  const std::vector<std::string> have = cpu_flags();
  std::vector<std::pair<std::string, std::string>> left_out;  // ("ID", "needs avx512f")
  select_batch_jobs({*it}, {}, &have, &left_out);
  if (!left_out.empty())
    throw InputError("job " + id + " needs CPU flag(s) " +
                     left_out[0].second.substr(std::string("needs ").size()) +
                     ", which this node's CPU (" + cpu_identity() + ", " + host_name() + ") lacks");
  BatchOptions o;
  o.out = dir;
  o.exe = self_executable();
  o.launcher = "srun";
  o.cores = it->cores;
  o.pin = false;    // Slurm chose this task's CPUs
  o.merge = false;  // the merge job makes results.jsonl
  g_batch_stop = install_stop_handlers();
  const BatchRun r =
      run_batch({*it}, dir, o, g_batch_stop, [](const BatchEvent& e) { print_event(e, false); });
  if (r.stopped_by) return 128 + r.stopped_by;
  if (!r.replaced.empty()) {  // (a retry left to run: Slurm must not see it completed)
    std::fprintf(stderr, "pararun: error: %s: the job's retry is left to run\n",
                 printable(r.replaced).c_str());
    return kExitRuntimeError;
  }
  return r.failed ? kExitVerificationFailed : kExitOk;
}

int batch_merge_command(const std::string& dir) {
  std::vector<std::string> ids;
  for (const auto& j : batch_jobs(dir)) ids.push_back(j.id);
  int kept = 0;
  const int n = merge_batch_results(dir, ids, &kept);
  std::printf("%s/results.jsonl: %d of %zu job(s) have a record", dir.c_str(), n, ids.size());
  if (kept)
    std::printf("; %d more record(s) it held are kept (no job's record file replaces them)", kept);
  std::printf("\n");
  return kExitOk;
}

int batch_status_command(const std::string& dir) {
  const auto states = batch_status(dir);
  Table t({"job", "state", "attempts", "exit", "time", "note / log"});
  std::map<std::string, int> counts;
  for (const auto& s : states) {
    ++counts[s.state];
    // A job Slurm ended before it began (attempts 0) has neither an exit code nor a time.
    const bool ended = (s.state == "done" || s.state == "failed") && s.attempts > 0;
    t.add({s.id, s.state, s.attempts ? std::to_string(s.attempts) : "",
           ended ? std::to_string(s.exit_code) : "", ended ? format_seconds(s.wall_s) : "",
           s.state == "failed" ? s.reason + ": " + s.log : s.reason});
  }
  std::printf("%s", t.str().c_str());
  std::string line;
  for (const char* state : {"done", "failed", "running", "interrupted", "pending"})
    line += format("%s%d %s", line.empty() ? "" : ", ", counts[state], state);
  std::printf("%zu job(s): %s\n", states.size(), line.c_str());
  return kExitOk;
}

}  // namespace pararun::app
