// Block distributions: n items over parts, the first n % parts parts get one more; and the
// 2-D process grid for P ranks.
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

/// The part whose block_range holds item i (i < n).
constexpr std::uint64_t block_owner(std::uint64_t n, std::uint64_t parts, std::uint64_t i) {
  const std::uint64_t base = n / parts, extra = n % parts;
  const std::uint64_t big = extra * (base + 1);  // items in the parts that have one more
  return i < big ? i / (base + 1) : extra + (i - big) / base;
}

/// rows x cols == ranks, as square as possible, rows <= cols (3 ranks: 1 x 3, 4: 2 x 2, 6: 2 x 3).
struct Grid {
  int rows = 1, cols = 1;
};

constexpr Grid make_grid(int ranks) {
  int rows = 1;
  for (int r = 1; r * r <= ranks; ++r)
    if (ranks % r == 0) rows = r;
  return {rows, ranks / rows};
}

}  // namespace pararun
