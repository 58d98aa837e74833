#include "pararun/table.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "pararun/files.hpp"

namespace pararun {

namespace {

std::vector<std::string> printable_cells(std::vector<std::string> row) {
  for (auto& cell : row) cell = printable(cell);
  return row;
}

/// How many characters a terminal shows for UTF-8 text: the bytes that start one.
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

/// A number, maybe with a unit or a suffix: "12", "-0.5", "1.93x", "3.41 ms", "0-1".
bool looks_numeric(const std::string& s) {
  const char c = s.empty() ? ' ' : s[0];
  const char d = s.size() > 1 ? s[1] : '0';
  return std::isdigit(static_cast<unsigned char>(c)) ||
         ((c == '-' || c == '+' || c == '.') && std::isdigit(static_cast<unsigned char>(d)));
}

}  // namespace

Table::Table(std::vector<std::string> header) : header_(printable_cells(std::move(header))) {}

void Table::add(std::vector<std::string> row) {
  rows_.push_back(printable_cells(std::move(row)));
}

std::string Table::str() const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], columns(row[i]));
  };
  widen(header_);
  for (auto& r : rows_) widen(r);
  // A column is numbers, right-aligned, when every cell of it that says something ("-" and
  // empty cells do not) is a number; one cell that only starts like one ("2-D blocks") in a
  // column of text stays text.
  std::vector<bool> numeric(width.size(), false);
  for (std::size_t i = 0; i < width.size(); ++i) {
    bool any = false, all = true;
    for (auto& r : rows_) {
      const std::string cell = i < r.size() ? r[i] : "";
      if (cell.empty() || cell == "-") continue;
      any = true;
      all = all && looks_numeric(cell);
    }
    numeric[i] = any && all;
  }

  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(width[i] - columns(cell), ' ');
      const bool right = numeric[i];  // a header sits over its column's numbers
      out += right ? pad + cell : cell + pad;
      if (i + 1 < width.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };

  std::string out = line(header_);
  std::size_t total = 0;
  for (auto w : width) total += w + 2;
  // Prose in the last column (a kernel's description) is not underlined past its header.
  if (!width.empty() && !numeric.back()) total -= width.back() - columns(header_.back());
  out += std::string(total > 2 ? total - 2 : 0, '-') + "\n";
  for (auto& r : rows_) out += line(r);
  return out;
}

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

std::string format_seconds(double s) {
  if (s < 1e-6) return format("%.0f ns", s * 1e9);
  if (s < 1e-3) return format("%.2f us", s * 1e6);
  if (s < 1.0) return format("%.3f ms", s * 1e3);
  return format("%.3f s", s);
}

std::string format_duration(double s) {
  if (s < 90) return format("%.0f s", s);
  return format("%.0f min %02.0f s", std::floor(s / 60), std::fmod(s, 60));
}

}  // namespace pararun
