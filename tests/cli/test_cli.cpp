// End-to-end tests of the pararun command: exit codes, stdout/stderr, result files.
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

TEST(Cli, ListShowsEveryKernelBackendAndVariant) {
  Result r = run_cli("list");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string out;  // columns with single spaces: the widths follow the longest name
  for (char c : r.out)
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  for (const char* needle :
       {"matmul seq eigen", "matmul hybrid naive", "reduction mpi plain", "reduction omp simd",
        "stream seq copy", "stream hybrid triad", "stencil mpi blocking", "stencil mpi overlapped",
        "stencil hybrid overlapped", "mandelbrot omp static", "mandelbrot omp dynamic",
        "mandelbrot omp guided", "mandelbrot mpi block", "mandelbrot mpi cyclic", "cg seq csr",
        "cg mpi rows", "cg hybrid rows", "ep omp batches", "ep mpi batches"})
    EXPECT_NE(out.find(needle), std::string::npos) << needle << "\n" << r.out;
}

TEST(Cli, NewKernelsNameTheirReferenceInTheVerificationLine) {
  // One pixel at the centre of the image, c = -0.75 + 1i: |z| exceeds 2 after 3 iterations
  // (z1 = c, z2 = -1.1875 - 0.5i, z3 = 0.41015625 + 2.1875i, |z3|^2 = 4.95).
  Result m = run_cli("run mandelbrot -b seq -n 1");
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_NE(m.out.find("Verification SUCCESSFUL: error 0 <= tolerance 0 (reference: every "
                       "row's iteration count and the total (3) against a separately written "
                       "escape-time loop)"),
            std::string::npos)
      << m.out;
  // Two rows swapped keep the total right: the per-row counts catch it (the total alone did
  // not).
  m = run_cli("run mandelbrot -b omp -t 2 -n 64 -r 1 --inject-fault --json");
  EXPECT_EQ(m.code, 1) << m.err;
  const Json bad = Json::parse(m.out);
  EXPECT_EQ(bad["results"]["iterations"], bad["results"]["iterations_reference"]);
  EXPECT_EQ(bad["results"]["rows_differing"], 2);
  EXPECT_NE(
      bad["verification"]["reference"].get<std::string>().find("2 row(s) differ, the first row 0"),
      std::string::npos);
  Result s = run_cli("run stream -b omp -t 2 -v add -n 1000");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_NE(s.out.find("exact: c = a + b element by element"), std::string::npos) << s.out;
  Result j = run_cli("run stencil -b seq -n 50 --json");
  ASSERT_EQ(j.code, 0) << j.err;
  const Json rec = Json::parse(j.out);
  EXPECT_EQ(rec["verification"]["status"], "passed");
  EXPECT_DOUBLE_EQ(rec["bytes"].get<double>(), 16.0 * 50 * 50 * 20);  // 20 sweeps of 50 x 50
}

TEST(Cli, NpbKernelsNameClassReferenceAndError) {
  Result e = run_cli("run ep -b omp -t 2 -n s -r 1");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("Problem: NPB EP class S (M = 24"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("Verification SUCCESSFUL: error "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("NPB 3.3 EP class S published sums sx = -3.247834652034740e+03, sy = "
                       "-6.958407078382297e+03"),
            std::string::npos)
      << e.out;
  EXPECT_NE(e.out.find("13176389 Gaussian pairs"), std::string::npos) << e.out;
  // CG's rows over 3 ranks (1400 rows do not divide by 3), the record names the class.
  Result c = run_cli("run cg -b mpi -n S -r 1 --json", 3);
  ASSERT_EQ(c.code, 0) << c.err;
  const Json rec = Json::parse(c.out);
  EXPECT_EQ(rec["size"], 1400);
  EXPECT_EQ(rec["size_per_rank"]["max"], 467);
  EXPECT_EQ(rec["size_per_rank"]["min"], 466);
  EXPECT_NE(rec["problem"].get<std::string>().find("NPB CG class S (na = 1400, nonzer = 7"),
            std::string::npos)
      << rec["problem"];
  EXPECT_LE(rec["verification"]["error"].get<double>(), 1e-10);
  EXPECT_NE(rec["verification"]["reference"].get<std::string>().find("zeta = 8.5971775078648"),
            std::string::npos);
  // Class W across ranks: CG on 3 (7000 rows, uneven blocks), EP on 4 (512 batches). Not in
  // the sanitizer build (90 s there, oversubscribed): class S above runs the same code.
#ifndef PARARUN_SANITIZED
  Result cw = run_cli("run cg -b mpi -n W -r 1", 3);
  EXPECT_EQ(cw.code, 0) << cw.err;
  EXPECT_NE(cw.out.find("published zeta = 10.3625950871240"), std::string::npos) << cw.out;
  Result ew = run_cli("run ep -b mpi -n w -r 1", 4);
  EXPECT_EQ(ew.code, 0) << ew.err;
  EXPECT_NE(ew.out.find("Verification SUCCESSFUL"), std::string::npos) << ew.out;
  EXPECT_NE(ew.out.find("class W published sums sx = -2.863319731645753e+03"), std::string::npos)
      << ew.out;
#endif
  // A zeta off by one part in 10^9 fails NPB's 1e-10 tolerance.
  Result bad = run_cli("run cg -b hybrid -t 2 -n S -r 1 --inject-fault", 2);
  EXPECT_EQ(bad.code, 1) << bad.err;
  EXPECT_NE(bad.out.find("Verification FAILED"), std::string::npos) << bad.out;
}

TEST(Cli, RecordsCarryTheComputedResultsAsNumbers) {
  // NPB 3.3.1's published class S output: 13176389 pairs, annulus 0 holds 6140517, annulus 5
  // holds 17; zeta 8.5971775078648.
  Result e = run_cli("run ep -b seq -n S -r 1 --json");
  ASSERT_EQ(e.code, 0) << e.err;
  const Json ep = Json::parse(e.out)["results"];
  EXPECT_EQ(ep["pairs"], 13176389.0);
  EXPECT_EQ(ep["q0"], 6140517.0);
  EXPECT_EQ(ep["q5"], 17.0);
  EXPECT_NEAR(ep["sx"].get<double>(), -3247.834652034740, 1e-8 * 3247.8);
  Result c = run_cli("run cg -b seq -n S -r 1 --json");
  ASSERT_EQ(c.code, 0) << c.err;
  const Json cg = Json::parse(c.out)["results"];
  EXPECT_NEAR(cg["zeta"].get<double>(), 8.5971775078648, 1e-10 * 8.6);
  EXPECT_EQ(cg["zeta_reference"], 8.5971775078648);
  Result r = run_cli("run reduction -b seq -n 1000 -r 1 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json red = Json::parse(r.out)["results"];
  EXPECT_EQ(red["sum"], red["sum_reference"]);  // exact, to the last bit
}

TEST(Cli, InfoNamesTheToolchain) {
  Result r = run_cli("info");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* needle : {"cores", "compiler", "flags", "Open MPI", "OpenMP", "eigen "})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
  Result j = run_cli("info --json");
  ASSERT_EQ(j.code, 0);
  EXPECT_GE(Json::parse(j.out)["cores"].get<int>(), 1);
}

TEST(Cli, RunPrintsTableAndAppendsRecords) {
  const pararun::test::TempDir tmp;
  const std::string file = tmp / "r.jsonl";
  {
    std::ofstream pre(file);
    pre << "{\"kept\":true}\n";
  }
  Result r = run_cli("run matmul --backend omp --threads 2 --size 64 --out " + file);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("median"), std::string::npos);
  EXPECT_NE(r.out.find("Verification SUCCESSFUL"), std::string::npos) << r.out;
  r = run_cli("run reduction -b seq -v plain -n 2^10 --reps 3 --warmup 0 -o " + file);
  ASSERT_EQ(r.code, 0) << r.err;

  auto l = lines(slurp(file));
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "{\"kept\":true}");
  Json a = Json::parse(l[1]), b = Json::parse(l[2]);
  EXPECT_EQ(a["kernel"], "matmul");
  EXPECT_EQ(a["backend"], "omp");
  EXPECT_EQ(a["variant"], "blocked");
  EXPECT_EQ(a["threads"], 2);
  EXPECT_EQ(a["status"], "ok");
  EXPECT_DOUBLE_EQ(a["flops"].get<double>(), 2.0 * 64 * 64 * 64);
  EXPECT_EQ(a["meta"]["affinity"][0]["threads"].size(), 2u);
  EXPECT_EQ(b["kernel"], "reduction");
  EXPECT_EQ(b["size"], 1024);
  EXPECT_EQ(b["warmup"], 0);
  EXPECT_GE(b["reps"].get<int>(), 3);
  EXPECT_EQ(b["samples"].size(), b["reps"].get<std::size_t>());
}

TEST(Cli, JsonOutputIsTheRecord) {
  Result r = run_cli("run reduction -b omp -t 2 -n 1000 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["schema"], "pararun.record/2");
  EXPECT_EQ(j["verification"]["status"], "passed");
}

TEST(Cli, OmpThreadsDefaultToOmpNumThreads) {
  Result r = run_cli("run reduction -b omp -n 100 --json");
  ASSERT_EQ(r.code, 0);
  const std::string env = "OMP_NUM_THREADS=3 ";
  const int status = std::system(
      (env + PARARUN_EXE + " run reduction -b omp -n 100 --json > /tmp/pararun-omp3.json").c_str());
  ASSERT_EQ(status, 0);
  Json j = Json::parse(slurp("/tmp/pararun-omp3.json"));
  EXPECT_EQ(j["threads"], 3);
  EXPECT_EQ(j["meta"]["env"]["OMP_NUM_THREADS"], "3");
  EXPECT_EQ(j["oversubscribed"], sysconf(_SC_NPROCESSORS_ONLN) < 3);
}

TEST(Cli, VerificationFailureExitsOneAndIsRecordedAsFailed) {
  const pararun::test::TempDir tmp;
  const std::string file = tmp / "r.jsonl";
  Result r = run_cli("run matmul -b seq -v naive -n 7 --inject-fault -o " + file);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("Verification FAILED"), std::string::npos) << r.out;
  auto l = lines(slurp(file));
  ASSERT_EQ(l.size(), 1u);
  Json j = Json::parse(l[0]);
  EXPECT_EQ(j["status"], "verification_failed");
  EXPECT_TRUE(j["baseline"].is_null());
}

TEST(Cli, MpiRanksAreDetectedUnderMpirun) {
  const pararun::test::TempDir tmp;
  const std::string file = tmp / "r.jsonl";
  Result r = run_cli("run matmul -b mpi -n 1000 -o " + file, 3);
  ASSERT_EQ(r.code, 0) << r.err;
  auto l = lines(slurp(file));
  ASSERT_EQ(l.size(), 1u);  // written once, by rank 0
  Json j = Json::parse(l[0]);
  EXPECT_EQ(j["ranks"], 3);
  // SUMMA on a 1 x 3 grid: every rank owns all 1000 rows and 333 or 334 columns of C.
  EXPECT_EQ(j["size_per_rank"]["max"], 334000);
  EXPECT_EQ(j["size_per_rank"]["min"], 333000);
  EXPECT_EQ(j["meta"]["affinity"].size(), 3u);
  // (Without the "Disturbed:" line a busy machine adds: other tests may run beside this one.)
  auto printed = [](const std::string& out) {
    auto l = lines(out);
    return std::count_if(l.begin(), l.end(),
                         [](const std::string& s) { return s.rfind("Disturbed: ", 0) != 0; });
  };
  EXPECT_EQ(printed(r.out), printed(run_cli("run matmul -b mpi -n 1").out) + 2)
      << "the table is printed once (plus imbalance and oversubscription lines)\n"
      << r.out;
}

TEST(Cli, HybridUnderMpirunWithFewerRowsThanRanks) {
  Result r = run_cli("run matmul -b hybrid -t 2 -n 1 --json", 3);
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["ranks"], 3);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["size_per_rank"]["min"], 0);
  EXPECT_EQ(j["oversubscribed"], true);
}

TEST(Cli, HybridThreadsBoundToOneCoreAreFlaggedOversubscribed) {
  // mpirun binds a rank to one core: its 2 threads then take turns on that core.
  Result r = run_cli("run reduction -b hybrid -t 2 -n 2^16 -r 1 --json", 1, "--bind-to core");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["node_cpu_use"]["pes"], 2);
  EXPECT_EQ(j["node_cpu_use"]["cpus_allowed"], 1);
  EXPECT_EQ(j["oversubscribed"], true);
  // Unbound, the 2 threads may use every CPU of the machine.
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  r = run_cli("run reduction -b hybrid -t 2 -n 2^16 -r 1 --json", 1, "--bind-to none");
  ASSERT_EQ(r.code, 0) << r.err;
  j = Json::parse(r.out);
  EXPECT_EQ(j["node_cpu_use"]["cpus_allowed"], cpus);
  EXPECT_EQ(j["oversubscribed"], cpus < 2);
  r = run_cli("run reduction -b hybrid -t 2 -n 2^16 -r 1", 1, "--bind-to core");
  EXPECT_NE(r.out.find("of which their affinity allows 1: this measures concurrency"),
            std::string::npos)
      << r.out;
}

TEST(Cli, ReportComputesSpeedupAgainstBestSequential) {
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
  EXPECT_EQ(r.code, 2) << r.err;
  auto l = lines(r.err);
  ASSERT_EQ(l.size(), 1u) << r.err;
  EXPECT_EQ(l[0].rfind("pararun: error: ", 0), 0u) << l[0];
  EXPECT_NE(l[0].find(GetParam().message), std::string::npos) << l[0];
  EXPECT_EQ(snapshot(tmp.path()), before);
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
        BadInput{"run matmul -b seq -n 0", "--size must be at least 1"},
        BadInput{"run matmul -b seq -n -5", "size"},
        BadInput{"run matmul -b seq -n abc", "--size 'abc' is not a whole number"},
        BadInput{"run matmul -b seq -n 1.5", "--size '1.5' is not a whole number"},
        BadInput{"run matmul -b seq -n 99999999999999999999999", "is not a whole number"},
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
        BadInput{"fly",
                 "unknown command 'fly'; commands: list, info, ceilings, concurrency, study, "
                 "submit, batch, tune, run, report"}),
    case_name);

TEST(Cli, OutputInMissingOrUnwritableFolderIsRefusedBeforeRunning) {
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

TEST(Cli, SequentialBackendUnderSeveralRanksIsAUsageError) {
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

TEST(Cli, BadOptionUnderMpirunIsPrintedOnce) {
  Result r = run_cli("run matmul -b mpi -n 8 --frobnicate", 3);
  EXPECT_NE(r.code, 0);
  int ours = 0;
  for (auto& line : lines(r.err)) ours += line.rfind("pararun: error: ", 0) == 0;
  EXPECT_EQ(ours, 1) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
}

TEST(Cli, MemoryRefusalUnderMpiIsPrintedOnce) {
  Result r = run_cli("run matmul -b mpi -n 200000", 2);
  EXPECT_NE(r.code, 0);
  int ours = 0;
  for (auto& line : lines(r.err)) ours += line.rfind("pararun: error: size 200000 needs", 0) == 0;
  EXPECT_EQ(ours, 1) << r.err;
}

TEST(Cli, ReportOfMissingFileIsAUsageError) {
  Result r = run_cli("report /nonexistent/r.jsonl");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u);
  EXPECT_NE(r.err.find("cannot read result file '/nonexistent/r.jsonl'"), std::string::npos);
}

TEST(Cli, CeilingsArePositiveAndGrowWithThreads) {
  Result r = run_cli("ceilings --threads 2 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(j[i]["threads"], i + 1);
    EXPECT_GT(j[i]["read_gbytes_per_s"].get<double>(), 0.1);
  }
  EXPECT_EQ(run_cli("ceilings --threads 0").code, 2);
}

TEST(Cli, ConcurrencyWritesARecordPerWorkloadAndMode) {
  const pararun::test::TempDir tmp;
  Result r = run_cli("concurrency --tasks 3 --reps 1 --wait 0.01 --steps 100000 --out " +
                     (tmp / "c.jsonl"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("threads-one-core"), std::string::npos) << r.out;
  auto l = lines(slurp(tmp / "c.jsonl"));
  ASSERT_EQ(l.size(), 8u);
  Json first = Json::parse(l[0]), one_core = Json::parse(l[2]);
  EXPECT_EQ(first["kernel"], "concurrency-compute");
  EXPECT_EQ(first["backend"], "seq");
  EXPECT_EQ(first["status"], "ok");
  EXPECT_EQ(one_core["variant"], "threads-one-core");
  EXPECT_EQ(one_core["oversubscribed"], true);
  EXPECT_EQ(run_cli("concurrency --tasks 0").code, 2);
  EXPECT_EQ(run_cli("concurrency --wait -1").code, 2);
}

TEST(Cli, StudyRunsEveryPointWithMpiAndResumes) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "study";
  const std::string study =
      "study --kernels reduction --backends seq,omp,mpi --threads 1,2 "
      "--ranks 1,2 --oversubscribed-ranks 3 --sizes 2^16 --reps 3 --out " +
      dir;
  Result r = run_cli(study);
  ASSERT_EQ(r.code, 0) << r.err;
  // 1 and 2 PEs: two distinct counts, so a curve through them and no claim of a fit.
  EXPECT_NE(r.out.find("model, Amdahl curve through omp/simd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("only 2 distinct PE counts"), std::string::npos) << r.out;
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
  EXPECT_NE(r.err.find("holds a different study"), std::string::npos) << r.err;
  EXPECT_EQ(lines(slurp(dir + "/results.jsonl")).size(), 7u);
}

/// Starts a study, waits for its first record, sends `sig`, then resumes it: every point
/// exactly once, no torn line. A signal the study handles (Slurm's USR1 before the time
/// limit, TERM from scancel) stops it cleanly with 128+signal and a checkpoint.json.
void stop_and_resume(int sig) {
  const pararun::test::TempDir tmp;
  const std::string dir = tmp / "study";
  const std::string args =
      "study --kernels reduction --backends seq,omp --threads 1,2 "
      "--sizes 2^26 --reps 10 --out " +
      dir;
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = std::string(PARARUN_EXE) + " " + args + " >/dev/null 2>&1";
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 3000 && lines(slurp(dir + "/results.jsonl")).empty(); ++i) usleep(10000);
  kill(pid, sig);
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
  }
  Result r = run_cli(args + " --resume");
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

TEST(Cli, StudyKilledInTheMiddleResumesEveryPointExactlyOnce) {
  stop_and_resume(SIGKILL);
}
TEST(Cli, StudyStoppedByUsr1WritesCheckpointAndResumes) {
  stop_and_resume(SIGUSR1);
}
TEST(Cli, StudyStoppedByTermWritesCheckpointAndResumes) {
  stop_and_resume(SIGTERM);
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
        BadInput{"study --ranks x",
                 "--ranks takes whole numbers of at least 1 (at most 100000), got 'x'"},
        BadInput{"study --scaling diagonal", "scaling must be strong or weak, got 'diagonal'"},
        BadInput{"study --kernels nosuch", "unknown kernel 'nosuch'"},
        BadInput{"study --backends gpu", "unknown backend 'gpu' in --backends"},
        BadInput{"study --launcher qsub", "--launcher must be auto, mpirun or srun"},
        BadInput{"study --sizes matmul=0", "--sizes: '0' is not a whole number of at least 1"},
        BadInput{"study --reps 0", "--reps must be 1 to 100000, got 0"},
        BadInput{"study --sizes matmul=512,matmul=512", "--sizes gives matmul=512 twice"},
        BadInput{"study --sizes foo=128",
                 "--sizes names kernel 'foo', which pararun does not have"},
        BadInput{"study --oversubscribed-ranks 100000", "--oversubscribed-ranks must be 0 to"},
        BadInput{"study /tmp", "'/tmp' is not a study file (a YAML file) but a folder"}),
    case_name);

TEST(Cli, RecordsCarryTheShareOfTheMeasuredCeiling) {
  const pararun::test::TempDir tmp;
  {
    std::ofstream out(tmp / "c.json");
    out << R"([{"threads":1,"fma_gflops":100.0,"read_gbytes_per_s":40.0,)"
           R"("read_gbytes_per_s_median":30.0},{"threads":2,"fma_gflops":200.0,)"
           R"("read_gbytes_per_s":80.0,"read_gbytes_per_s_median":60.0}])";
  }
  Result r = run_cli("run reduction -b omp -t 2 -n 2^16 --json --ceilings " + (tmp / "c.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["ceiling"]["kind"], "read_bandwidth_median");
  EXPECT_EQ(j["ceiling"]["pes"], 2);
  EXPECT_DOUBLE_EQ(j["ceiling"]["fraction"].get<double>(), j["gbytes_per_s"].get<double>() / 60.0);
  r = run_cli("run matmul -b seq -n 64 --ceilings " + (tmp / "c.json"));
  EXPECT_NE(r.out.find("of the measured FMA peak (100.0 GFLOP/s at 1 PE(s))"), std::string::npos)
      << r.out;
  r = run_cli("run matmul -b seq -n 64 --ceilings " + (tmp / "missing.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot read the ceilings file"), std::string::npos);
}

TEST(Cli, StudyWithoutItsLauncherIsRefusedBeforeRunning) {
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

TEST(Cli, StudySizesTakeNpbClassNames) {
  const pararun::test::TempDir tmp;
  Result r = run_cli(
      "study --kernels cg,ep --backends seq,mpi --ranks 2 --sizes S --reps 1 "
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

TEST(Cli, StudyFromYamlWithPlotsReportAndFlagOverrides) {
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
  EXPECT_EQ(r.code, 2) << r.err;
  auto l = lines(r.err);
  ASSERT_EQ(l.size(), 1u) << r.err;
  EXPECT_EQ(l[0].rfind("pararun: error: ", 0), 0u) << l[0];
  EXPECT_NE(l[0].find(GetParam().message), std::string::npos) << l[0];
  EXPECT_EQ(snapshot(tmp.path()), before);  // no study folder, the user's files untouched
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

TEST(Cli, MissingStudyFileIsAUsageError) {
  Result r = run_cli("study /nonexistent/s.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("cannot read the study file '/nonexistent/s.yaml'"), std::string::npos)
      << r.err;
}

TEST(Cli, HelpExitsZero) {
  Result r = run_cli("run --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--backend"), std::string::npos);
}

// ---- pararun submit without Slurm: one line that says how to go on, exit 2, nothing made ----

TEST(Cli, SubmitWithoutSbatchSaysHowToRunWithoutSlurm) {
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

TEST(Cli, StudyWithACoreBudgetRunsEveryHybridShapeOfIt) {
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
}

TEST(Cli, StudyRoundsRunEveryPointInEachRoundAndTheReportPoolsThem) {
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

TEST(Cli, ListAsJsonHasEveryKernelAndItsVariantsPerBackend) {
  Result r = run_cli("list --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json kernels = Json::parse(r.out);
  ASSERT_TRUE(kernels.is_array());
  std::set<std::string> names;
  for (const auto& k : kernels) {
    names.insert(k["name"].get<std::string>());
    ASSERT_FALSE(k["backends"].empty()) << k["name"];
    for (const auto& [backend, variants] : k["backends"].items()) {
      ASSERT_FALSE(variants.empty());
      EXPECT_TRUE(variants[0]["default"].get<bool>()) << k["name"] << " " << backend;
      for (std::size_t i = 1; i < variants.size(); ++i)
        EXPECT_FALSE(variants[i]["default"].get<bool>());
    }
  }
  // The same kernels as the table, which names them in its first column.
  std::set<std::string> listed;
  for (const auto& line : lines(run_cli("list").out))
    if (line.find_first_of("-") != 0 && line.rfind("kernel ", 0) != 0)
      listed.insert(line.substr(0, line.find(' ')));
  EXPECT_EQ(names, listed);
  for (const auto& k : kernels) {
    if (k["name"] == "cg") {
      EXPECT_EQ(k["named_sizes"]["S"], 1400);
    }
    if (k["name"] == "matmul") {
      EXPECT_EQ(k["rate_unit"], "GFLOP/s");
      EXPECT_TRUE(k["named_sizes"].empty());
      EXPECT_EQ(k["backends"]["mpi"][0]["name"], "blocked");
    }
  }
}
