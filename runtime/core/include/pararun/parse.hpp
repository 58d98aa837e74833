// Strict parsing of command-line numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pararun {

/// A positive or zero integer: decimal digits ("1048576") or a power "B^E" ("2^26").
/// Empty on anything else, on overflow and on negative numbers.
std::optional<std::uint64_t> parse_count(const std::string& text);

}  // namespace pararun
