// NPB EP's classes and batches, shared by the kernel (ep.cpp) and its tests.
#pragma once

#include <array>
#include <cstdint>

namespace pararun::ep {

inline constexpr int kLogBatch = 16;  ///< MK in NPB: 2^16 pairs per batch
inline constexpr int kAnnuli = 10;    ///< NQ in NPB

struct ClassInfo {
  const char* name;
  int m;          ///< log2 of the number of pairs
  double sx, sy;  ///< NPB's published sums
};

// NPB 3.3 published sums (the verification block of ep.f / ep.c).
inline constexpr std::array<ClassInfo, 5> kClasses = {{
    {"S", 24, -3.247834652034740e3, -6.958407078382297e3},
    {"W", 25, -2.863319731645753e3, -6.320053679109499e3},
    {"A", 28, -4.295875165629892e3, -1.580732573678431e4},
    {"B", 30, 4.033815542441498e4, -2.660669192809235e4},
    {"C", 32, 4.764367927995374e4, -8.084072988043731e4},
}};

/// The class with 2^m pairs, or null.
const ClassInfo* find_class(std::uint64_t m);

/// The result: sums of the Gaussian deviates and the counts of pairs per square annulus
/// l <= max(|X|, |Y|) < l + 1.
struct Tally {
  double sx = 0, sy = 0;
  std::array<double, kAnnuli> q{};
};

/// Batches [first, first + count) one after the other (batch k: pairs k 2^16 .. (k+1) 2^16 - 1
/// of the one NPB sequence; independent of the class).
Tally tally_batches(std::uint64_t first, std::uint64_t count);

}  // namespace pararun::ep
