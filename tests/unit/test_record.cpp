#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "../temp_dir.hpp"
#include "pararun/batch_run.hpp"
#include "pararun/ceilings.hpp"
#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/process.hpp"
#include "pararun/record.hpp"

using namespace pararun;

namespace {

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

Json sample_record(int i) {
  return {{"schema", kRecordSchema}, {"kernel", "k"}, {"backend", "seq"},
          {"status", "error"},       {"i", i},        {"pad", std::string(300, 'x')}};
}

}  // namespace

TEST(Record, AppendCreatesThenAppendsNeverTruncates) {
  const test::TempDir tmp;
  const std::string path = tmp / "r.jsonl";
  {
    std::ofstream pre(path);
    pre << "{\"existing\":true}\n";
  }
  append_record(path, sample_record(1));
  append_record(path, sample_record(2));
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"existing\":true}");
  EXPECT_EQ(Json::parse(lines[1])["i"], 1);
  EXPECT_EQ(Json::parse(lines[2])["i"], 2);
}

TEST(Record, ConcurrentWritersNeverInterleave) {
  const test::TempDir tmp;
  const std::string path = tmp / "r.jsonl";
  const int writers = 4, each = 200;
  for (int w = 0; w < writers; ++w) {
    if (fork() == 0) {
      for (int i = 0; i < each; ++i) append_record(path, sample_record(w * each + i));
      _exit(0);
    }
  }
  for (int w = 0; w < writers; ++w) {
    int status = 0;
    wait(&status);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(writers * each));
  std::vector<bool> seen(writers * each, false);
  for (auto& l : lines) {
    Json j = Json::parse(l);  // throws on a torn line
    seen[j["i"].get<std::size_t>()] = true;
  }
  for (bool s : seen) EXPECT_TRUE(s);
}

TEST(Record, OutputPathProblems) {
  const test::TempDir tmp;
  const std::string dir = tmp.path();
  EXPECT_EQ(output_file_problem(dir + "/new.jsonl"), "");
  EXPECT_EQ(output_file_problem("relative-file.jsonl"), "");
  EXPECT_EQ(output_file_problem(dir + "/missing/r.jsonl"),
            "output folder '" + dir + "/missing' does not exist");
  EXPECT_EQ(output_file_problem(dir), "output path '" + dir + "' is a folder, not a file");
  EXPECT_EQ(output_file_problem(dir + "/"),
            "output path '" + dir + "/' names a folder, not a file");
  EXPECT_EQ(output_file_problem(""), "the output path is empty");
  // Nothing was created by the checks.
  struct stat st {};
  EXPECT_NE(stat((dir + "/new.jsonl").c_str(), &st), 0);
}

TEST(Record, AppendToMissingFolderThrows) {
  EXPECT_THROW(append_record("/nonexistent-folder-xyz/r.jsonl", sample_record(0)),
               std::runtime_error);
}

TEST(Record, ReadRecordsReportsBadLinesWithNumbers) {
  const test::TempDir tmp;
  const std::string path = tmp / "r.jsonl";
  {
    std::ofstream out(path);
    out << sample_record(1).dump() << "\n"
        << "not json\n"
        << "\n"
        << "{\"schema\":\"other\"}\n"
        << sample_record(2).dump() << "\n";
  }
  RecordFile rf = read_records(path);
  ASSERT_EQ(rf.records.size(), 2u);
  EXPECT_EQ(rf.records[1].json["i"], 2);
  ASSERT_EQ(rf.problems.size(), 2u);
  EXPECT_EQ(rf.problems[0], path + ":2: not JSON");
  EXPECT_EQ(rf.problems[1].rfind(path + ":4: not a ParaRun record", 0), 0u);
  EXPECT_EQ(read_records(path + ".missing").problems.size(), 1u);
}

// A line nested a million levels deep is JSON that nlohmann parses, but copying the value
// recursed once per level: report, study --resume and merge died of a stack overflow (SIGSEGV)
// instead of skipping the line.
TEST(Record, ALineNestedTooDeeplyIsSkippedNotACrash) {
  const test::TempDir tmp;
  const std::string path = tmp / "r.jsonl";
  const std::size_t depth = 1000000;
  {
    std::ofstream out(path);
    Json deep = sample_record(9);
    deep["x"] = 0;
    std::string line = deep.dump();
    line.replace(line.find("\"x\":0"), 5,
                 "\"x\":" + std::string(depth, '[') + std::string(depth, ']'));
    out << sample_record(1).dump() << "\n" << line << "\n" << sample_record(2).dump() << "\n";
  }
  const RecordFile rf = read_records(path);
  ASSERT_EQ(rf.records.size(), 2u);
  EXPECT_EQ(rf.records[1].json["i"], 2);
  ASSERT_EQ(rf.problems.size(), 1u);
  EXPECT_EQ(rf.problems[0], path + ":2: not JSON");
}

TEST(Record, RecordsAreAppendedOnlyWhereARecordIs) {
  const test::TempDir tmp;
  int i = 0;
  const auto problem = [&](const std::string& text) {
    const std::string path = tmp / ("f" + std::to_string(++i));
    std::ofstream(path) << text;
    return records_file_problem(path);
  };
  const std::string record = "{\"schema\":\"pararun.record/2\"}";
  // A record: first (any schema version, any key before it, nested values before it), or on a
  // later line; a missing or empty file.
  EXPECT_EQ(problem(record + "\n"), "");
  EXPECT_EQ(problem("{\"a\":[1,{\"schema\":0}],\"b\":null,\"schema\":\"pararun.record/9\"}"), "");
  EXPECT_EQ(problem("not json\n" + record + "\n"), "");
  EXPECT_EQ(problem(""), "");
  EXPECT_EQ(records_file_problem(tmp / "missing"), "");
  // No record: another schema, a schema that is not a string, one only nested deeper, a first
  // value that is not an object, arrays or objects nested past kMaxJsonDepth, text.
  for (const std::string& text : {std::string("{\"schema\":\"pararun.study/1\"}\n"),
                                  std::string("{\"schema\":{\"pararun.record/2\":1}}\n"),
                                  std::string("{\"a\":{\"schema\":\"pararun.record/2\"}}\n"),
                                  "[" + record + "]\n", std::string("\"pararun.record/2\"\n"),
                                  std::string(200, '[') + record + std::string(200, ']') + "\n",
                                  [] {  // objects nested past kMaxJsonDepth
                                    std::string deep;
                                    for (int level = 0; level < 150; ++level) deep += "{\"a\":";
                                    return deep + "{\"schema\":\"pararun.record/2\"}" +
                                           std::string(150, '}') + "\n";
                                  }(),
                                  std::string("int main() {}\n")})
    EXPECT_NE(problem(text).find("holds no ParaRun record (no line of it is one)"),
              std::string::npos)
        << text;
}

TEST(Record, ParseJsonCountsOnlyTheBracketsOutsideStrings) {
  const auto nested = [](int levels) {
    return std::string(static_cast<std::size_t>(levels), '[') + "1" +
           std::string(static_cast<std::size_t>(levels), ']');
  };
  EXPECT_EQ(parse_json(nested(kMaxJsonDepth)).is_discarded(), false);
  EXPECT_EQ(parse_json(nested(kMaxJsonDepth + 1)).is_discarded(), true);
  const std::string brackets(1000, '[');
  const Json s = parse_json("{\"a\":\"" + brackets + "\\\"[\"}");
  ASSERT_FALSE(s.is_discarded());
  EXPECT_EQ(s["a"], brackets + "\"[");
  EXPECT_TRUE(parse_json("{\"a\":").is_discarded());
}

TEST(Record, AppendEndsAPartialLastLineFirst) {
  const test::TempDir tmp;
  const std::string path = tmp / "r.jsonl";
  {
    std::ofstream pre(path);
    pre << "{\"schema\":\"pararun.rec";  // a writer died mid-line
  }
  append_record(path, sample_record(1));
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"schema\":\"pararun.rec");
  EXPECT_EQ(Json::parse(lines[1])["i"], 1);
  const RecordFile rf = read_records(path);
  EXPECT_EQ(rf.records.size(), 1u);
  ASSERT_EQ(rf.problems.size(), 1u);
  EXPECT_EQ(rf.problems[0], path + ":1: not JSON");
}

TEST(Record, AppendRefusesWhatIsNotARegularFile) {
  const test::TempDir tmp;
  const std::string fifo = tmp / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_THROW(append_record(fifo, sample_record(1)), WriteError);  // and does not block
  EXPECT_THROW(append_record("/dev/null", sample_record(1)), WriteError);
}

TEST(Record, ALockHeldElsewhereIsWaitedForABoundedTime) {
  const test::TempDir tmp;
  const std::string path = tmp / "r.jsonl";
  std::string problem;
  const int holder = open_locked(path, O_RDWR, &problem);
  ASSERT_GE(holder, 0) << problem;
  // Another open file description: flock conflicts as with another process.
  bool busy = false;
  EXPECT_EQ(open_locked(path, O_RDWR, &problem, 0.2, &busy), -1);
  EXPECT_TRUE(busy);
  EXPECT_NE(problem.find("stayed locked by another process for 0.2 s"), std::string::npos)
      << problem;
  // Let go of while it waits: taken then.
  std::thread release([holder] {
    usleep(200000);
    ::close(holder);
  });
  const int fd = open_locked(path, O_RDWR, &problem, 5, &busy);
  release.join();
  EXPECT_GE(fd, 0) << problem;
  EXPECT_FALSE(busy);
  if (fd >= 0) ::close(fd);
}

namespace {

/// Why read_record refuses `j` ("" when it reads it).
std::string record_problem(const Json& j) {
  std::string why;
  return read_record(j, &why) ? "" : why;
}

}  // namespace

TEST(Record, KnownFieldsOfTheWrongTypeAreNamed) {
  Json ok = sample_record(1);
  EXPECT_EQ(record_problem(ok), "");
  Json t = ok;
  t["time"] = "fast";
  EXPECT_EQ(record_problem(t), "field 'time' has the wrong type (string)");
  Json threads = ok;
  threads["threads"] = -2;
  EXPECT_EQ(record_problem(threads), "field 'threads' has the wrong type (number)");
  threads["threads"] = 2;  // a count built in memory (signed) is a count
  EXPECT_EQ(record_problem(threads), "");
  Json median = ok;
  median["time"] = {{"median", "x"}, {"ci", {1, 2}}};
  EXPECT_EQ(record_problem(median), "field 'time.median' is missing or not a number");
  Json ci = ok;
  ci["time"] = {{"median", 1.0}, {"ci", {1}}};
  EXPECT_EQ(record_problem(ci), "field 'time.ci' is not a pair of numbers");
  Json min = ok;
  min["time"] = {{"median", 1.0}, {"ci", {1, 2}}, {"min", "x"}};
  EXPECT_EQ(record_problem(min), "field 'time.min' is not a number");
  Json samples = ok;  // each a number of seconds: report, compare and gbench read them one by one
  samples["samples"] = {1e-3, "x"};
  EXPECT_EQ(record_problem(samples), "field 'samples' item 2 is not a number of seconds");
  samples["samples"] = {-1e-3};
  EXPECT_EQ(record_problem(samples), "field 'samples' item 1 is not a number of seconds");
  samples["samples"] = {0.0, 2e-3};
  EXPECT_EQ(record_problem(samples), "");
  samples["round_samples"] = {{1e-3}, {nullptr}};
  EXPECT_EQ(record_problem(samples), "field 'round_samples' item 1 is not a number of seconds");
  samples["round_samples"] = {1e-3};
  EXPECT_EQ(record_problem(samples), "field 'round_samples' is not a list of lists");
  Json untimed = ok;
  untimed["status"] = "ok";
  EXPECT_EQ(record_problem(untimed), "a record with status 'ok' has no 'time'");
  Json nokernel = ok;
  nokernel.erase("kernel");
  EXPECT_EQ(record_problem(nokernel), "field 'kernel' is missing");
  EXPECT_EQ(record_problem(Json::array()), "not a JSON object");
  // A result's numbers in range.
  Json timed = ok;
  timed["status"] = "ok";
  timed["time"] = {{"median", 1e-3}, {"ci", {1e-3, 2e-3}}};
  timed["pes"] = 2;
  EXPECT_EQ(record_problem(timed), "");
  Json negative = timed;
  negative["time"]["median"] = -1e-7;
  EXPECT_EQ(record_problem(negative), "field 'time.median' is a negative number of seconds");
  negative["time"]["median"] = 0.0;  // faster than a coarse clock's tick: kept
  EXPECT_EQ(record_problem(negative), "");
  Json zero = timed;
  zero["pes"] = 0;
  EXPECT_EQ(record_problem(zero), "field 'pes' is not 1 to 2^31 - 1");
  zero = timed;
  zero["threads"] = std::uint64_t{1} << 32;  // (0 once narrowed to 32 bits)
  EXPECT_EQ(record_problem(zero), "field 'threads' is not 1 to 2^31 - 1");
  zero["threads"] = std::uint64_t{1} << 31;  // (INT_MIN)
  EXPECT_EQ(record_problem(zero), "field 'threads' is not 1 to 2^31 - 1");
  zero = timed;
  zero.erase("pes");
  zero["threads"] = 65536;
  zero["ranks"] = 65536;
  EXPECT_EQ(record_problem(zero),
            "fields 'threads' x 'ranks' are more than 2^31 - 1 processing elements");
  Json error = timed;
  error["kind"] = "error";
  EXPECT_EQ(record_problem(error), "a record of kind 'error' has status 'ok'");
  error["status"] = "error";  // an error record's own numbers are not results
  error["pes"] = 0;
  EXPECT_EQ(record_problem(error), "");
}

TEST(Files, MakeDirsCreatesParentsWithoutAShell) {
  const test::TempDir tmp;
  const std::string deep = tmp / "a';touch x;'/b/c";
  EXPECT_EQ(make_dirs(deep), "");
  struct stat st {};
  ASSERT_EQ(stat(deep.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(make_dirs(deep), "");  // already there
  { std::ofstream f(tmp / "file"); }
  EXPECT_EQ(make_dirs(tmp / "file/sub"), "'" + (tmp / "file") + "' exists and is not a folder");
  EXPECT_EQ(make_dirs(tmp / "a\nb"),
            "folder name '" + tmp.path() + "/a\\x0ab' holds a control character");
}

TEST(Files, OutputThatIsAnInputOrADeviceIsRefused) {
  const test::TempDir tmp;
  const std::string in = tmp / "in.jsonl";
  {
    std::ofstream f(in);
    f << "x\n";
  }
  EXPECT_EQ(output_file_problem(tmp / "out.csv", {in}), "");
  EXPECT_EQ(output_file_problem(in, {in}),
            "output file '" + in + "' is also an input ('" + in + "'): it would be destroyed");
  ASSERT_EQ(link(in.c_str(), (tmp / "alias").c_str()), 0);
  EXPECT_NE(output_file_problem(tmp / "alias", {in}), "");
  EXPECT_EQ(
      output_file_problem("/dev/full"),
      "output path '/dev/full' is a device: ParaRun writes regular files (a run's record goes "
      "to stdout with --json)");
  EXPECT_NE(output_file_problem("-").find("output path '-' is not stdout here"), std::string::npos);
  EXPECT_NE(output_file_problem(tmp / std::string(201, 'x')), "");
}

TEST(Files, AtomicWriteReplacesWholeOrNotAtAll) {
  const test::TempDir tmp;
  const std::string path = tmp / "f.txt";
  write_file_atomically(path, "one\n");
  write_file_atomically(path, "two\n");
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "two\n");
  EXPECT_THROW(write_file_atomically("/dev/full", "x"), WriteError);
  EXPECT_THROW(write_file_atomically(tmp / "missing/f.txt", "x"), WriteError);
  struct stat st {};
  ASSERT_EQ(stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(Files, ATemporaryFileLeftByAKilledProcessOfTheSamePidDoesNotBlockAWrite) {
  // kill -9 between open and rename leaves FILE.tmp.PID; a later process with that PID (a
  // container's start-up order repeats) got EEXIST for ever.
  const test::TempDir tmp;
  const std::string path = tmp / "checkpoint.json";
  std::ofstream(path + ".tmp." + std::to_string(getpid())) << "stale";
  write_file_atomically(path, "new\n");
  std::ifstream f(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(f), {}), "new\n");
  // Nothing of its own left beside it: the folder holds the file and the stale one only.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 2);
}

TEST(Files, AtomicWriteKeepsModeGroupAndLinksAndHonoursTheUmask) {
  const test::TempDir tmp;
  struct stat st {};
  // A new file: the umask decides (a project's 002 makes results group-writable).
  struct Umask {  // restored however the test ends
    mode_t old = umask(002);
    ~Umask() { umask(old); }
  };
  {
    const Umask project;
    write_file_atomically(tmp / "new.txt", "x\n");
  }
  ASSERT_EQ(stat((tmp / "new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0664u);
  // A replaced file keeps its mode and group.
  const std::string kept = tmp / "kept.txt";
  write_file_atomically(kept, "one\n");
  ASSERT_EQ(chmod(kept.c_str(), 0640), 0);
  const bool root = geteuid() == 0;  // only root gives a file another group (daemon's, 1)
  if (root) {
    ASSERT_EQ(chown(kept.c_str(), static_cast<uid_t>(-1), 1), 0);
  }
  write_file_atomically(kept, "two\n");
  ASSERT_EQ(stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (root) {
    EXPECT_EQ(st.st_gid, 1u);
  }
  // Set-user-ID is not kept (a rewrite by root would keep it on new contents).
  ASSERT_EQ(chmod(kept.c_str(), 04755), 0);
  write_file_atomically(kept, "three\n");
  ASSERT_EQ(stat(kept.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // Through a symbolic link (relative, in another folder): the link stays, its file changes.
  ASSERT_EQ(mkdir((tmp / "store").c_str(), 0777), 0);
  write_file_atomically(tmp / "store/results.csv", "old\n");
  ASSERT_EQ(symlink("store/results.csv", (tmp / "link.csv").c_str()), 0);
  write_file_atomically(tmp / "link.csv", "new\n");
  ASSERT_EQ(lstat((tmp / "link.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  std::ifstream f(tmp / "store/results.csv");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "new\n");
  // A link whose file does not exist yet makes that file.
  ASSERT_EQ(symlink((tmp / "store/later.csv").c_str(), (tmp / "dangling.csv").c_str()), 0);
  write_file_atomically(tmp / "dangling.csv", "made\n");
  ASSERT_EQ(lstat((tmp / "dangling.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(lstat((tmp / "store/later.csv").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // Another user's link (a shared folder) is replaced, not followed to the file it names.
  if (root) {
    ASSERT_EQ(symlink("store/results.csv", (tmp / "theirs.csv").c_str()), 0);
    ASSERT_EQ(lchown((tmp / "theirs.csv").c_str(), 1, 1), 0);
    EXPECT_EQ(output_file_problem(tmp / "theirs.csv"), "");
    write_file_atomically(tmp / "theirs.csv", "mine\n");
    ASSERT_EQ(lstat((tmp / "theirs.csv").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, 0u);  // a new file of root's, not given the linked file's owner
    std::ifstream g(tmp / "store/results.csv");
    std::string kept_text((std::istreambuf_iterator<char>(g)), std::istreambuf_iterator<char>());
    EXPECT_EQ(kept_text, "new\n");
  }
  // A loop of links is one error, not a hang; the output check names it first.
  ASSERT_EQ(symlink("loop-b", (tmp / "loop-a").c_str()), 0);
  ASSERT_EQ(symlink("loop-a", (tmp / "loop-b").c_str()), 0);
  EXPECT_NE(output_file_problem(tmp / "loop-a").find("Too many levels of symbolic links"),
            std::string::npos);
  EXPECT_THROW(write_file_atomically(tmp / "loop-a", "x"), WriteError);
}

// Records are appended through the user's own links (the file they name), never through
// another user's (a shared folder): refused before the run and at the append, nothing written.
TEST(Files, RecordsGoThroughOwnLinksOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "giving a link to another user needs root";
  const test::TempDir tmp;
  const std::string target = tmp / "theirs.txt", mine = tmp / "mine.jsonl";
  {
    std::ofstream f(target);
    f << "not mine\n";
  }
  ASSERT_EQ(symlink(target.c_str(), (tmp / "link.jsonl").c_str()), 0);
  ASSERT_EQ(lchown((tmp / "link.jsonl").c_str(), 1, 1), 0);
  const std::string refused =
      "'" + (tmp / "link.jsonl") +
      "' is a symbolic link of another user (uid 1); it is not followed: name "
      "the file itself";
  EXPECT_EQ(records_file_problem(tmp / "link.jsonl"), refused);
  const Json rec = {{"schema", "pararun.record/2"}, {"kind", "run"}, {"kernel", "k"}};
  try {
    append_record(tmp / "link.jsonl", rec);
    ADD_FAILURE() << "appended through another user's link";
  } catch (const WriteError& e) {
    EXPECT_EQ(std::string(e.what()), refused);
  }
  // `batch merge` neither reads the file it names (its lines would be copied into a results
  // file others can read) nor replaces the link.
  ASSERT_EQ(mkdir((tmp / "batch").c_str(), 0777), 0);
  ASSERT_EQ(symlink(target.c_str(), (tmp / "batch/results.jsonl").c_str()), 0);
  ASSERT_EQ(lchown((tmp / "batch/results.jsonl").c_str(), 1, 1), 0);
  EXPECT_THROW(merge_batch_results(tmp / "batch", {}), WriteError);
  struct stat st {};
  ASSERT_EQ(lstat((tmp / "batch/results.jsonl").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  std::ifstream f(target);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "not mine\n");
  // Not even in that user's own folder: root (sudo) would write over what it names.
  ASSERT_EQ(mkdir((tmp / "theirs").c_str(), 0777), 0);
  ASSERT_EQ(chown((tmp / "theirs").c_str(), 1, 1), 0);
  ASSERT_EQ(symlink(target.c_str(), (tmp / "theirs/r.jsonl").c_str()), 0);
  ASSERT_EQ(lchown((tmp / "theirs/r.jsonl").c_str(), 1, 1), 0);
  EXPECT_EQ(own_link_target(tmp / "theirs/r.jsonl"), tmp / "theirs/r.jsonl");
  // The user's own link (also to a file not made yet) takes the record, and stays a link.
  ASSERT_EQ(symlink(mine.c_str(), (tmp / "own.jsonl").c_str()), 0);
  EXPECT_EQ(records_file_problem(tmp / "own.jsonl"), "");
  append_record(tmp / "own.jsonl", rec);
  ASSERT_EQ(lstat((tmp / "own.jsonl").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  std::ifstream g(mine);
  std::string line;
  ASSERT_TRUE(std::getline(g, line));
  EXPECT_EQ(Json::parse(line)["kernel"], "k");
}

TEST(Files, PrintableShowsEveryControlCharacterAndKeepsTextAsItIs) {
  EXPECT_EQ(printable("a\x1b]0;x\x07"
                      "b\n"),
            "a\\x1b]0;x\\x07b\\x0a");
  EXPECT_EQ(printable("table\nrow\x1b[2J\n", true), "table\nrow\\x1b[2J\n");
  // C1 controls (U+009B is a CSI to some terminals), not the letters beside them.
  EXPECT_EQ(printable("x\xc2\x9b"
                      "2Jy"),
            "x\\u009b2Jy");
  EXPECT_EQ(printable("caf\xc3\xa9 \xc2\xb5s"), "caf\xc3\xa9 \xc2\xb5s");
}

TEST(Files, AFolderLockSaysWhoHoldsIt) {
  const test::TempDir tmp;
  const std::string dir = tmp / "d";
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  // Another process holds it as a study (this one would only nest its own lock).
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const FolderLock held(dir, "study");
    char c = 1;
    if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  const std::string holder = std::to_string(child);
  EXPECT_EQ(slurp(dir + "/lock"), "study " + holder + " " + host + "\n");
  std::string message = "not refused";
  try {
    const FolderLock second(dir, "batch");
  } catch (const InputError& e) {
    message = e.what();
  }
  EXPECT_EQ(message, "another pararun study is running in '" + dir + "' (process " + holder +
                         " on " + host + "); wait for it or stop it");
  EXPECT_EQ(write(done[1], &c, 1), 1);
  waitpid(child, nullptr, 0);
  for (int fd : {ready[0], ready[1], done[0], done[1]}) close(fd);
  // A holder line written before is replaced by this one's.
  { const FolderLock again(dir, "batch"); }
  EXPECT_EQ(slurp(dir + "/lock"), "batch " + std::to_string(getpid()) + " " + host + "\n");
}

// A user's own file named lock in the folder, or one their link named lock points to, is
// locked but not written: it was emptied and given the holder line, even by a run then refused.
TEST(Files, AFolderLockLeavesAUsersOwnFileNamedLockAsItWas) {
  const test::TempDir tmp;
  const std::string dir = tmp / "d", linked = tmp / "l";
  ASSERT_EQ(mkdir(dir.c_str(), 0777), 0);
  ASSERT_EQ(mkdir(linked.c_str(), 0777), 0);
  std::ofstream(dir + "/lock") << "my notes\n";
  std::ofstream(tmp / "precious.txt") << "precious\n";
  ASSERT_EQ(symlink((tmp / "precious.txt").c_str(), (linked + "/lock").c_str()), 0);
  { const FolderLock held(dir, "study"); }
  { const FolderLock held(linked, "batch"); }
  EXPECT_EQ(slurp(dir + "/lock"), "my notes\n");
  EXPECT_EQ(slurp(tmp / "precious.txt"), "precious\n");
}

// A run refused before its folder became a study's or batch's removes the lock file it made,
// and only that one: a lock file the folder held before stays, as does the lock of a folder
// that is the run's. The folder can be locked again at once.
TEST(Files, ARefusedRunRemovesOnlyTheLockFileItMade) {
  const test::TempDir tmp;
  const std::string fresh = tmp / "fresh", held = tmp / "held", own = tmp / "own";
  for (const auto& d : {fresh, held, own}) ASSERT_EQ(mkdir(d.c_str(), 0777), 0);
  std::ofstream(held + "/lock") << "study 1 node7\n";
  std::ofstream(own + "/batch.json") << "{}\n";
  const auto lock_file = [](const std::string& d) {
    struct stat st {};
    return lstat((d + "/lock").c_str(), &st) == 0;
  };
  for (const auto& d : {fresh, held, own}) {
    std::optional<FolderLock> lock;
    lock.emplace(d, "batch");
    ASSERT_TRUE(lock_file(d));
    let_go_of_refused(&lock, d + "/batch.json");
    EXPECT_EQ(lock.has_value(), d == own) << d;
    EXPECT_EQ(lock_file(d), d != fresh) << d;
  }
  const FolderLock again(fresh, "study");
  EXPECT_TRUE(lock_file(fresh));
}

// Relative links, chained, reached through a relative folder: resolved as the kernel does;
// a loop in a folder of the path is named as what it is, not as another user's link.
TEST(Files, OwnLinksResolveRelativeChainsAndNameLoops) {
  const test::TempDir tmp;
  ASSERT_EQ(mkdir((tmp / "store").c_str(), 0777), 0);
  ASSERT_EQ(mkdir((tmp / "sub").c_str(), 0777), 0);
  ASSERT_EQ(symlink("../store/r.jsonl", (tmp / "sub/a.jsonl").c_str()), 0);
  ASSERT_EQ(symlink("sub/a.jsonl", (tmp / "b.jsonl").c_str()), 0);
  EXPECT_EQ(own_link_target(tmp / "b.jsonl"), tmp / "sub/../store/r.jsonl");
  append_record(tmp / "b.jsonl", Json{{"schema", "pararun.record/2"}, {"kernel", "k"}});
  std::ifstream f(tmp / "store/r.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(f, line));
  EXPECT_EQ(Json::parse(line)["kernel"], "k");
  ASSERT_EQ(symlink("loop", (tmp / "loop").c_str()), 0);
  std::string problem;
  EXPECT_EQ(open_own(tmp / "loop/r.jsonl", O_WRONLY | O_CREAT, &problem), -1);
  EXPECT_EQ(problem,
            "cannot open '" + (tmp / "loop/r.jsonl") + "': Too many levels of symbolic links");
  // A FIFO where a log or a lock goes fails at once (a batch blocked on one forever).
  ASSERT_EQ(mkfifo((tmp / "fifo.log").c_str(), 0644), 0);
  EXPECT_EQ(open_own(tmp / "fifo.log", O_WRONLY | O_CREAT | O_APPEND, &problem), -1);
  EXPECT_EQ(open_own(tmp / "fifo.log", O_RDWR | O_CREAT, &problem), -1);
  EXPECT_EQ(problem, "'" + (tmp / "fifo.log") + "' is not a regular file");
  EXPECT_FALSE(write_own(tmp / "fifo.log", "x\n", O_APPEND));
}

TEST(Record, VersionOneIsUpgradedAndOtherVersionsAreNamed) {
  const Json v1 = {{"schema", "pararun.record/1"},
                   {"kernel", "matmul"},
                   {"backend", "omp"},
                   {"variant", "blocked"},
                   {"status", "ok"},
                   {"threads", 2},
                   {"metric", "gflops"},
                   {"gflops", 93.5},
                   {"time", {{"median", 0.023}, {"ci95", {0.022, 0.024}}}}};
  const auto r = read_record(v1);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, RecordKind::run);
  ASSERT_TRUE(r->rate.has_value());
  EXPECT_DOUBLE_EQ(r->rate->value, 93.5);
  EXPECT_EQ(r->rate->unit, "GFLOP/s");
  const Json out = to_json(*r);
  EXPECT_EQ(out["schema"], kRecordSchema);
  EXPECT_EQ(out["kind"], "run");
  EXPECT_FALSE(out.contains("metric"));
  EXPECT_EQ(out["gflops"], 93.5);  // other fields are kept
  // "ci95" becomes "ci"; its coverage was not recorded then: unknown.
  EXPECT_EQ(out["time"]["ci"], (Json{0.022, 0.024}));
  EXPECT_FALSE(out["time"].contains("ci95"));
  EXPECT_FALSE(out["time"].contains("ci_coverage"));
  EXPECT_DOUBLE_EQ(r->time->ci_coverage, -1);
  // v1 error and concurrency records get their kinds.
  Json err = v1;
  err["status"] = "error";
  err.erase("time");
  EXPECT_EQ(read_record(err)->kind, RecordKind::error);
  Json conc = v1;
  conc["kernel"] = "concurrency-compute";
  EXPECT_EQ(read_record(conc)->kind, RecordKind::concurrency);
  EXPECT_FALSE(read_record(conc)->rate.has_value());  // its "gflops: 0" was no rate
  // A version this pararun does not know is named.
  Json v9 = v1;
  v9["schema"] = "pararun.record/9";
  std::string why;
  EXPECT_FALSE(read_record(v9, &why).has_value());
  EXPECT_EQ(why,
            "schema 'pararun.record/9' is not one this pararun reads (pararun.record/2, "
            "pararun.record/1)");
}

TEST(Record, ToJsonAndReadRecordRoundTrip) {
  Record r;
  r.kind = RecordKind::error;
  r.kernel = "cg";
  r.backend = "mpi";
  r.variant = "rows";
  r.status = "error";
  r.point = "cg/mpi/rows/n1400/t1/r3";
  r.size = 1400;
  r.ranks = 3;
  r.pes = 3;
  r.exit_code = 139;
  r.json["log"] = "logs/x.log";
  const auto back = read_record(Json::parse(to_json(r).dump()));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->kind, RecordKind::error);
  EXPECT_EQ(back->point, r.point);
  EXPECT_EQ(back->exit_code, 139);
  EXPECT_EQ(back->ranks, 3);
  EXPECT_FALSE(back->time.has_value());
  EXPECT_EQ(back->json["log"], "logs/x.log");
}

TEST(Ceilings, TheDefaultReadIsFourTimesTheLastLevelCacheAndAtLeast512MiB) {
  // STREAM's rule, within an eighth of the available memory, in whole 2 MiB pages (`pararun
  // ceilings --read-bytes` reads less; the CLI tests use it).
  const std::size_t mib = std::size_t{1} << 20, bytes = read_buffer_bytes();
  const std::size_t uncached = uncached_read_bytes();  // 4x the L3
  const std::size_t memory = available_memory_bytes();
  EXPECT_EQ(bytes % (2 * mib), 0u);
  EXPECT_EQ(read_bytes_for(0), bytes);
  EXPECT_EQ(read_bytes_for(65 * mib), 64 * mib);  // --read-bytes: whole 2 MiB pages
  EXPECT_EQ(read_bytes_for(1), 2 * mib);
  if (memory == 0 || memory / 8 >= std::max(512 * mib, uncached) + 2 * mib) {
    EXPECT_GE(bytes, 512 * mib);
    EXPECT_GE(bytes + 2 * mib, uncached);
  } else {
    EXPECT_LE(bytes, std::max(memory / 8, 64 * mib));
  }
}

TEST(Record, ABadCeilingsEntryIsPassedOverNotFatal) {
  const Json ceilings = Json::parse(
      R"([{"threads":1,"fma_gflops":50.0,"read_gbytes_per_s_median":30.0},{"threads":"2"},7,)"
      R"({"threads":2,"fma_gflops":"fast"}])");
  const Json f = ceiling_fraction(ceilings, 1, "GFLOP/s", 25.0);
  ASSERT_TRUE(f.is_object());
  EXPECT_EQ(f["pes"], 1);  // the only well-formed entry
  EXPECT_DOUBLE_EQ(f["fraction"].get<double>(), 0.5);
  // 2 PEs: no well-formed 2-thread entry, and the 1-thread peak is not theirs.
  EXPECT_TRUE(ceiling_fraction(ceilings, 2, "GFLOP/s", 25.0).is_null());
  EXPECT_TRUE(ceiling_fraction(ceilings, 1, "Mop/s", 25.0).is_null());  // no ceiling for Mop/s
  // A peak of 0 or one so small the share is not a number: none.
  const Json tiny = Json::parse(R"([{"threads":1,"fma_gflops":1e-320}])");
  EXPECT_TRUE(ceiling_fraction(tiny, 1, "GFLOP/s", 1e10).is_null());
}
