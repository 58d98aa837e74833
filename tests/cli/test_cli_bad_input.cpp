// Bad input to pararun: one line on stderr naming the problem, exit 2, nothing touched.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include <sstream>
#include <string>
#include <vector>
#include "cli_helpers.hpp"

// ---- bad input: one line on stderr naming the problem, exit 2, no result file touched ----

struct BadInput {
  std::string args;
  std::string message;  // must appear in the one stderr line
};

void PrintTo(const BadInput& b, std::ostream* os) {
  *os << "pararun " << b.args;
}

class CliBadInput : public ::testing::TestWithParam<BadInput> {};

TEST_P(CliBadInput, OneLineExitTwoNoFile) {
  // Run from a folder that holds a user's results: nothing in it may be created, changed or
  // removed (a default output path would land there too).
  const pararun::test::TempDir tmp;
  const auto before = plant_results(tmp.path());
  Result r = run_command("cd " + tmp.path() + " && " + PARARUN_EXE + " " + GetParam().args +
                         " --out " + (tmp / "r.jsonl"));
  expect_refused(r, GetParam().message, tmp.path(), before);
  EXPECT_EQ(r.out, "");
}

std::string case_name(const ::testing::TestParamInfo<BadInput>& info) {
  std::string name = std::to_string(info.index) + "_";
  for (char c : info.param.args) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Run, CliBadInput,
    ::testing::Values(
        BadInput{"run nosuch -b seq -n 8",
                 "unknown kernel 'nosuch'; kernels: cg, cgsolve, daxpy, ep, mandelbrot, matmul, "
                 "reduction, stencil, stream"},
        BadInput{"run matmul -b gpu -n 8",
                 "unknown backend 'gpu'; backends: seq, omp, mpi, hybrid"},
        BadInput{"run matmul -b seq -v fast -n 8",
                 "unknown variant 'fast' for matmul/seq; variants: blocked, eigen, naive"},
        // A newline in what the user typed stays in the one line of the message, as \x0a.
        BadInput{"run \"$(printf 'x\\ny')\" -b seq -n 64", "unknown kernel 'x\\x0ay'"},
        BadInput{"\"$(printf 'bad\\ncmd')\" -n 1", "unknown command 'bad\\x0acmd'"},
        BadInput{"run matmul -b seq -n 8 --round 1.5", "--round = 1.5"},
        BadInput{"run matmul -b seq -n 0", "--size must be at least 1"},
        BadInput{"run matmul -b seq -n -5", "size"},
        BadInput{"run matmul -b seq -n abc", "--size 'abc' is not a whole number"},
        BadInput{"run matmul -b seq -n 1.5", "--size '1.5' is not a whole number"},
        BadInput{"run matmul -b seq -n 99999999999999999999999",
                 "--size '99999999999999999999999' is larger than 2^64 - 1"},
        BadInput{"run matmul -b seq -n 2^70", "--size '2^70' is larger than 2^64 - 1"},
        BadInput{"run matmul -b seq -n 2^x", "--size '2^x' is not a whole number"},
        BadInput{"run matmul -b seq -n 10000000", "needs about"},
        BadInput{"run reduction -b mpi -n 2^40", "more than the"},
        BadInput{"run matmul -b omp -n 8 -t 0", "--threads must be 1 to 4096, got 0"},
        BadInput{"run matmul -b omp -n 8 -t -2", "--threads must be 1 to 4096, got -2"},
        BadInput{"run matmul -b omp -n 8 -t x", "threads"},
        BadInput{"run matmul -b seq -n 8 -t 2", "backend 'seq' runs 1 thread per process"},
        BadInput{"run matmul -b mpi -n 8 -t 2", "use hybrid for more threads"},
        BadInput{"run matmul -b seq -n 8 -r 0", "--reps must be 1 to 100000, got 0"},
        BadInput{"run matmul -b seq -n 8 -r -1", "--reps must be 1 to 100000, got -1"},
        BadInput{"run matmul -b seq -n 8 -w -1", "--warmup must be 0 to 10000, got -1"},
        BadInput{"run matmul -b seq -n 8 --warmup-time -1",
                 "--warmup-time must be 0 to 3600 seconds, got -1"},
        BadInput{"run matmul -b seq -n 8 --warmup-time nan",
                 "--warmup-time must be 0 to 3600 seconds, got nan"},
        BadInput{"run matmul -b seq -n 8 --warmup-time 4000",
                 "--warmup-time must be 0 to 3600 seconds, got 4000"},
        BadInput{"run matmul -b seq -n 8 --warmup-time soon", "warmup-time"},
        BadInput{"run matmul -b seq -n 8 -r 9 --max-reps 3",
                 "--max-reps (3) is less than --reps (9)"},
        BadInput{"run matmul -b seq -n 8 -s x1", "--seed 'x1' is not a whole number"},
        BadInput{"run matmul -b seq -n 8 --frobnicate", "frobnicate"},
        BadInput{"run matmul -n 8", "backend"}, BadInput{"run -b seq -n 8", "kernel"},
        BadInput{"run cg -b seq -n 1000",
                 "cg: na = 1000 is not an NPB class, so there is no published zeta to verify "
                 "against; use class S, W, A, B or C"},
        BadInput{"run ep -b omp -n 20", "ep: M = 20 is not an NPB class"},
        BadInput{"run ep -b seq -n Q",
                 "--size 'Q' is not a whole number (e.g. 1024 or 2^26) nor a class of ep (S, W, "
                 "A, B, C)"},
        BadInput{"concurrency --tasks 2000", "--tasks must be between 1 and 1024, got 2000"},
        BadInput{"concurrency --steps -1",
                 "--steps must be 1 to 10000000000 (0: the default), got -1"},
        BadInput{"concurrency --steps 9223372036854775807",
                 "--steps must be 1 to 10000000000 (0: the default), got 9223372036854775807"},
        BadInput{"fly",
                 "unknown command 'fly'; commands: list, info, ceilings, concurrency, study, "
                 "submit, batch, tune, run, report"}),
    case_name);

// The largest sizes a command line can give reach every kernel's checks without wrapping
// (stencil's n + 2 wrapped to 0 or 1, passed the memory check and crashed).
TEST(CliRefuses, TheLargestSizesOfEveryKernel) {
  const Result list = run_cli("list --json");
  ASSERT_EQ(list.code, 0) << list.err;
  const Json kernels = Json::parse(list.out);
  ASSERT_GE(kernels.size(), 9u);
  for (const auto& k : kernels)
    for (const char* n : {"18446744073709551615", "18446744073709551614", "2^63"}) {
      const std::string args = "run " + k["name"].get<std::string>() + " -b seq -r 1 -n " + n;
      const Result r = run_cli(args);
      EXPECT_EQ(r.code, 2) << args << ": " << r.err;
      EXPECT_EQ(lines(r.err).size(), 1u) << args << ": " << r.err;
    }
  // Beyond 64 bits, said so and nothing after it (a kernel's class names read "is larger than
  // 2^64 - 1 nor a class of cg"; "for kernel 'matmul'" suggested a limit of matmul's).
  EXPECT_EQ(run_cli("run cg -b seq -n 2^70").err,
            "pararun: error: --size '2^70' is larger than 2^64 - 1\n");
  EXPECT_EQ(run_cli("study --sizes matmul=2^99 --out x").err,
            "pararun: error: --sizes: '2^99' is larger than 2^64 - 1\n");
}

TEST(CliRefuses, CeilingsWithMoreThreadsThanAnyCommandAllows) {
  // 100000 threads crashed the OpenMP runtime (SIGSEGV, no message).
  Result r = run_cli("ceilings -t 100000 --json");
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--threads must be 1 to 4096, got 100000"), std::string::npos) << r.err;
}

TEST(CliRefuses, ConcurrencyOutOfFileDescriptorsEndsWithOneLineNotAHang) {
  // The event loop's task whose descriptor could not be made never finished: epoll_wait
  // waited for ever.
  const pararun::test::TempDir tmp;
  Result r = run_command("ulimit -n 48 && timeout 60 " + std::string(PARARUN_EXE) +
                         " concurrency --tasks 100 --steps 1 --wait 0 --reps 1 --out " +
                         (tmp / "c.jsonl"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, 124) << "timed out: a hang";
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("Too many open files (each task needs a file descriptor"), std::string::npos)
      << r.err;
}

TEST(CliRefuses, OutputInAMissingOrUnwritableFolderBeforeRunning) {
  Result r = run_cli("run matmul -b seq -n 8 --out /nonexistent-dir/r.jsonl");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u);
  EXPECT_NE(r.err.find("output folder '/nonexistent-dir' does not exist"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  const pararun::test::TempDir tmp;
  const std::string dir = tmp.path();
  r = run_cli("run matmul -b seq -n 8 --out " + dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("is a folder, not a file"), std::string::npos) << r.err;
}

TEST(CliRefuses, SequentialBackendUnderSeveralRanks) {
  Result r = run_cli("run matmul -b seq -n 8", 2);
  EXPECT_NE(r.code, 0);
  auto l = lines(r.err);
  // One line from pararun (rank 0 only); mpirun adds its own summary after it.
  ASSERT_FALSE(l.empty());
  EXPECT_EQ(l[0],
            "pararun: error: backend 'seq' runs on one process, but 2 MPI ranks were "
            "launched; use mpi or hybrid");
  int ours = 0;
  for (auto& line : l) ours += line.rfind("pararun:", 0) == 0;
  EXPECT_EQ(ours, 1) << r.err;
}

// Measurements of this node (tune, concurrency, ceilings) run once: under a launcher each
// rank measured against the others, and wrote its own records, unsaid.
TEST(CliRefuses, NodeMeasurementsUnderSeveralRanks) {
  for (const std::string cmd : {"concurrency --tasks 2 --reps 1", "ceilings --threads 1"}) {
    const Result r = run_cli(cmd, 2);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("runs on one process; start it without mpirun or srun"), std::string::npos)
        << cmd << ": " << r.err;
    EXPECT_EQ(r.out, "") << cmd;
  }
}

// A study, batch or report under mpirun: each rank ran the whole study; rank 1 was refused by
// the folder lock while rank 0 went on, and mpirun waited for it (a hang that took both cores).
TEST(CliRefuses, StudiesBatchesAndReportsUnderSeveralRanks) {
  const pararun::test::TempDir tmp;
  write_file(tmp / "m.yaml", "jobs:\n  - {kernel: reduction, backend: seq, size: 1024}\n");
  write_file(tmp / "r.jsonl", "");
  for (const std::string& cmd : std::vector<std::string>{
           "study --kernels reduction --backends seq --sizes 1024 --reps 1 -o " + (tmp / "s"),
           "batch run " + (tmp / "m.yaml") + " -o " + (tmp / "b"),
           "report " + (tmp / "r.jsonl") + " --csv " + (tmp / "x.csv"),
           "compare " + (tmp / "r.jsonl") + " " + (tmp / "r.jsonl")}) {
    const Result r = run_command("timeout 60 " + std::string(MPIEXEC) +
                                 " -n 2 " MPIEXEC_PREFLAGS " " PARARUN_EXE " " + cmd);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_NE(r.err.find("runs on one process; start it without mpirun or srun"), std::string::npos)
        << cmd << ": " << r.err;
    int ours = 0;
    for (const auto& line : lines(r.err)) ours += line.rfind("pararun:", 0) == 0;
    EXPECT_EQ(ours, 1) << cmd << ": " << r.err;
  }
  EXPECT_FALSE(exists(tmp / "s"));
  EXPECT_FALSE(exists(tmp / "b"));
  EXPECT_FALSE(exists(tmp / "x.csv"));
}

TEST(CliRefuses, BadOptionUnderMpirunIsPrintedOnce) {
  Result r = run_cli("run matmul -b mpi -n 8 --frobnicate", 3);
  EXPECT_NE(r.code, 0);
  int ours = 0;
  for (auto& line : lines(r.err)) ours += line.rfind("pararun: error: ", 0) == 0;
  EXPECT_EQ(ours, 1) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
}

TEST(CliRefuses, MemoryRefusalUnderMpiIsPrintedOnce) {
  Result r = run_cli("run matmul -b mpi -n 200000", 2);
  EXPECT_NE(r.code, 0);
  int ours = 0;
  for (auto& line : lines(r.err)) ours += line.rfind("pararun: error: size 200000 needs", 0) == 0;
  EXPECT_EQ(ours, 1) << r.err;
}

TEST(CliRefuses, ReportOfAMissingFile) {
  Result r = run_cli("report /nonexistent/r.jsonl");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u);
  EXPECT_NE(r.err.find("cannot read result file '/nonexistent/r.jsonl'"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Study, CliBadInput,
    ::testing::Values(
        BadInput{"study --threads 0",
                 "--threads takes whole numbers of at least 1 (at most 4096), got '0'"},
        BadInput{"study --cores 2 --threads 1",
                 "--cores replaces --threads and --ranks; give one or the other"},
        BadInput{"study --cores -1", "--cores must be 1 to 100000, got -1"},
        BadInput{"study --rounds 0", "--rounds must be 1 to 1000, got 0"},
        BadInput{"study --order sideways",
                 "--order must be fixed, shuffled or auto, got 'sideways'"},
        BadInput{"study --kernels matmul --variants nosuch",
                 "--variants nosuch: no parallel backend of the study has one of them for "
                 "'matmul'"},
        BadInput{"study --variants eigen,eigen", "--variants gives 'eigen' twice"},
        // Duplicates collapsed without a word, where --sizes and --variants refused them.
        BadInput{"study --kernels matmul,matmul", "--kernels gives 'matmul' twice"},
        BadInput{"study --backends seq,seq", "--backends gives 'seq' twice"},
        BadInput{"study --threads 1,1", "--threads gives '1' twice"},
        BadInput{"study --ranks x",
                 "--ranks takes whole numbers of at least 1 (at most 100000), got 'x'"},
        BadInput{"study --scaling diagonal", "scaling must be strong or weak, got 'diagonal'"},
        BadInput{"study --kernels nosuch", "unknown kernel 'nosuch'"},
        BadInput{"study --backends gpu", "unknown backend 'gpu' in --backends"},
        BadInput{"study --launcher qsub", "--launcher must be auto, mpirun or srun"},
        BadInput{"study --sizes matmul=0", "--sizes: '0' is not a whole number of at least 1"},
        BadInput{"study --sizes matmul=2^99", "--sizes: '2^99' is larger than 2^64 - 1"},
        BadInput{"study --reps 0", "--reps must be 1 to 100000, got 0"},
        BadInput{"study --sizes matmul=512,matmul=512", "--sizes gives matmul=512 twice"},
        BadInput{"study --sizes foo=128",
                 "--sizes names kernel 'foo', which pararun does not have"},
        BadInput{"study --oversubscribed-ranks 100000", "--oversubscribed-ranks must be 0 to"},
        BadInput{"study /tmp", "'/tmp' is not a study file (a YAML file) but a folder"}),
    case_name);

TEST(CliRefuses, StudyWithoutItsLauncherBeforeRunning) {
  const pararun::test::TempDir tmp;
  const std::string cmd = "PATH=/nonexistent " + std::string(PARARUN_EXE) +
                          " study --kernels reduction --backends seq,mpi --sizes 64 --out " +
                          (tmp / "s") + " 2>" + (tmp / "err");
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
  EXPECT_NE(slurp(tmp / "err").find("launcher 'mpirun' is not on PATH"), std::string::npos)
      << slurp(tmp / "err");
  EXPECT_FALSE(exists(tmp / "s"));
}

struct BadYaml {
  std::string text, message;
};

void PrintTo(const BadYaml& b, std::ostream* os) {
  *os << "study file: " << b.text;
}

class CliBadStudyFile : public ::testing::TestWithParam<BadYaml> {};

TEST_P(CliBadStudyFile, NamesKeyAndLineExitsTwo) {
  const pararun::test::TempDir tmp;
  write_file(tmp / "s.yaml", GetParam().text);
  const auto before = plant_results(tmp.path());
  Result r = run_command("cd " + tmp.path() + " && " + PARARUN_EXE + " study " + (tmp / "s.yaml") +
                         " --out " + (tmp / "study"));
  // No study folder either.
  expect_refused(r, GetParam().message, tmp.path(), before);
}

INSTANTIATE_TEST_SUITE_P(
    Yaml, CliBadStudyFile,
    ::testing::Values(
        BadYaml{"kernels: matmul\nthread: [1, 2]\n", "s.yaml:2: unknown key 'thread'; keys:"},
        BadYaml{"threads: {a: 1}\n", "s.yaml:1: 'threads' must be a value or a non-empty list"},
        BadYaml{"threads: []\n", "'threads' must be a value or a non-empty list"},
        BadYaml{"kernels: reduction\nreps: many\n",
                "s.yaml:2: 'reps' must be a whole number, got 'many'"},
        BadYaml{"sizes: [1, 2]\n", "s.yaml:1: 'sizes' must be one size or a map of kernel: size"},
        BadYaml{"scaling: [weak]\n", "s.yaml:1: 'scaling' must be a single value"},
        BadYaml{"kernels: reduction\nmax_reps: 0\n",
                "s.yaml:2: 'max_reps' must be 1 or more, got 0"},
        BadYaml{"kernels: reduction\ncores: 0\n", "s.yaml:2: 'cores' must be 1 or more, got 0"},
        BadYaml{"kernels: [matmul\n", "not YAML"},
        BadYaml{",2", "s.yaml:1: not YAML (the parser gets no further than here)"},  // hung
        BadYaml{"- a\n- b\n", "a study file is a map of keys"},
        BadYaml{"ranks: [0]\n",
                "--ranks takes whole numbers of at least 1 (at most 100000), got '0'"},
        BadYaml{"kernels: reduction\nscaling: weak\nsizes: {reduction: 0}\n",
                "'0' is not a whole number of at least 1"},
        BadYaml{"kernels: matmul\nkernels: reduction\n", "s.yaml:2: 'kernels' is given twice"},
        BadYaml{"kernels: matmul\n---\nkernels: reduction\n",
                "s.yaml: holds 2 YAML documents; a study file is one"},
        BadYaml{"? [a, b]\n: 1\n", "s.yaml:1: keys must be plain names"},
        BadYaml{"sizes: {matmul: 64, matmul: 128}\n",
                "s.yaml:1: 'sizes' keys must be kernel names, each once"}),
    [](const ::testing::TestParamInfo<BadYaml>& info) {
      std::string name = std::to_string(info.index) + "_";
      for (char c : info.param.message.substr(0, 40))
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(CliRefuses, MissingStudyFile) {
  Result r = run_cli("study /nonexistent/s.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot read the study file '/nonexistent/s.yaml'"), std::string::npos)
      << r.err;
}

// ---- pararun submit without Slurm: one line that says how to go on, exit 2, nothing made ----

TEST(CliRefuses, SubmitWithoutSbatchAndSaysHowToRunWithoutSlurm) {
  const pararun::test::TempDir tmp;
  const std::string path = std::getenv("PATH");
  setenv("PATH", tmp.path().c_str(), 1);  // no sbatch (nor anything else) on PATH
  Result r =
      run_cli("submit --kernels reduction --backends seq --sizes 1000 --out " + (tmp / "study"));
  Result bad_time = run_cli("submit --kernels reduction --time soon");
  Result bad_parallel = run_cli("submit --kernels reduction --max-parallel 0");
  setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(r.code, 2);
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("sbatch is not on PATH"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'pararun study'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("scripts/local-cluster.sh start"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(tmp / "study"));
  EXPECT_EQ(bad_time.code, 2);
  EXPECT_NE(bad_time.err.find("--time 'soon' is not a Slurm time"), std::string::npos);
  EXPECT_EQ(bad_parallel.code, 2);
  EXPECT_NE(bad_parallel.err.find("--max-parallel must be at least 1"), std::string::npos);
}
