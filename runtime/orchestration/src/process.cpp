#include "pararun/process.hpp"
#include "pararun/files.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

namespace pararun {

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

ExecutableWatch::ExecutableWatch(std::string exe) : exe_(std::move(exe)) {
  struct stat st {};
  // This program: the file it was started from (/proc/self/exe), not the one at its path
  // now, which may have been replaced since it started (before a study's first point, or
  // between the modes of batch --compare, each with a watch of its own).
  // (Replaced already, the link reads "PATH (deleted)".) Another program: the file at its path.
  // (A path already gone: nothing to compare with; its points fail to start.)
  const std::string self = self_executable(), deleted = " (deleted)";
  const bool us = self == exe_ || self == exe_ + deleted;
  if (stat(us ? "/proc/self/exe" : exe_.c_str(), &st) != 0) return;
  known_ = true;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
}

std::string ExecutableWatch::replaced() const {
  struct stat st {};
  if (!known_) return "";
  if (stat(exe_.c_str(), &st) != 0)  // (another error, a network filesystem's: no verdict)
    return errno == ENOENT ? "the pararun binary '" + exe_ + "' is gone (removed or rebuilt?)" : "";
  if (st.st_dev != dev_ || st.st_ino != ino_)
    return "the pararun binary '" + exe_ + "' was replaced (rebuilt?) after this pararun started";
  return "";
}

std::string data_file(const std::string& relative) {
  // An installed binary is PREFIX/bin/pararun and its files PREFIX/share/pararun/...
  const std::string exe = self_executable();
  const auto slash = exe.rfind('/');
  if (slash != std::string::npos) {
    const std::string installed = exe.substr(0, slash) + "/../share/pararun/" + relative;
    char real[4096];
    if (access(installed.c_str(), R_OK) == 0 && realpath(installed.c_str(), real)) return real;
  }
  return relative.empty() ? PARARUN_SOURCE_DIR : std::string(PARARUN_SOURCE_DIR) + "/" + relative;
}

std::string absolute_path(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char buf[4096];
  return std::string(getcwd(buf, sizeof buf) ? buf : ".") + "/" + path;
}

std::string slurp(const std::string& path) {
  // A FIFO would block until someone writes to it, a device never end: not files to read.
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return {};
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int spawn(const std::vector<std::string>& args, const SpawnOptions& how) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string launch = shell_command(args);  // built before fork: no allocation after it
  // The log is opened here, through the links own_link_target follows only (another user's
  // link in a shared folder is not followed); the child fails (126) when it could not be.
  std::string problem;
  const int out = open_own(how.log, O_WRONLY | O_CREAT | O_APPEND, &problem);
  if (out < 0) std::fprintf(stderr, "pararun: warning: no log: %s\n", problem.c_str());
  const std::vector<int>& all_cpus = usable_cpus();  // read before fork too
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) {
    if (out >= 0) close(out);
    return pid;
  }
  // The child dies with its parent: a killed study or batch leaves nothing running that could
  // write a record after a --resume has started the same point again.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(137);  // the parent died before prctl took effect
  if (how.own_group) setpgid(0, 0);
  signal(SIGPIPE, SIG_DFL);  // an ignored signal stays ignored across exec (study.cpp)
  // Every CPU pararun was started on unless told: with OMP_PROC_BIND set, libgomp has pinned
  // this (the parent's) thread to one core at start-up, and a child would inherit that core.
  if (!how.keep_affinity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (how.cpus.empty())
      for (int c : all_cpus)
        if (c < CPU_SETSIZE) CPU_SET(c, &set);
    for (int c : how.cpus)
      if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  // A pararun inside records the command line it was launched by (launcher_command_line).
  setenv("PARARUN_LAUNCH_COMMAND", launch.c_str(), 1);
  for (const auto& [name, value] : how.env) setenv(name.c_str(), value.c_str(), 1);
  for (const auto& name : how.unset) unsetenv(name.c_str());
  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out < 0 || in < 0) _exit(126);
  dup2(in, 0);
  dup2(out, 1);
  dup2(out, 2);
  execvp(argv[0], argv.data());
  _exit(127);
}

int spawn_and_wait(const std::vector<std::string>& args, const std::string& log,
                   const volatile int* stop) {
  SpawnOptions how;
  how.log = log;
  const pid_t pid = spawn(args, how);
  if (pid < 0) return 127;
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

std::optional<std::string> capture_output(const std::vector<std::string>& args, double timeout_s,
                                          std::string* error) {
  std::string ignored;
  std::string& why = error ? *error : ignored;
  why.clear();
  int out_fds[2], err_fds[2];
  if (pipe2(out_fds, O_CLOEXEC) != 0) {
    why = std::string("cannot start ") + args[0] + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (pipe2(err_fds, O_CLOEXEC) != 0) {
    why = std::string("cannot start ") + args[0] + ": " + std::strerror(errno);
    close(out_fds[0]);
    close(out_fds[1]);
    return std::nullopt;
  }
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    why = std::string("cannot start ") + args[0] + ": " + std::strerror(errno);
    for (int fd : {out_fds[0], out_fds[1], err_fds[0], err_fds[1]}) close(fd);
    return std::nullopt;
  }
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(null, 0);
    dup2(out_fds[1], 1);
    dup2(err_fds[1], 2);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out_fds[1]);
  close(err_fds[1]);
  std::string out, err;
  const auto start = std::chrono::steady_clock::now();
  bool timed_out = false;
  pollfd fds[2] = {{out_fds[0], POLLIN, 0}, {err_fds[0], POLLIN, 0}};
  for (int open_pipes = 2; open_pipes > 0;) {
    int wait_ms = -1;
    if (timeout_s > 0) {
      const double left =
          timeout_s -
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (left <= 0) {
        timed_out = true;
        kill(pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(left * 1000) + 1;
    }
    const int ready = poll(fds, 2, wait_ms);
    if (ready < 0 && errno != EINTR) {  // (not waited for without end either)
      if (timeout_s > 0) kill(pid, SIGKILL);
      break;
    }
    char buf[4096];
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? out : err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (const auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    why = args[0] + " did not answer within " + format("%g", timeout_s) + " s";
    return std::nullopt;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return out;
  // Its own words: the first line of its stderr that says something.
  for (const auto& line : split(err, '\n'))
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      // ("sbatch: error: ..." names itself already)
      why = (line.rfind(args[0] + ":", 0) == 0 ? "" : args[0] + ": ") + line.substr(0, 300);
      return std::nullopt;
    }
  why = args[0] +
        (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " could not be started (not on PATH?)"
         : WIFEXITED(status) ? " failed (exit code " + std::to_string(WEXITSTATUS(status)) + ")"
                             : std::string(" was killed by ") + strsignal(WTERMSIG(status)));
  return std::nullopt;
}

}  // namespace pararun
