// Result records: one JSON object per line (JSON Lines), appended atomically.
#pragma once

#include "pararun/files.hpp"
#include "pararun/json.hpp"

#include <string>
#include <vector>

namespace pararun {

inline constexpr const char* kRecordSchema = "pararun.record/1";

/// Appends `record` as one line to `path` with a single write(2) under an exclusive flock:
/// concurrent writers never interleave and a crash never leaves half a line. The file is
/// created if missing and never truncated; a partial last line left by a writer that died is
/// ended first, so the new record stands on a line of its own. Refuses anything but a regular
/// file (a FIFO would block). Throws WriteError (files.hpp) naming the problem.
void append_record(const std::string& path, const Json& record);

struct RecordFile {
  std::vector<Json> records;
  std::vector<std::string> problems;  ///< "results.jsonl:3: not JSON (...)"
};

/// Why `r` is not a record the readers can use (empty: it is): another schema, a known field
/// of the wrong type ("time": "fast"), a missing kernel/backend/status, a verified record
/// without its time.
std::string record_problem(const Json& r);

/// Reads every line of a JSON Lines file; lines that are not usable ParaRun records (see
/// record_problem) are skipped and reported with their line number.
RecordFile read_records(const std::string& path);

/// Prints each bad line of a results file as a warning ("pararun: warning: FILE:LINE: ...").
void warn_bad_lines(const RecordFile& rf);

}  // namespace pararun
