// What a record says about how it was started and about the host while it was timed: the
// command and launcher lines, and a run beside a noisy neighbour (stress-ng) flagged as
// disturbed in the record, in the run's output and in the report.
#include <gtest/gtest.h>

#include <csignal>

#include "cli_helpers.hpp"

namespace {

Json last_record(const std::string& path) {
  const auto l = lines(slurp(path));
  return l.empty() ? Json() : Json::parse(l.back());
}

}  // namespace

TEST(CliHost, RecordsNameTheirCommandAndLauncher) {
  const pararun::test::TempDir tmp;
  const std::string out = tmp / "r.jsonl";
  Result r = run_cli("run reduction -b mpi -n 2^12 -r 2 -o " + out, 2);
  ASSERT_EQ(r.code, 0) << r.err;
  Json meta = last_record(out)["meta"];
  EXPECT_NE(meta["command"].get<std::string>().find(" run reduction -b mpi -n '2^12' -r 2 -o "),
            std::string::npos)
      << meta["command"];
  // Started by mpirun here: the launcher's own command line, with its rank count.
  const std::string launcher = meta["launcher"].get<std::string>();
  EXPECT_NE(launcher.find("-n 2 --oversubscribe"), std::string::npos) << launcher;
  // A study's point records the exact command the study ran.
  r = run_cli("study --kernels reduction --backends mpi --ranks 2 --sizes 2^12 --reps 2 --out " +
              (tmp / "s"));
  ASSERT_EQ(r.code, 0) << r.err;
  meta = last_record(tmp / "s/results.jsonl")["meta"];
  EXPECT_EQ(meta["launcher"].get<std::string>().rfind("mpirun -n 2 ", 0), 0u) << meta["launcher"];
  EXPECT_NE(meta["launcher"].get<std::string>().find(" run reduction "), std::string::npos);
}

TEST(CliHost, ANoisyNeighbourIsCaughtAndFlagged) {
  const pararun::test::TempDir tmp;
  const std::string out = tmp / "r.jsonl";
  ASSERT_EQ(run_command("command -v stress-ng").code, 0)
      << "stress-ng is missing (scripts/test.sh installs it: apt-get install stress-ng)";
  // stress-ng keeps one CPU busy (tests beside this one keep the other) for at most 60 s;
  // the run (about a second of timed reps on one thread) shares the machine with it.
  const std::string pidfile = tmp / "stress.pid";
  ASSERT_EQ(
      run_command("(stress-ng --cpu 1 --timeout 60s >/dev/null 2>&1 & echo $! >" + pidfile + ")")
          .code,
      0);
  run_command("sleep 1");
  // 300 reps of 2^23 doubles: about a second, well above the window host_load judges.
  Result r = run_cli("run reduction -b seq -n 2^23 -r 300 --max-reps 300 -o " + out);
  run_command("kill $(cat " + pidfile + ")");
  ASSERT_EQ(r.code, 0) << r.err;
  const Json load = last_record(out)["meta"]["host_load"];
  EXPECT_TRUE(load["disturbed"].get<bool>()) << load.dump();
  EXPECT_GE(load["machines"][0]["others_cpus"].get<double>(), 0.25) << load.dump();
  EXPECT_TRUE(load["machines"][0]["judged"].get<bool>()) << load.dump();
  EXPECT_NE(r.out.find("Disturbed: other processes kept "), std::string::npos) << r.out;
  // The report says so beside the point.
  Result rep = run_cli("report " + out);
  EXPECT_EQ(rep.code, 0) << rep.err;
  EXPECT_NE(rep.out.find("disturbed: other processes kept"), std::string::npos) << rep.out;
}
