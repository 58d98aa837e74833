#include "pararun/record.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <vector>

#include "pararun/files.hpp"
#include "pararun/table.hpp"

namespace pararun {

std::string to_string(RecordKind k) {
  switch (k) {
    case RecordKind::run:
      return "run";
    case RecordKind::error:
      return "error";
    case RecordKind::concurrency:
      return "concurrency";
  }
  return "run";
}

namespace {

/// Why `r` cannot be read (empty: it can): the type of every field the readers use.
std::string field_problem(const Json& r, const std::string& ci) {
  enum Type { text, count, integer, number, boolean, object, array };
  const std::pair<const char*, Type> typed[] = {
      {"kernel", text},         {"backend", text},
      {"variant", text},        {"status", text},
      {"scaling", text},        {"point", text},
      {"problem", text},        {"metric", text},
      {"kind", text},           {"comparable_as", text},
      {"size", count},          {"base_size", count},
      {"threads", count},       {"ranks", count},
      {"pes", count},           {"rounds_pooled", count},
      {"exit_code", integer},   {"gflops", number},
      {"gbytes_per_s", number}, {"oversubscribed", boolean},
      {"time", object},         {"rate", object},
      {"meta", object},         {"samples", array}};
  auto is = [](const Json& v, Type t) {
    switch (t) {
      case text:
        return v.is_string();
      case count:  // a whole number of at least 0 (parsed as unsigned, built as signed)
        return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
      case integer:
        return v.is_number_integer();
      case number:
        return v.is_number();
      case boolean:
        return v.is_boolean();
      case object:
        return v.is_object();
      case array:
        return v.is_array();
    }
    return false;
  };
  for (const auto& [key, type] : typed)
    if (r.contains(key) && !is(r[key], type))
      return std::string("field '") + key + "' has the wrong type (" + r[key].type_name() + ")";
  for (const char* key : {"kernel", "backend", "status"})
    if (!r.contains(key)) return std::string("field '") + key + "' is missing";
  // The timings a report, a comparison and --format gbench read one by one: each a number of
  // seconds (a hand-edited "x" among them was left out without a word, from the
  // repetitions a gbench entry still counted).
  const auto timings_problem = [](const Json& list, const std::string& name) -> std::string {
    for (std::size_t i = 0; i < list.size(); ++i)
      if (!list[i].is_number() || !(list[i].get<double>() >= 0))
        return "field '" + name + "' item " + std::to_string(i + 1) + " is not a number of seconds";
    return {};
  };
  if (r.contains("samples"))
    if (std::string why = timings_problem(r["samples"], "samples"); !why.empty()) return why;
  if (r.contains("round_samples")) {
    if (!r["round_samples"].is_array()) return "field 'round_samples' is not a list of lists";
    for (const auto& round : r["round_samples"]) {
      if (!round.is_array()) return "field 'round_samples' is not a list of lists";
      if (std::string why = timings_problem(round, "round_samples"); !why.empty()) return why;
    }
  }
  if (r.contains("time")) {
    const Json& t = r["time"];
    if (!t.contains("median") || !t["median"].is_number())
      return "field 'time.median' is missing or not a number";
    if (!t.contains(ci) || !t[ci].is_array() || t[ci].size() != 2 || !t[ci][0].is_number() ||
        !t[ci][1].is_number())
      return "field 'time." + ci + "' is not a pair of numbers";
    for (const char* key : {"min", "max", "mean", "stddev", "ci_coverage"})
      if (t.contains(key) && !t[key].is_number())
        return std::string("field 'time.") + key + "' is not a number";
  } else if (r["status"] == "ok") {
    return "a record with status 'ok' has no 'time'";
  }
  // A result's numbers in range (a hand-edited median of -1e-7 became every group's baseline,
  // a pes of 0 an infinite efficiency and a crashed plot; 2^31 threads INT_MIN).
  if (r["status"] == "ok") {
    if (r.value("kind", "run") == "error") return "a record of kind 'error' has status 'ok'";
    // (0: a kernel faster than a coarse clock's tick, which the writer records as it is.)
    if (!(r["time"]["median"].get<double>() >= 0))
      return "field 'time.median' is a negative number of seconds";
    std::uint64_t pes = 1;
    for (const char* key : {"threads", "ranks", "pes"})
      if (r.contains(key)) {
        const auto v = r[key].get<std::uint64_t>();
        if (v < 1 || v > 0x7fffffff) return std::string("field '") + key + "' is not 1 to 2^31 - 1";
        if (std::string(key) != "pes") pes *= v;
      }
    if (!r.contains("pes") && pes > 0x7fffffff)
      return "fields 'threads' x 'ranks' are more than 2^31 - 1 processing elements";
  }
  if (r.contains("rate") && (!r["rate"].value("value", Json()).is_number() ||
                             !r["rate"].value("unit", Json()).is_string()))
    return "field 'rate' is not {value: number, unit: text}";
  if (r.contains("kind") && r["kind"] != "run" && r["kind"] != "error" &&
      r["kind"] != "concurrency")
    return "field 'kind' is '" + r["kind"].get<std::string>() + "', not run, error or concurrency";
  return {};
}

}  // namespace

std::optional<Record> read_record(const Json& j, std::string* why) {
  auto refuse = [&](const std::string& reason) -> std::optional<Record> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (!j.is_object()) return refuse("not a JSON object");
  const Json schema = j.value("schema", Json());
  if (!schema.is_string() || schema.get<std::string>().rfind("pararun.record/", 0) != 0)
    return refuse(std::string("not a ParaRun record (schema '") + kRecordSchema + "')");
  const bool v1 = schema == kRecordSchemaV1;
  if (!v1 && schema != kRecordSchema)
    return refuse("schema '" + schema.get<std::string>() + "' is not one this pararun reads (" +
                  kRecordSchema + ", " + kRecordSchemaV1 + ")");
  // Version 1 called the interval "ci95", though below 6 samples it was not one.
  const std::string ci = v1 ? "ci95" : "ci";
  if (const std::string p = field_problem(j, ci); !p.empty()) return refuse(p);

  Record r;
  r.json = j;
  r.kernel = j["kernel"];
  r.backend = j["backend"];
  r.status = j["status"];
  r.variant = j.value("variant", "");
  r.scaling = j.value("scaling", "none");
  r.point = j.value("point", "");
  r.problem = j.value("problem", "");
  r.comparable_as = j.value("comparable_as", "");
  r.size = j.value("size", std::uint64_t{0});
  r.base_size = j.value("base_size", std::uint64_t{0});
  r.threads = j.value("threads", 1);
  r.ranks = j.value("ranks", 1);
  r.pes = j.contains("pes") ? j["pes"].get<int>() : r.threads * r.ranks;
  r.exit_code = j.value("exit_code", 0);
  r.oversubscribed = j.value("oversubscribed", false);
  if (j.contains("time")) {
    const Json& t = j["time"];
    r.time = TimeStats{t["median"],
                       t.value("min", 0.0),
                       t.value("max", 0.0),
                       t.value("mean", 0.0),
                       t.value("stddev", 0.0),
                       t[ci][0].get<double>(),
                       t[ci][1].get<double>(),
                       t.value("ci_coverage", -1.0)};
    r.json["time"].erase("ci95");
  }
  if (v1) {  // version 1 had no kind and named its rate by "metric"
    r.kind = r.status == "error"                      ? RecordKind::error
             : r.kernel.rfind("concurrency-", 0) == 0 ? RecordKind::concurrency
                                                      : RecordKind::run;
    const std::string metric = j.value("metric", "");
    if (r.kind == RecordKind::run && (metric == "gflops" || metric == "gbytes_per_s"))
      r.rate = Rate{j.value(metric, 0.0), metric == "gflops" ? "GFLOP/s" : "GB/s"};
    r.json.erase("metric");
  } else {
    const std::string kind = j.value("kind", "run");
    r.kind = kind == "error"         ? RecordKind::error
             : kind == "concurrency" ? RecordKind::concurrency
                                     : RecordKind::run;
    if (j.contains("rate")) r.rate = Rate{j["rate"]["value"], j["rate"]["unit"]};
  }
  return r;
}

std::string disturbance(const Record& r) {
  const Json* load = nullptr;
  if (auto m = r.json.find("meta"); m != r.json.end() && m->is_object())
    if (auto h = m->find("host_load"); h != m->end() && h->is_object()) load = &*h;
  if (!load || !value_or(*load, "disturbed", false)) return "";
  const auto why = load->find("why");
  return why != load->end() && why->is_string() && !why->get<std::string>().empty()
             ? why->get<std::string>()
             : "the host was busy";
}

Json to_json(const Record& r) {
  Json j = r.json.is_object() ? r.json : Json::object();
  j["schema"] = kRecordSchema;
  j["kind"] = to_string(r.kind);
  j["kernel"] = r.kernel;
  j["backend"] = r.backend;
  j["variant"] = r.variant;
  j["status"] = r.status;
  j["scaling"] = r.scaling;
  if (!r.point.empty()) j["point"] = r.point;
  if (!r.problem.empty()) j["problem"] = r.problem;
  if (!r.comparable_as.empty()) j["comparable_as"] = r.comparable_as;
  j["size"] = r.size;
  if (r.base_size) j["base_size"] = r.base_size;
  j["threads"] = r.threads;
  j["ranks"] = r.ranks;
  j["pes"] = r.pes;
  if (r.kind == RecordKind::error) j["exit_code"] = r.exit_code;
  j["oversubscribed"] = r.oversubscribed;
  if (r.time) {
    const TimeStats& t = *r.time;
    j["time"] = {{"median", t.median}, {"min", t.min},       {"max", t.max},
                 {"mean", t.mean},     {"stddev", t.stddev}, {"ci", {t.ci_low, t.ci_high}}};
    if (t.ci_coverage >= 0) j["time"]["ci_coverage"] = t.ci_coverage;
  }
  if (r.rate) j["rate"] = {{"value", r.rate->value}, {"unit", r.rate->unit}};
  return j;
}

int open_locked(const std::string& path, int flags, std::string* problem, double wait_seconds,
                bool* busy) {
  if (busy) *busy = false;
  const auto start = std::chrono::steady_clock::now();
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  // Past the caller's bound (not when it waits without end): -1, `busy`, the file unchanged.
  const auto too_long = [&](int fd) {
    if (wait_seconds < 0 || since(start) < wait_seconds) return false;
    ::close(fd);
    if (busy) *busy = true;
    *problem = "'" + path + "' stayed locked by another process for " + format("%g", wait_seconds) +
               " s (lslocks names it)";
    return true;
  };
  bool said = false;
  int unlocked_replacements = 0;  // in a row: found replaced, the lock free at once
  for (;;) {
    // Through the user's own links only, a regular file, O_NONBLOCK (open_own).
    const int fd = open_own(path, flags | O_CREAT, problem);
    if (fd < 0) return -1;
    // Polled, not a blocking flock: a process that holds the lock and never lets go (a
    // stopped `run -o`, `flock results.jsonl sleep 1d`) makes the wait said, and bounded
    // where the caller can do without the lock. Every millisecond: a holder that takes it
    // again and again (merges one after another, appends one after another) leaves it free
    // for a moment only.
    int rc;
    bool waited = false;
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && (errno == EINTR || errno == EWOULDBLOCK)) {
      if (errno == EINTR) continue;
      waited = true;
      if (too_long(fd)) return -1;
      if (!said && since(start) >= 1) {
        std::fprintf(stderr, "pararun: waiting for the lock on '%s' (another process holds it)\n",
                     path.c_str());
        said = true;
      }
      usleep(1000);
    }
    if (rc != 0) {
      const int err = errno;
      ::close(fd);
      *problem = "cannot lock '" + path + "': " + std::strerror(err);
      return -1;
    }
    // A rewrite of the whole file (`batch merge`) holds the lock while it renames a new file
    // over this one: what is written to the old one after that is lost. Still the file at
    // `path`: done; else lock the new one, at once: the new file is in place when the lock is
    // let go, and a nap here outlasted the pause between one merge and the next (measured:
    // an append waiting 5 ms found the next merge holding the new file every time). Replaced
    // while the lock was free, again and again (a writer that takes no lock): naps of 1 ms
    // after the first 10, given up after 10000.
    if (is_file_at(fd, path)) return fd;
    if (too_long(fd)) return -1;
    ::close(fd);
    unlocked_replacements = waited ? 0 : unlocked_replacements + 1;
    if (unlocked_replacements == 10000) {
      *problem = "'" + path + "' is replaced again and again; it was not written";
      return -1;
    }
    if (unlocked_replacements > 10) usleep(1000);
  }
}

void append_record(const std::string& path, const Json& record) {
  std::string line = json_text(record) + "\n";
  // Read and write: the last byte is read back. O_NONBLOCK: a FIFO without a reader fails at once
  // instead of blocking the run.
  std::string problem;
  const int fd = open_locked(path, O_RDWR | O_APPEND, &problem);
  if (fd < 0) throw WriteError(problem);
  struct stat st {};
  fstat(fd, &st);
  const off_t size_before = st.st_size;
  // A writer that died mid-line left a partial last line: end it, so that this record starts
  // a line of its own (readers name the partial one as a bad line and skip it).
  char last = '\n';
  if (size_before > 0 && pread(fd, &last, 1, size_before - 1) == 1 && last != '\n')
    line.insert(line.begin(), '\n');
  const ssize_t n = ::write(fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int err = errno;
    // A short write (disk full): cut the partial line so the file holds whole records only.
    if (n > 0 && ftruncate(fd, size_before) != 0) { /* nothing more can be done */
    }
    ::close(fd);
    throw WriteError("cannot write to '" + path +
                     "': " + (n < 0 ? std::strerror(err) : "short write (disk full?)"));
  }
  if (fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw WriteError("cannot write to '" + path + "': " + std::strerror(err));
  }
  ::close(fd);
}

namespace {

constexpr const char* kRecordSchemaPrefix = "pararun.record/";

/// Whether `j` is a ParaRun record of any schema version.
bool is_record(const Json& j) {
  return j.is_object() && j.contains("schema") && j["schema"].is_string() &&
         j["schema"].get<std::string>().rfind(kRecordSchemaPrefix, 0) == 0;
}

/// Reads the first JSON value of a stream as events, keeping nothing, until it knows whether
/// that value is an object whose top-level "schema" names a ParaRun record: a long first
/// record (many samples) is recognised without holding it, and anything else (an array, a
/// value nested deeper than kMaxJsonDepth, bytes that are not JSON) stops it early.
class FirstRecordSax : public nlohmann::json_sax<Json> {
 public:
  bool found = false;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool string(string_t& s) override {
    if (depth_ == 1 && schema_next_) {
      found = s.rfind(kRecordSchemaPrefix, 0) == 0;
      return false;  // decided
    }
    return value();
  }
  bool start_object(std::size_t) override {  // (the first value, or one inside it)
    return (depth_ == 0 || value()) && ++depth_ <= kMaxJsonDepth;
  }
  bool key(string_t& k) override {
    schema_next_ = depth_ == 1 && k == "schema";
    return true;
  }
  bool end_object() override { return --depth_ > 0; }  // the first object ended: no schema
  bool start_array(std::size_t) override { return value() && ++depth_ <= kMaxJsonDepth; }
  bool end_array() override { return --depth_ > 0; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  /// Whether to go on at a value: not at the top (a first value that is not an object is no
  /// record), nor at the "schema" (one that is not a string decides: no record).
  bool value() const { return depth_ > 0 && !(depth_ == 1 && schema_next_); }

  int depth_ = 0;
  bool schema_next_ = false;
};

/// At most `budget` bytes of another stream buffer, then its end: the first value of a file is
/// read no further than that (its lexer holds a whole string or number, twice).
class LimitedBuf : public std::streambuf {
 public:
  LimitedBuf(std::streambuf* from, std::size_t budget) : from_(from), left_(budget) {}

 protected:
  int_type underflow() override {
    if (left_ == 0) return traits_type::eof();
    const std::streamsize n =
        from_->sgetn(chunk_.data(), static_cast<std::streamsize>(std::min(left_, chunk_.size())));
    if (n <= 0) return traits_type::eof();
    left_ -= static_cast<std::size_t>(n);
    setg(chunk_.data(), chunk_.data(), chunk_.data() + n);
    return traits_type::to_int_type(chunk_[0]);
  }

 private:
  std::streambuf* from_;
  std::size_t left_;
  std::vector<char> chunk_ = std::vector<char>(std::size_t{1} << 16);
};

}  // namespace

std::string records_file_problem(const std::string& path) {
  std::string file;  // records go through the user's own links only (open_locked)
  try {
    file = own_link_target(path);
  } catch (const WriteError& e) {
    return e.what();
  }
  if (std::string why = foreign_link_problem(path, file); !why.empty()) return why;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};  // (output_file_problem names what is wrong with it)
  // A first record of up to 64 MiB (a million samples) is recognised whole.
  bool found = false;
  try {
    LimitedBuf limited(in.rdbuf(), std::size_t{64} << 20);
    std::istream first_value(&limited);
    FirstRecordSax first;
    Json::sax_parse(first_value, &first, Json::input_format_t::json, /*strict=*/false);
    found = first.found;
  } catch (const std::exception&) {  // a read error, no memory: the lines below decide
  }
  if (found) return {};
  // Else a whole line of the first MiB that is a record (the first line may be one a writer
  // cut short), or, in a smaller file, an unended last line that is an object cut short.
  in.clear();
  in.seekg(0);
  constexpr std::streamsize kLook = 1 << 20;
  std::string head(static_cast<std::size_t>(kLook), '\0');
  in.read(head.data(), kLook);
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t begin = 0;
  for (std::size_t end; (end = head.find('\n', begin)) != std::string::npos; begin = end + 1)
    if (is_record(parse_json(head.substr(begin, end - begin)))) return {};
  const std::string last = head.substr(begin);
  if (head.size() == static_cast<std::size_t>(st.st_size) && last.rfind("{\"", 0) == 0 &&
      parse_json(last).is_discarded())
    return {};
  return "output file '" + path + "' holds no ParaRun record (no line of " +
         (head.size() < static_cast<std::size_t>(st.st_size) ? "its first MiB" : "it") +
         " is one): records are appended to a results file or a new file only";
}

bool holds_records(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
         access(path.c_str(), R_OK) == 0 &&  // (records_file_problem lets an unreadable one be)
         records_file_problem(path).empty();
}

void append_record(const std::string& path, const Record& record) {
  append_record(path, to_json(record));
}

RecordFile read_records(const std::string& path) {
  RecordFile out;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {  // /dev/zero would never end
    out.problems.push_back(path + ": not a regular file");
    return out;
  }
  std::ifstream in(path);
  if (!in) {
    out.problems.push_back(path + ": cannot be read");
    return out;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    Json j = parse_json(line);
    if (j.is_discarded()) {
      out.problems.push_back(where + "not JSON");
    } else if (std::string why; auto r = read_record(j, &why)) {
      out.records.push_back(std::move(*r));
    } else {
      out.problems.push_back(where + why + "; line skipped");
    }
  }
  return out;
}

void warn_bad_lines(const RecordFile& rf) {
  for (const auto& p : rf.problems) std::fprintf(stderr, "pararun: warning: %s\n", p.c_str());
}

}  // namespace pararun
