// Plain text tables for the console.
#pragma once

#include <string>
#include <vector>

namespace pararun {

class Table {
 public:
  /// Cells are kept as printable() shows them (a control character in a kernel name or a
  /// label is escaped before the columns are laid out, so its row does not shift).
  explicit Table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  /// Columns padded to their widest cell (in characters: UTF-8 counts once per character);
  /// a column of numbers right-aligned, any other column left-aligned (decided per column).
  std::string str() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// printf-style formatting into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/// Seconds with a unit that fits: "812 ns", "3.41 ms", "1.203 s".
std::string format_seconds(double s);
/// A wall-clock duration for progress lines: "42 s", "3 min 05 s".
std::string format_duration(double s);

}  // namespace pararun
