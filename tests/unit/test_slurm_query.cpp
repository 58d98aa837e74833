// query_array_tasks against stand-in squeue and sacct on PATH (the local test cluster keeps
// accounting off, so its sacct path is tested here): squeue's answer wins, accounting is asked
// from the submission on (less ten minutes), and of a job number listed twice the later job
// counts.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "../temp_dir.hpp"
#include "pararun/slurm.hpp"

using namespace pararun;

namespace {

/// Sets an environment variable for the life of the object, then puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
    tzset();
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
    tzset();
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void write_script(const std::string& path, const std::string& body) {
  std::ofstream(path) << "#!/bin/sh\n" << body;
  chmod(path.c_str(), 0755);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(SlurmQuery, AccountingFromTheSubmissionOnAndTheLaterOfTwoJobsOfOneNumber) {
  const test::TempDir tmp;
  write_script(tmp / "squeue",
               "echo '1234_0|RUNNING|None|node1'\necho '77_0|RUNNING|None|node3'\n");
  // sacct: task 1 twice (an old job of the same number first), task 0 (squeue knows it better),
  // and a job that was not asked about.
  write_script(tmp / "sacct", "echo \"$@\" > " + (tmp / "sacct.args") +
                                  "\n"
                                  "echo '1234_1|FAILED|1:0|node9'\n"
                                  "echo '1234_1|CANCELLED by 0|0:15|node2'\n"
                                  "echo '1234_0|COMPLETED|0:0|node1'\n"
                                  "echo '999_0|COMPLETED|0:0|node1'\n");
  const ScopedEnv path("PATH", tmp.path() + ":" + std::getenv("PATH"));
  const ScopedEnv tz("TZ", "UTC");
  const auto tasks = query_array_tasks({"1234"}, "2026-12-05T14:57:03Z");
  ASSERT_TRUE(tasks.has_value());
  ASSERT_EQ(tasks->size(), 2u);
  EXPECT_EQ(tasks->at("1234_0").state, "RUNNING");
  EXPECT_EQ(tasks->at("1234_1").state, "CANCELLED");
  EXPECT_EQ(tasks->at("1234_1").nodes, "node2");
  EXPECT_EQ(tasks->at("1234_1").reason, "exit code 0:15");
  const std::string args = slurp(tmp / "sacct.args");
  EXPECT_NE(args.find("-j 1234 "), std::string::npos) << args;
  // Ten minutes before the submission: the clocks of two hosts differ.
  EXPECT_NE(args.find("-S 2026-12-05T14:47:03 -E now"), std::string::npos) << args;
  {
    // sacct reads local time: the same moment, 9 hours later on the clock in Tokyo.
    const ScopedEnv tokyo("TZ", "Asia/Tokyo");
    ASSERT_TRUE(query_array_tasks({"1234"}, "2026-12-05T14:57:03Z").has_value());
    const std::string local = slurp(tmp / "sacct.args");
    if (local.find("-S 2026-12-05T14:47:03") != std::string::npos)
      GTEST_SKIP() << "no time zone data for Asia/Tokyo here (tzdata)";
    EXPECT_NE(local.find("-S 2026-12-05T23:47:03 -E now"), std::string::npos) << local;
  }
  // Without a submission time (an older submitted.json): no -S, as before.
  ASSERT_TRUE(query_array_tasks({"1234"}, "").has_value());
  EXPECT_EQ(slurp(tmp / "sacct.args").find("-S"), std::string::npos);
}
