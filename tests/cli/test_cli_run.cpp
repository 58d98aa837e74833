// End-to-end tests of pararun run: the table, the record, threads and ranks, verification.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cctype>
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

TEST(CliRun, NewKernelsNameTheirReferenceInTheVerificationLine) {
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

TEST(CliRun, NpbKernelsNameClassReferenceAndError) {
  Result e = run_cli("run ep -b omp -t 2 -n s -r 1 --max-reps 1");
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_NE(e.out.find("Problem: NPB EP class S (M = 24"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("Verification SUCCESSFUL: error "), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("NPB 3.3 EP class S published sums sx = -3.247834652034740e+03, sy = "
                       "-6.958407078382297e+03"),
            std::string::npos)
      << e.out;
  EXPECT_NE(e.out.find("13176389 Gaussian pairs"), std::string::npos) << e.out;
  // CG's rows over 3 ranks (1400 rows do not divide by 3), the record names the class.
  Result c = run_cli("run cg -b mpi -n S -r 1 --max-reps 1 --json", 3);
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
  Result cw = run_cli("run cg -b mpi -n W -r 1 --max-reps 1", 3);
  EXPECT_EQ(cw.code, 0) << cw.err;
  EXPECT_NE(cw.out.find("published zeta = 10.3625950871240"), std::string::npos) << cw.out;
  Result ew = run_cli("run ep -b mpi -n w -r 1 --max-reps 1", 4);
  EXPECT_EQ(ew.code, 0) << ew.err;
  EXPECT_NE(ew.out.find("Verification SUCCESSFUL"), std::string::npos) << ew.out;
  EXPECT_NE(ew.out.find("class W published sums sx = -2.863319731645753e+03"), std::string::npos)
      << ew.out;
#endif
  // A zeta off by one part in 10^9 fails NPB's 1e-10 tolerance.
  Result bad = run_cli("run cg -b hybrid -t 2 -n S -r 1 --max-reps 1 --inject-fault", 2);
  EXPECT_EQ(bad.code, 1) << bad.err;
  EXPECT_NE(bad.out.find("Verification FAILED"), std::string::npos) << bad.out;
}

TEST(CliRun, RecordsCarryTheComputedResultsAsNumbers) {
  // NPB 3.3.1's published class S output: 13176389 pairs, annulus 0 holds 6140517, annulus 5
  // holds 17; zeta 8.5971775078648.
  Result e = run_cli("run ep -b seq -n S -r 1 --max-reps 1 --json");
  ASSERT_EQ(e.code, 0) << e.err;
  const Json ep = Json::parse(e.out)["results"];
  EXPECT_EQ(ep["pairs"], 13176389.0);
  EXPECT_EQ(ep["q0"], 6140517.0);
  EXPECT_EQ(ep["q5"], 17.0);
  EXPECT_NEAR(ep["sx"].get<double>(), -3247.834652034740, 1e-8 * 3247.8);
  Result c = run_cli("run cg -b seq -n S -r 1 --max-reps 1 --json");
  ASSERT_EQ(c.code, 0) << c.err;
  const Json cg = Json::parse(c.out)["results"];
  EXPECT_NEAR(cg["zeta"].get<double>(), 8.5971775078648, 1e-10 * 8.6);
  EXPECT_EQ(cg["zeta_reference"], 8.5971775078648);
  Result r = run_cli("run reduction -b seq -n 1000 -r 1 --max-reps 1 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json red = Json::parse(r.out)["results"];
  EXPECT_EQ(red["sum"], red["sum_reference"]);  // exact, to the last bit
}

TEST(CliRun, PrintsTableAndAppendsRecords) {
  const pararun::test::TempDir tmp;
  const std::string file = tmp / "r.jsonl";
  {
    std::ofstream pre(file);
    pre << "{\"kept\":true,\"schema\":\"pararun.record/2\"}\n";  // (a file of records only)
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
  EXPECT_EQ(l[0], "{\"kept\":true,\"schema\":\"pararun.record/2\"}");
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

// Linux file names and environment values are bytes: a Latin-1 name or value in the command
// line or the environment made writing the record throw (nlohmann's dump refuses bytes that
// are not UTF-8) after the kernel had run, and the result was lost (exit 3, no record). It is
// written, those bytes as U+FFFD.
TEST(CliRun, TheRecordIsWrittenWhenTheCommandLineIsNotUtf8) {
  const pararun::test::TempDir tmp;
  const std::string file = tmp / "r\xe9.jsonl";
  const Result r =
      run_command("PARARUN_LABEL='x\xe9' " + std::string(PARARUN_EXE) +
                  " run reduction -b seq -n 1000 --reps 3 --warmup 0 -o '" + file + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto l = lines(slurp(file));
  ASSERT_EQ(l.size(), 1u);
  const Json j = Json::parse(l[0]);
  EXPECT_EQ(j["status"], "ok");
  const std::string replaced = "\xef\xbf\xbd";  // U+FFFD in UTF-8
  EXPECT_EQ(j["meta"]["env"]["PARARUN_LABEL"], "x" + replaced);
  EXPECT_NE(j["meta"]["command"].get<std::string>().find("r" + replaced + ".jsonl"),
            std::string::npos)
      << j["meta"]["command"];
}

TEST(CliRun, JsonOutputIsTheRecord) {
  Result r = run_cli("run reduction -b omp -t 2 -n 1000 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["schema"], "pararun.record/2");
  EXPECT_EQ(j["verification"]["status"], "passed");
  // The binary that measured it, by the ID the linker gave it (readelf -n).
  const std::string id = build_id_of(PARARUN_EXE);
  EXPECT_GE(id.size(), 16u) << "no GNU build ID in " << PARARUN_EXE;
  EXPECT_EQ(j["meta"]["build"]["build_id"], id);
}

// A CPU's first few hundred milliseconds of work can run slower (on a 2-vCPU VM, 2 threads ran
// 3x slower for up to 0.6 s): untimed repetitions run for 1 s by default, at least --warmup
// of them, and the record says how many ran and what they took.
TEST(CliRun, WarmsUpForASecondByDefault) {
  Result r = run_command("env -u PARARUN_WARMUP_TIME " + std::string(PARARUN_EXE) +
                         " run reduction -b seq -n 1000 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_GE(j["warmup_seconds"].get<double>(), 1.0);
  EXPECT_GT(j["warmup"].get<int>(), 1);  // a 1000-double sum takes microseconds
  EXPECT_EQ(j["timing"]["warmup_min_seconds"], 1.0);
  EXPECT_EQ(j["timing"]["warmup_min_reps"], 1);

  // Given: --warmup-time over PARARUN_WARMUP_TIME; --warmup repetitions however long they take.
  r = run_command("PARARUN_WARMUP_TIME=5 " + std::string(PARARUN_EXE) +
                  " run reduction -b seq -n 1000 --warmup-time 0.25 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = Json::parse(r.out);
  EXPECT_GE(j["warmup_seconds"].get<double>(), 0.25);
  EXPECT_LT(j["warmup_seconds"].get<double>(), 4.0);
  EXPECT_EQ(j["timing"]["warmup_min_seconds"], 0.25);
  r = run_cli("run reduction -b seq -n 1000 -w 7 --json");  // PARARUN_WARMUP_TIME=0 here
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["warmup"], 7);
  // --warmup 0 alone: no warm-up at all, whatever the default.
  r = run_command("PARARUN_WARMUP_TIME=5 " + std::string(PARARUN_EXE) +
                  " run reduction -b seq -n 1000 -w 0 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = Json::parse(r.out);
  EXPECT_EQ(j["warmup"], 0);
  EXPECT_EQ(j["timing"]["warmup_min_seconds"], 0.0);

  // Under MPI every rank runs the same number of warm-up repetitions (each one a barrier).
  r = run_cli("run reduction -b mpi -n 100000 --warmup-time 0.3 --json", 2);
  ASSERT_EQ(r.code, 0) << r.err;
  j = Json::parse(r.out);
  EXPECT_GE(j["warmup_seconds"].get<double>(), 0.3);
  EXPECT_GT(j["warmup"].get<int>(), 1);

  // A variable that is not a number of seconds: one line naming it, exit 2; a study or a
  // batch says so before it makes its folder or runs anything.
  const std::string line =
      "pararun: error: PARARUN_WARMUP_TIME must be a number of seconds from 0 to 3600, got "
      "'soon'\n";
  r = run_command("PARARUN_WARMUP_TIME=soon " + std::string(PARARUN_EXE) +
                  " run reduction -b seq -n 1000");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, line);
  const pararun::test::TempDir tmp;
  r = run_command("PARARUN_WARMUP_TIME=soon " + std::string(PARARUN_EXE) +
                  " study --kernels reduction --backends seq --out " + (tmp / "s"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, line);
  EXPECT_FALSE(std::filesystem::exists(tmp / "s"));
}

TEST(CliRun, OmpThreadsDefaultToOmpNumThreads) {
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

TEST(CliRun, TheRecordedThreadsAreTheThreadsThatRan) {
  // OMP_THREAD_LIMIT=1 or OMP_DYNAMIC=true (libgomp then sizes teams by the load average): the
  // record said 2 threads, 2 PEs, while one thread's affinity was "" (it never ran).
  Result r = run_command(std::string("OMP_THREAD_LIMIT=1 ") + PARARUN_EXE +
                         " run reduction -b omp -t 2 -n 2^12 -r 1");
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--threads 2 is above OMP_THREAD_LIMIT (1)"), std::string::npos) << r.err;
  // What else starts teams of a given size: a ceiling, a tune, a study's points.
  const pararun::test::TempDir tmp;
  for (const std::string& cmd :
       {std::string("ceilings --threads 2"),
        "tune reduction -b omp -t 2 -n 2^12 -r 1 --tuning " + (tmp / "t.json"),
        "study --kernels reduction --backends seq,omp --threads 1,2 --sizes 2^12 -o " + (tmp / "s"),
        "study --kernels reduction --backends omp --cores 2 --sizes 2^12 -o " + (tmp / "s")}) {
    const Result x = run_command("OMP_THREAD_LIMIT=1 " + std::string(PARARUN_EXE) + " " + cmd);
    EXPECT_EQ(x.code, 2) << cmd << ": " << x.err;
    EXPECT_EQ(lines(x.err).size(), 1u) << cmd << ": " << x.err;
    EXPECT_NE(x.err.find("2 is above OMP_THREAD_LIMIT (1)"), std::string::npos) << x.err;
  }
  EXPECT_FALSE(std::filesystem::exists(tmp / "s"));
  r = run_command(std::string("OMP_THREAD_LIMIT=1 ") + PARARUN_EXE +
                  " run reduction -b omp -n 2^12 -r 1 --json");  // the default: within it
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["threads"], 1);
  r = run_command(std::string("OMP_DYNAMIC=true ") + PARARUN_EXE +
                  " run reduction -b omp -t 2 -n 2^16 -r 3 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["threads"], 2);
  ASSERT_EQ(j["meta"]["affinity"][0]["threads"].size(), 2u);
  for (const auto& t : j["meta"]["affinity"][0]["threads"]) EXPECT_NE(t, "") << j["meta"].dump();
}

TEST(CliRun, TooManyOmpThreadsIsOneLineNotACrash) {
  // libgomp died with SIGSEGV starting 100000 threads.
  const Result r = run_command(std::string("OMP_NUM_THREADS=100000 ") + PARARUN_EXE +
                               " run reduction -b omp -n 64 -r 1 --warmup 0");
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("100000 threads per rank is more than 4096 (OMP_NUM_THREADS"),
            std::string::npos)
      << r.err;
  // 2^31 and more: libgomp's omp_get_max_threads() (an int) gave 0 or less, and the run
  // crashed. (LLVM's libomp, in the clang builds, takes 1 thread for it with a warning of its
  // own: the run goes on.)
  for (const std::string threads : {"2147483648", "3000000000", "4294967296"}) {
    const Result big = run_command("OMP_NUM_THREADS=" + threads + " " + PARARUN_EXE +
                                   " run reduction -b omp -n 64 -r 1 --warmup 0");
#if defined(__clang__)
    EXPECT_EQ(big.code, 0) << threads << ": " << big.err;
#else
    EXPECT_EQ(big.code, 2) << threads << ": " << big.err;
    ASSERT_EQ(lines(big.err).size(), 1u) << big.err;
    EXPECT_NE(
        big.err.find("OMP_NUM_THREADS='" + threads + "' is not a thread count from 1 to 4096"),
        std::string::npos)
        << big.err;
#endif
  }
  // A study's --cores above it for the omp backend: refused before any folder is made.
  const pararun::test::TempDir tmp;
  const Result s = run_cli(
      "study --kernels reduction --backends omp --cores 99999 --sizes 1000 "
      "--reps 1 --out " +
      (tmp / "s"));
  EXPECT_EQ(s.code, 2) << s.err;
  ASSERT_EQ(lines(s.err).size(), 1u) << s.err;
  EXPECT_NE(s.err.find("99999 threads per rank is more than 4096"), std::string::npos) << s.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "s"));
}

TEST(CliRun, VerificationFailureExitsOneAndIsRecordedAsFailed) {
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

TEST(CliRun, MpiRanksAreDetectedUnderMpirun) {
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

TEST(CliRun, HybridUnderMpirunWithFewerRowsThanRanks) {
  Result r = run_cli("run matmul -b hybrid -t 2 -n 1 --json", 3);
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["ranks"], 3);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["size_per_rank"]["min"], 0);
  EXPECT_EQ(j["oversubscribed"], true);
}

TEST(CliRun, HybridThreadsBoundToOneCoreAreFlaggedOversubscribed) {
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

TEST(CliRun, RecordsCarryTheShareOfTheMeasuredCeiling) {
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
  // What `pararun ceilings --json` writes here is taken by a run here (it names this CPU).
  r = run_cli("ceilings --threads 1 --read-bytes 64M --json");
  ASSERT_EQ(r.code, 0) << r.err;
  write_file(tmp / "here.json", r.out);
  r = run_cli("run reduction -b seq -n 2^16 --json --ceilings " + (tmp / "here.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["ceiling"]["pes"], 1) << r.out;
  // The ceilings of another CPU are refused, before the run.
  {
    std::ofstream out(tmp / "other.json");
    out << R"([{"threads":1,"fma_gflops":100.0,"cpu":"Another CPU, family 1 model 1"}])";
  }
  r = run_cli("run matmul -b seq -n 64 --ceilings " + (tmp / "other.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("holds the ceilings of another CPU (Another CPU, family 1 model 1; this "
                       "is "),
            std::string::npos)
      << r.err;
}
