// pararun run matmul: the forced micro-kernel variants and what their records name.
#include <gtest/gtest.h>

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
  }
  // "blocked" is the widest micro-kernel the CPU has.
  EXPECT_EQ(Json::parse(l.back())["config"]["micro_kernel"], kernels.front());
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
