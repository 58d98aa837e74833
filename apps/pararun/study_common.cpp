// Shared by pararun study, submit and report: see study_common.hpp.
#include "study_common.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "pararun/analysis.hpp"
#include "pararun/parse.hpp"
#include "pararun/registry.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun::app {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "", ':'))
    if (access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "pararun";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

std::vector<int> counts(const std::string& list, const std::string& option) {
  std::vector<int> out;
  for (const auto& item : split(list)) {
    const auto v = parse_count(item);
    if (!v || *v < 1 || *v > 100000)
      usage(option + " takes whole numbers of at least 1, got '" + item + "'");
    out.push_back(static_cast<int>(*v));
  }
  if (out.empty()) usage(option + " is empty");
  return out;
}

}  // namespace

StudySpec study_spec(const StudyOptions& o) {
  StudySpec spec;
  spec.kernels = split(o.kernels);
  for (const auto& b : split(o.backends)) {
    const auto backend = parse_backend(b);
    if (!backend) usage("unknown backend '" + b + "' in --backends; backends: " + backend_names());
    spec.backends.push_back(*backend);
  }
  spec.threads = counts(o.threads, "--threads");
  spec.ranks = counts(o.ranks, "--ranks");
  for (const auto& item : split(o.sizes)) {
    const auto eq = item.find('=');
    const std::string kernel = eq == std::string::npos ? "" : item.substr(0, eq);
    const std::string value = eq == std::string::npos ? item : item.substr(eq + 1);
    // A class name (NPB's "S") means a size of that kernel; one for all kernels needs all of
    // them to know it.
    std::vector<std::string> kernels = {kernel};
    if (kernel.empty() && !parse_count(value)) kernels = spec.kernels;
    for (const auto& name : kernels) {
      const Kernel* k = Registry::global().find(name);
      const auto n = k ? k->parse_size(value) : parse_count(value);
      if (!n || *n == 0)
        usage("--sizes: '" + value + "' is not a whole number of at least 1" +
              (!k                         ? ""
               : k->named_sizes().empty() ? " for kernel '" + name + "'"
                                          : k->size_name_hint()));
      spec.sizes.emplace_back(name, *n);
    }
  }
  spec.scaling = o.scaling;
  if (o.reps < 1) usage("--reps must be at least 1, got " + std::to_string(o.reps));
  spec.reps = o.reps;
  spec.max_reps = std::max(o.reps, o.max_reps);
  if (o.oversubscribed_ranks < 0) usage("--oversubscribed-ranks must be 0 or more");
  spec.oversubscribed_ranks = o.oversubscribed_ranks;
  return spec;
}

std::vector<Point> study_points(const StudySpec& spec) {
  try {
    return plan_points(spec, Registry::global());
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  }
}

std::string prepare_study_dir(const StudyOptions& o, const Json& manifest) {
  std::string dir = o.out;
  if (dir.empty()) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::gmtime(&now));
    dir = std::string("results/study-") + stamp;
  }
  const std::string manifest_path = dir + "/study.json";
  struct stat st {};
  if (stat(manifest_path.c_str(), &st) == 0) {
    const Json old = Json::parse(slurp(manifest_path), nullptr, false);
    if (old != manifest) usage("'" + dir + "' holds a different study; choose a new output folder");
    if (!o.resume) usage("'" + dir + "' holds this study already; add --resume to continue it");
  } else {
    if (stat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
      usage("'" + dir + "' exists and is not a folder");
    // The folder's name reaches job scripts (pararun submit): no control characters.
    if (const std::string why = make_dirs(dir); !why.empty()) usage(why);
    for (const char* file :
         {"/results.jsonl", "/study.json", "/report.md", "/speedup.csv", "/analysis.json"})
      if (const std::string why = output_file_problem(dir + file); !why.empty()) usage(why);
    write_file_atomically(manifest_path, manifest.dump(2) + "\n");
  }
  mkdir((dir + "/logs").c_str(), 0755);
  return dir;
}

void warn_bad_lines(const RecordFile& rf) {
  for (const auto& p : rf.problems) std::fprintf(stderr, "pararun: warning: %s\n", p.c_str());
}

std::vector<std::string> done_points(const std::string& dir) {
  struct stat st {};
  const std::string results = dir + "/results.jsonl";
  if (stat(results.c_str(), &st) != 0) return {};
  const RecordFile rf = read_records(results);
  warn_bad_lines(rf);
  return completed_points(rf.records);
}

int spawn_and_wait(const std::vector<std::string>& args, const std::string& log,
                   const volatile int* stop) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    // The child dies with the study: a killed study leaves no point running that could
    // append a record after a --resume has started the same point again.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(137);  // the study died before prctl took effect
    // Every CPU of the node: with OMP_PROC_BIND set, libgomp has pinned this (the study's)
    // thread to one core at start-up, and a child would inherit that single core.
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < online_cpus() && c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
    sched_setaffinity(0, sizeof all, &all);
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  bool terminated = false;
  int waited_ms = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, stop ? WNOHANG : 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return 127;
    if (stop && *stop) {
      if (!terminated) {
        kill(pid, SIGTERM);  // mpirun and srun pass it on to their ranks
        terminated = true;
      } else if (waited_ms >= 10000) {
        kill(pid, SIGKILL);
      }
      waited_ms += 50;
    }
    if (stop) usleep(50000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::optional<std::string> capture_output(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, 0);
    dup2(fds[1], 1);
    dup2(null, 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

std::string write_study_report(const std::string& dir, const std::string& title) {
  const RecordFile rf = read_records(dir + "/results.jsonl");
  warn_bad_lines(rf);
  const auto groups = analyse(rf.records);
  std::string text = format_report(groups);
  // Points of the study without a verified record (failed, abandoned or never run).
  const Json manifest = Json::parse(slurp(dir + "/study.json"), nullptr, false);
  if (manifest.is_object() && manifest.contains("points")) {
    const auto done = completed_points(rf.records);
    std::string missing;
    int n = 0;
    for (const auto& id : manifest["points"])
      if (std::find(done.begin(), done.end(), id.get<std::string>()) == done.end()) {
        missing += "  " + id.get<std::string>() + "\n";
        ++n;
      }
    if (n)
      text += "\n" + std::to_string(n) + " point(s) without a verified record (logs in " + dir +
              "/logs):\n" + missing;
  }
  std::fputs(text.c_str(), stdout);
  write_csv(dir + "/speedup.csv", groups);
  write_file_atomically(dir + "/analysis.json", analysis_json(groups).dump(1) + "\n");

  // Plots through Debian's matplotlib, when it is there; the study stands without them.
  const std::string plot_log = dir + "/logs/plot.log";
  std::remove(plot_log.c_str());
  const int plot = spawn_and_wait(
      {"/usr/bin/python3", PARARUN_SOURCE_DIR "/scripts/plot_study.py", dir}, plot_log);
  std::vector<std::string> images;
  if (plot == 0) {
    for (auto& line : split(slurp(plot_log), '\n'))
      if (line.size() > 4 && line.substr(line.size() - 4) == ".png") images.push_back(line);
  } else {
    std::fprintf(stderr, "plots skipped (%s): they need Debian's python3-matplotlib\n",
                 plot_log.c_str());
  }
  std::string md = "# ParaRun study\n\n`" + dir + "`: " + title + ".\n\n";
  for (const auto& img : images) md += "![" + img + "](" + img + ")\n\n";
  md += "```\n" + text + "```\n";
  if (!rf.records.empty() && rf.records.front().contains("meta")) {
    const Json& m = rf.records.front()["meta"];
    md += "\n## Machine\n\n| | |\n|---|---|\n";
    md += "| hosts | " + m.value("hosts", Json::array()).dump() + " |\n";
    md += "| CPU | " + m.value("cpu_model", "") + ", " + std::to_string(m.value("cores", 0)) +
          " cores |\n";
    for (const char* key : {"compiler", "flags", "build_type", "git_commit", "mpi_library",
                            "openmp", "eigen", "openblas"})
      if (m["build"].contains(key))
        md += std::string("| ") + key + " | " + m["build"][key].get<std::string>() + " |\n";
    md += "| environment | " + m.value("env", Json::object()).dump() + " |\n";
    if (m.contains("slurm") && !m["slurm"].empty()) md += "| slurm | " + m["slurm"].dump() + " |\n";
  }
  write_file_atomically(dir + "/report.md", md);
  std::printf("\nStudy: %s (results.jsonl, report.md, speedup.csv%s, logs/)\n", dir.c_str(),
              images.empty() ? "" : ", plots");
  return text;
}

}  // namespace pararun::app
