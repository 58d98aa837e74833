// query_array_tasks against stand-in squeue and sacct on PATH (the local test cluster keeps
// accounting off, so its sacct path is tested here): squeue's answer wins, accounting is asked
// from the submission on (less ten minutes), and of a job number listed twice the later job
// counts. Jobs that sbatch put on another cluster are asked for there.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../scoped_env.hpp"
#include "../temp_dir.hpp"
#include "pararun/errors.hpp"
#include "pararun/slurm.hpp"

using namespace pararun;
using test::ScopedEnv;

namespace {

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

// A site that submits to another cluster (--sbatch-arg=--clusters=gpu): sbatch --parsable
// answers "ID;CLUSTER". The cluster is kept in submitted.json and squeue and sacct are asked
// about those arrays there (-M); asked on the local cluster, they would not know the jobs. A
// later submission to the local cluster (a --resume without the option) is asked for locally.
TEST(SlurmQuery, JobsOnAnotherClusterAreAskedForThere) {
  const test::TempDir tmp;
  ASSERT_EQ(mkdir((tmp / "slurm").c_str(), 0755), 0);
  // Each sbatch is answered with the next line of sbatch.answers (two arrays, then the merge
  // job; then a resubmission to the local cluster, the last answer no cluster's name).
  std::ofstream(tmp / "sbatch.answers") << "4321;gpu\n4322;gpu\n4323;gpu\n51\n52;no such/name\n";
  write_script(tmp / "sbatch", "n=$(cat " + (tmp / "sbatch.n") + " 2>/dev/null || echo 1)\n" +
                                   "sed -n \"${n}p\" " + (tmp / "sbatch.answers") + "\n" +
                                   "echo $((n + 1)) > " + (tmp / "sbatch.n") + "\n");
  // Each answers what its cluster knows (-M gpu, or none), and logs how it was asked.
  write_script(tmp / "squeue", "echo \"$@\" >> " + (tmp / "squeue.args") +
                                   "\n"
                                   "case \"$*\" in -M\\ gpu*) echo 'CLUSTER: gpu'; "
                                   "echo '4321_0|RUNNING|None|g1' ;;\n"
                                   "*) echo '51_0|PENDING|Priority|' ;; esac\n");
  write_script(tmp / "sacct",
               "echo \"$@\" >> " + (tmp / "sacct.args") +
                   "\n"
                   "case \"$*\" in -M\\ gpu*) echo '4322_0|COMPLETED|0:0|g2' ;; esac\n");
  const ScopedEnv path("PATH", tmp.path() + ":" + std::getenv("PATH"));
  Submission sub;
  for (const char* name : {"a", "b"}) {
    JobScript s;
    s.path = tmp / (std::string("slurm/") + name + ".sbatch");
    s.text = "#!/bin/sh\n";
    s.tasks = 1;
    s.jobs = {std::string("job-") + name};
    sub.arrays.push_back(s);
  }
  sub.report = {tmp / "slurm/merge.sbatch", "#!/bin/sh\n", 1, {}};
  const auto ignore = [](const JobScript&, const std::string&) {};
  const Submitted ids = submit_all(sub, tmp.path(), ignore);
  EXPECT_EQ(ids.arrays, (std::vector<std::string>{"4321", "4322"}));
  EXPECT_EQ(ids.report, "4323");

  SubmittedTasks submitted = submitted_tasks(tmp.path());
  EXPECT_EQ(submitted.cluster_of,
            (std::map<std::string, std::string>{{"4321", "gpu"}, {"4322", "gpu"}}));
  EXPECT_EQ(submitted.task_of.at("job-b"), "4322_0");
  auto tasks = query_array_tasks(submitted.arrays, submitted.since, submitted.cluster_of);
  ASSERT_TRUE(tasks.has_value());
  ASSERT_EQ(tasks->size(), 2u);  // the "CLUSTER:" line is not a task
  EXPECT_EQ(tasks->at("4321_0").state, "RUNNING");
  EXPECT_EQ(tasks->at("4322_0").state, "COMPLETED");
  EXPECT_EQ(slurp(tmp / "squeue.args"), "-M gpu -h -r --states=all -j 4321,4322 -o %i|%T|%r|%N\n");
  EXPECT_EQ(slurp(tmp / "sacct.args").rfind("-M gpu ", 0), 0u) << slurp(tmp / "sacct.args");

  // Job a again, on the local cluster (sbatch answers "51"; the merge job's "52;no such/name"
  // names no cluster): asked for without -M, beside the gpu arrays asked with it.
  sub.arrays.pop_back();
  std::remove((tmp / "squeue.args").c_str());
  submit_all(sub, tmp.path(), ignore);
  std::string cluster = "stale";
  std::ofstream(tmp / "sbatch.answers") << "53;no such/name\n";
  std::remove((tmp / "sbatch.n").c_str());
  EXPECT_EQ(submit_job(sub.report, "", &cluster), "53");
  EXPECT_EQ(cluster, "");
  submitted = submitted_tasks(tmp.path());
  EXPECT_EQ(submitted.cluster_of.count("51"), 0u);
  EXPECT_EQ(submitted.task_of.at("job-a"), "51_0");
  tasks = query_array_tasks(submitted.arrays, submitted.since, submitted.cluster_of);
  ASSERT_TRUE(tasks.has_value());
  EXPECT_EQ(tasks->at("51_0").state, "PENDING");
  EXPECT_EQ(tasks->at("4321_0").state, "RUNNING");
  const std::string asked = slurp(tmp / "squeue.args");
  EXPECT_NE(asked.find("-h -r --states=all -j 51 -o"), std::string::npos) << asked;
  EXPECT_NE(asked.find("-M gpu -h -r --states=all -j 4321,4322 -o"), std::string::npos) << asked;
}

// The partition check before a submission asks the clusters the jobs go to: sinfo -M, when
// the site's sbatch options name them; else sinfo as it is (it follows $SLURM_CLUSTERS).
TEST(SlurmQuery, ThePartitionIsLookedUpOnTheClustersTheJobsGoTo) {
  const test::TempDir tmp;
  write_script(tmp / "sinfo", "echo \"$@\" >> " + (tmp / "sinfo.args") +
                                  "\n"
                                  "case \"$*\" in -M\\ gpu*) echo 'CLUSTER: gpu'; "
                                  "echo 'g1 accel 64 2:32:1' ;;\n"
                                  "*) echo 'n1 debug* 2 1:2:1' ;; esac\n");
  const ScopedEnv path("PATH", tmp.path() + ":" + std::getenv("PATH"));
  SlurmSite site;
  site.sbatch_args = {"--clusters=gpu"};
  const Partition accel = query_partition("accel", clusters_of(site));
  EXPECT_EQ(accel.cpus, 64);
  EXPECT_EQ(accel.nodes, 1);
  EXPECT_THROW(query_partition("debug", "gpu"), InputError);
  EXPECT_EQ(query_partition("", "").name, "debug");
  EXPECT_EQ(slurp(tmp / "sinfo.args"),
            "-M gpu -h -N -o %N %P %c %z\n-M gpu -h -N -o %N %P %c %z\n-h -N -o %N %P %c %z\n");
}
