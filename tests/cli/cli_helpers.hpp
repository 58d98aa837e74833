// What the end-to-end tests of the pararun command share: running it, reading its files.
#pragma once

#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
