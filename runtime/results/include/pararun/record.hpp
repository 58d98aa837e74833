// Result records: one JSON object per line (JSON Lines), appended atomically. The fields,
// the record kinds and the schema versions are documented in runtime/results/RECORDS.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pararun/files.hpp"
#include "pararun/json.hpp"

namespace pararun {

/// The schema every record is written with; records of the previous version are read and
/// upgraded (read_record), any other version is named and refused.
inline constexpr const char* kRecordSchema = "pararun.record/2";
inline constexpr const char* kRecordSchemaV1 = "pararun.record/1";

/// What a record is: a kernel's verified or failed run, a study point that ended without a
/// run record (crash, launcher failure: an error record), or a run of the concurrency demo.
enum class RecordKind { run, error, concurrency };
std::string to_string(RecordKind k);

/// The median's summary over a run's timed repetitions, in seconds.
struct TimeStats {
  double median = 0, min = 0, max = 0, mean = 0, stddev = 0;
  double ci_low = 0, ci_high = 0;  ///< the confidence interval of the median
  double ci_coverage = -1;         ///< its exact coverage (-1: unknown, records of version 1)
};

/// The rate a record is quoted in, with its unit: "GFLOP/s", "GB/s", "Mop/s" (NPB's
/// operation count), "tasks/s".
struct Rate {
  double value = 0;
  std::string unit;
};

/// One record, typed where the readers need it. `json` holds the whole object (the typed
/// fields and every other one: verification, metadata, ...); to_json writes the typed fields
/// over it, so there is one serialiser (to_json) and one reader (read_record).
struct Record {
  RecordKind kind = RecordKind::run;
  std::string kernel, backend, variant, status, scaling = "none", point, problem;
  /// Kernels whose variants compute different things (STREAM): the variant, which only records
  /// of the same variant are compared with (baselines, speedups). Empty: all variants compare.
  std::string comparable_as;
  std::uint64_t size = 0, base_size = 0;
  int threads = 1, ranks = 1, pes = 1;
  int exit_code = 0;  ///< error records: how the point's process ended
  bool oversubscribed = false;
  std::optional<TimeStats> time;
  std::optional<Rate> rate;
  Json json = Json::object();

  /// A verified run: status "ok" with a time.
  bool verified() const { return status == "ok" && time.has_value(); }
};

/// Why the host was disturbed while the record was timed (meta.host_load.why: others used
/// its CPUs, or steal), "" when it was not or the record does not say.
std::string disturbance(const Record& r);

/// The record as one JSON object (schema kRecordSchema).
Json to_json(const Record& r);

/// The record `j` holds, or why not (another schema version, a known field of the wrong type
/// such as "time": "fast", a missing kernel/backend/status, a verified record without its
/// time). Records of schema version 1 are upgraded: their kind and rate are derived.
std::optional<Record> read_record(const Json& j, std::string* why = nullptr);

/// Appends `record` as one line to `path` with a single write(2) under an exclusive flock:
/// concurrent writers never interleave and a crash never leaves half a line. The file is
/// created if missing and never truncated; a partial last line left by a writer that died is
/// ended first, so the new record stands on a line of its own. Refuses anything but a regular
/// file (a FIFO would block). Throws WriteError (files.hpp) naming the problem.
void append_record(const std::string& path, const Json& record);
void append_record(const std::string& path, const Record& record);
/// `path`, a regular file, opened with `flags` (O_CREAT, O_CLOEXEC and O_NONBLOCK added: a
/// FIFO fails at once) and holding its flock, once locked still the file at `path` (a rewrite
/// that renames a new file over it holds the lock; then the new one is locked). -1 and
/// `problem` when it cannot be. What append_record and `batch merge` lock results files with
/// (open for writing: NFSv4 locks no other descriptor). Through the user's own symbolic links
/// only (own_link_target): another user's link is -1, never followed. A lock another process
/// holds is waited for, said on stderr after a second: without end when `wait_seconds` < 0
/// (a record appended: what it holds took the run to measure, and an NFS lock of a crashed
/// node lasts its lease), else at most that long, then -1 with `*busy` (when given) true.
int open_locked(const std::string& path, int flags, std::string* problem, double wait_seconds = -1,
                bool* busy = nullptr);

/// Why records must not be appended to `path` (empty: they may): it exists, is not empty, and
/// holds no ParaRun record (a "schema" of "pararun.record/..."): not its first JSON value (read
/// up to 64 MiB), no whole line of its first MiB, not an unended last line cut short. So it holds
/// something else (`-o main.cpp`, or a second hard link to a study's study.json, which a name
/// check cannot see). A results file whose first or last record a dying writer cut short passes.
std::string records_file_problem(const std::string& path);
/// Whether `path` is a regular file that holds ParaRun records (records_file_problem's sense):
/// an output that replaces files (a CSV) must not replace it.
bool holds_records(const std::string& path);

struct RecordFile {
  std::vector<Record> records;
  std::vector<std::string> problems;  ///< "results.jsonl:3: not JSON"
};

/// Reads every line of a JSON Lines file; lines that are not usable ParaRun records (see
/// read_record) are skipped and reported with their line number.
RecordFile read_records(const std::string& path);

/// Prints each bad line of a results file as a warning ("pararun: warning: FILE:LINE: ...").
void warn_bad_lines(const RecordFile& rf);

}  // namespace pararun
