#include <gtest/gtest.h>
#include <algorithm>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "../temp_dir.hpp"
#include "pararun/metadata.hpp"
#include "pararun/parse.hpp"
#include "pararun/partition.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/verify.hpp"

using namespace pararun;

TEST(ParseCount, DecimalAndPowers) {
  EXPECT_EQ(parse_count("1024"), 1024u);
  EXPECT_EQ(parse_count("0"), 0u);
  EXPECT_EQ(parse_count("2^26"), 67108864u);
  EXPECT_EQ(parse_count("10^3"), 1000u);
  EXPECT_EQ(parse_count("1^999999999999"), 1u);
  EXPECT_EQ(parse_count("18446744073709551615"), 18446744073709551615ull);
}

TEST(ParseCount, RejectsEverythingElse) {
  for (const char* bad : {"", "-1", "+5", "abc", "12a", "1.5", "1e6", "2^", "^3", "2^64",
                          "18446744073709551616", "99999999999999999999999", " 1"})
    EXPECT_FALSE(parse_count(bad).has_value()) << bad;
  for (const char* big : {"2^64", "18446744073709551616", "99999999999999999999999", "3^41"})
    EXPECT_EQ(count_problem(big), "is larger than 2^64 - 1") << big;
  for (const char* bad : {"", "-1", "+5", "1.5", "2^", "^3", "2^^3", "2^3^4", " 1", "1e30"})
    EXPECT_EQ(count_problem(bad), "is not a whole number") << bad;
}

TEST(Partition, BlocksCoverEverythingOnce) {
  for (std::uint64_t n : {0, 1, 7, 1000})
    for (std::uint64_t parts : {1, 2, 3, 4, 7}) {
      std::uint64_t next = 0;
      for (std::uint64_t p = 0; p < parts; ++p) {
        Range r = block_range(n, parts, p);
        EXPECT_EQ(r.begin, next);
        EXPECT_LE(r.count, n / parts + 1);
        next += r.count;
      }
      EXPECT_EQ(next, n);
    }
}

TEST(Partition, OwnerIsTheBlockThatHoldsTheItem) {
  for (std::uint64_t n : {1, 2, 7, 1000, 1001})
    for (std::uint64_t parts : {1, 2, 3, 4, 7})
      for (std::uint64_t p = 0; p < parts; ++p) {
        const Range r = block_range(n, parts, p);
        for (std::uint64_t i = r.begin; i < r.begin + r.count; ++i)
          ASSERT_EQ(block_owner(n, parts, i), p) << n << " " << parts << " " << i;
      }
}

TEST(Partition, GridIsAsSquareAsPossible) {
  const std::pair<int, int> expected[] = {{1, 1}, {1, 2}, {1, 3}, {2, 2}, {1, 5},
                                          {2, 3}, {1, 7}, {2, 4}, {3, 3}, {3, 4}};
  const int ranks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12};
  for (int i = 0; i < 10; ++i) {
    const Grid g = make_grid(ranks[i]);
    EXPECT_EQ(g.rows, expected[i].first) << ranks[i];
    EXPECT_EQ(g.cols, expected[i].second) << ranks[i];
    EXPECT_EQ(g.rows * g.cols, ranks[i]);
  }
}

TEST(CpuList, ParsesWhatFormatWrites) {
  EXPECT_EQ(pararun::parse_cpu_list("0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(pararun::parse_cpu_list("5"), (std::vector<int>{5}));
  for (const std::vector<int>& cpus :
       {std::vector<int>{0}, std::vector<int>{0, 1}, std::vector<int>{1, 3, 4, 5, 9}})
    EXPECT_EQ(pararun::parse_cpu_list(pararun::format_cpu_list(cpus)), cpus);
  for (const char* bad : {"", "unknown", "3-1", "1,", "-2", "1-", "0;1", "1234567"})
    EXPECT_TRUE(pararun::parse_cpu_list(bad).empty()) << bad;
}

// The CPUs a process may use: the online ones within its cgroup's cpuset (a Slurm allocation
// of CPUs 8-11 on a 64-CPU node is 4 cores, numbered 8-11, not 64 numbered from 0).
TEST(CpuList, UsableCpusAreTheOnlineOnesOfTheCgroupsCpuset) {
  using pararun::usable_cpus_of;
  EXPECT_EQ(usable_cpus_of("0-63", "8-11"), (std::vector<int>{8, 9, 10, 11}));
  EXPECT_EQ(usable_cpus_of("0-3", "2-5"), (std::vector<int>{2, 3}));
  EXPECT_EQ(usable_cpus_of("0-3", ""), (std::vector<int>{0, 1, 2, 3}));         // no cpuset
  EXPECT_EQ(usable_cpus_of("0-3", "garbage"), (std::vector<int>{0, 1, 2, 3}));  // unreadable
  EXPECT_EQ(usable_cpus_of("0-3", "8-9"), (std::vector<int>{0, 1, 2, 3}));      // none shared
  // This process: at least one, sorted, and as many as online_cpus() counts.
  const auto& here = pararun::usable_cpus();
  ASSERT_FALSE(here.empty());
  EXPECT_TRUE(std::is_sorted(here.begin(), here.end()));
  EXPECT_EQ(static_cast<int>(here.size()), pararun::online_cpus());
}

// Where a cgroup's cpuset is found: /proc/self/mountinfo says where each hierarchy is mounted
// (not always /sys/fs/cgroup/cpuset), and a cgroup without one has its nearest parent's.
TEST(CpuList, TheCgroupsCpusetIsFoundWhereverItsHierarchyIsMounted) {
  const test::TempDir tmp;
  const auto put = [&](const std::string& file, const std::string& text) {
    const std::string path = tmp.path() + file;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << text << "\n";
  };
  const std::string root = tmp.path();
  // cgroup v1 with cpu and cpuset mounted together (the cgroup names both controllers).
  put("/sys/fs/cgroup/cpu,cpuset/slurm/job1/cpuset.effective_cpus", "2-3");
  put("/sys/fs/cgroup/cpu,cpuset/cpuset.effective_cpus", "0-7");
  EXPECT_EQ(cgroup_cpuset_of("4:memory:/slurm/job1\n3:cpu,cpuset:/slurm/job1\n",
                             "30 25 0:26 / /sys/fs/cgroup/cpu,cpuset rw,nosuid shared:9 - cgroup "
                             "cgroup rw,cpu,cpuset\n",
                             root),
            "2-3");
  // cgroup v2: a leaf without the cpuset controller has the CPUs of the nearest above it.
  put("/v2/user.slice/cpuset.cpus.effective", "1");
  put("/v2/user.slice/app.scope/cgroup.procs", "");
  const std::string v2 = "40 25 0:30 / /v2 rw,nosuid - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup_cpuset_of("0::/user.slice/app.scope\n", v2, root), "1");
  // A container without its own cgroup namespace: its mount's root is its cgroup.
  put("/ctr/cpuset.cpus.effective", "0,2");
  EXPECT_EQ(cgroup_cpuset_of("0::/docker/abc\n",
                             "50 40 0:30 /docker/abc /ctr ro - cgroup2 cgroup2 rw\n", root),
            "0,2");
  // A mount root is a folder, not a prefix: /docker/abc holds /docker/abc/x, not
  // /docker/abcd. A bind mount of another cgroup's folder listed first is passed over.
  put("/all/docker/abcd/cpuset.cpus.effective", "3");
  const std::string two =
      "51 40 0:30 /docker/abc /ctr ro - cgroup2 cgroup2 rw\n"
      "52 40 0:30 / /all rw - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup_cpuset_of("0::/docker/abcd\n", two, root), "3");
  // Mount points are written with octal escapes (\040 a space).
  put("/cg root/cpuset/job/cpuset.cpus", "5");
  EXPECT_EQ(
      cgroup_cpuset_of("3:cpuset:/job\n",
                       "30 25 0:26 / /cg\\040root/cpuset rw - cgroup cgroup rw,cpuset\n", root),
      "5");
  // No cgroup file system mounted, or no cgroup: none.
  EXPECT_EQ(cgroup_cpuset_of("0::/user.slice\n", "", root), "");
  EXPECT_EQ(cgroup_cpuset_of("", v2, root), "");
}

TEST(CpuList, BusiestNodeFindsPesSharingCpus) {
  using pararun::Json;
  auto rank = [](const char* host, std::vector<std::string> threads) {
    return Json{{"host", host}, {"threads", threads}};
  };
  // Two threads each free to run on both CPUs, or pinned one per CPU: 2 PEs on 2 CPUs.
  auto use = pararun::busiest_node(Json::array({rank("a", {"0-1", "0-1"})}));
  EXPECT_EQ(use.pes, 2);
  EXPECT_EQ(use.cpus, 2);
  use = pararun::busiest_node(Json::array({rank("a", {"0", "1"})}));
  EXPECT_EQ(use.cpus, 2);
  // A rank bound to one core by the launcher, running two threads there: 2 PEs on 1 CPU.
  use = pararun::busiest_node(Json::array({rank("a", {"0", "0"})}));
  EXPECT_EQ(use.pes, 2);
  EXPECT_EQ(use.cpus, 1);
  // Two nodes: the one with fewer CPUs per PE is reported.
  use = pararun::busiest_node(
      Json::array({rank("a", {"0-3"}), rank("b", {"0"}), rank("b", {"0"}), rank("b", {"1"})}));
  EXPECT_EQ(use.host, "b");
  EXPECT_EQ(use.pes, 3);
  EXPECT_EQ(use.cpus, 2);
  // Two "nodes" of one machine (one boot id: the local Slurm cluster) share its CPUs: 4 PEs
  // on 2 CPUs, however the hosts are named.
  auto on = [&](const char* host, const char* machine, std::vector<std::string> threads) {
    Json r = rank(host, std::move(threads));
    r["machine"] = machine;
    return r;
  };
  use = pararun::busiest_node(Json::array({on("node1", "m", {"0-1"}), on("node1", "m", {"0-1"}),
                                           on("node2", "m", {"0-1"}), on("node2", "m", {"0-1"})}));
  EXPECT_EQ(use.host, "node1,node2");
  EXPECT_EQ(use.pes, 4);
  EXPECT_EQ(use.cpus, 2);
  // One host name, two machines (two boot ids): each machine's PEs count against its own CPUs.
  use = pararun::busiest_node(Json::array({on("n", "m1", {"0"}), on("n", "m1", {"0"}),
                                           on("n", "m2", {"0-1"}), on("n", "m2", {"0-1"})}));
  EXPECT_EQ(use.pes, 2);
  EXPECT_EQ(use.cpus, 1);  // m1: 2 PEs on CPU 0 (grouped by host, it would be 4 on 2 CPUs)
  // An unreadable affinity says nothing about its node.
  use = pararun::busiest_node(Json::array({rank("a", {"unknown", "unknown"})}));
  EXPECT_EQ(use.pes, 0);
}

TEST(HostLoad, ReadsTheAggregateLineOfProcStat) {
  double busy = 0, steal = 0;
  // user nice system idle iowait irq softirq steal guest guest_nice, 100 ticks a second.
  ASSERT_TRUE(
      pararun::parse_proc_stat_cpu("cpu  400 100 200 9000 50 10 20 30 0 0", 0.01, busy, steal));
  EXPECT_DOUBLE_EQ(busy, 7.3);  // user + nice + system + irq + softirq; not idle, iowait, steal
  EXPECT_DOUBLE_EQ(steal, 0.3);
  EXPECT_FALSE(pararun::parse_proc_stat_cpu("cpu0 1 2 3 4 5 6 7 8", 0.01, busy, steal));
  EXPECT_FALSE(pararun::parse_proc_stat_cpu("cpu 1 2", 0.01, busy, steal));
  EXPECT_FALSE(pararun::parse_proc_stat_cpu("", 0.01, busy, steal));
  // This machine's own /proc/stat reads, and its counters only grow.
  const auto a = pararun::cpu_times();
  ASSERT_TRUE(a.ok);
  volatile double x = 0;
  for (int i = 0; i < 20000000; ++i) x = x + 1;
  const auto b = pararun::cpu_times();
  EXPECT_GE(b.busy, a.busy);
  EXPECT_GT(b.own, a.own);  // the loop above ran on this process's clock
  EXPECT_GT(b.wall, a.wall);
}

TEST(HostLoad, OthersAreTheMachineBusyTimeLessTheRanksOwn) {
  auto rank = [](const char* host, const char* machine, double window, double busy, double own,
                 double steal = 0) {
    return Json{{"host", host},
                {"machine", machine},
                {"cpu_load",
                 {{"window_s", window},
                  {"busy_s", busy},
                  {"own_s", own},
                  {"steal_s", steal},
                  {"cpus", 2}}}};
  };
  // Quiet: the machine was busy only with this run's two ranks (1 s each over 1 s).
  Json load =
      pararun::host_load(Json::array({rank("a", "m", 1, 2.05, 1), rank("a", "m", 1, 2.05, 1)}));
  EXPECT_FALSE(load["disturbed"].get<bool>());
  EXPECT_NEAR(load["machines"][0]["others_cpus"].get<double>(), 0.05, 1e-9);
  EXPECT_EQ(load["why"], "");
  // A neighbour kept one CPU busy beside a 1-CPU run: disturbed, and the text says by how much.
  load = pararun::host_load(Json::array({rank("a", "m", 2, 4, 2)}));
  EXPECT_TRUE(load["disturbed"].get<bool>());
  EXPECT_NEAR(load["machines"][0]["others_cpus"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(load["why"], "other processes kept 1.00 of 2 CPU(s) busy on a");
  // Steal: 10% of two CPUs' time over 1 s.
  load = pararun::host_load(Json::array({rank("a", "m", 1, 1, 1, 0.2)}));
  EXPECT_TRUE(load["disturbed"].get<bool>());
  EXPECT_EQ(load["why"], "the hypervisor stole 10% of the CPU time on a");
  // A window of a few clock ticks is not judged, however busy it looks: under 0.1 s, or
  // under 0.08 s per CPU (2 CPUs: 0.16 s).
  load = pararun::host_load(Json::array({rank("a", "m", 0.05, 0.1, 0)}));
  EXPECT_FALSE(load["disturbed"].get<bool>());
  EXPECT_FALSE(load["machines"][0]["judged"].get<bool>());
  load = pararun::host_load(Json::array({rank("a", "m", 0.15, 0.3, 0)}));
  EXPECT_FALSE(load["machines"][0]["judged"].get<bool>());
  load = pararun::host_load(Json::array({rank("a", "m", 0.17, 0.3, 0)}));
  EXPECT_TRUE(load["machines"][0]["judged"].get<bool>());
  // Two machines: each judged on its own ranks; only the busy one is named.
  load = pararun::host_load(Json::array({rank("a", "m1", 1, 1.0, 1), rank("b", "m2", 1, 1.6, 1)}));
  EXPECT_EQ(load["machines"].size(), 2u);
  EXPECT_EQ(load["why"], "other processes kept 0.60 of 2 CPU(s) busy on b");
  // Ranks without a cpu_load (older records) say nothing.
  EXPECT_EQ(pararun::host_load(Json::array({Json{{"host", "a"}}}))["machines"].size(), 0u);
}

TEST(ShellWords, QuoteOnlyWhatNeedsIt) {
  EXPECT_EQ(pararun::shell_quote("mpirun"), "mpirun");
  EXPECT_EQ(pararun::shell_quote("--sizes=matmul:512,a/b@c%d+e"), "--sizes=matmul:512,a/b@c%d+e");
  EXPECT_EQ(pararun::shell_quote(""), "''");
  EXPECT_EQ(pararun::shell_quote("2^24"), "'2^24'");
  EXPECT_EQ(pararun::shell_quote("a b"), "'a b'");
  EXPECT_EQ(pararun::shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(pararun::shell_quote("x';touch PWNED;'y"), "'x'\\'';touch PWNED;'\\''y'");
  EXPECT_EQ(pararun::shell_command({"mpirun", "-n", "2", "a b"}), "mpirun -n 2 'a b'");
}

TEST(Verify, EveryElementWithinItsOwnBound) {
  using pararun::componentwise_error;
  const pararun::ExecContext ctx;  // one process
  // A product's scale |A| |B| of 1024 per element (n = 4096, inputs in [-1, 1)), values ~21:
  // one element off by 1e-7 of its value is 2e-6 against a bound of 2 gamma_n x 1024 ~ 1e-9.
  const std::size_t n = 100000;
  std::vector<double> ref(n, 21.0), x(ref), scale(n, 1024.0);
  const double gamma = pararun::rounding_gamma(4096);
  EXPECT_NEAR(gamma, 4096 * 0x1.0p-53, 1e-24);
  const double bound = 2 * gamma / (1 - gamma);
  EXPECT_EQ(componentwise_error(x.data(), ref.data(), scale.data(), n, bound, 0, ctx), 0.0);
  x[777] *= 1 + 1e-7;
  EXPECT_GT(componentwise_error(x.data(), ref.data(), scale.data(), n, bound, 0, ctx), 1000.0);
  // Rounding of the order a product's own code makes passes: a few ulps of 21.
  x[777] = std::nextafter(std::nextafter(21.0, 22.0), 22.0);
  EXPECT_LT(componentwise_error(x.data(), ref.data(), scale.data(), n, bound, 0, ctx), 0.01);
  // Where the scale is 0 only the floor allows a difference; a NaN fails.
  x[777] = 21.0;
  scale[5] = ref[5] = 0;
  x[5] = 1e-300;
  EXPECT_LT(componentwise_error(x.data(), ref.data(), scale.data(), n, bound, 1e-290, ctx), 1);
  EXPECT_GT(componentwise_error(x.data(), ref.data(), scale.data(), n, bound, 1e-310, ctx), 1);
  x[5] = std::nan("");
  EXPECT_TRUE(
      std::isnan(componentwise_error(x.data(), ref.data(), scale.data(), n, bound, 1, ctx)));
  EXPECT_EQ(pararun::rounding_gamma(std::uint64_t{1} << 53), HUGE_VAL);
}
