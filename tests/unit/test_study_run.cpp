// The study loop as a library, with a fake pararun: a shell script that writes a record for
// each point it is given, or dies like a crashed point.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "../temp_dir.hpp"
#include "pararun/errors.hpp"
#include "pararun/metadata.hpp"
#include "pararun/registry.hpp"
#include "pararun/slurm.hpp"
#include "pararun/study_options.hpp"
#include "pararun/study_run.hpp"

using namespace pararun;

namespace {

/// Writes an executable script that acts as `pararun run`: a verified record for its
/// --point into its --out file, except that points matching `crash` exit `code` (default
/// 139, a crash) with none.
std::string fake_pararun(const test::TempDir& tmp, const std::string& crash, int code = 139) {
  const std::string path = tmp / "fake-pararun";
  std::ofstream(path)
      << "#!/bin/sh\n"
         "while [ $# -gt 0 ]; do case \"$1\" in --point) p=$2; shift;; --out) o=$2; shift;; "
         "esac; shift; done\n"
         "case \"$p\" in "
      << crash << ") echo crashed >&2; exit " << code
      << ";; esac\n"
         "printf '{\"schema\":\"pararun.record/2\",\"kind\":\"run\",\"kernel\":\"matmul\","
         "\"backend\":\"omp\",\"status\":\"ok\",\"point\":\"%s\","
         "\"time\":{\"median\":1.0,\"ci\":[1.0,1.0]}}\\n' \"$p\" >> \"$o\"\n";
  chmod(path.c_str(), 0755);
  return path;
}

struct Study {
  StudySpec spec;
  std::vector<Point> points;
  Study() {
    spec.kernels = {"matmul"};
    spec.backends = {Backend::omp};
    spec.threads = {1, 2, 3};
    spec.ranks = {1};
    spec.sizes = {{"", 64}};
    points = plan_points(spec, Registry::global());
  }
};

/// An empty study folder (with its logs/) in `tmp`.
std::string study_dir(const test::TempDir& tmp) {
  const std::string dir = tmp / "s";
  EXPECT_EQ(mkdir(dir.c_str(), 0755), 0);
  EXPECT_EQ(mkdir((dir + "/logs").c_str(), 0755), 0);
  return dir;
}

}  // namespace

TEST(StudyRun, CrashedPointsGetErrorRecordsAndResumeSkipsVerifiedOnes) {
  const test::TempDir tmp;
  const Study s;
  const std::string dir = study_dir(tmp);
  const volatile int stop = 0;
  std::vector<int> codes;
  const StudyRun run = run_study(s.spec, s.points, dir, "mpirun", fake_pararun(tmp, "*/t2/*"),
                                 &stop, [&](const PointDone& d) { codes.push_back(d.exit_code); });
  EXPECT_EQ(codes, (std::vector<int>{0, 139, 0}));
  EXPECT_EQ(run.run, 3);
  EXPECT_EQ(run.failures, 1);
  const RecordFile rf = read_records(dir + "/results.jsonl");
  ASSERT_EQ(rf.records.size(), 3u);
  EXPECT_EQ(rf.records[1].kind, RecordKind::error);
  EXPECT_EQ(rf.records[1].point, "matmul/omp/blocked/n64/t2/r1");
  EXPECT_EQ(rf.records[1].exit_code, 139);
  EXPECT_EQ(done_points(dir), (std::vector<std::string>{"matmul/omp/blocked/n64/t1/r1",
                                                        "matmul/omp/blocked/n64/t3/r1"}));
  // Resume: only the crashed point runs again (and now succeeds).
  codes.clear();
  const StudyRun again =
      run_study(s.spec, s.points, dir, "mpirun", fake_pararun(tmp, "none"), &stop,
                [&](const PointDone& d) { codes.push_back(d.exit_code); });
  EXPECT_EQ(again.skipped, 2);
  EXPECT_EQ(codes, std::vector<int>{0});
  EXPECT_EQ(done_points(dir).size(), 3u);
}

TEST(StudyRun, ALauncherThatExitsOneWithoutARecordIsAnErrorNotAFailedVerification) {
  const test::TempDir tmp;
  const Study s;
  const std::string dir = study_dir(tmp);
  const volatile int stop = 0;
  std::vector<bool> recorded;
  run_study(s.spec, s.points, dir, "mpirun", fake_pararun(tmp, "*/t3/*", 1), &stop,
            [&](const PointDone& d) { recorded.push_back(d.recorded); });
  EXPECT_EQ(recorded, (std::vector<bool>{true, true, false}));
  const RecordFile rf = read_records(dir + "/results.jsonl");
  ASSERT_EQ(rf.records.size(), 3u);
  EXPECT_EQ(rf.records[2].kind, RecordKind::error);
  EXPECT_EQ(rf.records[2].exit_code, 1);
}

TEST(StudyRun, AStopLeavesACheckpointOfWhatIsLeft) {
  const test::TempDir tmp;
  const Study s;
  const std::string dir = study_dir(tmp);
  volatile int stop = 0;
  const StudyRun run = run_study(s.spec, s.points, dir, "mpirun", fake_pararun(tmp, "none"), &stop,
                                 [&](const PointDone&) { stop = 10; });  // SIGUSR1
  EXPECT_EQ(run.stopped_by, 10);
  EXPECT_EQ(run.run, 1);
  EXPECT_EQ(run.points_left, 2);
  std::ifstream in(dir + "/checkpoint.json");
  const Json checkpoint = Json::parse(in);
  EXPECT_EQ(checkpoint["points_done"], 1);
  EXPECT_EQ(checkpoint["points_left"],
            (Json{"matmul/omp/blocked/n64/t2/r1", "matmul/omp/blocked/n64/t3/r1"}));
  EXPECT_EQ(checkpoint["signal"], 10);
}

TEST(StudyRun, ArrayTasksRecordsInPointFilesAreMergedOnceIntoResults) {
  const test::TempDir tmp;
  const Study s;
  const std::string dir = study_dir(tmp);
  ASSERT_EQ(mkdir((dir + "/points").c_str(), 0755), 0);
  Json points = Json::array();
  for (const auto& p : s.points) points.push_back(p.id);
  std::ofstream(dir + "/study.json") << Json{{"points", points}}.dump();
  const auto record = [](const std::string& point, double t) {
    return Json{{"schema", "pararun.record/2"},
                {"kind", "run"},
                {"kernel", "matmul"},
                {"backend", "omp"},
                {"status", "ok"},
                {"point", point},
                {"time", {{"median", t}, {"ci", {t, t}}}}}
               .dump() +
           "\n";
  };
  const std::string t1 = s.points[0].id, t2 = s.points[1].id;
  EXPECT_EQ(point_record_file(dir, t2), dir + "/points/matmul.omp.blocked.n64.t2.r1.jsonl");
  // t1 was merged before (the same record in both files); t2's task wrote a record, then
  // died mid-line on a resubmission; t3 never ran.
  std::ofstream(dir + "/results.jsonl") << record(t1, 1.0);
  std::ofstream(point_record_file(dir, t1)) << record(t1, 1.0);
  std::ofstream(point_record_file(dir, t2)) << record(t2, 2.0) << "{\"schema\":\"pararun.rec";
  EXPECT_EQ(done_points(dir), (std::vector<std::string>{t1, t2}));  // --resume skips both
  EXPECT_EQ(merge_point_records(dir), 1);
  const RecordFile rf = read_records(dir + "/results.jsonl");
  ASSERT_EQ(rf.records.size(), 2u);
  EXPECT_TRUE(rf.problems.empty());
  EXPECT_EQ(rf.records[0].point, t1);
  EXPECT_EQ(rf.records[1].point, t2);
  EXPECT_EQ(rf.records[1].time->median, 2.0);
  EXPECT_EQ(merge_point_records(dir), 0);  // merging again adds nothing
  EXPECT_EQ(read_records(dir + "/results.jsonl").records.size(), 2u);
  // A second verified run of t2 (a resubmitted task) is a record of its own: kept.
  std::ofstream(point_record_file(dir, t2), std::ios::app) << "\n" << record(t2, 3.0);
  EXPECT_EQ(merge_point_records(dir), 1);
  EXPECT_EQ(read_records(dir + "/results.jsonl").records.size(), 3u);
}

TEST(StudyRun, AResumeByAnotherBuildIsRefusedNotMixed) {
  const test::TempDir tmp;
  const Study s;
  StudyOptions o;
  o.out = tmp / "s";
  const Json manifest = study_manifest(s.spec, s.points);
  ASSERT_TRUE(manifest["build"]["git_commit"].is_string());
  prepare_study_dir(o, manifest);
  o.resume = true;
  EXPECT_NO_THROW(prepare_study_dir(o, manifest));  // the same build goes on
  Json other = manifest;
  other["build"]["git_commit"] = "0123abc";  // the folder's study, measured by another build
  std::ofstream(o.out + "/study.json") << other.dump(2);
  try {
    prepare_study_dir(o, manifest);
    FAIL() << "a resume by another build was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("was measured by another build of pararun (commit "
                                         "0123abc"),
              std::string::npos)
        << e.what();
  }
  // The same commit, compiler and flags, another binary (a "-dirty" checkout rebuilt).
  ASSERT_TRUE(manifest["build"]["build_id"].is_string());
  other = manifest;
  other["build"]["build_id"] = "0123456789abcdef0123";
  std::ofstream(o.out + "/study.json") << other.dump(2);
  try {
    prepare_study_dir(o, manifest);
    FAIL() << "a resume by another build of the same commit was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(", build id 0123456789ab, "), std::string::npos)
        << e.what();
  }
  other = manifest;
  other["reps"] = 99;  // another study altogether
  std::ofstream(o.out + "/study.json") << other.dump(2);
  EXPECT_THROW(
      {
        try {
          prepare_study_dir(o, manifest);
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("holds a different study"), std::string::npos);
          throw;
        }
      },
      InputError);
}

namespace {
/// A study of reduction, n = 1000: its sequential variants and mpi on `ranks`.
StudySpec reduction_seq_and_mpi(std::vector<int> ranks) {
  StudySpec spec;
  spec.kernels = {"reduction"};
  spec.backends = {Backend::seq, Backend::mpi};
  spec.threads = {1};
  spec.ranks = std::move(ranks);
  spec.sizes = {{"", 1000}};
  return spec;
}
}  // namespace

TEST(Slurm, SubmitOptionsAreSlurmTimesAboveZero) {
  StudyOptions o;
  for (const char* ok : {"30", "00:30:00", "1-00", "1-12:00", "2-00:00:01", "5:30"}) {
    o.time_limit = ok;
    EXPECT_NO_THROW(check_submit_options(o)) << ok;
  }
  for (const char* bad : {"-5", "0", "00:00:00", "", "soon", "1:2:3:4", "1-", "::", "1-2-3"}) {
    o.time_limit = bad;
    EXPECT_THROW(check_submit_options(o), InputError) << bad;
  }
  o.time_limit = "10";
  o.max_parallel = 0;
  EXPECT_THROW(check_submit_options(o), InputError);
}

TEST(Slurm, OneArrayPerResourceShapeAndAReportJobAfterIt) {
  StudySpec spec = reduction_seq_and_mpi({1, 2, 4});
  const auto points = plan_points(spec, Registry::global());
  const Partition part{"debug", 2, 2};  // 2 nodes of 2 CPUs
  StudyOptions o;
  o.max_parallel = 3;
  const Submission sub = plan_submission(o, spec, points, part, "/r/s", {points[0].id},
                                         "/bin/pararun", "/share/job-common.sh");
  // 1 node x 1 task (the other seq variant, mpi on 1 rank: one point was done), 1 node x 2
  // ranks, 2 nodes x 4 ranks: each array asks for what its tasks run.
  ASSERT_EQ(sub.arrays.size(), 3u);
  EXPECT_EQ(sub.arrays[0].tasks, 2);
  EXPECT_NE(sub.arrays[0].text.find("#SBATCH --array=0-1%3\n#SBATCH --nodes=1\n#SBATCH "
                                    "--ntasks=1\n#SBATCH --cpus-per-task=1\n#SBATCH --exclusive\n"),
            std::string::npos)
      << sub.arrays[0].text;
  EXPECT_NE(sub.arrays[1].path.find("points-1node-2x1.sbatch"), std::string::npos);
  EXPECT_NE(sub.arrays[1].text.find("#SBATCH --nodes=1\n#SBATCH --ntasks=2\n"), std::string::npos);
  EXPECT_NE(sub.arrays[2].text.find("#SBATCH --nodes=2\n#SBATCH --ntasks=4\n"), std::string::npos);
  // srun takes the site's MPI plugin: no --mpi unless the site asks for one.
  EXPECT_NE(sub.arrays[2].text.find("srun -n 4 --cpus-per-task 1 --kill-on-bad-exit=1"),
            std::string::npos)
      << sub.arrays[2].text;
  EXPECT_EQ(sub.arrays[2].text.find("--mpi"), std::string::npos);
  EXPECT_EQ(sub.arrays[2].text.find("--overcommit"), std::string::npos);
  EXPECT_NE(sub.report.text.find("/bin/pararun report /r/s"), std::string::npos);
  // The tasks that measure name the build that submitted them (job-common.sh ends a task
  // whose binary was rebuilt meanwhile); the report job, which measures nothing, does not.
  const std::string id = executable_build_id();
  ASSERT_FALSE(id.empty());
  for (const auto& a : sub.arrays)
    EXPECT_NE(a.text.find("export PARARUN=/bin/pararun\nexport PARARUN_BUILD_ID=" + id + "\n"),
              std::string::npos)
        << a.text;
  EXPECT_EQ(sub.report.text.find("PARARUN_BUILD_ID"), std::string::npos);
  EXPECT_EQ(sub.arrays[0].text.find(points[0].id), std::string::npos);  // done: not again
  // Each task writes its own record file, never the shared results.jsonl.
  EXPECT_NE(sub.arrays[0].text.find("--out " + point_record_file("/r/s", points[1].id)),
            std::string::npos)
      << sub.arrays[0].text;
  EXPECT_EQ(sub.arrays[2].text.find("results.jsonl"), std::string::npos);
  // A folder #SBATCH lines cannot carry is refused before any script is written.
  for (const char* bad : {"/r/with space", "/r/100%", "/r/a\nrm -rf x"})
    EXPECT_THROW(plan_submission(o, spec, points, part, bad, {}, "/bin/pararun", "/c.sh"),
                 InputError)
        << bad;
  // A point the partition cannot hold is refused by name.
  spec.ranks = {8};
  EXPECT_THROW(nodes_for(plan_points(spec, Registry::global()).back(), part), InputError);
}

TEST(Slurm, SiteOptionsReachEveryJobScriptAndNothingElse) {
  const StudySpec spec = reduction_seq_and_mpi({1, 4});
  const auto points = plan_points(spec, Registry::global());
  StudyOptions o;
  o.site = {"proj42", "debug", "intel&ib", "", {"--mail-type=END", "--hint=nomultithread"}, "", ""};
  const Submission sub = plan_submission(o, spec, points, Partition{"debug", 2, 2}, "/r/s", {},
                                         "/bin/pararun", "/c.sh");
  ASSERT_EQ(sub.arrays.size(), 2u);
  for (const JobScript* s : {&sub.arrays[0], &sub.arrays[1], &sub.report}) {
    EXPECT_NE(s->text.find("#SBATCH --account=proj42\n#SBATCH --qos=debug\n#SBATCH "
                           "--constraint=intel&ib\n#SBATCH --mail-type=END\n#SBATCH "
                           "--hint=nomultithread\n"),
              std::string::npos)
        << s->text;
    EXPECT_EQ(s->text.find("--reservation"), std::string::npos);  // not given: no line
  }
  auto refusal = [](const SlurmSite& site) {
    try {
      check_site(site);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(refusal(o.site), "");
  // A newline would start a command in the script; a space ends an #SBATCH value.
  EXPECT_NE(refusal({"p\nrm -rf ~", "", "", "", {}, "", ""}).find("--account 'p"),
            std::string::npos);
  EXPECT_NE(refusal({"", "a b", "", "", {}, "", ""}).find("--qos"), std::string::npos);
  EXPECT_NE(refusal({"", "", "", "", {"mail"}, "", ""}).find("is not one sbatch option"),
            std::string::npos);
  EXPECT_NE(refusal({"", "", "", "", {"--nodes=4"}, "", ""}).find("ParaRun sets --nodes itself"),
            std::string::npos);
  EXPECT_NE(refusal({"", "", "", "", {"-N4"}, "", ""}).find("ParaRun sets -N4 itself"),
            std::string::npos);
  EXPECT_NE(refusal({"", "", "", "", {"--time=1"}, "", ""}).find("options of their own"),
            std::string::npos);
  // sbatch takes any unambiguous start of a long option, and bundles short ones: neither
  // gets past the options ParaRun sets itself. '#' starts a comment in an #SBATCH line.
  EXPECT_NE(refusal({"", "", "", "", {"--outp=/x"}, "", ""}).find("ParaRun sets --outp itself"),
            std::string::npos);
  EXPECT_NE(refusal({"", "", "", "", {"--ti=5"}, "", ""}).find("ParaRun sets --ti itself"),
            std::string::npos);
  EXPECT_NE(refusal({"", "", "", "", {"-vo/x"}, "", ""}).find("its own --sbatch-arg"),
            std::string::npos);
  // sbatch must not wait for each array to end (submit would block; a Ctrl-C there left
  // arrays without their report job), nor only test it.
  for (const char* arg : {"--wait", "-W", "--wai", "--test-only", "--test"})
    EXPECT_NE(refusal({"", "", "", "", {arg}, "", ""}).find("neither wait for a job to end"),
              std::string::npos)
        << arg;
  EXPECT_EQ(refusal({"", "", "", "", {"--wckey=x"}, "", ""}), "");
  EXPECT_NE(refusal({"", "", "", "", {"--comment=a#b"}, "", ""}).find("is not one sbatch option"),
            std::string::npos);
  EXPECT_NE(refusal({"proj#x", "", "", "", {}, "", ""}).find("--account 'proj#x'"),
            std::string::npos);
  EXPECT_EQ(refusal({"",
                     "",
                     "",
                     "",
                     {"-Mgpu", "-v", "-vv", "--mail-type=END", "--export=NONE", "--no-requeue",
                      "--exclude=n1", "--ntasks-per-node=2"},
                     "",
                     ""}),
            "");
  EXPECT_NE(refusal({"", "", "", "", {"--"}, "", ""}).find("is not one sbatch option"),
            std::string::npos);
  for (const char* dir : {"/r/run#2", "/r/it's", "/r/q\"x", "/r/b\\s", "/r/a b", "/r/%j"})
    EXPECT_THROW(check_sbatch_path(dir), InputError) << dir;
  EXPECT_NO_THROW(check_sbatch_path("/r/study-1_a.b+c=d,e@f"));
  o.site.sbatch_args = {"--array=0-99"};
  EXPECT_THROW(check_submit_options(o), InputError);
}

TEST(Slurm, MpiPluginSetupScriptAndSmtReachEveryJobScript) {
  const StudySpec spec = reduction_seq_and_mpi({1, 4});
  const auto points = plan_points(spec, Registry::global());
  const test::TempDir tmp;
  const std::string setup = tmp / "modules.sh";
  std::ofstream(setup) << "module load openmpi\n";
  // sinfo -N -o "%N %P %c %z": nodes of 2 cores with 2 hardware threads each.
  const Partition part = parse_sinfo(
      "n1 debug* 4 1:2:2\nn2 debug* 4 1:2:2\nbig other 16 2:8:1\nn1 other 4 1:2:2\n", "");
  EXPECT_EQ(part.name, "debug");
  EXPECT_EQ(part.nodes, 2);
  EXPECT_EQ(part.cpus, 2);  // cores: a run's CPUs are cores, not hardware threads
  EXPECT_EQ(part.threads_per_core, 2);
  const Partition other = parse_sinfo("big other 16 2:8:1\n", "other");
  EXPECT_EQ(other.cpus, 16);
  EXPECT_EQ(other.threads_per_core, 1);
  EXPECT_THROW(parse_sinfo("n1 debug* 4 1:2:2\n", "gpu"), InputError);
  EXPECT_EQ(parse_sinfo("n1 debug* 4\n", "").cpus, 4);  // no %z: no SMT known
  // sinfo -M a,b: each cluster's nodes after its name. The partition of those that have it is
  // the smallest (sbatch may take either: one job script must fit both).
  const std::string two =
      "CLUSTER: a\nn1 debug* 4 1:4:1\nn2 debug* 4 1:4:1\nCLUSTER: b\n"
      "m1 debug* 8 1:8:1\nm1 gpu 8 1:8:1\n";
  const Partition both = parse_sinfo(two, "debug", "a,b");
  EXPECT_EQ(both.nodes, 1);
  EXPECT_EQ(both.cpus, 4);
  EXPECT_EQ(parse_sinfo(two, "gpu", "a,b").cpus, 8);  // b's alone
  EXPECT_EQ(parse_sinfo(two, "", "a,b").name, "debug");
  EXPECT_THROW(parse_sinfo("CLUSTER: a\nn1 debug* 4\nCLUSTER: b\nm1 batch* 64\n", "", "a,b"),
               InputError);  // two default partitions of different names
  try {
    parse_sinfo(two, "big", "a,b");
    ADD_FAILURE() << "no partition 'big' was accepted";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "Slurm cluster a,b has no partition 'big' (see sinfo -M a,b)");
  }
  // The clusters the jobs go to, from the site's sbatch options (the last one given wins).
  SlurmSite site;
  EXPECT_EQ(clusters_of(site), "");
  site.sbatch_args = {"--mail-type=END", "--clusters=gpu"};
  EXPECT_EQ(clusters_of(site), "gpu");
  site.sbatch_args.push_back("-Mgpu,big-mem");
  EXPECT_EQ(clusters_of(site), "gpu,big-mem");
  site.sbatch_args = {"--cluster=a;b"};
  EXPECT_THROW(clusters_of(site), InputError);

  StudyOptions o;
  o.site.mpi = "pmix";
  o.site.setup = setup;
  const Submission sub =
      plan_submission(o, spec, points, part, "/r/s", {}, "/bin/pararun", "/c.sh");
  ASSERT_EQ(sub.arrays.size(), 2u);
  for (const JobScript* s : {&sub.arrays[0], &sub.arrays[1], &sub.report}) {
    EXPECT_NE(s->text.find("#SBATCH --hint=nomultithread\n"), std::string::npos) << s->text;
    EXPECT_NE(s->text.find("export SLURM_MPI_TYPE=pmix\nexport PARARUN_SETUP=" + setup +
                           "\nsource /c.sh || exit 2\n"),
              std::string::npos)
        << s->text;
  }
  // A --hint of the site's own wins over ParaRun's.
  o.site.sbatch_args = {"--hint=multithread"};
  const Submission own =
      plan_submission(o, spec, points, part, "/r/s", {}, "/bin/pararun", "/c.sh");
  EXPECT_EQ(own.report.text.find("nomultithread"), std::string::npos) << own.report.text;
  // What an #SBATCH line or a job script cannot carry is refused.
  SlurmSite bad;
  bad.mpi = "pmix; rm -rf ~";
  EXPECT_THROW(check_site(bad), InputError);
  bad.mpi = "";
  bad.setup = "modules.sh";  // relative: the nodes run from another folder
  EXPECT_THROW(check_site(bad), InputError);
  bad.setup = tmp / "missing.sh";
  EXPECT_THROW(check_site(bad), InputError);
}

TEST(StudyOptions, AutomaticCountsStepThroughTheCoresAndKeepHybridShapesWithinThem) {
  EXPECT_EQ(scaling_counts(1), "1");
  EXPECT_EQ(scaling_counts(2), "1,2");
  EXPECT_EQ(scaling_counts(6), "1,2,4,6");
  EXPECT_EQ(scaling_counts(8), "1,2,4,8");
  EXPECT_EQ(scaling_counts(12), "1,2,4,8,12");
  StudyOptions o;  // threads and ranks "auto" by default
  o.kernels = "reduction";
  o.backends = "seq,omp,mpi,hybrid";
  o.sizes = "2^12";
  StudySpec spec = study_spec(o, 4, 8);  // nodes of 4 cores, 8 in the allocation
  EXPECT_EQ(spec.threads, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(spec.ranks, (std::vector<int>{1, 2, 4, 8}));
  std::set<std::pair<int, int>> hybrid;  // ranks x threads
  for (const auto& p : study_points(spec))
    if (p.backend == Backend::hybrid) hybrid.insert({p.ranks, p.threads});
  const std::set<std::pair<int, int>> within = {{1, 1}, {1, 2}, {1, 4}, {2, 1}, {2, 2},
                                                {2, 4}, {4, 1}, {4, 2}, {8, 1}};
  EXPECT_EQ(hybrid, within);  // no 4 x 4 or 8 x 2 on 8 cores
  // Counts given by hand run as given, shapes beyond the cores too (oversubscribed on purpose).
  o.threads = "1,4";
  o.ranks = "4";
  spec = study_spec(o, 4, 8);
  EXPECT_EQ(spec.threads, (std::vector<int>{1, 4}));
  EXPECT_EQ(spec.max_pes, 0);
  o.threads = "auto,2";
  EXPECT_THROW(study_spec(o, 4, 8), InputError);
}
