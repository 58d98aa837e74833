// Deterministic, position-addressable pseudo-random data: value i of a stream depends only
// on (seed, stream, i), so every rank and thread can make its own part of the global data.
#pragma once

#include <cstdint>

namespace pararun {

/// SplitMix64 finaliser: a good 64-bit mix of x.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// 64 random bits for element i of stream `stream` under `seed`.
constexpr std::uint64_t random_bits(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
  return mix64(mix64(seed ^ (stream * 0xD1B54A32D192ED03ULL)) + i);
}

/// A double in [-1, 1) with 53 random bits.
constexpr double random_unit(std::uint64_t seed, std::uint64_t stream, std::uint64_t i) {
  return static_cast<double>(random_bits(seed, stream, i) >> 11) * 0x1.0p-52 - 1.0;
}

}  // namespace pararun
