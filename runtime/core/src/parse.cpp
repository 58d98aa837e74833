#include "pararun/parse.hpp"

#include <cctype>
#include <limits>

namespace pararun {

namespace {

std::optional<std::uint64_t> parse_digits(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::optional<std::uint64_t> parse_count(const std::string& text) {
  const auto caret = text.find('^');
  if (caret == std::string::npos) return parse_digits(text);
  auto base = parse_digits(text.substr(0, caret));
  auto exp = parse_digits(text.substr(caret + 1));
  if (!base || !exp) return std::nullopt;
  if (*base <= 1) return *exp == 0 ? 1 : *base;
  std::uint64_t v = 1;
  for (std::uint64_t i = 0; i < *exp; ++i) {
    if (*base != 0 && v > std::numeric_limits<std::uint64_t>::max() / *base) return std::nullopt;
    v *= *base;
    if (v == 0) break;
  }
  return v;
}

std::string count_problem(const std::string& text, const std::string& more) {
  const auto digits = [](const std::string& s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
  };
  const auto caret = text.find('^');
  const bool formed = caret == std::string::npos
                          ? digits(text)
                          : digits(text.substr(0, caret)) && digits(text.substr(caret + 1));
  return formed && !parse_count(text) ? "is larger than 2^64 - 1" : "is not a whole number" + more;
}

}  // namespace pararun
