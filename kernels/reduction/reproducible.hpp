// A sum of doubles whose result is the same to the last bit for any number of threads and
// ranks (on any x86 CPU: no FMA, no ISA-dependent order).
//
// The order of the additions is fixed by the data, never by who adds them:
//   - the array is cut into chunks of kChunk elements at fixed global offsets;
//   - a chunk's sum is 32 lanes (lane j adds elements j, j+32, j+64, ... in order), then the
//     lanes combined pairwise: the compiler vectorises the lanes without reordering them;
//   - chunk sums are combined by the perfect binary tree over global chunk indices (padded
//     to a power of two; a missing subtree adds nothing).
// A rank owns whole chunks (reproducible_range). It evaluates the largest aligned subtrees
// that lie inside its chunks (at most 2 log2(chunks) of them), every rank gathers all of them
// (O(P log n) values, not O(n)), and each evaluates the same upper tree from them.
// Accuracy is that of pairwise summation above the chunk level.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>

#include "pararun/partition.hpp"

namespace pararun::reduction {

constexpr std::uint64_t kChunk = 8192;  ///< elements per chunk (64 KiB)

/// The elements rank `rank` of `ranks` owns for the reproducible sum: whole chunks, a block
/// of the chunks per rank (the last chunk may be partial).
Range reproducible_range(std::uint64_t n, int ranks, int rank);

/// The sum of the n global elements of which this rank holds x[0, range.count), its
/// reproducible_range. `threads` OpenMP threads sum the chunks; `comm` may be MPI_COMM_NULL
/// (one process holds everything). Collective over comm; the same result on every rank.
double reproducible_sum(const double* x, std::uint64_t n, Range range, int threads, MPI_Comm comm);

}  // namespace pararun::reduction
