#include "common/input_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "pararun/errors.hpp"

namespace pararun::common {

namespace {

/// A regular file that can be read, or InputError naming why not (a folder, /dev/zero, a FIFO).
void check_readable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    throw InputError("cannot read input file '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw InputError("input '" + path + "' is not a regular file but a " +
                     (S_ISDIR(st.st_mode) ? "folder" : "device, FIFO or socket"));
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Reads a Matrix Market file line by line, skipping comments and blank lines.
class MatrixMarketReader {
 public:
  explicit MatrixMarketReader(const std::string& path) : path_(path) {
    check_readable(path);
    in_.open(path);
    if (!in_) throw InputError("cannot read input file '" + path + "'");
    std::string first;
    if (!std::getline(in_, first))
      fail(1, "the file is empty; a Matrix Market file starts with %%MatrixMarket");
    line_ = 1;
    std::istringstream words(first);
    std::string banner, object;
    words >> banner >> object >> h_.format >> h_.field >> h_.symmetry;
    if (banner != "%%MatrixMarket")
      fail(1, "not a Matrix Market file: the first line must start with %%MatrixMarket");
    object = lower(object);
    h_.format = lower(h_.format);
    h_.field = lower(h_.field);
    h_.symmetry = lower(h_.symmetry);
    if (object != "matrix") fail(1, "the object is '" + object + "'; only 'matrix' is read");
    if (h_.format != "array" && h_.format != "coordinate")
      fail(1, "the format is '" + h_.format + "'; it must be array or coordinate");
    if (h_.field != "real" && h_.field != "integer" && h_.field != "double" &&
        !(h_.field == "pattern" && h_.format == "coordinate"))
      fail(1,
           "the field is '" + h_.field + "'; real, integer (or pattern for coordinate) are read");
    if (h_.field == "double") h_.field = "real";
    if (h_.symmetry != "general" && h_.symmetry != "symmetric")
      fail(1, "the symmetry is '" + h_.symmetry + "'; general or symmetric are read");
    std::string size_line;
    if (!next(size_line)) fail(line_, "the size line is missing");
    std::istringstream sizes(size_line);
    long long r = -1, c = -1, e = -1;
    sizes >> r >> c;
    if (h_.format == "coordinate") sizes >> e;
    std::string extra;
    if (sizes.fail() || r < 1 || c < 1 || (h_.format == "coordinate" && e < 0) || (sizes >> extra))
      fail(line_, "bad size line '" + size_line + "': expected " +
                      (h_.format == "array" ? "ROWS COLS" : "ROWS COLS ENTRIES") +
                      ", each a whole number (rows and columns at least 1)");
    h_.rows = static_cast<std::uint64_t>(r);
    h_.cols = static_cast<std::uint64_t>(c);
    h_.entries = static_cast<std::uint64_t>(std::max(e, 0LL));
    h_.size_line = line_;
    if (h_.symmetry == "symmetric" && h_.rows != h_.cols)
      fail(line_, "a symmetric matrix must be square, this one is " + std::to_string(h_.rows) +
                      " x " + std::to_string(h_.cols));
  }

  const MatrixMarketHeader& header() const { return h_; }
  int line() const { return line_; }

  /// The next line that is not a comment or blank; false at the end.
  bool next(std::string& out) {
    while (std::getline(in_, out)) {
      ++line_;
      const auto first = out.find_first_not_of(" \t\r");
      if (first == std::string::npos || out[first] == '%') continue;
      return true;
    }
    return false;
  }

  double number(const std::string& text) const {
    char* end = nullptr;
    // (An overflow is HUGE_VAL, not finite; an underflow's ERANGE is a subnormal or zero,
    // which is a number: 1e-310 was refused as "not a finite number".)
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !std::isfinite(v))
      fail(line_, "'" + text + "' is not a finite number");
    return v;
  }

  [[noreturn]] void fail(int line, const std::string& what) const {
    throw InputError(path_ + ":" + std::to_string(line) + ": " + what);
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream in_;
  int line_ = 0;
  MatrixMarketHeader h_;
};

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// Where a .npy file's data starts and how many doubles it holds.
std::pair<std::uint64_t, std::uint64_t> npy_layout(const std::string& path, int fd,
                                                   std::uint64_t file_size) {
  unsigned char magic[10];
  if (pread(fd, magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic) ||
      std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw InputError(path + ": not a .npy file (no \\x93NUMPY magic)");
  const int major = magic[6];
  std::uint64_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = magic[8] | (magic[9] << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    unsigned char len[4];
    if (pread(fd, len, 4, 8) != 4) throw InputError(path + ": truncated .npy header");
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (std::uint64_t{len[3]} << 24);
    offset = 12;
  } else {
    throw InputError(path + ": .npy version " + std::to_string(major) +
                     " is not read (1 to 3 are)");
  }
  if (offset + header_len > file_size) throw InputError(path + ": truncated .npy header");
  std::string header(header_len, '\0');
  if (pread(fd, header.data(), header_len, static_cast<off_t>(offset)) !=
      static_cast<ssize_t>(header_len))
    throw InputError(path + ": truncated .npy header");
  if (header.find("'descr': '<f8'") == std::string::npos &&
      header.find("'descr': '<d'") == std::string::npos)
    throw InputError(path + ": the .npy array is not little-endian float64 ('<f8'): " +
                     header.substr(0, header.find('}') + 1));
  const auto shape_at = header.find("'shape': (");
  if (shape_at == std::string::npos) throw InputError(path + ": the .npy header has no shape");
  std::uint64_t n = 1;
  std::istringstream dims(header.substr(shape_at + 10, header.find(')', shape_at) - shape_at - 10));
  for (std::string d; std::getline(dims, d, ',');) {
    if (d.find_first_not_of(" ") == std::string::npos) continue;
    const auto first = d.find_first_not_of(' ');
    if (d.find_first_not_of("0123456789 ", first) != std::string::npos)
      throw InputError(path + ": the .npy shape has a dimension '" + d + "' that is not a number");
    const std::uint64_t dim = std::strtoull(d.c_str(), nullptr, 10);
    if (dim && n > (file_size / 8) / dim)
      throw InputError(path + ": the .npy shape holds more doubles than the file has bytes for");
    n *= dim;
  }
  const std::uint64_t data = offset + header_len;
  if (file_size - data != n * 8)
    throw InputError(path + ": the .npy shape holds " + std::to_string(n) + " doubles (" +
                     std::to_string(n * 8) + " bytes) but the file has " +
                     std::to_string(file_size - data) + " bytes of data (truncated?)");
  return {data, n};
}

struct DoublesFile {
  int fd = -1;
  std::uint64_t data = 0, count = 0;
  ~DoublesFile() {
    if (fd >= 0) close(fd);
  }
};

void open_doubles(const std::string& path, DoublesFile& f) {
  check_readable(path);
  f.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw InputError("cannot read input file '" + path + "': " + std::strerror(errno));
  struct stat st {};
  fstat(f.fd, &st);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const bool npy = path.size() > 4 && lower(path.substr(path.size() - 4)) == ".npy";
  if (npy) {
    std::tie(f.data, f.count) = npy_layout(path, f.fd, size);
  } else {
    if (size % 8 != 0)
      throw InputError(path + ": a raw float64 file holds a whole number of 8-byte doubles; " +
                       std::to_string(size) + " bytes is not one (truncated?)");
    f.count = size / 8;
  }
  if (f.count == 0) throw InputError(path + ": the file holds no doubles");
}

}  // namespace

MatrixMarketHeader read_matrix_market_header(const std::string& path) {
  return MatrixMarketReader(path).header();
}

std::uint64_t square_matrix_order(const std::string& path, const std::string& format,
                                  const std::string& kernel) {
  const MatrixMarketHeader h = read_matrix_market_header(path);
  if (h.format != format)
    throw InputError(path + ":1: " + kernel + " reads " + (format == "array" ? "dense" : "sparse") +
                     " matrices (Matrix Market " + format + " format), this file is " + h.format);
  if (h.rows != h.cols)
    throw InputError(path + ":" + std::to_string(h.size_line) + ": " + kernel +
                     " needs a square matrix, this one is " + std::to_string(h.rows) + " x " +
                     std::to_string(h.cols));
  return h.rows;
}

namespace {

std::uint64_t file_bytes(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

DenseMatrix read_matrix_market_array(const std::string& path) {
  MatrixMarketReader r(path);
  const auto& h = r.header();
  if (h.format != "array")
    r.fail(1, "a dense matrix is read from Matrix Market array format, this file is coordinate");
  DenseMatrix m;
  m.rows = h.rows;
  m.cols = h.cols;
  if (h.rows > (std::uint64_t{1} << 32) / h.cols)
    r.fail(h.size_line, "the matrix is too large to read (more than 2^32 values)");
  const bool sym = h.symmetry == "symmetric";
  // Column-major; a symmetric file holds the lower triangle (i >= j) of each column.
  const std::uint64_t expected = sym ? h.rows * (h.rows + 1) / 2 : h.rows * h.cols;
  // The size line is not trusted for memory (found by fuzzing: "3 888888885" and five values
  // made a 21 GB allocation): every value takes at least two bytes ("0\n").
  const std::uint64_t bytes = file_bytes(path);
  if (expected > bytes / 2 + 1)
    r.fail(h.size_line, "the size line says " + std::to_string(h.rows) + " x " +
                            std::to_string(h.cols) + " (" + std::to_string(expected) +
                            " values), more than the file's " + std::to_string(bytes) +
                            " bytes can hold (truncated, or a wrong size line?)");
  m.values.assign(h.rows * h.cols, 0.0);
  std::uint64_t i = 0, j = 0, read = 0;
  std::string line;
  while (read < expected && r.next(line)) {
    for (const auto& w : words_of(line)) {
      if (read == expected)
        r.fail(r.line(), "more values than a " + std::to_string(h.rows) + " x " +
                             std::to_string(h.cols) + " matrix holds");
      const double v = r.number(w);
      m.values[i * m.cols + j] = v;
      if (sym) m.values[j * m.cols + i] = v;
      ++read;
      if (++i == h.rows) {
        ++j;
        i = sym ? j : 0;
      }
    }
  }
  if (read < expected)
    r.fail(r.line(), "expected " + std::to_string(expected) + " values for a " +
                         std::to_string(h.rows) + " x " + std::to_string(h.cols) + " " +
                         h.symmetry + " matrix, the file ends after " + std::to_string(read) +
                         " (truncated?)");
  if (r.next(line))
    r.fail(r.line(), "more values than a " + std::to_string(h.rows) + " x " +
                         std::to_string(h.cols) + " matrix holds");
  return m;
}

SparseMatrix read_matrix_market_coordinate(const std::string& path, const EntryFilter& keep) {
  MatrixMarketReader r(path);
  const auto& h = r.header();
  if (h.format != "coordinate")
    r.fail(1, "a sparse matrix is read from Matrix Market coordinate format, this file is array");
  const bool sym = h.symmetry == "symmetric", pattern = h.field == "pattern";
  struct Entry {
    std::uint64_t i, j;
    double v;
  };
  std::vector<Entry> entries;
  // The size line's count is not trusted for memory: at most what the file could hold.
  const std::uint64_t bytes = file_bytes(path);
  const std::uint64_t most = bytes / 4 + 1;
  // Nor its row count (row_start holds one offset per row): more rows than the file has bytes
  // is a wrong size line, not a matrix of empty rows.
  if (h.rows > bytes)
    r.fail(h.size_line, "the size line says " + std::to_string(h.rows) +
                            " rows, more than the file's " + std::to_string(bytes) +
                            " bytes could give entries (a wrong size line?)");
  if (!keep) entries.reserve(std::min(sym ? 2 * h.entries : h.entries, 2 * most));
  std::uint64_t nonzeros = 0;
  const auto add = [&](std::uint64_t i, std::uint64_t j, double v) {
    ++nonzeros;
    if (!keep || keep(i, j)) entries.push_back({i, j, v});
  };
  std::string line;
  std::uint64_t read = 0;
  while (read < h.entries && r.next(line)) {
    const auto w = words_of(line);
    if (w.size() != (pattern ? 2u : 3u))
      r.fail(r.line(), std::string("expected ") + (pattern ? "ROW COL" : "ROW COL VALUE") +
                           ", got '" + line + "'");
    char* end = nullptr;
    const unsigned long long i = std::strtoull(w[0].c_str(), &end, 10);
    const bool i_ok = *end == '\0';
    const unsigned long long j = std::strtoull(w[1].c_str(), &end, 10);
    if (!i_ok || *end != '\0' || i < 1 || j < 1 || i > h.rows || j > h.cols)
      r.fail(r.line(), "entry (" + w[0] + ", " + w[1] + ") is outside the " +
                           std::to_string(h.rows) + " x " + std::to_string(h.cols) +
                           " matrix (indices start at 1)");
    if (sym && j > i)
      r.fail(r.line(), "entry (" + w[0] + ", " + w[1] +
                           ") is above the diagonal; a symmetric file holds the lower triangle");
    const double v = pattern ? 1.0 : r.number(w[2]);
    add(i - 1, j - 1, v);
    if (sym && i != j) add(j - 1, i - 1, v);
    ++read;
  }
  if (read < h.entries)
    r.fail(r.line(), "expected " + std::to_string(h.entries) + " entries, the file ends after " +
                         std::to_string(read) + " (truncated?)");
  if (r.next(line))
    r.fail(r.line(), "more entries than the " + std::to_string(h.entries) + " the size line gives");
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.i != b.i ? a.i < b.i : a.j < b.j; });
  for (std::size_t k = 1; k < entries.size(); ++k)
    if (entries[k].i == entries[k - 1].i && entries[k].j == entries[k - 1].j)
      throw InputError(path + ": entry (" + std::to_string(entries[k].i + 1) + ", " +
                       std::to_string(entries[k].j + 1) + ") is given twice");
  SparseMatrix m;
  m.rows = h.rows;
  m.cols = h.cols;
  m.symmetric = sym;
  m.nonzeros = nonzeros;
  m.row_start.assign(h.rows + 1, 0);
  for (const auto& e : entries) ++m.row_start[e.i + 1];
  for (std::uint64_t i = 0; i < h.rows; ++i) m.row_start[i + 1] += m.row_start[i];
  m.col.reserve(entries.size());
  m.val.reserve(entries.size());
  for (const auto& e : entries) {
    m.col.push_back(e.j);
    m.val.push_back(e.v);
  }
  return m;
}

std::uint64_t count_doubles(const std::string& path) {
  DoublesFile f;
  open_doubles(path, f);
  return f.count;
}

std::vector<double> read_doubles(const std::string& path, std::uint64_t begin,
                                 std::uint64_t count) {
  DoublesFile f;
  open_doubles(path, f);
  if (begin + count > f.count)
    throw InputError(path + ": holds " + std::to_string(f.count) + " doubles, not " +
                     std::to_string(begin + count));
  std::vector<double> out(count);
  auto* bytes = reinterpret_cast<char*>(out.data());
  std::uint64_t done = 0, want = count * 8;
  while (done < want) {
    const ssize_t n =
        pread(f.fd, bytes + done, want - done, static_cast<off_t>(f.data + begin * 8 + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InputError(path + ": read failed: " + std::strerror(n < 0 ? errno : EIO));
    done += static_cast<std::uint64_t>(n);
  }
  for (const double v : out)
    if (!std::isfinite(v))
      throw InputError(path + ": holds a value that is not finite (NaN or inf)");
  return out;
}

}  // namespace pararun::common
