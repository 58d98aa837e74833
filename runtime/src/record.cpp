#include "pararun/record.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace pararun {

namespace {

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string output_path_problem(const std::string& path) {
  if (path.empty()) return "the output path is empty";
  if (path.back() == '/') return "output path '" + path + "' names a folder, not a file";
  const std::string dir = parent_dir(path);
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return "output folder '" + dir + "' does not exist";
  if (!S_ISDIR(st.st_mode)) return "'" + dir + "' is not a folder";
  if (access(dir.c_str(), W_OK | X_OK) != 0) return "output folder '" + dir + "' is not writable";
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return "output path '" + path + "' is a folder, not a file";
    if (access(path.c_str(), W_OK) != 0) return "output file '" + path + "' is not writable";
  }
  return {};
}

void append_record(const std::string& path, const Json& record) {
  const std::string line = record.dump() + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("cannot open '" + path + "' for appending: " + std::strerror(errno));
  // flock serialises writers (e.g. Slurm array tasks); O_APPEND puts each write at the end.
  if (flock(fd, LOCK_EX) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot lock '" + path + "': " + std::strerror(err));
  }
  struct stat st {};
  fstat(fd, &st);
  const off_t size_before = st.st_size;
  const ssize_t n = ::write(fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int err = errno;
    // A short write (disk full): cut the partial line so the file holds whole records only.
    if (n > 0 && ftruncate(fd, size_before) != 0) { /* nothing more can be done */
    }
    ::close(fd);
    throw std::runtime_error("cannot write to '" + path +
                             "': " + (n < 0 ? std::strerror(err) : "short write (disk full?)"));
  }
  fsync(fd);
  ::close(fd);
}

RecordFile read_records(const std::string& path) {
  RecordFile out;
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
    } else if (!j.is_object() || j.value("schema", "") != kRecordSchema) {
      out.problems.push_back(where + "not a ParaRun record (schema '" + kRecordSchema + "')");
    } else {
      out.records.push_back(std::move(j));
    }
  }
  return out;
}

}  // namespace pararun
