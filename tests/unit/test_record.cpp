#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "../temp_dir.hpp"
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
  return {{"schema", kRecordSchema}, {"kernel", "k"}, {"i", i}, {"pad", std::string(300, 'x')}};
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
  EXPECT_EQ(output_path_problem(dir + "/new.jsonl"), "");
  EXPECT_EQ(output_path_problem("relative-file.jsonl"), "");
  EXPECT_EQ(output_path_problem(dir + "/missing/r.jsonl"),
            "output folder '" + dir + "/missing' does not exist");
  EXPECT_EQ(output_path_problem(dir), "output path '" + dir + "' is a folder, not a file");
  EXPECT_EQ(output_path_problem(dir + "/"),
            "output path '" + dir + "/' names a folder, not a file");
  EXPECT_EQ(output_path_problem(""), "the output path is empty");
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
  EXPECT_EQ(rf.records[1]["i"], 2);
  ASSERT_EQ(rf.problems.size(), 2u);
  EXPECT_EQ(rf.problems[0], path + ":2: not JSON");
  EXPECT_EQ(rf.problems[1].rfind(path + ":4: not a ParaRun record", 0), 0u);
  EXPECT_EQ(read_records(path + ".missing").problems.size(), 1u);
}
