// End-to-end tests of pararun list, info, ceilings, concurrency and --help.
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

TEST(CliList, ShowsEveryKernelBackendAndVariant) {
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

TEST(CliInfo, NamesTheToolchain) {
  Result r = run_cli("info");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* needle : {"cores", "compiler", "flags", "Open MPI", "OpenMP", "eigen "})
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
  Result j = run_cli("info --json");
  ASSERT_EQ(j.code, 0);
  EXPECT_GE(Json::parse(j.out)["cores"].get<int>(), 1);
}

TEST(CliInfo, CountsTheCpusItWasStartedOnBeforeLibgompBindsItsThread) {
  const std::vector<int> cpus = my_cpus();
  const int all = static_cast<int>(cpus.size());
  if (all < 2) GTEST_SKIP() << "needs 2 CPUs";
  if (!has_taskset()) GTEST_SKIP() << "needs taskset";
  const int first = cpus.front();
  const std::string exe = PARARUN_EXE;
  Result r = run_command("taskset -c " + std::to_string(first) + " " + exe + " info --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["cores"], 1) << "a taskset affinity was not read";
  // With OMP_PROC_BIND set, libgomp binds the main thread to one CPU before main: the count
  // comes from the affinity the process started with.
  r = run_command("OMP_PROC_BIND=close " + exe + " info --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["cores"], all) << "libgomp's binding was read";
  r = run_command("OMP_PROC_BIND=close " + exe + " info");
  EXPECT_NE(r.out.find(std::to_string(all) + " usable"), std::string::npos) << r.out;
}

TEST(CliCeilings, ArePositiveAndGrowWithThreads) {
  // 64 MiB, not the 512 MiB or more of the default, which took 20 s (40 s under ASan): the
  // reads are the same code over any size.
  Result r = run_cli("ceilings --threads 2 --read-bytes 65M --json");
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  ASSERT_EQ(j.size(), 2u);
  // (No FMA peak without AVX2 and FMA: it is 0 there.)
  const bool fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(j[i]["threads"], i + 1);
    if (fma) {
      EXPECT_GT(j[i]["fma_gflops"].get<double>(), 0.1);
    }
    EXPECT_GT(j[i]["read_gbytes_per_s"].get<double>(), 0.1);
    EXPECT_GT(j[i]["read_gbytes_per_s_small_pages"].get<double>(), 0.1);
    EXPECT_EQ(j[i]["read_buffer_bytes"], 64u << 20);  // whole 2 MiB pages
  }
  // Less than 4x the last-level cache is said (where its size is known).
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0 && (64L << 20) < 4 * l3) {
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("pararun: note: --read-bytes 64.0 MiB is less than 4x the last-level "
                         "cache ("),
              std::string::npos)
        << r.err;
  } else {
    EXPECT_EQ(r.err, "");
  }
  r = run_cli("ceilings --threads 1 --read-bytes 2M");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("20 passes of aligned vector loads over 2.0 MiB (--read-bytes;"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(run_cli("ceilings --threads 0").code, 2);
  for (const std::string bad : {"1M", "0", "-64M", "64Q", "2T", "lots", ""}) {
    r = run_cli("ceilings --read-bytes '" + bad + "'");
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_EQ(r.err,
              "pararun: error: --read-bytes must be a size from 2M (one huge page) to 1T, "
              "such as 64M or 4G, got '" +
                  bad + "'\n")
        << bad;
  }
  // More than half of the memory: refused before anything is allocated.
  r = run_cli("ceilings --read-bytes 1T");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("pararun: error: --read-bytes 1T: the two buffers read (on huge and on "
                       "4 KiB pages) need 2.0 TiB, more than half of the "),
            std::string::npos)
      << r.err;
}

TEST(CliConcurrency, WritesARecordPerWorkloadAndMode) {
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

TEST(CliHelp, ExitsZero) {
  Result r = run_cli("run --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--backend"), std::string::npos);
}

TEST(CliList, AsJsonHasEveryKernelAndItsVariantsPerBackend) {
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
    // What --input reads, for the kernels that read files (and run --help names them all).
    const bool reads = k["name"] == "matmul" || k["name"] == "reduction" || k["name"] == "cgsolve";
    EXPECT_EQ(k.contains("input"), reads) << k["name"];
  }
  const std::string help = run_cli("run --help").out;
  EXPECT_NE(help.find("kernels that read files: cgsolve, matmul, reduction"), std::string::npos)
      << help;
}

TEST(CliLauncher, PrintsThePolicysWordsOnePerLine) {
  Result r = run_cli("launcher mpirun --backend hybrid --ranks 2 --threads 2 --cores 4");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{"mpirun", "-n", "2", "--map-by", "slot:PE=2",
                                                    "--bind-to", "core"}));
  r = run_cli("launcher srun --ranks 4 --cores 2");  // more ranks than cores: oversubscribed
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out).back(), "--overcommit");
  r = run_cli("launcher qsub --ranks 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "pararun: error: launcher must be mpirun or srun, got 'qsub'\n");
  r = run_cli("launcher mpirun --threads 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("backend mpi runs 1 thread per rank"), std::string::npos) << r.err;
}
