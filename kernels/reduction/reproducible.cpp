#include "reduction/reproducible.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/simd_sum.hpp"
#include "pararun/phases.hpp"

namespace pararun::reduction {

namespace {

/// The fixed-order sum of one chunk (count <= kChunk elements).
double chunk_sum(const double* x, std::size_t count) {
  double lane[common::kLanes] = {};
  common::add_into_lanes(x, count, lane);
  for (std::size_t w = common::kLanes / 2; w > 0; w /= 2)
    for (std::size_t j = 0; j < w; ++j) lane[j] += lane[j + w];
  return lane[0];
}

/// The pairwise tree over a power-of-two count of values (aligned, so it is a subtree of the
/// global tree), in place.
double tree_sum(double* v, std::uint64_t count) {
  for (std::uint64_t w = count / 2; w > 0; w /= 2)
    for (std::uint64_t j = 0; j < w; ++j) v[j] = v[2 * j] + v[2 * j + 1];
  return v[0];
}

/// A subtree of the global tree: level 0 = one chunk; (level, index) covers chunks
/// [index << level, (index + 1) << level).
struct Node {
  double level, index, value;  // doubles: one MPI_DOUBLE triple per node
};

std::uint64_t chunks_of(std::uint64_t n) {
  return (n + kChunk - 1) / kChunk;
}

}  // namespace

Range reproducible_range(std::uint64_t n, int ranks, int rank) {
  const Range chunks = block_range(chunks_of(n), static_cast<std::uint64_t>(std::max(ranks, 1)),
                                   static_cast<std::uint64_t>(rank));
  const std::uint64_t begin = std::min(n, chunks.begin * kChunk);
  const std::uint64_t end = std::min(n, (chunks.begin + chunks.count) * kChunk);
  return {begin, end - begin};
}

double reproducible_sum(const double* x, std::uint64_t n, Range range, int threads, MPI_Comm comm) {
  // (A rank without elements, past the last chunk, holds an empty range anywhere.)
  if (range.count > 0 &&
      (range.begin % kChunk != 0 || (range.begin + range.count < n && range.count % kChunk != 0)))
    throw std::invalid_argument("reproducible_sum: the range does not hold whole chunks");
  const std::uint64_t first = range.begin / kChunk, local = chunks_of(range.count);
  std::vector<double> sums(local);
  std::optional<ScopedPhase> compute(std::in_place, Phase::compute);
  // Chunks over threads; each chunk's sum is the same whichever thread computes it.
  const auto count = static_cast<std::int64_t>(local);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t c = 0; c < count; ++c) {
    const std::uint64_t begin = static_cast<std::uint64_t>(c) * kChunk;
    sums[static_cast<std::size_t>(c)] =
        chunk_sum(x + begin, static_cast<std::size_t>(std::min(kChunk, range.count - begin)));
  }
  // The largest aligned subtrees inside [first, first + local).
  std::vector<Node> mine;
  for (std::uint64_t i = first, end = first + local; i < end;) {
    std::uint64_t size = 1;
    while (i % (2 * size) == 0 && i + 2 * size <= end) size *= 2;
    int level = 0;
    while ((std::uint64_t{1} << level) < size) ++level;
    mine.push_back({static_cast<double>(level), static_cast<double>(i / size),
                    tree_sum(sums.data() + (i - first), size)});
    i += size;
  }
  // Every rank's subtrees, in rank order (the order does not matter: they are keyed).
  compute.reset();
  std::vector<Node> all = mine;
  if (comm != MPI_COMM_NULL) {
    ScopedPhase communicate(Phase::communicate);
    int ranks = 1;
    MPI_Comm_size(comm, &ranks);
    int doubles = static_cast<int>(3 * mine.size());
    std::vector<int> counts(static_cast<std::size_t>(ranks)), displs(counts.size());
    MPI_Allgather(&doubles, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
    int total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      displs[r] = total;
      total += counts[r];
    }
    all.resize(static_cast<std::size_t>(total / 3));
    MPI_Allgatherv(mine.data(), doubles, MPI_DOUBLE, all.data(), counts.data(), displs.data(),
                   MPI_DOUBLE, comm);
  }
  std::map<std::pair<int, std::uint64_t>, double> known;
  for (const Node& node : all)
    known[{static_cast<int>(node.level), static_cast<std::uint64_t>(node.index)}] = node.value;
  // Evaluate the root: a known subtree is its value; otherwise its two children's sum, a
  // child past the last chunk adding nothing.
  const std::uint64_t chunks = chunks_of(n);
  if (chunks == 0) return 0.0;
  int top = 0;
  while ((std::uint64_t{1} << top) < chunks) ++top;
  struct Eval {
    const std::map<std::pair<int, std::uint64_t>, double>& known;
    std::uint64_t chunks;
    double operator()(int level, std::uint64_t index) const {
      if (auto it = known.find({level, index}); it != known.end()) return it->second;
      if (level == 0) throw std::logic_error("reproducible_sum: a chunk is missing");
      const std::uint64_t right = 2 * index + 1;
      const double l = (*this)(level - 1, 2 * index);
      if ((right << (level - 1)) >= chunks) return l;
      return l + (*this)(level - 1, right);
    }
  };
  return Eval{known, chunks}(top, 0);
}

}  // namespace pararun::reduction
