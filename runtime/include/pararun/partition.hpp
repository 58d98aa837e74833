// Block distribution of n items over parts: the first n % parts parts get one more.
#pragma once

#include <cstdint>

namespace pararun {

struct Range {
  std::uint64_t begin = 0;
  std::uint64_t count = 0;
};

constexpr Range block_range(std::uint64_t n, std::uint64_t parts, std::uint64_t index) {
  const std::uint64_t base = n / parts, extra = n % parts;
  return {index * base + (index < extra ? index : extra), base + (index < extra ? 1 : 0)};
}

}  // namespace pararun
