// The mandelbrot kernel: escape-time iteration counts of an n x n image of the region
// [-2, 0.5] x [-0.25, 2.25], at most kMaxIter iterations per pixel. A load-imbalanced kernel:
// rows through the set cost up to kMaxIter iterations per pixel, rows outside it a few, and
// the window is not symmetric about the real axis, so the first half of the rows holds
// nearly all of the set (a symmetric window would balance two static halves by accident).
//   seq:        row by row.
//   omp:        rows over threads with schedule(static), (dynamic, 1) or (guided): the
//               schedule is the variant, and the imbalance shows in the speedup.
//   mpi/hybrid: rows in contiguous blocks per rank (block: the ranks holding the set's middle
//               do most of the work) or dealt round-robin (cyclic: balanced), one MPI_Reduce
//               of the iteration count; hybrid threads use schedule(dynamic).
// Every variant calls the same out-of-line pixel function, so the iteration counts do not
// depend on the variant. Each rank keeps the count of every row it computed (a checksum of the
// row), and verification recomputes every row with a separately written escape-time loop
// (std::complex, its own loop shape): each row's count and the total must match exactly.
// The file is compiled with -ffp-contract=off, so both loops round the same operations the
// same way (no fused multiply-adds in one but not the other).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::mandelbrot {

namespace {

constexpr int kMaxIter = 128;
constexpr double kX0 = -2.0, kY0 = -0.25, kWidth = 2.5;

/// Iterations before |z| > 2 (kMaxIter inside the set). Out of line: one code path for all.
__attribute__((noinline)) int pixel(std::uint64_t n, std::uint64_t row, std::uint64_t col) {
  const double step = kWidth / static_cast<double>(n);
  const double cx = kX0 + (static_cast<double>(col) + 0.5) * step;
  const double cy = kY0 + (static_cast<double>(row) + 0.5) * step;
  double x = 0, y = 0;
  int k = 0;
  for (; k < kMaxIter; ++k) {
    const double x2 = x * x, y2 = y * y;
    if (x2 + y2 > 4.0) break;
    y = 2.0 * x * y + cy;
    x = x2 - y2 + cx;
  }
  return k;
}

std::uint64_t row_sum(std::uint64_t n, std::uint64_t row) {
  std::uint64_t s = 0;
  for (std::uint64_t c = 0; c < n; ++c) s += static_cast<std::uint64_t>(pixel(n, row, c));
  return s;
}

/// The verification's own count of a row, written apart from pixel(): z = z^2 + c on
/// std::complex until |z|^2 > 4, the columns walked from the right. The same rounded
/// operations (x*x - y*y + cx, x*y + y*x + cy, x*x + y*y), so the same counts, bit for bit.
std::uint64_t reference_row_sum(std::uint64_t n, std::uint64_t row) {
  const double step = kWidth / static_cast<double>(n);
  const double im = kY0 + (static_cast<double>(row) + 0.5) * step;
  std::uint64_t total = 0;
  for (std::uint64_t col = n; col-- > 0;) {
    const std::complex<double> c(kX0 + (static_cast<double>(col) + 0.5) * step, im);
    std::complex<double> z = 0;
    int iterations = 0;
    while (iterations < kMaxIter && std::norm(z) <= 4.0) {
      z = std::complex<double>(z.real() * z.real() - z.imag() * z.imag(),
                               z.real() * z.imag() + z.imag() * z.real()) +
          c;
      ++iterations;
    }
    total += static_cast<std::uint64_t>(iterations);
  }
  return total;
}

enum class Schedule { static_, dynamic, guided };

/// Counts of `count` rows row(0), row(1), ... into counts[i], with `threads` threads and
/// `schedule`; returns their sum.
template <class RowOf>
std::uint64_t rows_sum(std::uint64_t n, std::uint64_t count, RowOf row_of, int threads,
                       Schedule schedule, std::uint64_t* counts) {
  std::uint64_t s = 0;
  const auto m = static_cast<std::int64_t>(count);
  auto one = [&](std::int64_t i) {
    return counts[i] = row_sum(n, row_of(static_cast<std::uint64_t>(i)));
  };
  switch (schedule) {
    case Schedule::static_:
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < m; ++i) s += one(i);
      break;
    case Schedule::dynamic:
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : s) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < m; ++i) s += one(i);
      break;
    case Schedule::guided:
#pragma omp parallel for schedule(guided) reduction(+ : s) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < m; ++i) s += one(i);
      break;
  }
  return s;
}

class MandelbrotInstance : public Instance {
 public:
  MandelbrotInstance(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : ctx_(ctx), n_(p.size), cyclic_(v.name == "cyclic") {
    if (v.name == "dynamic" || uses_mpi(ctx.backend)) schedule_ = Schedule::dynamic;
    if (v.name == "guided") schedule_ = Schedule::guided;
    const auto ranks = static_cast<std::uint64_t>(ctx.ranks);
    const auto rank = static_cast<std::uint64_t>(ctx.rank);
    std::uint64_t rows = 0;
    if (cyclic_) {
      first_row_ = rank;
      row_stride_ = ranks;
      rows = n_ > rank ? (n_ - rank + ranks - 1) / ranks : 0;
    } else {
      const Range r = block_range(n_, ranks, rank);
      first_row_ = r.begin;
      rows = r.count;
    }
    counts_.assign(rows, 0);
  }

  void run() override {
    std::uint64_t local = 0;
    {
      ScopedPhase compute(Phase::compute);
      local = rows_sum(
          n_, counts_.size(), [&](std::uint64_t i) { return row_of(i); }, ctx_.threads, schedule_,
          counts_.data());
    }
    total_ = local;
    if (ctx_.comm != MPI_COMM_NULL) {
      ScopedPhase communicate(Phase::communicate);
      MPI_Allreduce(&local, &total_, 1, MPI_UINT64_T, MPI_SUM, ctx_.comm);
    }
  }

  Verification verify() override {
    // Each rank recounts its own rows with the reference loop: every row must match, and so
    // must the total the run reduced (every rank's rows, summed exactly).
    std::uint64_t mine = 0, reference = 0, wrong_rows = 0, first_wrong = n_;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : mine, wrong_rows) \
    reduction(min : first_wrong) num_threads(ctx_.threads) if (ctx_.threads > 1)
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(counts_.size()); ++i) {
      const std::uint64_t row = row_of(static_cast<std::uint64_t>(i));
      const std::uint64_t expected = reference_row_sum(n_, row);
      mine += expected;
      if (counts_[static_cast<std::size_t>(i)] != expected) {
        ++wrong_rows;
        first_wrong = std::min(first_wrong, row);
      }
    }
    std::uint64_t local[2] = {mine, wrong_rows}, global[2] = {mine, wrong_rows};
    std::uint64_t first = first_wrong;
    if (ctx_.comm != MPI_COMM_NULL) {
      MPI_Allreduce(local, global, 2, MPI_UINT64_T, MPI_SUM, ctx_.comm);
      MPI_Allreduce(&first_wrong, &first, 1, MPI_UINT64_T, MPI_MIN, ctx_.comm);
    }
    reference = global[0];
    // Every rank holds the reduced total: any rank's being wrong fails the run everywhere.
    double total_off = std::fabs(static_cast<double>(total_) - static_cast<double>(reference));
    if (ctx_.comm != MPI_COMM_NULL)
      MPI_Allreduce(MPI_IN_PLACE, &total_off, 1, MPI_DOUBLE, MPI_MAX, ctx_.comm);
    std::string text = "every row's iteration count and the total (" + std::to_string(reference) +
                       ") against a separately written escape-time loop";
    if (global[1] > 0)
      text += "; " + std::to_string(global[1]) + " row(s) differ, the first row " +
              std::to_string(first);
    Verification v =
        make_verification(static_cast<double>(global[1]) + total_off, 0.0, std::move(text));
    v.results = {{"iterations", static_cast<double>(total_)},
                 {"iterations_reference", static_cast<double>(reference)},
                 {"rows_differing", static_cast<double>(global[1])}};
    return v;
  }

  std::uint64_t local_size() const override {
    return counts_.size();
  }

  /// Two of this rank's rows with different counts swap them: the total stays right, so only
  /// the per-row check can see it (a single-count change otherwise).
  void inject_fault() override {
    for (std::size_t i = 1; i < counts_.size(); ++i)
      if (counts_[i] != counts_[0]) {
        std::swap(counts_[0], counts_[i]);
        return;
      }
    total_ += 1;
  }

 private:
  ExecContext ctx_;
  std::uint64_t n_;
  bool cyclic_;
  /// This rank's i-th row: of a contiguous block (block, seq, omp) or every ranks-th row
  /// from its rank (cyclic).
  std::uint64_t row_of(std::uint64_t i) const {
    return first_row_ + i * row_stride_;
  }
  std::uint64_t first_row_ = 0, row_stride_ = 1;

  Schedule schedule_ = Schedule::static_;
  std::uint64_t total_ = 0;
  std::vector<std::uint64_t> counts_;  ///< this rank's rows' iteration counts, in row_of order
};

class Mandelbrot : public Kernel {
 public:
  std::string name() const override { return "mandelbrot"; }
  std::string summary() const override {
    return "escape-time Mandelbrot image, at most " + std::to_string(kMaxIter) +
           " iterations per pixel (load-imbalanced)";
  }
  std::string size_meaning() const override { return "n: the image is n x n pixels (rows)"; }
  Metric metric() const override { return Metric::gflops; }

  std::vector<VariantInfo> variants() const override {
    return {{Backend::seq, "plain", "row by row"},
            {Backend::omp, "static", "rows over threads, schedule(static)"},
            {Backend::omp, "dynamic", "rows over threads, schedule(dynamic, 1)"},
            {Backend::omp, "guided", "rows over threads, schedule(guided)"},
            {Backend::mpi, "cyclic", "rows dealt round-robin over the ranks (balanced)"},
            {Backend::mpi, "block", "contiguous row blocks per rank (imbalanced)"},
            {Backend::hybrid, "cyclic", "rows round-robin over ranks, dynamic threads"},
            {Backend::hybrid, "block", "row blocks per rank, dynamic threads"}};
  }

  /// Flops: 7 per iteration (3 multiplies, 4 adds/subtracts; the escape test not counted),
  /// with the iteration count of a 64 x 64 sample of the image scaled to n x n: an estimate.
  Work work(const Problem& p) const override {
    const std::uint64_t s = 64;
    double iters = 0;
    for (std::uint64_t r = 0; r < s; ++r) iters += static_cast<double>(row_sum(s, r));
    const double n2 = static_cast<double>(p.size) * static_cast<double>(p.size);
    return {7 * iters * n2 / (s * s), 0};
  }

  double memory_per_rank(const Problem&, int) const override { return 0; }

  /// It needs no memory to speak of, so the memory check cannot stop a size that would run
  /// for days: 65536 x 65536 pixels is the limit.
  std::string check(const Problem& p, const ExecContext&) const override {
    if (p.size > kMaxSize)
      return "mandelbrot: n = " + std::to_string(p.size) + " is beyond its limit of " +
             std::to_string(kMaxSize) + " (n x n pixels)";
    return {};
  }
  static constexpr std::uint64_t kMaxSize = 65536;

  /// Work grows with n^2: n * sqrt(P) keeps it (about) constant per PE.
  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override {
    return static_cast<std::uint64_t>(std::llround(static_cast<double>(base) * std::sqrt(pes)));
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    return std::make_unique<MandelbrotInstance>(p, v, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Mandelbrot);

}  // namespace pararun::mandelbrot
