// What the end-to-end tests of the pararun command share: running it, reading its files.
#pragma once

#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../temp_dir.hpp"

namespace {

using Json = nlohmann::json;

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Open MPI refuses to start as root without these; CI runs as root. Each test process (CTest
/// runs one per test, several at once) gets its own Open MPI session folder: concurrent
/// mpiruns race on the shared one (open-mpi/ompi#8510).
const bool kRootOk = [] {
  if (geteuid() == 0) {
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
  }
  static const pararun::test::TempDir session;
  setenv("OMPI_MCA_orte_tmpdir_base", session.path().c_str(), 0);
  // Runs never read the user's ~/.config/pararun/tuning.json: a missing file, no tuning.
  setenv("PARARUN_TUNING", (session / "no-tuning.json").c_str(), 1);
  // No warm-up time (1 s per run by default) unless a test asks for it: these runs check
  // behaviour, not speed (CliRun.WarmsUpForASecondByDefault checks the default).
  setenv("PARARUN_WARMUP_TIME", "0", 1);
  return true;
}();

/// Runs a shell command line; its exit code (128 + signal), stdout and stderr. Each call has
/// files of its own: a test's second thread (a pgrep while mpirun runs) does not cut the first
/// one's output short.
Result run_command(const std::string& cmd) {
  static const pararun::test::TempDir dir;
  static std::atomic<int> calls{0};
  const std::string n = std::to_string(++calls);
  const std::string out = dir / ("stdout." + n), err = dir / ("stderr." + n);
  const int status = std::system((cmd + " >" + out + " 2>" + err + " </dev/null").c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

/// A shell command line started in the background (`sh -c "exec CMD"`), for a test that acts
/// while it runs (a signal, a file replaced). However the test ends, it is not left running
/// into a removed folder: killed (SIGKILL) and reaped unless it ended.
class Background {
 public:
  explicit Background(const std::string& cmd) : pid_(fork()) {
    if (pid_ == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() {
    if (done_ || pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  /// Waits up to `seconds` for it to end: true when it did; then status() is its wait status.
  bool wait_for(double seconds) {
    for (int i = 0; !done_ && i < static_cast<int>(seconds * 100); ++i)
      if (waitpid(pid_, &status_, WNOHANG) == pid_)
        done_ = true;
      else
        usleep(10000);
    return done_;
  }
  int status() const { return status_; }

 private:
  pid_t pid_;
  bool done_ = false;
  int status_ = 0;
};

/// Starts `cmd` (a study or batch of the copy of pararun at `exe`) in the background, each run
/// warmed up for 0.4 s, its stderr in `err`; once `started()` (its first record is there), puts
/// a new copy of pararun at `exe` (a rename: a new file at the path, as a linker writes) and
/// waits up to 60 s for it to end. Its exit code; -1 if it did not end, -2 if it never started.
[[maybe_unused]] int run_and_replace_binary(const std::string& exe, const std::string& cmd,
                                            const std::string& err,
                                            const std::function<bool()>& started) {
  std::filesystem::copy_file(PARARUN_EXE, exe + ".new");  // (before: slow for an ASan binary)
  Background running("env PARARUN_WARMUP_TIME=0.4 " + cmd + " >/dev/null 2>" + err);
  for (int i = 0; i < 24000 && !started(); ++i) usleep(5000);
  if (!started()) return -2;
  std::filesystem::rename(exe + ".new", exe);
  if (!running.wait_for(60) || !WIFEXITED(running.status())) return -1;
  return WEXITSTATUS(running.status());
}

/// The GNU build ID of the ELF file at `path`, as `readelf -n` prints it ("" without one).
[[maybe_unused]] std::string build_id_of(const std::string& path) {
  const std::string out = run_command("readelf -n '" + path + "'").out;
  const auto at = out.find("Build ID: ");
  if (at == std::string::npos) return "";
  const auto from = at + 10;
  return out.substr(from, out.find('\n', from) - from);
}

/// Puts at `path` a copy of pararun as another build of the same commit would be (a "-dirty"
/// checkout rebuilt with other edits): the bytes of its GNU build ID changed, the code the
/// same. Its build ID.
[[maybe_unused]] std::string copy_as_another_build(const std::string& path) {
  const std::string id = build_id_of(PARARUN_EXE);
  EXPECT_FALSE(id.empty()) << "pararun has no GNU build ID";
  std::string bytes, flipped;
  for (std::size_t i = 0; i + 1 < id.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(id.substr(i, 2), nullptr, 16));
    flipped += static_cast<char>(~bytes.back());
  }
  std::string elf = slurp(PARARUN_EXE);
  int found = 0;
  for (auto at = elf.find(bytes); !bytes.empty() && at != std::string::npos;
       at = elf.find(bytes, at + 1), ++found)
    elf.replace(at, bytes.size(), flipped);
  EXPECT_GE(found, 1) << "the build ID's bytes are not in " << PARARUN_EXE;
  std::ofstream(path, std::ios::binary) << elf;
  chmod(path.c_str(), 0755);
  return build_id_of(path);
}

/// Runs `pararun ARGS` (or `mpirun -n NP [FLAGS] pararun ARGS`) through the shell.
Result run_cli(const std::string& args, int np = 0, const std::string& mpirun_flags = "") {
  std::string cmd = std::string(PARARUN_EXE) + " " + args;
  if (np > 0)
    cmd = std::string(MPIEXEC) + " -n " + std::to_string(np) + " " MPIEXEC_PREFLAGS " " +
          mpirun_flags + " " + cmd;
  return run_command(cmd);
}

/// The CPUs this test process may run on (its affinity), sorted; and whether `taskset` is
/// there to start a pararun on fewer of them.
[[maybe_unused]] std::vector<int> my_cpus() {
  cpu_set_t mine;
  CPU_ZERO(&mine);
  std::vector<int> out;
  if (sched_getaffinity(0, sizeof mine, &mine) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mine)) out.push_back(c);
  return out;
}

[[maybe_unused]] bool has_taskset() {
  return std::system("command -v taskset >/dev/null") == 0;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

[[maybe_unused]] bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

[[maybe_unused]] void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

/// Every file under DIR (recursively) with its content: two snapshots differ when a run
/// created, changed or removed anything there. Folders count as entries with an empty content.
[[maybe_unused]] std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string rel = std::filesystem::relative(e.path(), dir).string();
    files[rel] = e.is_regular_file() ? slurp(e.path().string()) : std::string("<folder>");
  }
  return files;
}

/// Exit 2, one "pararun: error:" line holding `message`, and `folder` as it was (`before`).
[[maybe_unused]] void expect_refused(const Result& r, const std::string& message,
                                     const std::string& folder,
                                     const std::map<std::string, std::string>& before) {
  EXPECT_EQ(r.code, 2) << r.err;
  auto l = lines(r.err);
  ASSERT_EQ(l.size(), 1u) << r.err;
  EXPECT_EQ(l[0].rfind("pararun: error: ", 0), 0u) << l[0];
  EXPECT_NE(l[0].find(message), std::string::npos) << l[0];
  EXPECT_EQ(snapshot(folder), before);
}

/// A file that bad input must leave alone: a results file with one record, as a user's folder
/// holds. Returns the folder's snapshot with it.
[[maybe_unused]] std::map<std::string, std::string> plant_results(const std::string& dir) {
  write_file(dir + "/results.jsonl", "{\"schema\":\"pararun.record/2\",\"kernel\":\"kept\"}\n");
  return snapshot(dir);
}

}  // namespace
