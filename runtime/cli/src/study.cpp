// pararun study: a scaling study, each point its own process (runtime/orchestration), with
// progress on stderr and a clean stop on SIGUSR1/SIGTERM/SIGINT.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "commands.hpp"
#include "pararun/files.hpp"
#include "pararun/process.hpp"
#include "pararun/slurm.hpp"
#include "pararun/study_run.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

namespace pararun::app {

namespace {

volatile int g_stop_signal = 0;  // set by SIGUSR1/SIGTERM/SIGINT: finish cleanly

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

}  // namespace

const volatile int* install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking wait returns and sees the flag
  for (int sig : {SIGUSR1, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
  // A closed terminal (a dropped ssh session) stops it cleanly too, unless nohup said to
  // ignore that; a closed pipe on stdout or stderr (`| head`) does not end it halfway (its
  // children get the default back: process.cpp).
  struct sigaction hup {};
  if (sigaction(SIGHUP, nullptr, &hup) == 0 && hup.sa_handler != SIG_IGN)
    sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return &g_stop_signal;
}

int study_command(const StudyOptions& o) {
  // Automatic thread counts: this node's usable CPUs; rank counts: the launcher's (srun: the
  // allocation's on every node).
  const StudySpec spec = study_spec(o, online_cpus(), usable_cpus(launcher_named(o.launcher)));
  const std::vector<Point> points = study_points(spec);
  const std::string launcher = resolve_launcher(o.launcher, points);
  if (const std::string note = narrowed_cpus_note("the study"); !note.empty())
    std::fprintf(stderr, "pararun: note: %s\n", note.c_str());
  // A folder submitted to Slurm: not while its tasks still run there (where Slurm answers).
  if (o.resume && !o.out.empty()) check_nothing_still_queued(o.out, false);
  // Locked until its report is written (two studies in one folder ran every point twice at
  // once), from before study.json is read or written.
  std::optional<FolderLock> lock;
  const std::string dir = prepare_study_dir(o, study_manifest(spec, points), &lock);
  if (!lock) lock.emplace(dir, "study");

  const volatile int* stop = install_stop_handlers();
  const bool tty = isatty(2);
  const StudyRun run =
      run_study(spec, points, dir, launcher, self_executable(), stop, [tty](const PointDone& d) {
        const std::string line =
            format("[%d/%d] %s: %s, elapsed %s, ETA %s", d.index, d.total, d.point->id.c_str(),
                   !d.recorded        ? "error (see log)"
                   : d.exit_code == 0 ? "ok"
                                      : "verification FAILED",
                   format_duration(d.elapsed_s).c_str(), format_duration(d.eta_s).c_str());
        std::fprintf(stderr, tty ? "\r\033[K%s" : "%s\n", line.c_str());
      });
  if (tty && run.run) std::fprintf(stderr, "\n");
  if (run.skipped)
    std::fprintf(stderr, "%d point(s) already had a verified record (--resume)\n", run.skipped);
  const int total = static_cast<int>(points.size());
  if (run.stopped_by) {
    std::fprintf(stderr,
                 "pararun: study stopped by signal %d (%s): %d of %d points done, records kept "
                 "in %s/results.jsonl; continue with: %s\n",
                 run.stopped_by, strsignal(run.stopped_by), total - run.points_left, total,
                 dir.c_str(), printable(run.resume).c_str());
    return 128 + run.stopped_by;
  }
  if (!run.replaced.empty()) {
    std::fprintf(stderr,
                 "pararun: error: study stopped: %s, and the points left would be measured by "
                 "another build: %d of %d points done, records kept in %s/results.jsonl; resume "
                 "it with the build that measured them, or run the study again into a new "
                 "folder\n",
                 printable(run.replaced).c_str(), total - run.points_left, total, dir.c_str());
    return kExitRuntimeError;
  }
  int plots_stopped_by = 0;
  write_study_report(
      dir, spec.scaling + " scaling, " + std::to_string(total) + " points, launcher " + launcher,
      stop, &plots_stopped_by);
  if (plots_stopped_by) {  // every point ran; only the plots are missing
    const std::string failed =
        run.failures ? " (" + std::to_string(run.failures) + " failed verification)" : "";
    std::fprintf(stderr,
                 "pararun: study stopped by signal %d (%s) before its plots: all %d points "
                 "done%s, report.md without plots; draw them with: pararun report %s\n",
                 plots_stopped_by, strsignal(plots_stopped_by), total, failed.c_str(),
                 shell_quote(dir).c_str());
    return 128 + plots_stopped_by;
  }
  return run.failures ? kExitVerificationFailed : kExitOk;
}

}  // namespace pararun::app
