// pararun study: a scaling study, each point its own process (MPI points under the launcher).
#include "pararun/study.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "commands.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"
#include "study_common.hpp"

namespace pararun::app {

namespace {

volatile int g_stop_signal = 0;  // set by SIGUSR1/SIGTERM/SIGINT: finish cleanly

extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking wait returns and sees the flag
  for (int sig : {SIGUSR1, SIGTERM, SIGINT}) sigaction(sig, &sa, nullptr);
}

std::string duration(double s) {
  if (s < 90) return format("%.0f s", s);
  return format("%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60));
}

/// CPUs the points may use: inside a Slurm allocation all of its nodes' CPUs (srun spreads
/// the ranks over them), else this machine's.
int usable_cpus(const std::string& launcher) {
  const char* per_node = std::getenv("SLURM_JOB_CPUS_PER_NODE");  // e.g. "2(x3),4"
  if (launcher != "srun" || !per_node) return online_cpus();
  int total = 0;
  for (const auto& item : split(per_node)) {
    const int cpus = std::atoi(item.c_str());
    const auto x = item.find("(x");
    total += cpus * (x == std::string::npos ? 1 : std::atoi(item.c_str() + x + 2));
  }
  return total > 0 ? total : online_cpus();
}

}  // namespace

int study_command(const StudyOptions& o) {
  const StudySpec spec = study_spec(o);
  const std::vector<Point> points = study_points(spec);

  std::string launcher = o.launcher;
  if (launcher == "auto")
    launcher = std::getenv("SLURM_JOB_ID") && on_path("srun") ? "srun" : "mpirun";
  if (launcher != "mpirun" && launcher != "srun")
    usage("--launcher must be auto, mpirun or srun, got '" + o.launcher + "'");
  const bool needs_mpi =
      std::any_of(points.begin(), points.end(), [](const Point& p) { return uses_mpi(p.backend); });
  if (needs_mpi && !on_path(launcher))
    usage("launcher '" + launcher + "' is not on PATH; install it (mpirun: Debian's openmpi-bin) " +
          "or leave mpi and hybrid out of --backends");

  const std::string dir = prepare_study_dir(o, study_manifest(spec, points));
  const std::string results = dir + "/results.jsonl";
  std::set<std::string> done;
  for (const auto& id : done_points(dir)) done.insert(id);
  std::remove((dir + "/checkpoint.json").c_str());

  install_stop_handlers();
  const std::string exe = self_executable();
  const int cores = usable_cpus(launcher);
  const bool tty = isatty(2);
  const auto start = std::chrono::steady_clock::now();
  int run_count = 0, failures = 0, skipped = 0;
  const int total = static_cast<int>(points.size());
  for (int i = 0; i < total && !g_stop_signal; ++i) {
    const Point& p = points[static_cast<std::size_t>(i)];
    if (done.count(p.id)) {
      ++skipped;
      continue;
    }
    std::vector<std::string> args = launcher_prefix(p, launcher, cores);
    args.push_back(exe);
    for (auto& a : run_arguments(p, spec, results)) args.push_back(a);
    std::string log = dir + "/logs/" + p.id + ".log";
    std::replace(log.begin() + static_cast<long>(dir.size()) + 6, log.end(), '/', '_');
    const int code = spawn_and_wait(args, log, &g_stop_signal);
    // Stopped while the point ran: abandoned without a record, it runs again on --resume
    // (a point that finished before the signal reached it keeps its record).
    if (g_stop_signal && code > 1) break;
    ++run_count;
    done.insert(p.id);
    if (code != 0) ++failures;
    if (code > 1) {  // no record was written: keep the failure in the results
      Json r = {{"schema", kRecordSchema},
                {"kernel", p.kernel},
                {"backend", to_string(p.backend)},
                {"variant", p.variant},
                {"size", p.size},
                {"threads", p.threads},
                {"ranks", p.ranks},
                {"pes", p.pes()},
                {"scaling", spec.scaling},
                {"point", p.id},
                {"status", "error"},
                {"exit_code", code},
                {"log", log}};
      append_record(results, r);
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const int left = total - i - 1;
    const double eta = elapsed / run_count * left;
    const std::string line =
        format("[%d/%d] %s: %s, elapsed %s, ETA %s", i + 1, total, p.id.c_str(),
               code == 0   ? "ok"
               : code == 1 ? "verification FAILED"
                           : "error (see log)",
               duration(elapsed).c_str(), duration(eta).c_str());
    if (tty)
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    else
      std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (tty) std::fprintf(stderr, "\n");
  if (skipped)
    std::fprintf(stderr, "%d point(s) already had a verified record (--resume)\n", skipped);

  if (g_stop_signal) {
    // Stopped (Slurm's warning signal before the time limit, scancel, Ctrl-C): every finished
    // record is already on disk; the checkpoint says what is left and how to go on.
    // What is done is what the results file says (a point may have written its record
    // just before the signal reached it).
    done.clear();
    for (const auto& id : done_points(dir)) done.insert(id);
    Json left = Json::array();
    for (const auto& p : points)
      if (!done.count(p.id)) left.push_back(p.id);
    const Json checkpoint = {{"stopped_by", strsignal(g_stop_signal)},
                             {"signal", g_stop_signal},
                             {"points_done", total - static_cast<int>(left.size())},
                             {"points_left", left},
                             {"resume", "pararun study ... --out " + dir + " --resume"}};
    write_file_atomically(dir + "/checkpoint.json", checkpoint.dump(2) + "\n");
    std::fprintf(stderr,
                 "pararun: study stopped by signal %d (%s): %d of %d points done, records kept "
                 "in %s; continue with --out %s --resume\n",
                 g_stop_signal, strsignal(g_stop_signal), total - static_cast<int>(left.size()),
                 total, results.c_str(), dir.c_str());
    return 128 + g_stop_signal;
  }

  write_study_report(
      dir, spec.scaling + " scaling, " + std::to_string(total) + " points, launcher " + launcher);
  return failures ? kExitVerificationFailed : kExitOk;
}

}  // namespace pararun::app
