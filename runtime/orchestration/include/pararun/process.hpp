// Child processes without a shell: points of a study, plots, sinfo and sbatch.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pararun {

/// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split(const std::string& s, char sep = ',');
/// True when PATH has an executable `program`.
bool on_path(const std::string& program);
/// This process's executable (/proc/self/exe).
std::string self_executable();
/// The program a study or batch starts for each point or job (self_executable()), watched
/// from when it began: a rebuild writes a new file at its path, and what it would start from
/// then on is another build's.
class ExecutableWatch {
 public:
  explicit ExecutableWatch(std::string exe);
  /// "" while the file at the path is the one that was there at the start (or there was none
  /// to compare with); else why not, in words.
  std::string replaced() const;

 private:
  std::string exe_;
  bool known_ = false;
  unsigned long long dev_ = 0, ino_ = 0;
};
/// A file ParaRun ships (`scripts/plot_study.py`, `slurm/job-common.sh`): under the install
/// prefix (PREFIX/share/pararun/RELATIVE, when this binary is PREFIX/bin/pararun and the file
/// is there), else in the source tree it was built from.
std::string data_file(const std::string& relative);
/// `path` made absolute against the working folder (unchanged when it is absolute).
std::string absolute_path(const std::string& path);
/// The whole file, or "" when it cannot be read or is not a regular file (a FIFO, a device).
std::string slurp(const std::string& path);

/// How a child is started (spawn).
struct SpawnOptions {
  std::string log;             ///< stdout and stderr are appended to it
  std::vector<int> cpus;       ///< its CPUs (empty: every CPU of the node)
  bool keep_affinity = false;  ///< true: the parent's CPUs (e.g. a Slurm task's), not `cpus`
  std::vector<std::pair<std::string, std::string>> env;  ///< set in the child only, in order
  std::vector<std::string> unset;  ///< removed from the child's environment, after `env`
  bool own_group = false;          ///< a process group of its own: kill(-pid) reaches its children
};

/// Starts argv (no shell) and returns its pid, or -1 when fork fails (exit code 127 when exec
/// fails, 126 when the log cannot be opened). The child dies with its parent (SIGKILL). It
/// gets $PARARUN_LAUNCH_COMMAND, the command line: a pararun run in it records what ran it.
int spawn(const std::vector<std::string>& args, const SpawnOptions& how);

/// Runs argv with stdout and stderr appended to `log`; returns the exit code (128+signal).
/// The child dies with its parent and gets every CPU of the node. If `stop` becomes non-zero
/// while the child runs (a signal handler sets it), the child gets SIGTERM, and SIGKILL 10 s
/// later.
int spawn_and_wait(const std::vector<std::string>& args, const std::string& log,
                   const volatile int* stop = nullptr);

/// Runs argv (no shell) with stdin on /dev/null; its standard output, or nullopt when it cannot
/// start, exits non-zero or runs past `timeout_s` (> 0; then it is killed). `*error` (when given)
/// says why: the first line of its stderr, else how it ended.
std::optional<std::string> capture_output(const std::vector<std::string>& args,
                                          double timeout_s = 0, std::string* error = nullptr);

}  // namespace pararun
