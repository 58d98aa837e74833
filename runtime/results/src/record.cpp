#include "pararun/record.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace pararun {

std::string record_problem(const Json& r) {
  if (!r.is_object()) return "not a JSON object";
  if (r.value("schema", Json()) != kRecordSchema)
    return std::string("not a ParaRun record (schema '") + kRecordSchema + "')";
  // The fields the readers use, with the type each must have where present.
  const std::pair<const char*, bool (Json::*)() const noexcept> typed[] = {
      {"kernel", &Json::is_string},
      {"backend", &Json::is_string},
      {"variant", &Json::is_string},
      {"status", &Json::is_string},
      {"scaling", &Json::is_string},
      {"point", &Json::is_string},
      {"problem", &Json::is_string},
      {"metric", &Json::is_string},
      {"size", &Json::is_number_unsigned},
      {"base_size", &Json::is_number_unsigned},
      {"threads", &Json::is_number_unsigned},
      {"ranks", &Json::is_number_unsigned},
      {"pes", &Json::is_number_unsigned},
      {"exit_code", &Json::is_number_integer},
      {"gflops", &Json::is_number},
      {"gbytes_per_s", &Json::is_number},
      {"oversubscribed", &Json::is_boolean},
      {"time", &Json::is_object},
      {"meta", &Json::is_object},
      {"samples", &Json::is_array}};
  for (const auto& [key, is_type] : typed)
    if (r.contains(key) && !(r[key].*is_type)())
      return std::string("field '") + key + "' has the wrong type (" + r[key].type_name() + ")";
  for (const char* key : {"kernel", "backend", "status"})
    if (!r.contains(key)) return std::string("field '") + key + "' is missing";
  if (r.contains("time")) {
    const Json& t = r["time"];
    if (!t.contains("median") || !t["median"].is_number())
      return "field 'time.median' is missing or not a number";
    if (!t.contains("ci95") || !t["ci95"].is_array() || t["ci95"].size() != 2 ||
        !t["ci95"][0].is_number() || !t["ci95"][1].is_number())
      return "field 'time.ci95' is not a pair of numbers";
  } else if (r["status"] == "ok") {
    return "a record with status 'ok' has no 'time'";
  }
  return {};
}

void append_record(const std::string& path, const Json& record) {
  std::string line = record.dump() + "\n";
  // Read and write: the last byte is read back. O_NONBLOCK: a FIFO without a reader fails at once
  // instead of blocking the run.
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) throw WriteError("cannot open '" + path + "' for appending: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw WriteError("'" + path + "' is not a regular file; records go to regular files only");
  }
  // flock serialises writers (e.g. Slurm array tasks); O_APPEND puts each write at the end.
  if (flock(fd, LOCK_EX) != 0) {
    const int err = errno;
    ::close(fd);
    throw WriteError("cannot lock '" + path + "': " + std::strerror(err));
  }
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
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      out.problems.push_back(where + "not JSON");
    } else if (const std::string why = record_problem(j); !why.empty()) {
      out.problems.push_back(where + why + "; line skipped");
    } else {
      out.records.push_back(std::move(j));
    }
  }
  return out;
}

void warn_bad_lines(const RecordFile& rf) {
  for (const auto& p : rf.problems) std::fprintf(stderr, "pararun: warning: %s\n", p.c_str());
}

}  // namespace pararun
