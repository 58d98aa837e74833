// Strict parsing of command-line numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pararun {

/// A positive or zero integer: decimal digits ("1048576") or a power "B^E" ("2^26").
/// Empty on anything else, on overflow and on negative numbers.
std::optional<std::uint64_t> parse_count(const std::string& text);

/// Why parse_count refused `text`, to follow it in a message: "is larger than 2^64 - 1" for
/// digits or a power whose value does not fit, else "is not a whole number" and `more`
/// (" of at least 1").
std::string count_problem(const std::string& text, const std::string& more = "");

}  // namespace pararun
