#include <gtest/gtest.h>

#include "pararun/metadata.hpp"
#include "pararun/parse.hpp"
#include "pararun/partition.hpp"
#include "pararun/sysinfo.hpp"

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
