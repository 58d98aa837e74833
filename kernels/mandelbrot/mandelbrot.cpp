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
// depend on the variant: the result (the sum of all counts, an integer) must equal the
// sequential count exactly.
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <string>

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

enum class Schedule { static_, dynamic, guided };

/// Sum over `count` rows row(0), row(1), ... with `threads` threads and `schedule`.
template <class RowOf>
std::uint64_t rows_sum(std::uint64_t n, std::uint64_t count, RowOf row_of, int threads,
                       Schedule schedule) {
  std::uint64_t s = 0;
  const auto m = static_cast<std::int64_t>(count);
  switch (schedule) {
    case Schedule::static_:
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < m; ++i) s += row_sum(n, row_of(static_cast<std::uint64_t>(i)));
      break;
    case Schedule::dynamic:
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : s) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < m; ++i) s += row_sum(n, row_of(static_cast<std::uint64_t>(i)));
      break;
    case Schedule::guided:
#pragma omp parallel for schedule(guided) reduction(+ : s) num_threads(threads) if (threads > 1)
      for (std::int64_t i = 0; i < m; ++i) s += row_sum(n, row_of(static_cast<std::uint64_t>(i)));
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
  }

  void run() override {
    const auto ranks = static_cast<std::uint64_t>(ctx_.ranks);
    const auto rank = static_cast<std::uint64_t>(ctx_.rank);
    std::uint64_t local = 0;
    {
      ScopedPhase compute(Phase::compute);
      if (cyclic_) {
        const std::uint64_t count = n_ > rank ? (n_ - rank + ranks - 1) / ranks : 0;
        local = rows_sum(
            n_, count, [&](std::uint64_t i) { return rank + i * ranks; }, ctx_.threads, schedule_);
      } else {
        const Range r = block_range(n_, ranks, rank);
        local = rows_sum(
            n_, r.count, [&](std::uint64_t i) { return r.begin + i; }, ctx_.threads, schedule_);
      }
    }
    total_ = local;
    if (ctx_.comm != MPI_COMM_NULL) {
      ScopedPhase communicate(Phase::communicate);
      MPI_Allreduce(&local, &total_, 1, MPI_UINT64_T, MPI_SUM, ctx_.comm);
    }
  }

  Verification verify() override {
    // The sequential count, rows dealt over the ranks to share the cost, summed exactly.
    std::uint64_t mine = 0, reference = 0;
    for (auto row = static_cast<std::uint64_t>(ctx_.rank); row < n_;
         row += static_cast<std::uint64_t>(ctx_.ranks))
      mine += row_sum(n_, row);
    reference = mine;
    if (ctx_.comm != MPI_COMM_NULL)
      MPI_Allreduce(&mine, &reference, 1, MPI_UINT64_T, MPI_SUM, ctx_.comm);
    const double diff = std::fabs(static_cast<double>(total_) - static_cast<double>(reference));
    Verification v = make_verification(
        diff, 0.0,
        "exact iteration-count sum of the sequential run (" + std::to_string(reference) + ")");
    v.results = {{"iterations", static_cast<double>(total_)},
                 {"iterations_reference", static_cast<double>(reference)}};
    return v;
  }

  std::uint64_t local_size() const override {
    return block_range(n_, static_cast<std::uint64_t>(ctx_.ranks),
                       static_cast<std::uint64_t>(ctx_.rank))
        .count;
  }

  void inject_fault() override { total_ += 1; }

 private:
  ExecContext ctx_;
  std::uint64_t n_;
  bool cyclic_;
  Schedule schedule_ = Schedule::static_;
  std::uint64_t total_ = 0;
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
