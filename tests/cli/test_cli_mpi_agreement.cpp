// `pararun run` under mpirun: ranks with different command lines are refused at once (they
// used to wait for each other forever), a stopped rank ends the run at --time-limit, and
// counts and sizes beyond reason are refused before anything runs.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <thread>
#include <tuple>

#include "cli_helpers.hpp"

namespace {

/// User + system CPU time of process `pid` so far, in seconds (0 if it is gone).
double cpu_seconds(const std::string& pid) {
  const std::string stat = slurp("/proc/" + pid + "/stat");
  const auto paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i)  // fields 14 and 15: utime, stime
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// mpirun -n 2 where rank 0 runs `pararun ARGS0` and rank 1 `pararun ARGS1`, within 60 s.
Result run_two_ranks(const std::string& args0, const std::string& args1) {
  const std::string script = std::string("if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec ") +
                             PARARUN_EXE + " " + args1 + "; else exec " + PARARUN_EXE + " " +
                             args0 + "; fi";
  return run_command(std::string("timeout 60 ") + MPIEXEC + " -n 2 --oversubscribe sh -c '" +
                     script + "'");
}

}  // namespace

struct RankMismatch {
  std::string name, rank1;  // rank 0 runs the good command line
};

void PrintTo(const RankMismatch& m, std::ostream* os) {
  *os << "rank 1: pararun " << m.rank1;
}

class CliRankMismatch : public ::testing::TestWithParam<RankMismatch> {};

TEST_P(CliRankMismatch, IsRefusedAtOnceWithOneLine) {
  const std::string good = "run matmul -b mpi -n 64 -r 2";
  const auto t0 = std::chrono::steady_clock::now();
  Result r = run_two_ranks(good, GetParam().rank1);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 2) << r.err;  // not 124, the timeout's
  EXPECT_LT(seconds, 30);
  EXPECT_NE(r.err.find("pararun: error: rank 1 was started with other arguments than rank 0"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Mpi, CliRankMismatch,
    ::testing::Values(RankMismatch{"OtherKernel", "run reduction -b mpi -n 64 -r 2"},
                      RankMismatch{"OtherReps", "run matmul -b mpi -n 64 -r 3"},
                      RankMismatch{"OtherSize", "run matmul -b mpi -n 65 -r 2"},
                      RankMismatch{"OtherBackend", "run matmul -b seq -n 64 -r 2"},
                      RankMismatch{"BadVariant", "run matmul -b mpi -n 64 -r 2 -v nosuch"},
                      RankMismatch{"CliError", "run matmul -b mpi -n 64 -r 2 --frobnicate"},
                      RankMismatch{"OtherSeed", "run matmul -b mpi -n 64 -r 2 -s 7"},
                      RankMismatch{"OtherVariant", "run matmul -b mpi -n 64 -r 2 -v naive"}),
    [](const ::testing::TestParamInfo<RankMismatch>& info) { return info.param.name; });

TEST(CliMpi, TheSameBadOptionOnEveryRankIsOneLine) {
  Result r = run_cli("run matmul -b mpi -n 64 -v nosuch", 2);
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_FALSE(r.err.empty());
  // mpirun's own lines follow. The variants go on with the forced micro-kernels this CPU has:
  // blocked-avx512, blocked-avx2, ...
  EXPECT_EQ(
      lines(r.err).front().rfind(
          "pararun: error: unknown variant 'nosuch' for matmul/mpi; variants: blocked, eigen, "
          "naive, blas, blocked-",
          0),
      0u)
      << r.err;
}

TEST(CliMpi, AStoppedRankEndsTheRunAtTheTimeLimit) {
  const pararun::test::TempDir tmp;
  const std::string out = tmp / "r.jsonl";
  // Long enough to be stopped in the middle: 200 sweeps of a 2000^2 grid, 20 times.
  const std::string cmd =
      std::string("timeout 90 ") + MPIEXEC + " -n 2 --oversubscribe " + PARARUN_EXE +
      " run stencil -b mpi -n 2000 -r 200 --max-reps 200 --time-limit 10 -o " + out;
  // A rank is stopped once both have used a second of CPU: past MPI_Init, in the sweeps
  // (a fixed 2 s wait could stop one inside MPI_Init on a slow host, before the watchdog);
  // the time limit leaves a loaded host 10 s to get there.
  const std::string ranks = "^[^ ]*pararun run stenci[l] -b mpi -n 2000 -r 200";  // ([l]: not
                                                                                  // this shell)
  bool stopped = false;
  std::thread stopper([&] {
    for (int i = 0; i < 600 && !stopped; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const auto pids = lines(run_command("pgrep -f '" + ranks + "'").out);
      bool busy = pids.size() == 2;
      for (const auto& pid : pids) busy = busy && cpu_seconds(pid) >= 1.0;
      if (busy) stopped = std::system(("kill -STOP " + pids.back()).c_str()) == 0;
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  Result r = run_command(cmd);
  stopper.join();
  (void)std::system(("pkill -CONT -f '" + ranks + "' 2>/dev/null").c_str());
  ASSERT_TRUE(stopped) << "no rank was stopped: the test did not test anything\n" << r.err;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.code, 124) << "the stopped rank kept mpirun waiting until the timeout";
  EXPECT_LT(seconds, 60);
  EXPECT_NE(r.err.find("the run took longer than --time-limit 10 s"), std::string::npos) << r.err;
  EXPECT_FALSE(exists(out));  // no record of a run that did not finish
}

TEST(CliMpi, CountsAndSizesBeyondReasonAreRefused) {
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"run matmul -b seq -n 8 -r 2147483647", "--reps must be 1 to 100000"},
           {"run matmul -b seq -n 8 -w 2147483647", "--warmup must be 0 to 10000"},
           {"run matmul -b seq -n 8 --max-reps 2147483647", "--max-reps must be up to 100000"},
           {"run mandelbrot -b seq -n 2^40", "is beyond its limit of 65536"},
           {"run daxpy -b seq -n 2^50", "daxpy: size 1125899906842624 is beyond its limit"},
           {"run matmul -b seq -n 8 --time-limit -1", "--time-limit must be 0 (none) to"},
           {"run matmul -b seq -n 8 --time-limit 1e10", "--time-limit must be 0 (none) to"},
           {"run matmul -b seq -n 8 -t 5000", "--threads must be 1 to 4096"},
           {"study --reps 200000", "--reps must be 1 to 100000"},
           {"submit --partition ''", "--partition is empty; leave it out for the default"},
           {"study --threads 100000 --ranks 100000 --backends hybrid", "(at most 4096)"}}) {
    Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    ASSERT_EQ(lines(r.err).size(), 1u) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  }
}

TEST(CliMpi, EveryInjectedFaultFailsVerification) {
  // Where a fault strikes: the result on every rank, the last rank's block only, an input, a
  // halo cell, a SUMMA panel. Each must end as verification_failed (exit 1) with a record.
  // (The kernel tests arm input, halo and panel faults on 1 to 4 ranks; this is end to end.)
  for (const int np : {3}) {
    for (const auto& [run, fault] : std::vector<std::pair<std::string, std::string>>{
             {"matmul -b mpi -v blocked", "output"},
             {"matmul -b mpi -v blocked", "rank"},
             {"matmul -b hybrid -t 1 -v naive", "input"},
             {"matmul -b mpi -v blocked", "panel"},
             {"stencil -b mpi -v blocking", "rank"},
             {"stencil -b hybrid -t 1 -v overlapped", "input"},
             {"stencil -b mpi -v overlapped", "halo"},
             {"mandelbrot -b mpi -v block", "rank"},
             // Kernels that verify a reduced result on each rank: the runtime makes one verdict.
             {"reduction -b mpi", "rank"},
             {"cg -b mpi -n S", "rank"}}) {
      const std::string size = run.find(" -n ") == std::string::npos ? " -n 100" : "";
      const std::string args =
          "run " + run + size + " -r 1 --max-reps 1 --json --inject-fault=" + fault;
      Result r = run_cli(args, np);
      EXPECT_EQ(r.code, 1) << np << " ranks: " << args << "\n" << r.err;
      const auto l = lines(r.out);
      ASSERT_FALSE(l.empty()) << np << " ranks: " << args;
      EXPECT_EQ(Json::parse(l.back())["status"], "verification_failed") << np << ": " << args;
    }
  }
  // More ranks than rows: the last rank holds nothing, the fault lands on one that does.
  Result small = run_cli("run matmul -b mpi -n 2 -r 1 --json --inject-fault=rank", 3);
  EXPECT_EQ(small.code, 1) << small.err;
  // A fault a run has nowhere to put is refused before anything runs.
  Result r = run_cli("run stencil -b seq -n 100 --inject-fault=halo");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--inject-fault=halo: stencil plain on backend seq has no halo"),
            std::string::npos)
      << r.err;
  r = run_cli("run matmul -b mpi -n 100 --inject-fault=halo", 2);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has no halo to corrupt"), std::string::npos) << r.err;
  r = run_cli("run matmul -b seq -n 100 --inject-fault=everywhere");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--inject-fault must be output, rank, input, halo or panel, got "
                       "'everywhere'"),
            std::string::npos)
      << r.err;
}

// The warm-up time from the environment may differ between ranks (nodes, wrappers): rank 0's
// is every rank's, so their warm-up repetitions and collectives stay in step; a bad value on
// any rank is named once and every rank exits 2.
TEST(CliMpi, RanksTakeRankZerosWarmupTimeAndABadOneIsNamedOnce) {
  const auto ranks_with = [](const std::string& rank0, const std::string& rank1) {
    const std::string run =
        std::string(PARARUN_EXE) + " run reduction -b mpi -n 100000 -r 3 --json";
    const std::string script =
        "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then PARARUN_WARMUP_TIME=" + rank1 + " exec " + run +
        "; else PARARUN_WARMUP_TIME=" + rank0 + " exec " + run + "; fi";
    return run_command(std::string("timeout 60 ") + MPIEXEC + " -n 2 --oversubscribe sh -c '" +
                       script + "'");
  };
  Result r = ranks_with("0.3", "3");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_GE(j["warmup_seconds"].get<double>(), 0.3);
  EXPECT_LT(j["warmup_seconds"].get<double>(), 2.5);  // not rank 1's 3 s
  EXPECT_EQ(j["timing"]["warmup_min_seconds"], 0.3);

  r = ranks_with("0", "soon");
  EXPECT_EQ(r.code, 2) << r.err;
  const std::string line =
      "pararun: error: PARARUN_WARMUP_TIME must be a number of seconds from 0 to 3600, got "
      "'soon'";
  ASSERT_NE(r.err.find(line), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(line), r.err.rfind(line)) << r.err;  // once
  EXPECT_EQ(r.out, "");
}

// What one rank alone finds wrong with the request where it runs (an input file on its node
// only, its own OMP_THREAD_LIMIT) ends every rank with that one line and exit 2: the others
// waited in the first collective until --time-limit (6 h by default).
TEST(CliMpi, ARequestOneRankAloneRefusesEndsEveryRank) {
  const pararun::test::TempDir tmp;
  std::filesystem::create_directories(tmp / "a");
  std::filesystem::create_directories(tmp / "b");
  write_file(tmp / "a/raw.f64", std::string(64 * sizeof(double), '\0'));
  const auto rank1_differs = [&](const std::string& rank1, const std::string& run) {
    const std::string script = "cd " + tmp.path() +
                               "/a; if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then " + rank1 +
                               "; fi; exec " + std::string(PARARUN_EXE) + " " + run;
    return run_command(std::string("timeout 60 ") + MPIEXEC + " -n 2 --oversubscribe sh -c '" +
                       script + "'");
  };
  for (const auto& [rank1, run, said] :
       {std::tuple<std::string, std::string, std::string>{
            "cd ../b", "run reduction -b mpi -i raw.f64 -r 1",
            "pararun: error: cannot read input file 'raw.f64'"},
        {"export OMP_THREAD_LIMIT=1", "run reduction -b hybrid -t 2 -n 64 -r 1",
         "pararun: error: --threads 2 is above OMP_THREAD_LIMIT (1)"}}) {
    const Result r = rank1_differs(rank1, run);
    EXPECT_EQ(r.code, 2) << rank1 << ": " << r.err;  // (timeout's 124 when it hung)
    ASSERT_NE(r.err.find(said), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(said), r.err.rfind(said)) << r.err;  // once
  }
}
