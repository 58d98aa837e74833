// Result records: one JSON object per line (JSON Lines), appended atomically.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pararun {

using Json = nlohmann::json;

inline constexpr const char* kRecordSchema = "pararun.record/1";

/// Appends `record` as one line to `path` with a single write(2) under an exclusive flock:
/// concurrent writers never interleave and a crash never leaves half a line. The file is
/// created if missing and never truncated. Throws std::runtime_error naming the problem.
void append_record(const std::string& path, const Json& record);

/// Why `path` cannot take records (empty: it can): missing or unwritable folder, a folder
/// in place of the file, an unwritable file. Touches nothing.
std::string output_path_problem(const std::string& path);

struct RecordFile {
  std::vector<Json> records;
  std::vector<std::string> problems;  ///< "results.jsonl:3: not JSON (...)"
};

/// Reads every line of a JSON Lines file; lines that are not ParaRun records are reported.
RecordFile read_records(const std::string& path);

}  // namespace pararun
