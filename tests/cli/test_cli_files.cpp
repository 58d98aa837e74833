// The files pararun writes: no shell for user strings, no output that destroys an input or a
// device, reports that survive failed points and bad lines, a full disk that loses nothing.
#include <gtest/gtest.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <algorithm>

#include <dirent.h>

#include "cli_helpers.hpp"

using pararun::test::TempDir;

namespace {

/// A one-point study (matmul 64, seq blocked) in `dir`: a small, real results folder.
void small_study(const std::string& dir) {
  Result r = run_cli("study --kernels matmul --backends seq --sizes 64 --reps 1 --max-reps 1 " +
                     std::string("--out ") + dir);
  ASSERT_EQ(r.code, 0) << r.err;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  return out;
}

const char* kErrorRecord =
    R"({"schema":"pararun.record/1","kernel":"matmul","backend":"omp","variant":"blocked",)"
    R"("size":64,"threads":2,"ranks":1,"pes":2,"scaling":"strong",)"
    R"("point":"matmul/omp/blocked/n64/t2/r1","status":"error","exit_code":139,"log":"x.log"})";

}  // namespace

TEST(CliFiles, StudyOutputFolderWithQuotesReachesNoShell) {
  const TempDir tmp;
  // With `system("mkdir -p '...'")` this name ran `touch PWNED`.
  const std::string out = tmp / "x';touch " + tmp.path() + "/PWNED;'y/st";
  Result r =
      run_cli("study --kernels matmul --backends seq --sizes 64 --reps 1 --out \"" + out + "\"");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(exists(tmp / "PWNED"));
  EXPECT_TRUE(exists(out + "/results.jsonl"));
  EXPECT_TRUE(exists(out + "/report.md"));
}

TEST(CliFiles, StudyOutputFolderWithANewlineIsRefused) {
  const TempDir tmp;
  Result r =
      run_cli("study --kernels matmul --backends seq --sizes 64 --out \"" + tmp.path() + "/a\nb\"");
  EXPECT_EQ(r.code, 2);
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("control character"), std::string::npos) << r.err;
  EXPECT_TRUE(files_in(tmp.path()).empty());
}

TEST(CliFiles, StudyRefusesPointsEveryProcessWouldRefuseBeforeLaunching) {
  const TempDir tmp;
  Result r = run_cli(
      "study --kernels matmul --backends seq,omp --threads 1,2 --sizes matmul=200000 --out " +
      (tmp / "s"));
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("pararun: error: point matmul/seq/blocked/n200000/t1/r1: size 200000 "
                       "needs about"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(exists(tmp / "s"));
  Result cg =
      run_cli("study --kernels cg --backends mpi --ranks 2000 --sizes S --out " + (tmp / "c"));
  EXPECT_EQ(cg.code, 2);
  EXPECT_NE(cg.err.find("2000 ranks for 1400 rows"), std::string::npos) << cg.err;
  EXPECT_FALSE(exists(tmp / "c"));
}

TEST(CliFiles, AFailedPointStaysWithItsStudyAndARerunSupersedesIt) {
  if (geteuid() != 0) GTEST_SKIP() << "needs mpirun to refuse root: run as root";
  const TempDir tmp;
  const std::string dir = tmp / "s";
  // mpirun refuses root without Open MPI's variables: the mpi point ends without a record.
  const std::string study = std::string(PARARUN_EXE) +
                            " study --kernels reduction --backends seq,mpi --ranks 1 --sizes 1000"
                            " --reps 1 --max-reps 1 --launcher mpirun --out " +
                            dir;
  Result r =
      run_command("env -u OMPI_ALLOW_RUN_AS_ROOT -u OMPI_ALLOW_RUN_AS_ROOT_CONFIRM " + study);
  EXPECT_EQ(r.code, 1) << r.err;
  // Its error record joins the study's group (it lacked the seed, and stood in a group of its
  // own with "no verified sequential run"); it says no run, not a failed verification.
  EXPECT_EQ(r.out.find("no verified sequential run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no run"), std::string::npos) << r.out;
  r = run_command(study + " --resume");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("no result (exit 1); verified when run again"), std::string::npos) << r.out;
  const Json analysis = Json::parse(slurp(dir + "/analysis.json"));
  ASSERT_EQ(analysis["groups"].size(), 1u) << analysis.dump(1);
  EXPECT_EQ(analysis["groups"][0]["rows"].size(), 4u);  // seq simd, seq plain, mpi error, mpi ok
}

TEST(CliFiles, ErrorRecordsAndBadLinesNeverBreakTheReport) {
  const TempDir tmp;
  const std::string dir = tmp / "s";
  small_study(dir);
  const std::size_t records = lines(slurp(dir + "/results.jsonl")).size();  // seq: every variant
  {
    std::ofstream out(dir + "/results.jsonl", std::ios::app);
    out << kErrorRecord << "\n"
        << R"({"schema":"pararun.record/1","kernel":"matmul","backend":"seq","status":"ok",)"
        << R"("time":"fast"})"
        << "\n";
  }
  std::remove((dir + "/report.md").c_str());
  std::remove((dir + "/speedup.csv").c_str());
  Result r = run_cli("report " + dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.err.find("pararun: warning: " + dir + "/results.jsonl:" + std::to_string(records + 2) +
                 ": field 'time' has the wrong type (string); line skipped"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("no result (exit 139)"), std::string::npos) << r.out;
  ASSERT_TRUE(exists(dir + "/report.md"));
  // The plots read analysis.json, which pararun wrote: no bad line reaches them.
  const Json analysis = Json::parse(slurp(dir + "/analysis.json"));
  EXPECT_EQ(analysis["groups"][0]["rows"].back()["status"], "error");
  if (std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") == 0) {
    EXPECT_EQ(r.err.find("plots skipped"), std::string::npos) << r.err;
  }
  const auto csv = lines(slurp(dir + "/speedup.csv"));
  // The header, the verified points and the error record, its cells empty but the baseline's.
  ASSERT_EQ(csv.size(), records + 2) << slurp(dir + "/speedup.csv");
  // Columns 14 and 15 name the baseline (variant, median); the speedup interval follows.
  // The last column, provenance, is quoted (it holds commas); it is the group's, so the error
  // record's row ends with the same one.
  auto fields = [](const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (char ch : line)
      if (ch == '"')
        quoted = !quoted;
      else if (ch == ',' && !quoted)
        out.emplace_back();
      else
        out.back().push_back(ch);
    return out;
  };
  const auto first = fields(csv[1]);
  ASSERT_EQ(first.size(), 22u) << csv[1];
  EXPECT_NE(first[21].find("build "), std::string::npos) << csv[1];
  EXPECT_EQ(fields(csv.back()), fields("matmul,64,omp,blocked,2,1,,,,,no,,," + first[13] + "," +
                                       first[14] + ",,,,strong,,,\"" + first[21] + "\""));
  // The same file given as a file, not a folder.
  Result f = run_cli("report " + dir + "/results.jsonl --csv " + (tmp / "r.csv"));
  EXPECT_EQ(f.code, 0) << f.err;
  EXPECT_EQ(lines(slurp(tmp / "r.csv")).size(), records + 2);
}

// A plot's file name comes from the records' kernel, which anyone can edit: it stays a name in
// the study folder, never a path that writes (or overwrites) a file outside it.
TEST(CliFiles, APlotIsNamedInTheStudyFolderWhateverARecordsKernelSays) {
  if (std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") != 0)
    GTEST_SKIP() << "no python3-matplotlib: no plots";
  const TempDir tmp;
  const std::string dir = tmp / "a/s";
  ASSERT_EQ(mkdir((tmp / "a").c_str(), 0755), 0);
  // Two processing elements: a plot.
  ASSERT_EQ(run_cli("study --kernels matmul --backends seq,omp --threads 1,2 --sizes 64 "
                    "--reps 1 --max-reps 1 --out " +
                    dir)
                .code,
            0);
  std::string text = slurp(dir + "/results.jsonl");
  for (std::size_t at; (at = text.find(R"("kernel":"matmul")")) != std::string::npos;)
    text.replace(at, 17, R"("kernel":"../../precious")");
  write_file(dir + "/results.jsonl", text);
  write_file(tmp / "precious-64.png", "precious\n");
  const Result r = run_cli("report " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp / "precious-64.png"), "precious\n");
  std::vector<std::string> top = files_in(tmp.path());
  std::sort(top.begin(), top.end());
  EXPECT_EQ(top, (std::vector<std::string>{"a", "precious-64.png"}));
  EXPECT_EQ(files_in(tmp / "a"), (std::vector<std::string>{"s"}));
  ASSERT_TRUE(exists(dir + "/_.._precious-64.png")) << r.out;
  EXPECT_NE(slurp(dir + "/report.md").find("![_.._precious-64.png](_.._precious-64.png)"),
            std::string::npos);
  // A link where a plot goes (here to the study's own records) is replaced by the plot, not
  // written through: results.jsonl became a PNG.
  const std::string records = slurp(dir + "/results.jsonl");
  ASSERT_EQ(std::remove((dir + "/_.._precious-64.png").c_str()), 0);
  ASSERT_EQ(symlink("results.jsonl", (dir + "/_.._precious-64.png").c_str()), 0);
  ASSERT_EQ(run_cli("report " + dir).code, 0);
  EXPECT_EQ(slurp(dir + "/results.jsonl"), records);
  struct stat st {};
  ASSERT_EQ(lstat((dir + "/_.._precious-64.png").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  const mode_t mask = umask(022);  // (read, and put back)
  umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

TEST(CliFiles, ANewStudyOrBatchNeverTakesOverAFolderOfOtherResults) {
  // A batch rewrote a study's results.jsonl with its own records (the study's were gone), a
  // study appended to a batch's, and a study replaced the user's own report.md.
  const TempDir tmp;
  const std::string study = tmp / "study", manifest = tmp / "m.yaml";
  small_study(study);
  write_file(manifest,
             "name: one\njobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n"
             "    reps: 1\n");
  const std::string results = study + "/results.jsonl", before = slurp(results);
  for (const std::string& args : {"batch run " + manifest + " -o " + study,
                                  "batch run " + manifest + " -o " + study + " --resume"}) {
    Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("already holds results.jsonl"), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(results), before);
  // Nor a submitted study's before its report job merged a record: study.json, points/ and
  // slurm/ only.
  const std::string submitted = tmp / "submitted";
  std::filesystem::create_directories(submitted + "/points");
  std::filesystem::create_directories(submitted + "/slurm");
  std::filesystem::copy_file(study + "/study.json", submitted + "/study.json");
  Result early = run_cli("batch run " + manifest + " -o " + submitted);
  EXPECT_EQ(early.code, 2) << early.err;
  EXPECT_NE(early.err.find("already holds study.json, points, slurm"), std::string::npos)
      << early.err;
  EXPECT_FALSE(std::filesystem::exists(submitted + "/batch.json"));
  // A batch folder is not a study's, even before its merge wrote results.jsonl.
  const std::string running = tmp / "running";
  std::filesystem::create_directories(running + "/jobs");
  write_file(running + "/batch.json", "{}\n");
  early = run_cli("study --kernels matmul --backends seq --sizes 64 --reps 1 --max-reps 1 --out " +
                  running);
  EXPECT_EQ(early.code, 2) << early.err;
  EXPECT_NE(early.err.find("already holds batch.json, jobs"), std::string::npos) << early.err;
  EXPECT_FALSE(std::filesystem::exists(running + "/study.json"));
  const std::string batch = tmp / "batch";
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + batch).code, 0);
  const std::string batch_results = slurp(batch + "/results.jsonl");
  Result r = run_cli(
      "study --kernels matmul --backends seq --sizes 64 --reps 1 --max-reps 1 --out " + batch);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(slurp(batch + "/results.jsonl"), batch_results);
  EXPECT_FALSE(std::filesystem::exists(batch + "/study.json"));
  // Nor is a folder of the user's own files; a folder without them is fine.
  const std::string mine = tmp / "mine";
  std::filesystem::create_directory(mine);
  write_file(mine + "/report.md", "my notes\n");
  r = run_cli("study --kernels matmul --backends seq --sizes 64 --reps 1 --max-reps 1 --out " +
              mine);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("already holds report.md"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(mine + "/report.md"), "my notes\n");
  // Nor a PNG, which a plot could replace, nor a logs of its own (plot.log was removed there;
  // a file named logs failed every point, exit 1).
  std::filesystem::remove(mine + "/report.md");
  for (const std::string name : {"matmul-64.png", "photo.PNG", "logs/plot.log", "logs"}) {
    std::filesystem::create_directories(std::filesystem::path(mine + "/" + name).parent_path());
    write_file(mine + "/" + name, "mine\n");
    r = run_cli(
        "study --kernels matmul --backends seq,omp --threads 1,2 --sizes 64 --reps 1 "
        "--max-reps 1 --out " +
        mine);
    EXPECT_EQ(r.code, 2) << name << ": " << r.err;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    const std::string named = name.substr(0, name.find('/'));
    EXPECT_NE(r.err.find("already holds " + named), std::string::npos) << r.err;
    EXPECT_EQ(slurp(mine + "/" + name), "mine\n");
    EXPECT_FALSE(exists(mine + "/study.json"));
    std::filesystem::remove_all(mine + "/" + named);
  }
  write_file(mine + "/notes.txt", "mine\n");
  EXPECT_EQ(
      run_cli("study --kernels matmul --backends seq --sizes 64 --reps 1 --max-reps 1 --out " +
              mine)
          .code,
      0);
  EXPECT_EQ(slurp(mine + "/notes.txt"), "mine\n");
}

TEST(CliFiles, ADamagedStudyJsonListsNoPointsInsteadOfAJsonError) {
  // Ids that were not strings ended `report` with nlohmann's type_error and exit 3.
  const TempDir tmp;
  const std::string dir = tmp / "s";
  small_study(dir);
  // (Without pararun.study/1 it is no study's: its records are reported as they are.)
  for (const char* manifest : {R"({"points": 5})", R"({"points": [1, 2]})", "[3]",
                               R"({"schema": "pararun.study/1", "points": 5})",
                               R"({"schema": "pararun.study/1", "points": [1, 2]})"}) {
    write_file(dir + "/study.json", manifest);
    Result r = run_cli("report " + dir);
    EXPECT_EQ(r.code, 0) << manifest << ": " << r.err;
    EXPECT_NE(r.out.find("matmul, size 64"), std::string::npos) << r.out;
  }
}

TEST(CliFiles, CsvThatIsAnInputOrNotARegularFileIsRefused) {
  const TempDir tmp;
  const std::string dir = tmp / "s";
  small_study(dir);
  const std::string results = dir + "/results.jsonl", before = slurp(results);
  for (const std::string& args :
       {"report " + results + " --csv " + results, "report " + dir + " --csv " + results,
        "report " + dir + " --csv " + dir + "/study.json"}) {
    Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("is also an input"), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(results), before);
  // A hard link to the results is the same file under another name.
  ASSERT_EQ(link(results.c_str(), (tmp / "alias.csv").c_str()), 0);
  EXPECT_EQ(run_cli("report " + results + " --csv " + (tmp / "alias.csv")).code, 2);
  EXPECT_EQ(slurp(results), before);
  // Nor the report's own files in a study folder: report.md was silently replaced by CSV.
  const std::string md = dir + "/report.md", md_before = slurp(md);
  for (const std::string& target : {md, dir + "/analysis.json"}) {
    Result r = run_cli("report " + dir + " --csv " + target);
    EXPECT_EQ(r.code, 2) << target;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("which the study's report writes"), std::string::npos) << r.err;
  }
  EXPECT_EQ(slurp(md), md_before);
  // Nor by another spelling of the path, before report.md exists (same_file needs a file).
  std::remove(md.c_str());
  Result other = run_cli("report " + dir + "/ --csv " + dir + "/../s/report.md");
  EXPECT_EQ(other.code, 2) << other.err;
  EXPECT_NE(other.err.find("which the study's report writes"), std::string::npos) << other.err;
  EXPECT_FALSE(exists(md));
  // A device is never replaced by a regular file.
  Result dev = run_cli("report " + results + " --csv /dev/full");
  EXPECT_EQ(dev.code, 2);
  EXPECT_NE(dev.err.find("'/dev/full' is a device"), std::string::npos) << dev.err;
  struct stat st {};
  ASSERT_EQ(stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

// A study's or batch's own files are not another command's output: `report B --csv
// B/batch.json` replaced the batch's manifest with CSV (resume, status and merge then refused
// the folder), `run -o S/study.json` appended a record line to the study's JSON. Refused with
// exit 2 and kept as they were; `run -o S/results.jsonl` still adds a record.
TEST(CliFiles, AStudyOrBatchFoldersOwnFilesAreNoOtherCommandsOutput) {
  const TempDir tmp;
  const std::string study = tmp / "s", batch = tmp / "b", manifest = tmp / "m.yaml";
  small_study(study);
  {
    std::ofstream m(manifest);
    m << "jobs:\n  - kernel: reduction\n    backend: seq\n    size: 1000\n    reps: 1\n";
  }
  Result b = run_cli("batch run " + manifest + " --out " + batch);
  ASSERT_EQ(b.code, 0) << b.err;
  const std::string batch_json = slurp(batch + "/batch.json"),
                    study_json = slurp(study + "/study.json");
  ASSERT_FALSE(batch_json.empty());
  const std::string run = "run reduction -b seq -n 1000 --reps 1 --warmup 0 -o ";
  for (const std::string& args :
       {"report " + batch + " --csv " + batch + "/batch.json",
        "report " + batch + "/results.jsonl --csv " + tmp.path() + "/./b/summary.json",
        "report " + study + "/results.jsonl --csv " + study + "/checkpoint.json",
        "report " + study + "/results.jsonl --csv " + study + "/logs/new.csv",
        run + study + "/study.json", run + batch + "/batch.json", run + batch + "/jobs/x.jsonl",
        "tune matmul -v blocked -n 64 -r 1 --tuning " + study + "/report.md"}) {
    Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("writes itself"), std::string::npos) << args << ": " << r.err;
  }
  // Nor through a symbolic link to one of them.
  ASSERT_EQ(symlink((study + "/study.json").c_str(), (tmp / "link.jsonl").c_str()), 0);
  const Result linked = run_cli(run + (tmp / "link.jsonl"));
  EXPECT_EQ(linked.code, 2) << linked.err;
  EXPECT_NE(linked.err.find("writes itself"), std::string::npos) << linked.err;
  EXPECT_EQ(slurp(batch + "/batch.json"), batch_json);
  EXPECT_EQ(slurp(study + "/study.json"), study_json);
  EXPECT_FALSE(exists(study + "/checkpoint.json"));
  EXPECT_FALSE(exists(study + "/logs/new.csv"));
  EXPECT_FALSE(exists(batch + "/jobs/x.jsonl"));
  const std::size_t records = lines(slurp(study + "/results.jsonl")).size();
  Result more = run_cli(run + study + "/results.jsonl");
  EXPECT_EQ(more.code, 0) << more.err;
  EXPECT_EQ(lines(slurp(study + "/results.jsonl")).size(), records + 1);
}

TEST(CliFiles, RecordsAreAppendedOnlyToAFileOfRecords) {
  const TempDir tmp;
  const std::string study = tmp / "s";
  small_study(study);
  const std::string study_json = slurp(study + "/study.json");
  ASSERT_FALSE(study_json.empty());
  // A second hard link to the study's study.json, elsewhere (no name check sees it), and a
  // source file given by mistake: neither gets a line appended.
  const std::string link = tmp / "other.jsonl", source = tmp / "main.cpp";
  ASSERT_EQ(::link((study + "/study.json").c_str(), link.c_str()), 0);
  {
    std::ofstream s(source);
    s << "int main() { return 0; }\n";
  }
  const std::string run = "run reduction -b seq -n 1000 --reps 1 --warmup 0 ";
  for (const std::string& out : {link, source}) {
    for (const std::string& args :
         {run + "-o " + out, "concurrency --tasks 2 --reps 1 --wait 0 --steps 1 --out " + out}) {
      const Result r = run_cli(args);
      EXPECT_EQ(r.code, 2) << args << ": " << r.err;
      ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
      EXPECT_NE(r.err.find("holds no ParaRun record"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(slurp(study + "/study.json"), study_json);
  EXPECT_EQ(slurp(source), "int main() { return 0; }\n");
  // 2 MiB without a record: the message says how much was looked at.
  const std::string big = tmp / "big.txt";
  write_file(big, std::string(2 << 20, 'x'));
  const Result r = run_cli(run + "-o " + big);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("no line of its first MiB is one"), std::string::npos) << r.err;

  // Records are appended to: a results file whose first line a killed writer cut short; one
  // that holds only a record cut short, unended, before its schema; one whose first record is
  // longer than a MiB (its "schema" key, in sorted order, past the first MiB); a file
  // `concurrency` wrote; an empty file.
  const std::string cut = tmp / "cut.jsonl", unended = tmp / "unended.jsonl",
                    long_first = tmp / "long.jsonl", conc = tmp / "conc.jsonl",
                    empty = tmp / "empty.jsonl";
  const std::string results = slurp(study + "/results.jsonl");
  write_file(cut, "{\"schema\":\"pararun.rec\n" + results);
  write_file(unended, "{\"as_expected\":true,\"backend\":\"se");  // (cut before its schema)
  Json padded = Json::parse(lines(results).at(0));
  padded["aaa_padding"] = std::string(3 << 19, 'p');
  write_file(long_first, padded.dump() + "\n");
  write_file(empty, "");
  ASSERT_EQ(run_cli("concurrency --tasks 2 --reps 1 --wait 0 --steps 1 --out " + conc).code, 0);
  std::map<std::string, std::size_t> before;
  for (const std::string& out : {cut, unended, long_first, conc, empty}) {
    before[out] = lines(slurp(out)).size();
    const Result ok = run_cli(run + "-o " + out);
    EXPECT_EQ(ok.code, 0) << out << ": " << ok.err;
    EXPECT_EQ(lines(slurp(out)).size(), before[out] + 1) << out;
  }
  const Result again = run_cli("concurrency --tasks 2 --reps 1 --wait 0 --steps 1 --out " + conc);
  EXPECT_EQ(again.code, 0) << again.err;
}

TEST(CliFiles, ACsvNeverReplacesAFileOfRecords) {
  const TempDir tmp;
  const std::string study = tmp / "s", kept = tmp / "kept.jsonl", csv = tmp / "new.csv";
  small_study(study);
  const std::string records = slurp(study + "/results.jsonl");
  write_file(kept, records);  // a copy of the results, kept elsewhere
  const Result r = run_cli("report " + study + " --format csv --csv " + kept);
  EXPECT_EQ(r.code, 2) << r.err;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("holds ParaRun records"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(kept), records);
  // Nor any other file but a CSV: a manifest, a tuning file, an input's data, and records
  // whose first MiB is damaged (not recognised as records) were replaced by the CSV.
  std::map<std::string, std::string> others = {
      {tmp / "m.yaml", "jobs:\n  - kernel: matmul\n"},
      {tmp / "tuning.json", "{\"schema\": \"pararun.tuning/1\"}\n"},
      {tmp / "in.f64", std::string(64, '\0')},
      {tmp / "damaged.jsonl", std::string(1200000, '\0') + "\n" + records}};
  for (const auto& [path, text] : others) {
    write_file(path, text);
    const Result refused = run_cli("report " + study + " --csv " + path);
    EXPECT_EQ(refused.code, 2) << path << ": " << refused.err;
    ASSERT_EQ(lines(refused.err).size(), 1u) << refused.err;
    EXPECT_NE(refused.err.find("exists and is not a .csv file"), std::string::npos) << refused.err;
    EXPECT_EQ(slurp(path), text) << path;
  }
  // A CSV, new or written before, is written (again).
  for (int i = 0; i < 2; ++i) {
    const Result ok = run_cli("report " + study + " --format csv --csv " + csv);
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_NE(slurp(csv).find("kernel"), std::string::npos);
  }
}

// A folder whose study.json is another program's is no study: `report DIR` replaced its
// report.md and speedup.csv and wrote analysis.json there. Its records are reported, with a
// warning, and nothing is written there.
TEST(CliFiles, AFolderWhoseStudyJsonIsNotAStudysIsNotWrittenIn) {
  const TempDir tmp;
  const std::string study = tmp / "s", proj = tmp / "proj";
  small_study(study);
  std::filesystem::create_directories(proj);
  const std::map<std::string, std::string> files = {
      {"results.jsonl", slurp(study + "/results.jsonl")},
      {"study.json", "{\"name\": \"my study\"}\n"},
      {"report.md", "# my notes\n"},
      {"speedup.csv", "a,b\n"}};
  for (const auto& [name, text] : files) write_file(proj + "/" + name, text);
  const Result r = run_cli("report " + proj);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("matmul, size 64"), std::string::npos) << r.out;
  ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("warning: " + proj + "/study.json is not a ParaRun study's"),
            std::string::npos)
      << r.err;
  for (const auto& [name, text] : files) EXPECT_EQ(slurp(proj + "/" + name), text) << name;
  EXPECT_EQ(files_in(proj).size(), files.size());
}

TEST(CliFiles, AFileNamedTwiceIsReadOnce) {
  const TempDir tmp;
  const std::string study = tmp / "s";
  small_study(study);
  const Result once = run_cli("report " + study + " --format json");
  ASSERT_EQ(once.code, 0) << once.err;
  // The folder and its results.jsonl by two spellings: the records counted once, not three times.
  const Result thrice = run_cli("report " + study + " " + study + "/results.jsonl " + tmp.path() +
                                "/./s/results.jsonl --format json");
  ASSERT_EQ(thrice.code, 0) << thrice.err;
  EXPECT_EQ(Json::parse(thrice.out), Json::parse(once.out));
  EXPECT_EQ(lines(thrice.err).size(), 2u) << thrice.err;
  EXPECT_NE(thrice.err.find("named before, read once"), std::string::npos) << thrice.err;
}

TEST(CliFiles, AnEmptyFileAmongSeveralIsNamedNotSkippedSilently) {
  const TempDir tmp;
  const std::string study = tmp / "s", empty = tmp / "empty.jsonl", none = tmp / "none.jsonl";
  small_study(study);
  write_file(empty, "");
  write_file(none, "");
  const Result r = run_cli("report " + study + " " + empty + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.err),
            std::vector<std::string>{"pararun: warning: " + empty + ": no ParaRun records in it"});
  const Result both = run_cli("report " + empty + " " + none);
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("pararun: error: no ParaRun records in " + empty + " nor in the 1 other"),
            std::string::npos)
      << both.err;
}

TEST(CliFiles, AnOutputNameTooLongIsRefusedBeforeTheRun) {
  const TempDir tmp;
  // 300 characters: refused at once, not after the whole run (a temporary name beside it
  // must fit NAME_MAX).
  const std::string name = tmp / (std::string(300, 'a') + ".jsonl");
  expect_refused(run_cli("run reduction -b seq -n 1000 -r 1 -o " + name),
                 "is longer than 200 characters", tmp.path(), {});
}

TEST(CliFiles, ARefusedStudyFolderLeavesNoFolderBehind) {
  const TempDir tmp;
  // mkdir of the 300-character component fails after x/ was made: x/ is removed again.
  expect_refused(run_cli("study --kernels reduction --backends seq --sizes 1000 --out " +
                         (tmp / ("x/" + std::string(300, 'a') + "/y"))),
                 "cannot create the folder", tmp.path(), {});
}

TEST(CliFiles, ADeviceOrFifoToReportIsOneLine) {
  const TempDir tmp;
  const std::string fifo = tmp / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  // A warning and then an error were two lines.
  for (const std::string& input : {std::string("/dev/zero"), fifo}) {
    Result r = run_cli("report " + input);
    EXPECT_EQ(r.code, 2) << input;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("pararun: error: result file '" + input + "' is not a regular file"),
              std::string::npos)
        << r.err;
  }
}

TEST(CliFiles, FifoAsOutputIsRefusedAtOnce) {
  const TempDir tmp;
  const std::string fifo = tmp / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  // Without a reader, opening it for writing blocked the run forever.
  Result r = run_cli("run matmul -b seq -n 16 -r 1 -o " + fifo);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("is a pipe"), std::string::npos) << r.err;
  // /dev/stdout into a pipe is one too, reached through /proc/self/fd/1 ("pipe:[N]", no name):
  // it failed after the run with exit 3, "No such file or directory". "-" is not stdout.
  // (/dev/stdout into a file is that file: records are appended to it.)
  const Result piped = run_command("(" + std::string(PARARUN_EXE) +
                                   " run matmul -b seq -n 16 -r 1 -o /dev/stdout | cat)");
  const Result dash = run_cli("run matmul -b seq -n 16 -r 1 -o -");
  for (const Result& x : {piped, dash}) {
    EXPECT_EQ(lines(x.err).size(), 1u) << x.err;
    EXPECT_NE(x.err.find("a run's record goes to stdout with --json"), std::string::npos) << x.err;
  }
  EXPECT_NE(piped.err.find("'/dev/stdout' is a pipe"), std::string::npos) << piped.err;
  EXPECT_EQ(dash.code, 2);
  EXPECT_FALSE(exists("-"));
}

// A FIFO in place of a study's or a batch's own files: one line, no hang (reading it blocked
// until a writer came). Run under `timeout`: a hang fails the test instead of CTest's run.
TEST(CliFiles, AFifoInAStudyOrBatchFolderIsOneLineNotAHang) {
  const TempDir tmp;
  const std::string s = tmp / "s", b = tmp / "b", manifest = tmp / "m.yaml";
  const std::string study =
      "study --kernels reduction --backends seq --sizes 2^10 --reps 1 -o " + s;
  ASSERT_EQ(run_cli(study).code, 0);
  ASSERT_EQ(std::remove((s + "/results.jsonl").c_str()), 0);
  ASSERT_EQ(mkfifo((s + "/results.jsonl").c_str(), 0644), 0);
  write_file(manifest, "name: m\njobs:\n  - kernel: matmul\n    backend: seq\n    size: 32\n");
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + b).code, 0);
  ASSERT_EQ(std::remove((b + "/batch.json").c_str()), 0);
  ASSERT_EQ(mkfifo((b + "/batch.json").c_str(), 0644), 0);
  for (const std::string& args : {study + " --resume", "batch status " + b, "batch merge " + b}) {
    const Result r = run_command("timeout 20 " + std::string(PARARUN_EXE) + " " + args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << args << ": " << r.err;
  }
}

TEST(CliFiles, PartialLastLineIsEndedBeforeTheNextRecord) {
  const TempDir tmp;
  const std::string file = tmp / "r.jsonl";
  write_file(file, std::string(kErrorRecord).substr(0, 60));  // a writer died mid-line
  Result r = run_cli("run matmul -b seq -n 16 -r 1 -o " + file);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto l = lines(slurp(file));
  ASSERT_EQ(l.size(), 2u) << slurp(file);
  EXPECT_EQ(l[0], std::string(kErrorRecord).substr(0, 60));
  EXPECT_EQ(Json::parse(l[1])["kernel"], "matmul");
  Result rep = run_cli("report " + file);
  EXPECT_EQ(rep.code, 0) << rep.err;
  EXPECT_NE(rep.err.find(file + ":1: not JSON"), std::string::npos) << rep.err;
}

TEST(CliFiles, EmptyOutputNamesAreRefused) {
  for (const char* args : {"run matmul -b seq -n 16 -r 1 -o ''", "report x.jsonl --csv ''",
                           "concurrency --tasks 1 --reps 1 -o ''"}) {
    Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find("the output path is empty"), std::string::npos) << args << "\n" << r.err;
  }
}

TEST(CliFiles, FullDiskKeepsTheOldReportAndLeavesNoTemporaryFile) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  const TempDir tmp;
  const std::string mnt = tmp / "disk";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string dir = mnt + "/s";
  small_study(dir);
  write_file(dir + "/speedup.csv", "old\n");
  const std::string report_before = slurp(dir + "/report.md");
  // Fill the disk.
  {
    std::ofstream fill(mnt + "/fill", std::ios::binary);
    const std::string block(4096, 'x');
    while (fill.write(block.data(), block.size())) {
    }
  }
  Result r = run_cli("report " + dir);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(dir + "/speedup.csv"), "old\n");
  EXPECT_EQ(slurp(dir + "/report.md"), report_before);
  for (const auto& f : files_in(dir)) EXPECT_EQ(f.find(".tmp"), std::string::npos) << f;
  // A new study on the full disk: refused with exit 3, no empty study.json left.
  Result s = run_cli("study --kernels matmul --backends seq --sizes 64 --out " + mnt + "/t");
  EXPECT_EQ(s.code, 3) << s.err;
  EXPECT_FALSE(exists(mnt + "/t/study.json"));
}

TEST(CliFiles, VersionNamesTheReleaseAndTheCommit) {
  const Result r = run_cli("--version");
  EXPECT_EQ(r.code, 0) << r.err;
  // "pararun 0.1.0 (git <40 hex digits>[-dirty], build id <hex>, Release, GNU 12.2.0)"
  EXPECT_EQ(r.out.rfind("pararun ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(", build id " + build_id_of(PARARUN_EXE) + ", "), std::string::npos)
      << r.out;
  const auto git = r.out.find(" (git ");
  ASSERT_NE(git, std::string::npos) << r.out;
  const std::string version = r.out.substr(8, git - 8);
  EXPECT_EQ(std::count(version.begin(), version.end(), '.'), 2) << version;
  EXPECT_EQ(lines(r.out).size(), 1u);
}

TEST(CliFiles, CompareTellsSlowerFromNoiseAndFailsOnSlowerWhenAsked) {
  const pararun::test::TempDir tmp;
  auto record = [](const std::string& variant, double scale) {
    Json j = {{"schema", "pararun.record/2"},
              {"kind", "run"},
              {"kernel", "k"},
              {"backend", "seq"},
              {"variant", variant},
              {"status", "ok"},
              {"size", 100},
              {"threads", 1},
              {"ranks", 1},
              {"pes", 1},
              {"scaling", "none"},
              {"oversubscribed", false}};
    std::vector<double> samples;
    for (double x : {1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01, 0.99}) samples.push_back(x * scale);
    j["samples"] = samples;
    j["time"] = {{"median", scale},
                 {"min", 0.98 * scale},
                 {"max", 1.02 * scale},
                 {"ci", {0.99 * scale, 1.01 * scale}}};
    return j.dump() + "\n";
  };
  write_file(tmp / "before.jsonl", record("a", 1.0) + record("b", 1.0));
  write_file(tmp / "after.jsonl", record("a", 1.0) + record("b", 1.25));
  const auto before = snapshot(tmp.path());
  Result r = run_cli("compare " + (tmp / "before.jsonl") + " " + (tmp / "after.jsonl"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1 slower, 0 faster"), std::string::npos) << r.out;
  r = run_cli("compare " + (tmp / "before.jsonl") + " " + (tmp / "after.jsonl") +
              " --fail-on-slower");
  EXPECT_EQ(r.code, 1) << r.out;
  r = run_cli("compare " + (tmp / "after.jsonl") + " " + (tmp / "before.jsonl") +
              " --fail-on-slower");  // b got faster the other way round
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("0 slower, 1 faster"), std::string::npos) << r.out;
  r = run_cli("compare " + (tmp / "before.jsonl") + " " + (tmp / "after.jsonl") + " --alpha 2");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--alpha must be between 0 and 1"), std::string::npos) << r.err;
  r = run_cli("compare " + (tmp / "before.jsonl") + " " + (tmp / "none.jsonl"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  // The gate fails on a configuration that verified before and failed after, and on two sets
  // that share none (it compared nothing); it warns when the sets ran on different CPUs.
  Json broken = Json::parse(record("b", 1.0));
  broken["status"] = "verification_failed";
  write_file(tmp / "broken.jsonl", record("a", 1.0) + broken.dump() + "\n");
  r = run_cli("compare " + (tmp / "before.jsonl") + " " + (tmp / "broken.jsonl") +
              " --fail-on-slower");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("failed after"), std::string::npos) << r.out;
  write_file(tmp / "other.jsonl", record("c", 1.0));
  r = run_cli("compare " + (tmp / "before.jsonl") + " " + (tmp / "other.jsonl") +
              " --fail-on-slower");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.err.find("pararun: error: " + (tmp / "before.jsonl") + " and " +
                       (tmp / "other.jsonl") + " have no verified configuration in common"),
            std::string::npos)
      << r.err;
  Json elsewhere = Json::parse(record("a", 1.0));
  elsewhere["meta"] = {{"cpu_model", "Other CPU"}};
  Json here = Json::parse(record("a", 1.0));
  here["meta"] = {{"cpu_model", "This CPU"}};
  write_file(tmp / "here.jsonl", here.dump() + "\n");
  write_file(tmp / "elsewhere.jsonl", elsewhere.dump() + "\n");
  r = run_cli("compare " + (tmp / "here.jsonl") + " " + (tmp / "elsewhere.jsonl"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("pararun: warning: before ran on This CPU, after on Other CPU: the times "
                       "are of different CPUs"),
            std::string::npos)
      << r.err;
  for (const char* made : {"broken.jsonl", "other.jsonl", "here.jsonl", "elsewhere.jsonl"})
    std::remove((tmp / made).c_str());
  EXPECT_EQ(snapshot(tmp.path()), before);  // compare writes nothing
}

TEST(CliFiles, CompareFindsATenPercentSlowdownPlantedInRealRecords) {
  const pararun::test::TempDir tmp;
  const std::string a = tmp / "a.jsonl", b = tmp / "b.jsonl", c = tmp / "c.jsonl";
  Result r = run_cli("run reduction -b seq -n 2^16 -r 40 --max-reps 40 -o " + a);
  ASSERT_EQ(r.code, 0) << r.err;
  // A real record, whose 40 samples are replaced by a tight set around its own median: the
  // measured ones, microseconds each, spread wider than 10% in a burst on this shared host,
  // and then compare rightly found no change (1 run in 30 beside stress-ng).
  Json j = Json::parse(lines(slurp(a)).at(0));
  const double median = j["time"]["median"].get<double>();
  ASSERT_GT(median, 0.0);
  ASSERT_EQ(j["samples"].size(), 40u);
  for (std::size_t i = 0; i < 40; ++i)
    j["samples"][i] = median * (1 + 0.002 * (static_cast<double>(i % 5) - 2));
  write_file(a, j.dump() + "\n");
  write_file(c, j.dump() + "\n");  // an unchanged copy
  // The same record, 10% slower in every sample (as a regression would make it).
  for (auto& x : j["samples"]) x = x.get<double>() * 1.10;
  for (const char* k : {"median", "min", "max", "mean"})
    j["time"][k] = j["time"][k].get<double>() * 1.10;
  for (auto& x : j["time"]["ci"]) x = x.get<double>() * 1.10;
  write_file(b, j.dump() + "\n");
  r = run_cli("compare " + a + " " + b + " --fail-on-slower");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("1 slower, 0 faster"), std::string::npos) << r.out;
  r = run_cli("compare " + a + " " + c + " --fail-on-slower");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 slower, 0 faster"), std::string::npos) << r.out;
}

// The commands a dry run prints are pasted into a shell: a folder that holds shell characters
// is quoted there. A folder that #SBATCH lines cannot carry ('#', a quote) is refused before it
// exists. Stand-ins for sinfo and sbatch on PATH: no Slurm needed.
TEST(CliFiles, ADryRunPrintsCommandsAShellTakesAsTheyAre) {
  const TempDir tmp;
  ASSERT_EQ(mkdir((tmp / "bin").c_str(), 0755), 0);
  write_file(tmp / "bin/sinfo", "#!/bin/sh\necho 'n1 debug* 2 1:2:1'\n");
  write_file(tmp / "bin/sbatch", "#!/bin/sh\nexit 1\n");
  chmod((tmp / "bin/sinfo").c_str(), 0755);
  chmod((tmp / "bin/sbatch").c_str(), 0755);
  const std::string path = "PATH=" + (tmp / "bin") + ":$PATH ";
  const std::string dir = tmp / "s;touch${IFS}planted;";
  const Result r = run_command(path + PARARUN_EXE +
                               " submit --kernels reduction --backends seq --sizes 2^10 "
                               "--dry-run --out '" +
                               dir + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  std::size_t commands = 0;
  for (const auto& line : lines(r.out))
    if (line.rfind("sbatch --parsable", 0) == 0) {
      ++commands;
      EXPECT_NE(line.find(" '" + dir + "/slurm/"), std::string::npos) << line;
    }
  EXPECT_EQ(commands, 2u) << r.out;  // the array and the report job
  for (const char* bad : {"s#2", "it's"}) {
    const Result refused = run_command(path + PARARUN_EXE +
                                       " submit --kernels reduction --backends seq --sizes 2^10 "
                                       "--out \"" +
                                       (tmp / bad) + "\"");
    EXPECT_EQ(refused.code, 2) << bad << ": " << refused.err;
    EXPECT_NE(refused.err.find("which #SBATCH lines cannot carry"), std::string::npos)
        << refused.err;
    EXPECT_FALSE(exists(tmp / bad)) << bad;
  }
}

// A resumed submission while tasks of the folder are still queued or running would run their
// points twice (and the later record, verified or not, would win): refused until they end.
// Stand-ins for sinfo, sbatch, squeue and sacct on PATH.
TEST(CliFiles, ASubmissionResumesOnlyOnceTheFoldersTasksHaveEnded) {
  const TempDir tmp;
  ASSERT_EQ(mkdir((tmp / "bin").c_str(), 0755), 0);
  const std::string bin = tmp / "bin";
  write_file(bin + "/sinfo", "#!/bin/sh\necho 'n1 debug* 2 1:2:1'\n");
  // sbatch answers 101, 102, ... and counts its calls; squeue says what squeue.txt holds.
  write_file(bin + "/sbatch", "#!/bin/sh\nn=$(cat " + bin + "/n 2>/dev/null || echo 100)\n" +
                                  "n=$((n + 1)); echo $n > " + bin + "/n; echo $n\n");
  write_file(bin + "/squeue", "#!/bin/sh\ncat " + bin + "/squeue.txt\n");
  write_file(bin + "/sacct", "#!/bin/sh\ncat " + bin + "/sacct.txt 2>/dev/null\n");
  for (const char* tool : {"sinfo", "sbatch", "squeue", "sacct"})
    chmod((bin + "/" + tool).c_str(), 0755);
  const std::string submit = "PATH=" + bin + ":$PATH " + PARARUN_EXE +
                             " submit --kernels reduction --backends seq --sizes 2^10 --out " +
                             (tmp / "s");
  ASSERT_EQ(run_command(submit).code, 0);
  EXPECT_EQ(slurp(bin + "/n"), "102\n");  // the array and the report job
  for (const char* state : {"PENDING", "RUNNING"}) {
    write_file(bin + "/squeue.txt", std::string("101_0|") + state + "|None|n1\n");
    const Result r = run_command(submit + " --resume");
    EXPECT_EQ(r.code, 2) << state << ": " << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("1 task(s) submitted from " + (tmp / "s") +
                         " are still pending or running (arrays 101)"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(slurp(bin + "/n"), "102\n") << "submitted again while " << state;
  }
  // Ended: squeue's answer, or none and accounting's, even one still saying RUNNING (a task
  // Slurm lost with its node, which no scancel would end): squeue lists every live task.
  write_file(bin + "/squeue.txt", "");
  write_file(bin + "/sacct.txt", "101_0|RUNNING|0:0|n1\n");
  Result again = run_command(submit + " --resume");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(slurp(bin + "/n"), "104\n");
  write_file(bin + "/squeue.txt", "103_0|FAILED|NonZeroExitCode|n1\n");
  again = run_command(submit + " --resume");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(slurp(bin + "/n"), "106\n");
}

// A manifest or study file that is one of the output folder's own files (which a resume
// removes or replaces) is refused, and stays; one kept beside them under its own name is read.
TEST(CliFiles, AnInputThatIsTheOutputFoldersOwnFileIsRefusedAndKept) {
  const TempDir tmp;
  const std::string b = tmp / "b", s = tmp / "s";
  const std::string manifest =
      "name: m\njobs:\n  - kernel: matmul\n    backend: seq\n    size: 32\n    reps: 1\n";
  ASSERT_EQ(mkdir(b.c_str(), 0755), 0);
  write_file(b + "/m.yaml", manifest);
  ASSERT_EQ(run_cli("batch run " + b + "/m.yaml -o " + b).code, 0);  // beside them: fine
  write_file(b + "/checkpoint.json", manifest);
  Result r = run_cli("batch run " + b + "/checkpoint.json -o " + b + " --resume");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("is the output folder's own checkpoint.json"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(b + "/checkpoint.json"), manifest);
  ASSERT_EQ(mkdir(s.c_str(), 0755), 0);
  write_file(s + "/checkpoint.json",
             "kernels: reduction\nbackends: seq\nsizes: 2^10\nout: " + s + "\n");
  r = run_cli("study " + s + "/checkpoint.json --resume");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("is the output folder's own checkpoint.json"), std::string::npos) << r.err;
  EXPECT_TRUE(exists(s + "/checkpoint.json"));
}

// The same file by another path, here the output folder bind-mounted elsewhere (in a mount
// namespace of the command's own), is refused too: the same device and inode.
TEST(CliFiles, AnInputThatIsTheOutputFoldersOwnFileByABindMountIsRefusedAndKept) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (mount --bind)";
  const TempDir tmp;
  const std::string b = tmp / "b", alias = tmp / "alias";
  const std::string manifest =
      "name: m\njobs:\n  - kernel: matmul\n    backend: seq\n    size: 32\n    reps: 1\n";
  ASSERT_EQ(mkdir(b.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(alias.c_str(), 0755), 0);
  write_file(b + "/m.yaml", manifest);
  ASSERT_EQ(run_cli("batch run " + b + "/m.yaml -o " + b).code, 0);  // b: a batch's folder
  write_file(b + "/checkpoint.json", manifest);
  const Result r = run_command("unshare --mount --propagation private sh -c 'mount --bind " + b +
                               " " + alias + " || exit 77; exec " + PARARUN_EXE + " batch run " +
                               alias + "/checkpoint.json -o " + b + " --resume'");
  if (r.code == 77 || r.err.find("unshare: ") == 0)
    GTEST_SKIP() << "no private mount namespace with a bind mount here: " << r.err;
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("is the output folder's own checkpoint.json (by another path)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(slurp(b + "/checkpoint.json"), manifest);
}

// Fields the readers take from edited files with another type than pararun writes are read as
// their defaults: the report and batch status still come out (nlohmann's value() threw,
// exit 3 with a JSON library message).
TEST(CliFiles, FieldsOfAnotherTypeInRecordsAndBatchFilesAreReadAsDefaults) {
  const TempDir tmp;
  const std::string dir = tmp / "s";
  small_study(dir);
  std::string text = slurp(dir + "/results.jsonl");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {R"("disturbed":false)", R"("disturbed":1)"},
           {R"("timestamp":")", R"("timestamp":1,"x":")"}}) {
    ASSERT_NE(text.find(from), std::string::npos) << from;
    for (std::size_t at; (at = text.find(from)) != std::string::npos;)
      text.replace(at, from.size(), to);
  }
  write_file(dir + "/results.jsonl", text);
  for (const char* format : {"", " --format json", " --format gbench"}) {
    const Result r = run_cli("report " + dir + "/results.jsonl" + format);
    EXPECT_EQ(r.code, 0) << format << ": " << r.err;
  }
  const std::string b = tmp / "b", manifest = tmp / "m.yaml";
  write_file(manifest,
             "name: m\njobs:\n  - kernel: matmul\n    backend: seq\n    size: 32\n"
             "    reps: 1\n    seed: 1:2:+1\n");
  ASSERT_EQ(run_cli("batch run " + manifest + " -o " + b).code, 0);
  const auto ids = files_in(b + "/jobs");
  ASSERT_EQ(ids.size(), 2u);
  std::string record = slurp(b + "/jobs/" + ids[0]);
  const auto at = record.find(R"("attempt":1)");
  ASSERT_NE(at, std::string::npos) << record;
  record.replace(at, 11, R"("attempt":"x")");
  write_file(b + "/jobs/" + ids[0], record);
  const std::string other = ids[1].substr(0, ids[1].size() - 6);  // less ".jsonl"
  ASSERT_EQ(std::remove((b + "/jobs/" + ids[1]).c_str()), 0);
  write_file(b + "/running/" + other, R"({"pid":"x","attempt":[],"cpus":7})");
  const Result st = run_cli("batch status " + b);
  EXPECT_EQ(st.code, 0) << st.err;
  EXPECT_NE(st.out.find("interrupted"), std::string::npos) << st.out;
}

// `report DIR` of a submitted study's folder this user may not write (a colleague's, an
// archive): it gave no report at all (exit 3, "cannot open DIR/points/.merge.lock"); it reports
// the records where they are, the point files' too, says it did not merge, and writes nothing.
TEST(CliFiles, AReadOnlyStudyFolderIsReportedWithItsPointFiles) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to run the report as nobody)";
  if (std::system("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "needs setpriv";
  const TempDir tmp;
  ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);  // (nobody may read it, not write it)
  const std::string dir = tmp / "s";
  Result r =
      run_cli("study --kernels reduction --backends seq --sizes 2^10,2^11 --reps 2 --out " + dir);
  ASSERT_EQ(r.code, 0) << r.err;
  // The second point's record only in its point file, as an array task leaves it.
  const std::size_t rows = lines(run_cli("report " + dir + " --format csv").out).size();
  auto records = lines(slurp(dir + "/results.jsonl"));
  ASSERT_GE(records.size(), 2u);
  std::string point = Json::parse(records.back())["point"].get<std::string>();
  std::replace(point.begin(), point.end(), '/', '.');
  ASSERT_EQ(mkdir((dir + "/points").c_str(), 0755), 0);
  write_file(dir + "/points/" + point + ".jsonl", records.back() + "\n");
  records.pop_back();
  std::string held;
  for (const auto& l : records) held += l + "\n";
  write_file(dir + "/results.jsonl", held);
  const std::string report_before = slurp(dir + "/report.md");
  r = run_command("setpriv --reuid=65534 --regid=65534 --clear-groups " + std::string(PARARUN_EXE) +
                  " report " + dir + " --format csv");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), rows) << r.out;  // every point's row, as before
  EXPECT_EQ(r.err, "pararun: warning: " + dir +
                       " is not this user's to write: reported as it is (its point files read "
                       "in place; results.jsonl and report.md unchanged)\n");
  // The table too (no report.md written: it is not this user's to replace).
  r = run_command("setpriv --reuid=65534 --regid=65534 --clear-groups " + std::string(PARARUN_EXE) +
                  " report " + dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("reduction, size 2048"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(dir + "/results.jsonl"), held);
  EXPECT_EQ(slurp(dir + "/report.md"), report_before);
  // Named twice: read once (its records were counted twice), with its point files also when
  // its results.jsonl is named first (they were skipped with the folder, as named before).
  for (const std::string& twice : {dir + " " + dir + "/", dir + "/results.jsonl " + dir}) {
    r = run_command("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                    std::string(PARARUN_EXE) + " report " + twice + " --format csv");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(lines(r.out).size(), rows) << twice << ": " << r.out;
  }
  // Not submitted (no points/): the table, nothing written (speedup.csv failed it, exit 3).
  std::filesystem::remove_all(dir + "/points");
  r = run_command("setpriv --reuid=65534 --regid=65534 --clear-groups " + std::string(PARARUN_EXE) +
                  " report " + dir);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("reduction, size 1024"), std::string::npos) << r.out;
}

// What goes to stdout is written, or the exit says so: to a full disk a report or a record
// printed with --json was cut short, and the exit was 0.
TEST(CliFiles, StdoutThatCannotBeWrittenIsAnError) {
  for (const std::string args :
       {"list", "run reduction -b seq -n 64 -r 1 --warmup 0 --json", "info --json"}) {
    const Result r = run_command("{ " + std::string(PARARUN_EXE) + " " + args + " >/dev/full; }");
    EXPECT_EQ(r.code, 3) << args << ": " << r.err;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("pararun: error: cannot write to standard output"), std::string::npos)
        << r.err;
  }
}

// A file without one record (a README, a binary, a study.json) is one line, not a warning for
// each of its lines before the error (a thousand for the README).
TEST(CliFiles, AFileWithoutRecordsIsOneLine) {
  const TempDir tmp;
  std::string text;
  for (int i = 0; i < 500; ++i) text += "line " + std::to_string(i) + " of my notes\n";
  write_file(tmp / "notes.md", text);
  for (const std::string& args : {"report " + (tmp / "notes.md"),
                                  "compare " + (tmp / "notes.md") + " " + (tmp / "notes.md")}) {
    const Result r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err.substr(0, 2000);
    EXPECT_NE(r.err.find("no ParaRun records in " + (tmp / "notes.md") + " (" + (tmp / "notes.md") +
                         ":1: not JSON, and 499 more line(s) not records)"),
              std::string::npos)
        << r.err;
  }
}
