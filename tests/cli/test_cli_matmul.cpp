// pararun run matmul: the forced micro-kernel variants and what their records name.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "cli_helpers.hpp"

namespace {

/// The CPU's flags, as /proc/cpuinfo lists them (the test decides independently of ParaRun
/// which micro-kernels this CPU must offer).
bool cpu_has(const std::string& flag) {
  const std::string info = slurp("/proc/cpuinfo");
  const auto flags = info.find("\nflags");
  if (flags == std::string::npos) return false;
  const std::string line = info.substr(flags, info.find('\n', flags + 1) - flags) + " ";
  return line.find(" " + flag + " ") != std::string::npos;
}

std::vector<std::string> supported_micro_kernels() {
  std::vector<std::string> mk;
  if (cpu_has("avx512f")) mk.push_back("avx512");
  if (cpu_has("avx2") && cpu_has("fma")) mk.push_back("avx2");
  mk.push_back("portable");
  return mk;
}

}  // namespace

TEST(CliMatmul, EveryMicroKernelOfThisCpuRunsForcedAndIsNamedInTheRecord) {
  unsetenv("PARARUN_GEMM_SPLIT");  // split_for's own choice below (this test's process only)
  const pararun::test::TempDir dir;
  const std::string file = dir / "r.jsonl";
  const auto kernels = supported_micro_kernels();
  for (const auto& mk : kernels) {
    // An odd size: edge tiles in both directions, 2 threads splitting the rows.
    const Result r = run_cli("run matmul -b omp -t 2 -v blocked-" + mk +
                             " -n 67 --reps 2 --warmup 0 -o " + file);
    ASSERT_EQ(r.code, 0) << mk << ": " << r.err;
  }
  const Result best = run_cli("run matmul -b seq -v blocked -n 33 --reps 2 --warmup 0 -o " + file);
  ASSERT_EQ(best.code, 0) << best.err;
  const auto l = lines(slurp(file));
  ASSERT_EQ(l.size(), kernels.size() + 1);
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    const Json rec = Json::parse(l[i]);
    EXPECT_EQ(rec["variant"], "blocked-" + kernels[i]);
    EXPECT_EQ(rec["status"], "ok");
    EXPECT_EQ(rec["verification"]["status"], "passed");
    EXPECT_EQ(rec["config"]["micro_kernel"], kernels[i]);
    // "MRxNR, KC k, MC m, NC n"
    EXPECT_NE(rec["config"]["blocking"].get<std::string>().find(", KC "), std::string::npos)
        << rec["config"].dump();
    EXPECT_EQ(rec["config"]["threads_split"], "rows on 2 thread(s)");
  }
  // "blocked" is the widest micro-kernel the CPU has.
  EXPECT_EQ(Json::parse(l.back())["config"]["micro_kernel"], kernels.front());
  EXPECT_EQ(Json::parse(l.back())["config"]["threads_split"], "rows on 1 thread(s)");
  // A split forced by PARARUN_GEMM_SPLIT runs, is verified and says it was forced.
  const Result forced =
      run_command("PARARUN_GEMM_SPLIT=jr " + std::string(PARARUN_EXE) +
                  " run matmul -b omp -t 2 -v blocked -n 67 --reps 2 --warmup 0 --json");
  ASSERT_EQ(forced.code, 0) << forced.err;
  const Json f = Json::parse(forced.out);
  EXPECT_EQ(f["verification"]["status"], "passed");
  EXPECT_EQ(f["config"]["threads_split"], "jr on 2 thread(s) (PARARUN_GEMM_SPLIT)");
  // Other variants have nothing to configure.
  const Result eigen = run_cli("run matmul -b seq -v eigen -n 8 --reps 2 --warmup 0 --json");
  ASSERT_EQ(eigen.code, 0) << eigen.err;
  EXPECT_TRUE(Json::parse(eigen.out)["config"].empty()) << eigen.out;
}

TEST(CliMatmul, AMicroKernelThisCpuLacksIsRefusedWithTheVariantsItHas) {
  const Result r = run_cli("run matmul -b seq -v blocked-sse9 -n 8");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("unknown variant 'blocked-sse9' for matmul/seq"), std::string::npos);
  for (const auto& mk : supported_micro_kernels())
    EXPECT_NE(r.err.find("blocked-" + mk), std::string::npos) << r.err;
  if (!cpu_has("avx512f")) {  // a Zen 3: the AVX-512 path is not offered, not a SIGILL
    const Result avx512 = run_cli("run matmul -b seq -v blocked-avx512 -n 8");
    EXPECT_EQ(avx512.code, 2) << avx512.err;
  }
}

// ---- pararun tune ----

TEST(CliTune, StoresTheFastestVerifiedSettingAndRunsOnThisCpuUseIt) {
  const pararun::test::TempDir dir;
  const std::string file = dir / "tuning.json";
  // An entry of another CPU stays in the file and is never used here.
  write_file(file, R"({"schema":"pararun.tuning/1","entries":[{"key":"matmul/blocked-portable",)"
                   R"("cpu":"another CPU","setting":{"KC":"8","MC":"4","NC":"8"}}]})");
  const Result r = run_cli("tune matmul -v blocked-portable -n 200 -r 1 --tuning " + file);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("matmul/blocked-portable"), std::string::npos) << r.out;
  // The search's fastest is stored only when it beats the default again.
  const bool kept_default = r.out.find("best: the default") != std::string::npos ||
                            r.out.find("the default stays") != std::string::npos;
  EXPECT_TRUE(kept_default || r.out.find(": stored\n") != std::string::npos) << r.out;
  const Json j = Json::parse(slurp(file));
  EXPECT_EQ(j["schema"], "pararun.tuning/1");
  ASSERT_EQ(j["entries"].size(), 2u) << j.dump();
  EXPECT_EQ(j["entries"][0]["cpu"], "another CPU");
  const Json& mine = j["entries"][1];
  EXPECT_EQ(mine["key"], "matmul/blocked-portable");
  EXPECT_NE(mine["cpu"].get<std::string>().find("family"), std::string::npos) << mine.dump();
  EXPECT_GT(mine["rate"].get<double>(), 0);
  EXPECT_EQ(mine["setting"].empty(), kept_default) << mine.dump() << r.out;
  EXPECT_FALSE(exists(file + ".lock"));  // (the lock's file: not left beside it)
  // The default and the candidates, each timed once per way it runs at n = 200: KC 256 and
  // above all run as 200 (one step), and an MC of 200 rows or more as 200 (the rows), so of
  // the 28 candidates several run alike whatever the caches.
  const int timed = mine["trials"].get<int>(), not_timed = mine["not_timed"].get<int>();
  EXPECT_GE(timed, 2) << mine.dump();
  EXPECT_GE(not_timed, 2) << mine.dump();
  EXPECT_GE(timed + not_timed, 20) << mine.dump();
  EXPECT_NE(r.out.find(std::to_string(timed) + " settings"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(std::to_string(not_timed) + " more run at size 200 as a setting above"),
            std::string::npos)
      << r.out;
  // Each runs as a setting of the table above, named in full.
  EXPECT_NE(r.out.find("KC=128 MC="), std::string::npos) << r.out;

  // A stored setting is used by runs of that micro-kernel and named in their records.
  Json tuned = j;
  tuned["entries"][1]["setting"] = {{"KC", "40"}, {"MC", "12"}, {"NC", "16"}};
  write_file(file, tuned.dump());
  const Result run =
      run_cli("run matmul -b omp -t 2 -v blocked-portable -n 57 -r 2 --json --tuning " + file);
  ASSERT_EQ(run.code, 0) << run.err;
  const Json rec = Json::parse(run.out);
  EXPECT_EQ(rec["status"], "ok");
  EXPECT_EQ(rec["config"]["blocking_setting"], "4x8, KC 40, MC 12, NC 16");
  // As run: k = 57 in two steps of 29; 57 columns in four panels of 16 (two slivers each).
  EXPECT_EQ(rec["config"]["blocking"], "4x8, KC 29, MC 12, NC 16");
  EXPECT_EQ(rec["config"]["blocking_from"], "tuned");
  EXPECT_EQ(rec["config"]["tuning_file"], file);
  // Through the environment too.
  const Result env = run_command("PARARUN_TUNING=" + file + " " + PARARUN_EXE +
                                 " run matmul -b seq -v blocked-portable -n 33 -r 2 --json");
  ASSERT_EQ(env.code, 0) << env.err;
  EXPECT_EQ(Json::parse(env.out)["config"]["blocking_from"], "tuned") << env.out;
  // Without a file (the tests' PARARUN_TUNING names none), the blocking is derived.
  const Result none = run_cli("run matmul -b seq -v blocked-portable -n 33 -r 2 --json");
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(Json::parse(none.out)["config"]["blocking_from"], "caches") << none.out;
  EXPECT_FALSE(Json::parse(none.out)["config"].contains("tuning_file"));
  // The record file is never the tuning file.
  const Result onto = run_cli("run matmul -b seq -n 8 --tuning " + file + " -o " + file);
  EXPECT_EQ(onto.code, 2) << onto.err;
  EXPECT_NE(onto.err.find("is also an input"), std::string::npos) << onto.err;
  EXPECT_EQ(Json::parse(slurp(file)), tuned);
}

// The command it prints to copy keeps the tuning file's path one word that runs nothing: a
// pasted `--tuning my $(touch PWNED) file.json` ran touch and split the path in three.
TEST(CliTune, TheCommandItPrintsQuotesThePath) {
  const pararun::test::TempDir dir;
  const std::string file = dir / "my $(touch PWNED) file.json";
  const Result r =
      run_command("cd " + dir.path() + " && " + PARARUN_EXE +
                  " tune matmul -v blocked-portable -n 200 -r 1 --tuning '" + file + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string said = "(pararun run --tuning '" + file + "', or $PARARUN_TUNING)";
  EXPECT_NE(r.out.find(said), std::string::npos) << r.out;
  EXPECT_FALSE(exists(dir / "PWNED"));
}

// Two tunes storing into one file at once: each re-reads it under FILE.lock, so neither drops
// the other's entry (the later rename did). Here the other tune holds the lock and stores its
// entry while this one waits.
TEST(CliTune, ATuneStoringWhileAnotherDoesKeepsBothEntries) {
  const pararun::test::TempDir dir;
  // The other tune names the file itself, this one a link to it: one lock, beside the file.
  const std::string file = dir / "real.json", link = dir / "t.json", err = dir / "err";
  ASSERT_EQ(symlink(file.c_str(), link.c_str()), 0);
  const int held = open((file + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(held, 0);
  ASSERT_EQ(flock(held, LOCK_EX), 0);
  const pid_t tune = fork();
  if (tune == 0) {
    const std::string cmd = std::string(PARARUN_EXE) +
                            " tune matmul -v blocked-portable -n 200 -r 1 --tuning " + link +
                            " >/dev/null 2>" + err;
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool waiting = false;
  for (int i = 0; i < 600 && !waiting; ++i) {  // (30 s)
    usleep(50000);
    waiting = slurp(err).find("waiting for the lock on '" + file + ".lock'") != std::string::npos;
  }
  write_file(file, R"({"schema":"pararun.tuning/1","entries":[{"key":"matmul/blocked-portable",)"
                   R"("cpu":"another CPU","setting":{"KC":"8","MC":"4","NC":"8"}}]})");
  close(held);
  int status = 0;
  for (int i = 0; i < 1200 && waitpid(tune, &status, WNOHANG) == 0; ++i) usleep(50000);
  if (kill(tune, 0) == 0 && waitpid(tune, &status, WNOHANG) == 0) {  // (a failed test ends)
    kill(tune, SIGKILL);
    waitpid(tune, &status, 0);
  }
  ASSERT_TRUE(waiting) << slurp(err);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(err);
  const Json j = Json::parse(slurp(file));
  ASSERT_EQ(j["entries"].size(), 2u) << j.dump();
  EXPECT_EQ(j["entries"][0]["cpu"], "another CPU");
  EXPECT_EQ(j["entries"][1]["key"], "matmul/blocked-portable");
  EXPECT_FALSE(exists(file + ".lock"));  // removed by the last to hold it
}

TEST(CliTune, BadRequestsAndFilesAreOneLineAndExit2) {
  const pararun::test::TempDir dir;
  const std::string bad = dir / "bad.json", other = dir / "other.json";
  write_file(bad, "{\"schema\":");
  write_file(other, "{\"schema\":\"pararun.record/2\"}");
  const std::string setting =
      R"({"schema":"pararun.tuning/1","entries":[{"key":"matmul/blocked-portable","cpu":"x",)"
      R"("setting":{"KC":7}}]})";
  write_file(dir / "typed.json", setting);
  struct Case {
    std::string args, message;
  } cases[] = {
      {"tune reduction", "kernel 'reduction' has nothing to tune"},
      {"tune matmul -v eigen", "matmul/eigen has nothing to tune"},
      {"tune matmul -v nosuch", "unknown variant 'nosuch' for matmul/seq"},
      {"tune matmul -b mpi", "tune runs on one process"},
      {"tune matmul -n 0", "--size must be at least 1"},
      {"tune matmul -n 2^70", "--size '2^70' is larger than 2^64 - 1"},
      {"tune matmul -r 0", "--reps must be 1 to 1000"},
      {"tune matmul --tuning " + bad, "tuning file '" + bad + "' is not JSON"},
      {"tune matmul --tuning " + other, "is not a tuning file"},
      {"tune matmul --tuning " + dir / "typed.json", "a setting of strings"},
      {"tune matmul --tuning " + dir / "no/such/dir/t.json", "does not exist"},
      {"tune matmul --tuning ''", "--tuning: the output path is empty"},
      {"run matmul -b seq -n 8 --tuning " + bad, "tuning file '" + bad + "' is not JSON"},
      {"run matmul -b seq -n 8 --tuning " + dir / "missing.json",
       "tuning file '" + dir / "missing.json" + "' does not exist"},
      {"tune matmul -n 200000", "needs about"},
      {"tune matmul -v blocked-portable -n 8",
       "every setting of matmul/blocked-portable runs as its default at size 8; tune at a "
       "larger size"},
  };
  for (const auto& c : cases) {
    const Result r = run_cli(c.args);
    EXPECT_EQ(r.code, 2) << c.args << ": " << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << ": " << r.err;
  }
  const Result env = run_command("PARARUN_GEMM_KC=64 " + std::string(PARARUN_EXE) +
                                 " tune matmul --tuning " + dir / "t.json");
  EXPECT_EQ(env.code, 2);
  EXPECT_NE(env.err.find("PARARUN_GEMM_KC is set and overrides every setting"), std::string::npos)
      << env.err;
  EXPECT_FALSE(exists(dir / "t.json"));
  const Result split = run_command("PARARUN_GEMM_SPLIT=jr " + std::string(PARARUN_EXE) +
                                   " tune matmul --tuning " + dir / "t.json");
  EXPECT_EQ(split.code, 2);
  EXPECT_EQ(lines(split.err).size(), 1u) << split.err;
  EXPECT_NE(split.err.find("PARARUN_GEMM_SPLIT is set and forces the threads' split"),
            std::string::npos)
      << split.err;
  EXPECT_FALSE(exists(dir / "t.json"));
  const Result warm = run_command("PARARUN_WARMUP_TIME=soon " + std::string(PARARUN_EXE) +
                                  " tune matmul --tuning " + dir / "t.json");
  EXPECT_EQ(warm.code, 2);
  EXPECT_EQ(lines(warm.err).size(), 1u) << warm.err;
  EXPECT_NE(warm.err.find("PARARUN_WARMUP_TIME must be a number of seconds"), std::string::npos)
      << warm.err;
  EXPECT_FALSE(exists(dir / "t.json"));
  // A file that is not the tuning file's kind is never replaced.
  EXPECT_EQ(slurp(other), "{\"schema\":\"pararun.record/2\"}");
}
