// pararun batch end to end: jobs packed onto the cores without oversubscribing (the affinity
// each job recorded), a failing job retried then recorded as failed while the others finish,
// exactly once under kill -9 at three moments, a manifest that changed, status, --compare.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>

#include <dirent.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "cli_helpers.hpp"

using pararun::test::TempDir;

namespace {

int online() {
  return static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
}

/// The CPUs of a list such as "0-2,5".
std::set<int> cpus_of(const std::string& list) {
  std::set<int> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const auto dash = item.find('-');
    const int lo = std::stoi(item.substr(0, dash));
    const int hi = dash == std::string::npos ? lo : std::stoi(item.substr(dash + 1));
    for (int c = lo; c <= hi; ++c) out.insert(c);
  }
  return out;
}

std::size_t files_in(const std::string& dir, const std::string& suffix) {
  std::size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      n += name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    }
    closedir(d);
  }
  return n;
}

std::vector<Json> records(const std::string& file) {
  std::vector<Json> out;
  for (const auto& l : lines(slurp(file))) out.push_back(Json::parse(l));
  return out;
}

/// A manifest of `n` single-core matmul jobs (seeds 1..n), a few tens of ms each.
std::string small_jobs(int n, int size = 256) {
  return "name: small\njobs:\n  - kernel: matmul\n    backend: seq\n    size: " +
         std::to_string(size) + "\n    reps: 3\n    seed: 1:" + std::to_string(n) + ":+1\n";
}

/// `pararun batch run MANIFEST -o DIR` in the background; its pid.
pid_t start_batch(const std::string& manifest, const std::string& dir) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd =
        std::string(PARARUN_EXE) + " batch run " + manifest + " -o " + dir + " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST(CliBatch, PacksJobsOntoTheCoresWithoutOversubscribing) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest,
             "defaults: {reps: 3}\n"
             "jobs:\n"
             "  - kernel: matmul\n"
             "    backend: seq\n"
             "    size: 256\n"
             "    seed: 1:6:+1\n"
             "  - kernel: reduction\n"
             "    backend: omp\n"
             "    threads: [1, " +
                 std::to_string(online()) +
                 "]\n"
                 "    size: 2^22\n"
                 "    tags: [memory]\n");
  Result r = run_cli("batch run " + manifest + " -o " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("8 job(s), 8 ok, 0 failed"), std::string::npos) << r.out;
  const auto recs = records(dir + "/results.jsonl");
  ASSERT_EQ(recs.size(), 8u);
  std::set<std::string> ids;
  struct Span {
    double start, end;
    std::set<int> cpus;
  };
  std::vector<Span> spans;
  for (const auto& j : recs) {
    EXPECT_EQ(j["status"], "ok");
    ids.insert(j["point"].get<std::string>());
    const Json& b = j["batch"];
    const std::set<int> held = cpus_of(b["cpus"]);
    EXPECT_EQ(held.size(),
              static_cast<std::size_t>(j["threads"].get<int>() * j["ranks"].get<int>()));
    // Every thread of the job ran on the cores it held, and no job on a core outside the node.
    EXPECT_EQ(j["meta"]["affinity"].size(), static_cast<std::size_t>(j["ranks"].get<int>()))
        << "a rank's affinity is missing: nothing below would be checked";
    for (const auto& rank : j["meta"]["affinity"])
      for (const auto& t : rank["threads"])
        for (int c : cpus_of(t.get<std::string>())) EXPECT_TRUE(held.count(c)) << j["point"];
    for (int c : held) EXPECT_LT(c, online());
    spans.push_back({b["started"].get<double>(), b["ended"].get<double>(), held});
    if (j["kernel"] == "reduction") {
      EXPECT_EQ(b["tags"], Json::array({"memory"}));
    }
  }
  EXPECT_EQ(ids.size(), 8u);
  // Jobs that ran at the same time held different cores. (A span is its wall-clock start plus
  // a steady-clock duration: 1 ms of slack for the clock's adjustments, the next job on a freed
  // core starting microseconds after.)
  for (std::size_t a = 0; a < spans.size(); ++a)
    for (std::size_t b = a + 1; b < spans.size(); ++b) {
      const bool overlap =
          spans[a].start + 1e-3 < spans[b].end && spans[b].start + 1e-3 < spans[a].end;
      if (!overlap) continue;
      for (int c : spans[a].cpus) EXPECT_FALSE(spans[b].cpus.count(c)) << "jobs " << a << ", " << b;
    }
  // Each job has its own file; status names every job.
  EXPECT_EQ(files_in(dir + "/jobs", ".jsonl"), 8u);
  r = run_cli("batch status " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("8 job(s): 8 done, 0 failed, 0 running, 0 interrupted, 0 pending"),
            std::string::npos)
      << r.out;
  // The records are ParaRun records: report reads the folder.
  r = run_cli("report " + dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("matmul, size 256"), std::string::npos) << r.out;
}

TEST(CliBatch, LabelsEnvironmentsTagsCpuFlagsAndOversubscriptionReachTheJobs) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  const int over = online() + 1;  // more ranks than this node has cores
  write_file(manifest,
             "defaults: {reps: 2, max_reps: 2, cores: all, tags: keep}\n"
             "jobs:\n"
             "  - {kernel: reduction, backend: seq, size: 2^16, label: tuned,\n"
             "     env: {OPENBLAS_CORETYPE: Haswell, OMP_PROC_BIND: ~}}\n"
             "  - {kernel: reduction, backend: seq, size: 2^16, label: other, tags: drop}\n"
             "  - {kernel: reduction, backend: seq, size: 2^16, label: exotic,\n"
             "     cpu_flags: no_such_flag}\n"
             "  - {kernel: stencil, backend: mpi, ranks: " +
                 std::to_string(over) + ", size: 64, oversubscribe: true}\n");
  // The parent's binding is set; the labelled job unsets it.
  Result r = run_command("OMP_PROC_BIND=close OPENBLAS_CORETYPE=Zen " + std::string(PARARUN_EXE) +
                         " batch run " + manifest + " -o " + dir + " --tags keep");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("leaving out 1 job(s) of " + manifest +
                       ": needs no_such_flag (this CPU lacks it)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("leaving out 1 job(s) of " + manifest + ": not tagged keep"),
            std::string::npos)
      << r.err;
  const auto recs = records(dir + "/results.jsonl");
  ASSERT_EQ(recs.size(), 2u) << slurp(dir + "/results.jsonl");
  for (const auto& j : recs) {
    ASSERT_EQ(j["status"], "ok") << j.dump();
    const Json& env = j["meta"]["env"];
    if (j["kernel"] == "reduction") {
      EXPECT_EQ(j["point"], "reduction.seq.simd.n65536.t1.r1.s42.tuned");
      EXPECT_EQ(j["batch"]["label"], "tuned");
      EXPECT_EQ(env.value("PARARUN_LABEL", ""), "tuned");
      EXPECT_EQ(env.value("OPENBLAS_CORETYPE", ""), "Haswell");   // the job's, not the parent's
      EXPECT_FALSE(env.contains("OMP_PROC_BIND")) << env.dump();  // unset for the job
    } else {
      EXPECT_EQ(j["ranks"], over);
      EXPECT_EQ(j["oversubscribed"], true);  // concurrency, on purpose, and said so
      EXPECT_EQ(j["batch"]["label"], "");
      // Not the parent's close: it would put every rank on the job's first CPU.
      EXPECT_EQ(env.value("OMP_PROC_BIND", ""), "false");
    }
  }
}

TEST(CliBatch, KeepsToTheCpusTasksetStartedItOn) {
  // `taskset -c C pararun batch run`: the jobs ran on every CPU of the node (the cgroup's), as
  // if the user had not narrowed it.
  const std::vector<int> cpus = my_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs 2 CPUs";
  if (!has_taskset()) GTEST_SKIP() << "needs taskset";
  const int last = cpus.back();
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest,
             "defaults: {reps: 2, max_reps: 2}\n"
             "jobs:\n"
             "  - {kernel: reduction, backend: omp, threads: 1, size: 2^16}\n"
             "  - {kernel: matmul, backend: seq, size: 64}\n");
  const std::string taskset = "taskset -c " + std::to_string(last) + " ";
  Result r =
      run_command(taskset + PARARUN_EXE + " batch run " + manifest + " -o " + dir + " --cores 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--cores must be 1 to 1"), std::string::npos) << r.err;
  r = run_command("OMP_PROC_BIND=close " + taskset + PARARUN_EXE + " batch run " + manifest +
                  " -o " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto recs = records(dir + "/results.jsonl");
  ASSERT_EQ(recs.size(), 2u);
  for (const auto& j : recs) {
    EXPECT_EQ(j["batch"]["cpus"], std::to_string(last)) << j["point"];
    ASSERT_EQ(j["meta"]["affinity"].size(), 1u);
    for (const auto& t : j["meta"]["affinity"][0]["threads"])
      EXPECT_EQ(t, std::to_string(last)) << j["point"];
  }
}

TEST(CliBatch, TheRanksOfAnMpiJobShareItsCoresWhateverTheParentsBinding) {
  // OMP_PROC_BIND=close from the parent bound each rank's thread to the first CPU of the
  // job's: 2 ranks on CPU 0 of 2, oversubscribed, no speedup.
  if (online() < 2) GTEST_SKIP() << "needs 2 CPUs";
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest,
             "jobs:\n  - {kernel: reduction, backend: mpi, ranks: 2, size: 2^20, reps: 3}\n");
  Result r = run_command("OMP_PROC_BIND=close OMP_PLACES=cores " + std::string(PARARUN_EXE) +
                         " batch run " + manifest + " -o " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto recs = records(dir + "/results.jsonl");
  ASSERT_EQ(recs.size(), 1u);
  const Json& j = recs[0];
  EXPECT_EQ(j["oversubscribed"], false) << j["meta"]["affinity"].dump();
  ASSERT_EQ(j["meta"]["affinity"].size(), 2u) << j["meta"]["affinity"].dump();
  for (const auto& rank : j["meta"]["affinity"])
    EXPECT_NE(rank["threads"][0], "0") << "rank " << rank["rank"] << " bound to CPU 0 alone";
}

namespace {

/// The `pararun run` processes whose command line names `dir` (a batch's ranks).
std::vector<pid_t> runs_in(const std::string& dir) {
  std::vector<pid_t> out;
  DIR* proc = opendir("/proc");
  if (!proc) return out;
  while (const dirent* e = readdir(proc)) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    const std::string cmdline = slurp("/proc/" + std::string(e->d_name) + "/cmdline");
    std::vector<std::string> args;
    for (std::size_t at = 0; at < cmdline.size();) {
      const std::size_t end = cmdline.find('\0', at);
      args.push_back(cmdline.substr(at, end - at));
      at = end == std::string::npos ? cmdline.size() : end + 1;
    }
    if (args.size() > 2 && args[1] == "run" && cmdline.find(dir + "/") != std::string::npos)
      out.push_back(pid);
  }
  closedir(proc);
  return out;
}

}  // namespace

// Killed with -9 while an MPI job runs: mpirun dies with the batch (its PR_SET_PDEATHSIG), and
// the ranks with mpirun (they lose their daemon and abort, here within 1-2 s). Ranks that ran
// on could write a record after a --resume had started the job again.
TEST(CliBatch, KilledWhileAnMpiJobRunsLeavesNoRankRunning) {
  if (online() < 2) GTEST_SKIP() << "needs 2 CPUs";
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest,
             "jobs:\n  - {kernel: reduction, backend: mpi, ranks: 2, size: 2^22, reps: 100000, "
             "max_reps: 100000}\n");
  const pid_t pid = start_batch(manifest, dir);
  for (int i = 0; i < 3000 && runs_in(dir).size() < 2; ++i) usleep(10000);
  const std::size_t started = runs_in(dir).size();
  if (started == 2) usleep(500000);  // (well into their run)
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_EQ(started, 2u) << "the job's two ranks did not start within 30 s";
  std::size_t left = 2;
  for (int i = 0; i < 1000 && (left = runs_in(dir).size()) > 0; ++i) usleep(10000);
  for (const pid_t rank : runs_in(dir)) kill(rank, SIGKILL);  // (a failed test leaves none)
  EXPECT_EQ(left, 0u) << "rank(s) still ran 10 s after their batch was killed";
}

TEST(CliBatch, ASlurmTaskOnANodeWithoutTheJobsCpuFlagsEndsWithOneLine) {
  // batch submit keeps jobs with cpu_flags (it cannot know the nodes' CPUs); the array task
  // on a node without them refuses at once instead of dying with SIGILL.
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, "jobs:\n  - {kernel: reduction, backend: seq, size: 4096, reps: 2}\n");
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + dir).code, 0);
  Json batch = Json::parse(slurp(dir + "/batch.json"));
  const std::string id = batch["jobs"][0]["id"];
  batch["jobs"][0]["cpu_flags"] = {"no_such_flag"};
  write_file(dir + "/batch.json", batch.dump());
  const Result r = run_cli("batch task " + dir + " " + id);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("job " + id + " needs CPU flag(s) no_such_flag, which this node's CPU ("),
            std::string::npos)
      << r.err;
}

// A Slurm array task reads its job (kernel, input, env) from batch.json when it starts: when
// batch.json no longer holds the job that was submitted (a folder others can write: an env
// of LD_PRELOAD), nothing runs as the submitting user. Scripts of older versions pass no
// digest and run as before.
TEST(CliBatch, ASlurmTaskRunsOnlyTheJobThatWasSubmitted) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, "jobs:\n  - {kernel: reduction, backend: seq, size: 4096, reps: 2}\n");
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + dir).code, 0);
  const std::string id = Json::parse(slurp(dir + "/batch.json"))["jobs"][0]["id"];
  const std::string record = slurp(dir + "/jobs/" + id + ".jsonl");
  Result r = run_cli("batch task " + dir + " " + id + " --digest " + std::string(64, '0'));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("job " + id + " in " + dir +
                       "/batch.json is not the job that was submitted (batch.json changed "
                       "since); not run: submit the batch again"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(dir + "/jobs/" + id + ".jsonl"), record);  // not run again
  r = run_cli("batch task " + dir + " " + id);
  EXPECT_EQ(r.code, 0) << r.err;
}

// Of two batches started into one folder at once, the second is refused before it writes
// batch.json (it replaced the first's job list, which --resume and merge then read). Here
// the first holds the folder's lock (flock(1)) while the second starts.
TEST(CliBatch, ASecondBatchIntoAFolderBeingStartedIsRefusedBeforeItWritesBatchJson) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, "jobs:\n  - {kernel: reduction, backend: seq, size: 4096, reps: 2}\n");
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  const Result r = run_command("flock " + dir + "/lock " + std::string(PARARUN_EXE) +
                               " batch run " + manifest + " -o " + dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("another pararun batch is running in '" + dir + "'"), std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir + "/batch.json"));
}

// The refusal names what holds the folder, from what the holder wrote into its lock file:
// a study there is not called a batch (Files.AFolderLockSaysWhoHoldsIt: what a holder writes).
TEST(CliBatch, AFolderAStudyHoldsIsRefusedNamingTheStudy) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, "jobs:\n  - {kernel: reduction, backend: seq, size: 4096, reps: 2}\n");
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  write_file(dir + "/lock", "study 4242 node7\n");
  const Result r = run_command("flock " + dir + "/lock " + std::string(PARARUN_EXE) +
                               " batch run " + manifest + " -o " + dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("another pararun study is running in '" + dir +
                       "' (process 4242 on node7); wait for it or stop it"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir + "/batch.json"));
}

// `batch run ... | head`: a closed pipe on its output does not end the batch halfway (jobs
// killed, no summary): every job is run and recorded.
TEST(CliBatch, AClosedPipeOnItsOutputDoesNotEndTheBatch) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest,
             "jobs:\n  - {kernel: reduction, backend: seq, size: [1024, 2048, 4096], reps: 2}\n");
  run_command(std::string(PARARUN_EXE) + " batch run " + manifest + " -o " + dir +
              " 2>&1 | head -c 1");
  EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), 3u);
  EXPECT_TRUE(exists(dir + "/summary.json"));
}

TEST(CliBatch, AFailingJobIsRetriedThenRecordedAsFailedWhileTheOthersFinish) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  // The stencil needs seconds; its time limit is 1 s: both attempts end at the limit.
  write_file(manifest,
             "jobs:\n"
             "  - kernel: stencil\n"
             "    backend: seq\n"
             "    size: 4000\n"
             "    reps: 100\n"
             "    time_limit: 1\n"
             "    retries: 1\n"
             "  - kernel: matmul\n"
             "    backend: seq\n"
             "    size: 128\n"
             "    seed: 1:4:+1\n");
  Result r = run_cli("batch run " + manifest + " -o " + dir);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("5 job(s), 4 ok, 1 failed"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("stencil.seq.plain.n4000.t1.r1.s42: FAILED (exit 3, time limit) on CPUs"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("attempt 1 of 2, retrying"), std::string::npos) << r.err;
  EXPECT_EQ(Json::parse(slurp(dir + "/summary.json"))["retries"], 1);
  const auto recs = records(dir + "/results.jsonl");
  ASSERT_EQ(recs.size(), 5u);
  const Json& failed = recs.front();
  EXPECT_EQ(failed["status"], "error");
  EXPECT_EQ(failed["exit_code"], 3);
  EXPECT_EQ(failed["batch"]["attempt"], 2);
  EXPECT_EQ(failed["batch"]["timed_out"], true);
  for (std::size_t i = 1; i < recs.size(); ++i) EXPECT_EQ(recs[i]["status"], "ok");
  const std::string log = slurp(dir + "/logs/stencil.seq.plain.n4000.t1.r1.s42.log");
  EXPECT_NE(log.find("attempt 2 of 2"), std::string::npos) << log;
  EXPECT_NE(log.find("took longer than --time-limit 1 s"), std::string::npos) << log;
  r = run_cli("batch status " + dir);
  EXPECT_NE(r.out.find("failed         2     3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time limit: " + dir + "/logs/stencil"), std::string::npos) << r.out;
  // --resume runs the failed job again (and only it).
  r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("4 job(s) already had a verified record"), std::string::npos) << r.err;
  EXPECT_EQ(records(dir + "/results.jsonl").size(), 5u);
}

/// Starts a batch of 24 jobs, kills it with SIGKILL once `when` final records exist (0: right
/// away), then resumes it: every job's record exactly once. Killed near the end, the last 6
/// jobs are longer (1536^2, about a second in all), so that a stalled test process still finds
/// the batch running (at 320^2 they left 150-300 ms). A batch that ended all the same (the test
/// process held off both CPUs for that long) is run again in a fresh folder, up to 3 times.
void kill_and_resume(std::size_t when) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  const int jobs = 24;
#ifdef PARARUN_SANITIZED
  const char* long_size = "640";  // the sanitized build's kernels are slower
#else
  const char* long_size = "1536";
#endif
  write_file(manifest, when > 6 ? small_jobs(18, 320) +
                                      "  - kernel: matmul\n    backend: seq\n    size: " +
                                      long_size + "\n    reps: 3\n    seed: 1:6:+1\n"
                                : small_jobs(jobs, 320));
  std::size_t before = 0;
  for (int attempt = 1;; ++attempt) {
    const pid_t pid = start_batch(manifest, dir);
    if (when == 0)
      usleep(20000);
    else
      for (int i = 0; i < 15000 && files_in(dir + "/jobs", ".jsonl") < when; ++i) usleep(2000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    before = files_in(dir + "/jobs", ".jsonl");
    if (before < static_cast<std::size_t>(jobs) || attempt == 3) break;
    std::filesystem::remove_all(dir);
  }
  if (when > 0) {
    EXPECT_GE(before, when);
  }
  EXPECT_LT(before, static_cast<std::size_t>(jobs)) << "the batch ended before it was killed";
  Result r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  if (exists(dir + "/batch.json")) {
    ASSERT_EQ(r.code, 0) << r.err;
  } else {  // killed before it wrote batch.json: the same command starts it afresh
    r = run_cli("batch run " + manifest + " -o " + dir);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  std::map<std::string, int> seen;
  for (const auto& j : records(dir + "/results.jsonl")) {  // no torn line
    EXPECT_EQ(j["status"], "ok");
    ++seen[j["point"].get<std::string>()];
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(jobs));
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(files_in(dir + "/jobs", ".jsonl"), static_cast<std::size_t>(jobs));
  EXPECT_EQ(files_in(dir + "/jobs", ".attempt1"), 0u);  // no attempt left behind
}

// results.jsonl is remade from the jobs' record files, but what it held that none of them
// replaces stays: a record added by hand, the record of a job whose file was lost.
TEST(CliBatch, AMergeKeepsTheRecordsNoJobFileReplaces) {
  const pararun::test::TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, small_jobs(3, 64));
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + dir).code, 0);
  ASSERT_EQ(run_cli("run stream -b seq -n 1024 -r 2 -o " + dir + "/results.jsonl").code, 0);
  ASSERT_EQ(records(dir + "/results.jsonl").size(), 4u);
  Result r = run_cli("batch merge " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("3 of 3 job(s) have a record; 1 more record(s) it held are kept"),
            std::string::npos)
      << r.out;
  auto kernels = [&] {
    std::multiset<std::string> out;
    for (const auto& j : records(dir + "/results.jsonl")) out.insert(j["kernel"]);
    return out;
  };
  EXPECT_EQ(kernels(), (std::multiset<std::string>{"matmul", "matmul", "matmul", "stream"}));
  // A job's record file lost: its record in results.jsonl is the only one left, and stays.
  std::string lost;
  for (const auto& j : records(dir + "/results.jsonl"))
    if (j["kernel"] == "matmul") lost = j["point"];
  ASSERT_EQ(std::remove((dir + "/jobs/" + lost + ".jsonl").c_str()), 0);
  r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;  // runs the job again: its new record replaces the old
  EXPECT_EQ(kernels(), (std::multiset<std::string>{"matmul", "matmul", "matmul", "stream"}));
  ASSERT_EQ(std::remove((dir + "/jobs/" + lost + ".jsonl").c_str()), 0);
  r = run_cli("batch merge " + dir);
  EXPECT_NE(r.out.find("2 of 3 job(s) have a record; 2 more record(s) it held are kept"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(kernels(), (std::multiset<std::string>{"matmul", "matmul", "matmul", "stream"}));
}

// A resumed batch removes the attempt files its earlier run left, in its own folder only: a
// folder named b[1] is not a pattern that matches b1.
TEST(CliBatch, AResumeRemovesItsOwnStaleAttemptsNotThoseOfAFolderItsNameMatches) {
  const pararun::test::TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b[1]", other = tmp / "b1";
  write_file(manifest, small_jobs(1, 64));
  ASSERT_EQ(run_cli("batch run " + manifest + " -o '" + dir + "'").code, 0);
  std::string id;
  if (DIR* d = opendir((dir + "/jobs").c_str())) {
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0)
        id = name.substr(0, name.size() - 6);
    }
    closedir(d);
  }
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(mkdir(other.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((other + "/jobs").c_str(), 0755), 0);
  write_file(other + "/jobs/" + id + ".attempt1.4242", "another batch's attempt\n");
  write_file(dir + "/jobs/" + id + ".attempt1.4242", "a stale attempt\n");
  // The record file of a job labelled "attempt" (id ID.attempt) is not an attempt of ID.
  write_file(dir + "/jobs/" + id + ".attempt.jsonl", "{}\n");
  const Result r = run_cli("batch run " + manifest + " -o '" + dir + "' --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(exists(dir + "/jobs/" + id + ".attempt1.4242"));
  EXPECT_TRUE(exists(dir + "/jobs/" + id + ".attempt.jsonl"));
  EXPECT_EQ(slurp(other + "/jobs/" + id + ".attempt1.4242"), "another batch's attempt\n");
}

TEST(CliBatch, KilledAtTheStartResumesEveryJobExactlyOnce) {
  kill_and_resume(0);
}
TEST(CliBatch, KilledAfterAFewJobsResumesEveryJobExactlyOnce) {
  kill_and_resume(3);
}
TEST(CliBatch, KilledNearTheEndResumesEveryJobExactlyOnce) {
  kill_and_resume(18);
}

TEST(CliBatch, TermStopsWithACheckpointAndResumeFinishes) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, small_jobs(24, 320));
  int status = 0;
  // A batch that ended before the signal came (the test process held off both CPUs for the
  // second it takes) is run again in a fresh folder, up to 3 times.
  for (int attempt = 1;; ++attempt) {
    const pid_t pid = start_batch(manifest, dir);
    for (int i = 0; i < 15000 && files_in(dir + "/jobs", ".jsonl") < 2; ++i) usleep(2000);
    const bool ahead = files_in(dir + "/jobs", ".jsonl") == 24;  // (a lost signal is not)
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    if (!(ahead && WIFEXITED(status) && WEXITSTATUS(status) == 0) || attempt == 3) break;
    std::filesystem::remove_all(dir);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  const Json cp = Json::parse(slurp(dir + "/checkpoint.json"));
  EXPECT_EQ(cp["signal"], SIGTERM);
  const std::size_t done = files_in(dir + "/jobs", ".jsonl");
  EXPECT_EQ(cp["jobs_left"].size(), 24 - done);
  EXPECT_EQ(records(dir + "/results.jsonl").size(), done);  // what is done is merged
  Result r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(exists(dir + "/checkpoint.json"));
  EXPECT_EQ(records(dir + "/results.jsonl").size(), 24u);
}

// A binary rebuilt while a batch runs (the linker writes a new file at its path): the jobs left
// would be measured by another build, so none starts any more (those running finish), the
// batch says why (exit 3) and keeps what is recorded; resumed by the same build, it finishes.
TEST(CliBatch, ABinaryReplacedWhileItRunsStartsNoMoreJobs) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b", exe = tmp / "bin/pararun";
  std::filesystem::create_directories(tmp / "bin");
  std::filesystem::copy_file(PARARUN_EXE, exe);
  write_file(manifest, small_jobs(6, 64));
  const std::string batch = exe + " batch run " + manifest + " --cores 1 -o " + dir;
  // One job at a time: the binary is replaced once the first has its record.
  const int code = run_and_replace_binary(exe, batch, tmp / "err",
                                          [&] { return files_in(dir + "/jobs", ".jsonl") > 0; });
  const std::string err = slurp(tmp / "err");
  EXPECT_EQ(code, 3) << err;
  EXPECT_NE(err.find("pararun: error: batch stopped: the pararun binary '" + exe +
                     "' was replaced (rebuilt?) after this pararun started, and the jobs left "
                     "would be measured by another build"),
            std::string::npos)
      << err;
  const std::size_t done = files_in(dir + "/jobs", ".jsonl");
  EXPECT_LT(done, 6u) << "every job ran after the binary was replaced";
  const Json cp = Json::parse(slurp(dir + "/checkpoint.json"));
  EXPECT_NE(cp["stopped_by"].get<std::string>().find("was replaced"), std::string::npos);
  EXPECT_EQ(cp["jobs_left"].size(), 6 - done);
  EXPECT_EQ(records(dir + "/results.jsonl").size(), done);  // what is done is merged
  const Result r = run_command(batch + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(records(dir + "/results.jsonl").size(), 6u);
}

// A job fails with a retry left after its binary was replaced while it ran: the retry would
// run another build, so the job is left for --resume (no record), neither retried nor counted
// as a retry (it was printed "retrying" and counted, then dropped).
TEST(CliBatch, ARetryAfterTheBinaryWasReplacedIsLeftForResume) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b", exe = tmp / "bin/pararun";
  const std::string id = "stencil.seq.plain.n4000.t1.r1.s42";
  std::filesystem::create_directories(tmp / "bin");
  std::filesystem::copy_file(PARARUN_EXE, exe);
  // The stencil needs seconds; its time limit is 1 s: the attempt fails at the limit.
  write_file(manifest,
             "jobs:\n  - kernel: stencil\n    backend: seq\n    size: 4000\n    reps: 100\n"
             "    time_limit: 1\n    retries: 1\n");
  const std::string batch = exe + " batch run " + manifest + " --cores 1 -o " + dir;
  const int code = run_and_replace_binary(exe, batch, tmp / "err",
                                          [&] { return exists(dir + "/running/" + id); });
  const std::string err = slurp(tmp / "err");
  EXPECT_EQ(code, 3) << err;
  EXPECT_EQ(err.find("retrying"), std::string::npos) << err;
  EXPECT_NE(err.find("' was replaced (rebuilt?) after this pararun started"), std::string::npos)
      << err;
  EXPECT_EQ(Json::parse(slurp(dir + "/summary.json"))["retries"], 0);
  EXPECT_EQ(Json::parse(slurp(dir + "/checkpoint.json"))["jobs_left"], Json::array({id}));
  EXPECT_FALSE(exists(dir + "/jobs/" + id + ".jsonl"));  // no final record: --resume runs it
}

// batch.json names the build that runs the batch; --resume by another build of the same commit
// (another build ID) is refused, the records kept.
TEST(CliBatch, AResumeByAnotherBuildOfTheSameCommitIsRefused) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b", other = tmp / "pararun";
  const std::string was = build_id_of(PARARUN_EXE), is = copy_as_another_build(other);
  ASSERT_NE(is, was);
  write_file(manifest, small_jobs(2, 64));
  const std::string batch = " batch run " + manifest + " --cores 1 -o " + dir;
  Result r = run_cli(batch);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(slurp(dir + "/batch.json"))["build"]["build_id"], was);
  const std::string records = slurp(dir + "/results.jsonl");
  r = run_command(other + batch + " --resume");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("' was measured by another build of pararun (commit "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(", build id " + was.substr(0, 12) + ", "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", build id " + is.substr(0, 12) + ", "), std::string::npos) << r.err;
  EXPECT_EQ(slurp(dir + "/results.jsonl"), records);
  r = run_cli(batch + " --resume");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("2 job(s) already had a verified record"), std::string::npos) << r.err;
}

// One manifest run a tag at a time into one folder: each --resume with other --tags adds its
// jobs (batch.json keeps every job run there), the records of both stay; a job of another
// tag that changed in the manifest is still refused.
TEST(CliBatch, ResumedWithOtherTagsAddsThoseJobs) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  const auto jobs = [](int reps_a) {
    return "jobs:\n  - {kernel: reduction, backend: seq, size: 1024, reps: " +
           std::to_string(reps_a) +
           ", tags: [a]}\n  - {kernel: reduction, backend: seq, size: 2048, reps: 2, tags: "
           "[b]}\n";
  };
  write_file(manifest, jobs(2));
  ASSERT_EQ(run_cli("batch run " + manifest + " --tags a -o " + dir).code, 0);
  Result r = run_cli("batch run " + manifest + " --tags b -o " + dir + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("1 job(s) new to this batch are added"), std::string::npos) << r.err;
  EXPECT_EQ(Json::parse(slurp(dir + "/batch.json"))["jobs"].size(), 2u);
  std::set<int> sizes;
  for (const auto& j : records(dir + "/results.jsonl")) sizes.insert(j["size"].get<int>());
  EXPECT_EQ(sizes, (std::set<int>{1024, 2048}));
  write_file(manifest, jobs(3));
  r = run_cli("batch run " + manifest + " --tags b -o " + dir + " --resume");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has another reps"), std::string::npos) << r.err;
}

TEST(CliBatch, AManifestThatGainedJobsAddsThemOneThatChangedIsRefused) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, small_jobs(2, 64));
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + dir).code, 0);
  Result r = run_cli("batch run " + manifest + " -o " + dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("holds a batch already; add --resume"), std::string::npos) << r.err;
  write_file(manifest, small_jobs(3, 64));
  r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("1 job(s) new to this batch are added"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("3 job(s), 1 ok, 0 failed, 2 skipped"), std::string::npos) << r.out;
  EXPECT_EQ(Json::parse(slurp(dir + "/batch.json"))["history"].back()["added"], 1);
  EXPECT_EQ(Json::parse(slurp(dir + "/summary.json"))["jobs_added_to_the_manifest"],
            Json::array({"matmul.seq.blocked.n64.t1.r1.s3"}));
  // Another size for the same seeds: every old job is gone from the manifest.
  write_file(manifest, small_jobs(3, 96));
  r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("the manifest changed: job matmul.seq.blocked.n64.t1.r1.s1 of the batch"),
            std::string::npos)
      << r.err;
  // The same jobs with other repetitions: refused, naming what changed.
  write_file(manifest, "jobs: [{kernel: matmul, backend: seq, size: 64, seed: 1:3:+1, reps: 5}]\n");
  r = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has another reps than in"), std::string::npos) << r.err;
  EXPECT_EQ(records(dir + "/results.jsonl").size(), 3u);  // nothing was lost
}

// The binary replaced while the warm-up of --compare runs its last job (nothing is pending
// there, so the warm-up does not notice): the throughput mode after it runs nothing with the
// other build. (Each mode took the file then at the path for the program it watched.)
TEST(CliBatch, CompareStopsWhenTheBinaryWasReplacedBetweenItsModes) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "c", exe = tmp / "bin/pararun";
  std::filesystem::create_directories(tmp / "bin");
  std::filesystem::copy_file(PARARUN_EXE, exe);
  const std::size_t cores = static_cast<std::size_t>(online());
  write_file(manifest, "jobs: [{kernel: matmul, backend: omp, size: 1200, reps: 5, repeat: " +
                           std::to_string(cores) + "}]\n");
  // The warm-up runs a job per core, then one on every core: the record of the one-core jobs
  // that ended last is written once that last job has started.
  const int code = run_and_replace_binary(
      exe, exe + " batch run " + manifest + " -o " + dir + " --compare", tmp / "err",
      [&] { return files_in(dir + "/warmup/jobs", ".jsonl") >= cores; });
  const std::string err = slurp(tmp / "err");
  EXPECT_EQ(code, 3) << err;
  EXPECT_NE(err.find("batch stopped: the pararun binary '" + exe + "' was replaced (rebuilt?)"),
            std::string::npos)
      << err;
  // The warm-up ran to its end; the throughput mode saw the other file before its first job.
  EXPECT_EQ(files_in(dir + "/warmup/jobs", ".jsonl"), cores + 1);
  EXPECT_NE(err.find("records kept in " + dir + "/throughput/jobs"), std::string::npos) << err;
  EXPECT_EQ(files_in(dir + "/throughput/jobs", ".jsonl"), 0u);
}

TEST(CliBatch, CompareRunsTheJobsForThroughputAndForLatency) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "c";
  write_file(manifest, "jobs: [{kernel: matmul, backend: omp, size: 256, reps: 3, repeat: 4}]\n");
  Result r = run_cli("batch run " + manifest + " -o " + dir + " --compare");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string n = std::to_string(online());
  EXPECT_NE(r.out.find("throughput (" + n + " x 1 core)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latency (1 x " + n + " core"), std::string::npos) << r.out;
  const auto t = records(dir + "/throughput/results.jsonl");
  const auto l = records(dir + "/latency/results.jsonl");
  ASSERT_EQ(t.size(), 4u);
  ASSERT_EQ(l.size(), 4u);
  for (const auto& j : t) EXPECT_EQ(j["threads"], 1);
  for (const auto& j : l) EXPECT_EQ(j["threads"], online());
  const Json c = Json::parse(slurp(dir + "/compare.json"));
  EXPECT_EQ(c["throughput"]["ok"], 4);
  EXPECT_EQ(c["latency"]["ok"], 4);
  EXPECT_GT(c["median_job_s"]["throughput"].get<double>(), 0);
  // A sequential job has no core count to change.
  write_file(manifest, "jobs: [{kernel: matmul, backend: seq, size: 64}]\n");
  r = run_cli("batch run " + manifest + " -o " + (tmp / "d") + " --compare");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is sequential (use omp, mpi or hybrid)"), std::string::npos) << r.err;
  // compare.json is replaced only by its own comparison: not a file a folder held before.
  const std::string other = tmp / "e";
  ASSERT_EQ(mkdir(other.c_str(), 0755), 0);
  write_file(other + "/compare.json", "mine\n");
  write_file(manifest, "jobs: [{kernel: matmul, backend: omp, size: 64, reps: 1}]\n");
  r = run_cli("batch run " + manifest + " -o " + other + " --compare");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("already holds compare.json"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(other + "/compare.json"), "mine\n");
  // Nor a study's or a batch's folder (it rewrote their lock and added its folders there).
  const std::string batch = tmp / "b";
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + batch).code, 0);
  const std::string batch_results = slurp(batch + "/results.jsonl");
  r = run_cli("batch run " + manifest + " -o " + batch + " --compare");
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("holds batch.json, results.jsonl, jobs of a study or batch"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(batch + "/warmup"));
  EXPECT_EQ(slurp(batch + "/results.jsonl"), batch_results);
  // A comparison running in a folder: a second one there writes nothing.
  const std::string busy = tmp / "f";
  ASSERT_EQ(mkdir(busy.c_str(), 0755), 0);
  r = run_command("flock " + busy + "/lock " + std::string(PARARUN_EXE) + " batch run " + manifest +
                  " -o " + busy + " --compare");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("another pararun batch is running in '" + busy + "'"), std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(busy + "/warmup"));
}

// batch.json keeps the jobs as JSON text, which resume and Slurm's array tasks read back: an
// input whose name is not UTF-8 (a Latin-1 name an input glob found) would come back as
// another path. Refused before anything runs, naming the job and the field.
TEST(CliBatch, AnInputNamedInBytesThatAreNotUtf8IsRefusedBeforeAnythingRuns) {
  const TempDir tmp;
  const std::string input = tmp / "in\xe9.mtx", manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(input, slurp(std::string(PARARUN_TEST_DATA) + "/laplace_4.mtx"));
  write_file(manifest, "jobs:\n  - kernel: cgsolve\n    backend: seq\n    input: " + tmp.path() +
                           "/in*.mtx\n");
  const Result r = run_cli("batch run " + manifest + " -o " + dir);
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("its input is not UTF-8 text"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(dir));
}

TEST(CliBatch, BadInputIsOneLineAndTouchesNothing) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml";
  write_file(manifest,
             "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    colour: red\n");
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"batch run " + manifest + " -o " + (tmp / "b"), manifest + ":5: unknown key 'colour'"},
           {"batch run " + (tmp / "none.yaml"), "cannot read the batch manifest"},
           {"batch run " + tmp.path(), "is not a batch manifest (a YAML file) but a folder"},
           {"batch run " + manifest + " --cores 100000", "--cores must be 1 to"},
           {"batch run " + manifest + " --launcher ssh", "--launcher must be mpirun or srun"},
           {"batch run " + manifest + " -o ''", "--out: the output path is empty"},
           {"batch status " + tmp.path(), "is not a batch folder"},
           {"batch", "A subcommand is required"}}) {
    const auto before = plant_results(tmp.path());
    Result r = run_command("cd " + tmp.path() + " && " + PARARUN_EXE + " " + args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(lines(r.err).size(), 1u) << args << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(snapshot(tmp.path()), before) << args;  // no batch folder, nothing else touched
  }
}

// A user's folder a batch refuses is left as it was: one holding a file named logs (the batch
// wrote batch.json, jobs/ and lock there, then failed to make logs/) and one a --resume finds
// holding another run's results.jsonl (its lock file stayed).
TEST(CliBatch, AFolderItRefusesIsLeftAsItWas) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", logs = tmp / "logs_file", other = tmp / "other";
  write_file(manifest, "jobs: [{kernel: reduction, backend: seq, size: 1000, reps: 1}]\n");
  ASSERT_EQ(mkdir(logs.c_str(), 0777), 0);
  write_file(logs + "/logs", "my log\n");
  std::map<std::string, std::string> before = snapshot(logs);
  expect_refused(run_cli("batch run " + manifest + " -o " + logs),
                 "'" + logs + "/logs' is not a folder; a batch keeps its logs there", logs, before);
  ASSERT_EQ(mkdir(other.c_str(), 0777), 0);
  before = plant_results(other);
  expect_refused(run_cli("batch run " + manifest + " -o " + other + " --resume"),
                 "already holds results.jsonl of another run", other, before);
}

// One run of a batch folder at a time: while one holds it, `batch run --resume` is refused
// (exit 2) before it touches batch.json (it used to add the manifest's new jobs and its history
// first); once the folder is free, it runs the new job.
TEST(CliBatch, OneRunOfABatchFolderAtATime) {
  const TempDir tmp;
  const std::string manifest = tmp / "m.yaml", dir = tmp / "b";
  write_file(manifest, "jobs: [{kernel: reduction, backend: seq, size: 1000, reps: 1}]\n");
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + dir).code, 0);
  write_file(manifest,
             "jobs: [{kernel: reduction, backend: seq, size: 1000, reps: 1},\n"
             "       {kernel: reduction, backend: seq, size: 2000, reps: 1}]\n");
  const std::string before = slurp(dir + "/batch.json");
  const int fd = open((dir + "/lock").c_str(), O_RDWR);  // as a running batch holds it
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  const Result busy = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  close(fd);
  EXPECT_EQ(busy.code, 2) << busy.err;
  ASSERT_EQ(lines(busy.err).size(), 1u) << busy.err;
  EXPECT_NE(busy.err.find("another pararun batch is running in"), std::string::npos) << busy.err;
  EXPECT_EQ(slurp(dir + "/batch.json"), before);
  const Result free = run_cli("batch run " + manifest + " -o " + dir + " --resume");
  EXPECT_EQ(free.code, 0) << free.err;
  EXPECT_EQ(records(dir + "/results.jsonl").size(), 2u);
}
