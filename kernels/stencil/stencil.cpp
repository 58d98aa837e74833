// The stencil kernel: 2-D Jacobi sweeps of the heat (Laplace) equation, 5-point stencil,
// kIterations sweeps per repetition on an n x n interior with a fixed boundary (top edge 1,
// the other edges 0) and a zero start.
//   seq/omp:    the whole grid; omp splits the rows (static schedule).
//   mpi/hybrid: 2-D domain decomposition on a ranks_rows x ranks_cols grid (any rank count,
//               blocks of any size, ranks without cells allowed), one halo layer, in two variants:
//               blocking   - MPI_Sendrecv with the four neighbours, then the sweep;
//               overlapped - non-blocking halo exchange while the block's inner part is swept,
//                            then the cells next to the halo: communication hidden behind work.
// Every variant computes each cell as 0.25 * ((up + down) + (left + right)) in the same order,
// so the result is bit-identical to a sequential solution, which verification recomputes with
// code of its own (a plain grid of rows, not the kernel's blocks, halos and sweep). It also
// checks two facts no code computes: the discrete maximum principle (0 <= u <= 1, the
// boundary's range) and the light cone (after k sweeps from a zero start, rows more than k
// away from the hot top edge are still exactly 0).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "pararun/buffer.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::stencil {

namespace {

constexpr int kIterations = 20;
constexpr double kTop = 1.0;  // boundary value of the top edge; the others are 0

/// One cell's update; the one definition every variant uses (no FMA can form here).
inline double update(const double* up, const double* mid, const double* down, std::size_t j) {
  return 0.25 * ((up[j] + down[j]) + (mid[j - 1] + mid[j + 1]));
}

/// A block of rows x cols cells with a one-cell halo, row-major, two time levels.
struct Block {
  std::size_t rows = 0, cols = 0, ld = 2;
  Buffer u, v;
  Block(std::size_t r, std::size_t c)
      : rows(r), cols(c), ld(c + 2), u((r + 2) * ld), v((r + 2) * ld) {}
  double* row(double* base, std::size_t i) const { return base + i * ld; }
};

/// Sweeps rows [r0, r1) and columns [c0, c1) (1-based, halo at 0 and rows+1 / cols+1).
void sweep(const Block& b, const double* in, double* out, std::size_t r0, std::size_t r1,
           std::size_t c0, std::size_t c1, int threads) {
  if (r0 >= r1 || c0 >= c1) return;
  const auto n = static_cast<std::int64_t>(r1 - r0);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && n > 1)
  for (std::int64_t k = 0; k < n; ++k) {
    const std::size_t i = r0 + static_cast<std::size_t>(k);
    const double* up = in + (i - 1) * b.ld;
    const double* mid = in + i * b.ld;
    const double* down = in + (i + 1) * b.ld;
    double* o = out + i * b.ld;
#pragma omp simd
    for (std::size_t j = c0; j < c1; ++j) o[j] = update(up, mid, down, j);
  }
}

/// The verification's own solution, written apart from Block and sweep(): rows of n + 2
/// values, the boundary set by hand, the same update formula in the same order (bit for bit).
/// Returns the (n + 2)^2 grid after `iterations` sweeps, row-major.
std::vector<double> reference(std::size_t n, int iterations) {
  const std::size_t w = n + 2;
  std::vector<std::vector<double>> now(w, std::vector<double>(w, 0.0)), next;
  now[0].assign(w, kTop);  // the hot top edge; the other edges stay 0
  next = now;
  for (int it = 0; it < iterations; ++it) {
    for (std::size_t i = 1; i <= n; ++i)
      for (std::size_t j = 1; j <= n; ++j)
        next[i][j] = 0.25 * ((now[i - 1][j] + now[i + 1][j]) + (now[i][j - 1] + now[i][j + 1]));
    now.swap(next);
  }
  std::vector<double> grid;
  grid.reserve(w * w);
  for (const auto& row : now) grid.insert(grid.end(), row.begin(), row.end());
  return grid;
}

class StencilInstance : public Instance {
 public:
  StencilInstance(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : ctx_(ctx),
        n_(p.size),
        overlapped_(v.name == "overlapped"),
        grid_(ctx.comm == MPI_COMM_NULL ? Grid{1, 1} : make_grid(ctx.ranks)),
        prow_(ctx.rank / grid_.cols),
        pcol_(ctx.rank % grid_.cols),
        rows_(block_range(n_, static_cast<std::uint64_t>(grid_.rows),
                          static_cast<std::uint64_t>(prow_))),
        cols_(block_range(n_, static_cast<std::uint64_t>(grid_.cols),
                          static_cast<std::uint64_t>(pcol_))),
        block_(rows_.count, cols_.count) {
    // Neighbours that hold cells; blocks without cells are only at the high end, so a side
    // without such a neighbour is the domain's boundary.
    auto holds = [&](int pr, int pc) {
      return pr >= 0 && pr < grid_.rows && pc >= 0 && pc < grid_.cols &&
             block_range(n_, grid_.rows, static_cast<std::uint64_t>(pr)).count > 0 &&
             block_range(n_, grid_.cols, static_cast<std::uint64_t>(pc)).count > 0;
    };
    const bool mine = holds(prow_, pcol_);
    up_ = mine && holds(prow_ - 1, pcol_) ? ctx.rank - grid_.cols : MPI_PROC_NULL;
    down_ = mine && holds(prow_ + 1, pcol_) ? ctx.rank + grid_.cols : MPI_PROC_NULL;
    left_ = mine && holds(prow_, pcol_ - 1) ? ctx.rank - 1 : MPI_PROC_NULL;
    right_ = mine && holds(prow_, pcol_ + 1) ? ctx.rank + 1 : MPI_PROC_NULL;
    if (ctx.comm != MPI_COMM_NULL && mine) {
      MPI_Type_vector(static_cast<int>(block_.rows), 1, static_cast<int>(block_.ld), MPI_DOUBLE,
                      &column_);
      MPI_Type_commit(&column_);
    }
    reset();  // the first touch, by the threads that sweep the rows
  }

  ~StencilInstance() override {
    if (column_ != MPI_DATATYPE_NULL) MPI_Type_free(&column_);
  }

  /// Every repetition sweeps from the same start: zero inside, the domain's boundary values
  /// in the halo of both time levels. Row by row with the sweep's static schedule, so each
  /// thread first touches the rows it sweeps.
  void reset() override {
    const auto rows = static_cast<std::int64_t>(block_.rows + 2);
    const bool top = rows_.begin == 0 && up_ == MPI_PROC_NULL;
    for (double* g : {block_.u.data(), block_.v.data()}) {
#pragma omp parallel for schedule(static) num_threads(ctx_.threads) if (ctx_.threads > 1)
      for (std::int64_t i = 0; i < rows; ++i)
        std::fill(g + i * block_.ld, g + (i + 1) * block_.ld, i == 0 && top ? kTop : 0.0);
    }
    if (corrupt_input_) block_.u[1] = block_.v[1] = 0.5;  // --inject-fault=input: the hot edge
    result_ = block_.u.data();
  }

  /// input: the hot edge's first cell, 0.5 instead of 1 (the rank holding it: no sweep writes
  /// it, and every solution depends on it). halo: a received halo cell
  /// (top, else left) on every rank that has a neighbour, in every sweep.
  bool arm_fault(Fault f) override {
    if (f == Fault::input) {
      corrupt_input_ = rows_.begin == 0 && cols_.begin == 0 && block_.rows && block_.cols;
      return true;
    }
    if (f != Fault::halo || ctx_.comm == MPI_COMM_NULL || n_ < 2 ||
        (grid_.rows == 1 && grid_.cols == 1))
      return false;
    corrupt_halo_ = true;
    return true;
  }

  void run() override {
    const std::size_t r = block_.rows, c = block_.cols;
    if (r == 0 || c == 0) return;
    double *in = block_.u.data(), *out = block_.v.data();
    for (int it = 0; it < kIterations; ++it) {
      if (ctx_.comm == MPI_COMM_NULL) {
        ScopedPhase compute(Phase::compute);
        sweep(block_, in, out, 1, r + 1, 1, c + 1, ctx_.threads);
      } else if (!overlapped_) {
        {
          ScopedPhase communicate(Phase::communicate);
          exchange_blocking(in);
        }
        corrupt_halo(in);
        ScopedPhase compute(Phase::compute);
        sweep(block_, in, out, 1, r + 1, 1, c + 1, ctx_.threads);
      } else {
        MPI_Request req[8];
        {
          ScopedPhase communicate(Phase::communicate);
          start_exchange(in, req);
        }
        {
          ScopedPhase compute(Phase::compute);
          sweep(block_, in, out, 2, r, 2, c, ctx_.threads);  // needs no halo
        }
        {
          ScopedPhase communicate(Phase::communicate);  // what the overlap did not hide
          MPI_Waitall(8, req, MPI_STATUSES_IGNORE);
        }
        corrupt_halo(in);
        // The cells next to the halo (a cell may be swept twice: same value, harmless).
        ScopedPhase compute(Phase::compute);
        sweep(block_, in, out, 1, 2, 1, c + 1, ctx_.threads);
        sweep(block_, in, out, r, r + 1, 1, c + 1, ctx_.threads);
        sweep(block_, in, out, 1, r + 1, 1, 2, ctx_.threads);
        sweep(block_, in, out, 1, r + 1, c, c + 1, ctx_.threads);
      }
      std::swap(in, out);
    }
    result_ = in;
  }

  Verification verify() override {
    const std::vector<double> ref = reference(n_, kIterations);
    const std::size_t ld = n_ + 2;
    double diff = 0, outside = 0;
    CompensatedSum heat;  // the sum of u over the interior, for the record
    for (std::size_t i = 1; i <= block_.rows; ++i)
      for (std::size_t j = 1; j <= block_.cols; ++j) {
        const double got = result_[i * block_.ld + j];
        heat.add(got);
        const std::size_t row = rows_.begin + i;  // 1-based row of the whole grid
        const double want = ref[row * ld + cols_.begin + j];
        diff = std::max(diff, std::isnan(got) ? 1e300 : std::fabs(got - want));
        if (!(got >= 0.0 && got <= kTop))
          outside = std::max(outside, std::isnan(got) ? 1e300 : std::max(-got, got - kTop));
        if (row > static_cast<std::size_t>(kIterations) && got != 0.0)  // outside the light cone
          outside = std::max(outside, std::isnan(got) ? 1e300 : std::fabs(got));
      }
    const double err = ctx_.max(std::max(diff, outside));
    const double total = ctx_.sum(heat.value());
    Verification v = make_verification(
        err, 0.0,
        "bit-identical to a separately written sequential solution, the maximum principle "
        "0 <= u <= 1, and 0 beyond " +
            std::to_string(kIterations) + " rows from the hot edge (max abs difference)");
    v.results = {{"sum_u", total}};
    return v;
  }

  std::uint64_t local_size() const override {
    return rows_.count * cols_.count;
  }

  void inject_fault() override {
    if (block_.rows && block_.cols)
      result_[(block_.rows / 2 + 1) * block_.ld + block_.cols / 2 + 1] += 0.5;
  }

 private:
  void corrupt_halo(double* g) const {
    if (!corrupt_halo_) return;
    if (up_ != MPI_PROC_NULL)
      g[1] += 0.5;  // row 0 is the top halo
    else if (left_ != MPI_PROC_NULL)
      g[block_.ld] += 0.5;  // column 0 of row 1 is the left halo
  }

  void exchange_blocking(double* g) {
    const std::size_t r = block_.rows, c = block_.cols, ld = block_.ld;
    // Rows: send my first row up and receive my bottom halo from below, and the reverse.
    MPI_Sendrecv(g + ld + 1, static_cast<int>(c), MPI_DOUBLE, up_, 0, g + (r + 1) * ld + 1,
                 static_cast<int>(c), MPI_DOUBLE, down_, 0, ctx_.comm, MPI_STATUS_IGNORE);
    MPI_Sendrecv(g + r * ld + 1, static_cast<int>(c), MPI_DOUBLE, down_, 1, g + 1,
                 static_cast<int>(c), MPI_DOUBLE, up_, 1, ctx_.comm, MPI_STATUS_IGNORE);
    MPI_Sendrecv(g + ld + 1, 1, column_, left_, 2, g + ld + c + 1, 1, column_, right_, 2, ctx_.comm,
                 MPI_STATUS_IGNORE);
    MPI_Sendrecv(g + ld + c, 1, column_, right_, 3, g + ld, 1, column_, left_, 3, ctx_.comm,
                 MPI_STATUS_IGNORE);
  }

  void start_exchange(double* g, MPI_Request* req) {
    const std::size_t r = block_.rows, c = block_.cols, ld = block_.ld;
    const int ci = static_cast<int>(c);
    MPI_Irecv(g + 1, ci, MPI_DOUBLE, up_, 1, ctx_.comm, &req[0]);
    MPI_Irecv(g + (r + 1) * ld + 1, ci, MPI_DOUBLE, down_, 0, ctx_.comm, &req[1]);
    MPI_Irecv(g + ld, 1, column_, left_, 3, ctx_.comm, &req[2]);
    MPI_Irecv(g + ld + c + 1, 1, column_, right_, 2, ctx_.comm, &req[3]);
    MPI_Isend(g + ld + 1, ci, MPI_DOUBLE, up_, 0, ctx_.comm, &req[4]);
    MPI_Isend(g + r * ld + 1, ci, MPI_DOUBLE, down_, 1, ctx_.comm, &req[5]);
    MPI_Isend(g + ld + 1, 1, column_, left_, 2, ctx_.comm, &req[6]);
    MPI_Isend(g + ld + c, 1, column_, right_, 3, ctx_.comm, &req[7]);
  }

  ExecContext ctx_;
  std::uint64_t n_;
  bool overlapped_;
  Grid grid_;
  int prow_, pcol_;
  Range rows_, cols_;
  Block block_;
  int up_ = MPI_PROC_NULL, down_ = MPI_PROC_NULL, left_ = MPI_PROC_NULL, right_ = MPI_PROC_NULL;
  MPI_Datatype column_ = MPI_DATATYPE_NULL;
  bool corrupt_input_ = false, corrupt_halo_ = false;  ///< --inject-fault=input, halo
  double* result_ = nullptr;
};

class Stencil : public Kernel {
 public:
  std::string name() const override { return "stencil"; }
  std::string summary() const override {
    return "2-D Jacobi heat equation, 5-point stencil, " + std::to_string(kIterations) +
           " sweeps, halo exchange";
  }
  std::string size_meaning() const override { return "n: the grid is n x n (plus its boundary)"; }
  Metric metric() const override { return Metric::gbytes; }

  std::vector<VariantInfo> variants() const override {
    return {
        {Backend::seq, "plain", "sweeps row by row, 1 thread"},
        {Backend::omp, "plain", "rows split over OpenMP threads"},
        {Backend::mpi, "blocking", "2-D blocks, MPI_Sendrecv halo exchange, then the sweep"},
        {Backend::mpi, "overlapped", "2-D blocks, halo exchange overlapped with the inner sweep"},
        {Backend::hybrid, "blocking", "2-D blocks with OpenMP threads, MPI_Sendrecv halos"},
        {Backend::hybrid, "overlapped", "2-D blocks with OpenMP threads, overlapped halos"}};
  }

  /// 4 flops per cell and sweep; 16 bytes (read the old level, write the new) with ideal caching.
  Work work(const Problem& p) const override {
    const double cells = static_cast<double>(p.size) * static_cast<double>(p.size) * kIterations;
    return {4 * cells, 16 * cells};
  }

  /// Two time levels of the block, and the whole grid twice while verifying.
  double memory_per_rank(const Problem& p, int ranks) const override {
    // In double: p.size + 2 would wrap to 0 or 1 for the largest sizes, which would pass.
    const double side = static_cast<double>(p.size) + 2, n2 = side * side;
    return 2 * n2 / std::max(ranks, 1) * sizeof(double) + 2 * n2 * sizeof(double);
  }

  /// Work grows with n^2: n * sqrt(P) keeps it constant per PE.
  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override {
    return static_cast<std::uint64_t>(std::llround(static_cast<double>(base) * std::sqrt(pes)));
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    return std::make_unique<StencilInstance>(p, v, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Stencil);

}  // namespace pararun::stencil
