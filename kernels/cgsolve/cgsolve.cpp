// cgsolve: the conjugate gradient method solving A x = b for a sparse symmetric positive
// definite A, read from a Matrix Market coordinate file (the format of the SuiteSparse
// collection: `pararun run cgsolve -b omp -i bcsstk14.mtx`) or generated: the 5-point
// Laplacian of a grid ceil(sqrt(n)) wide holding n unknowns (irreducibly diagonally
// dominant with a positive diagonal, so SPD).
//   b = A x_true with x_true from the seed; x starts at 0; the iterations stop when the
//   recursive residual ||r|| / ||b|| reaches 1e-10 (or after max(1000, 2 n) iterations).
//   seq/omp:    the whole matrix in one process, T threads over its rows.
//   mpi/hybrid: a block of rows per rank; before each product the ranks gather the search
//               direction (MPI_Allgatherv), the dot products are MPI_Allreduce sums.
// Verified by the true residual ||b - A x|| / ||b|| <= 1e-8, recomputed in long double from
// the matrix and the gathered solution (not the solver's recursive residual).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "common/input_files.hpp"
#include "common/random.hpp"
#include "pararun/errors.hpp"
#include "pararun/kernel.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::cgsolve {

namespace {

constexpr double kTarget = 1e-10;    ///< the recursive residual the iterations stop at
constexpr double kTolerance = 1e-8;  ///< the true residual verification accepts

/// x_true of unknown i: in [1, 2), so that no component of the solution is near 0.
double x_true(std::uint64_t seed, std::uint64_t i) {
  return 1.5 + 0.5 * random_unit(seed, 5, i);
}

/// This rank's rows of A in compressed rows, with global column indices.
struct Rows {
  std::uint64_t n = 0;  ///< global rows (= columns)
  Range mine;
  std::vector<std::uint64_t> start;  ///< mine.count + 1
  std::vector<std::uint64_t> col;
  std::vector<double> val;
  std::uint64_t nnz_global = 0;
};

std::uint64_t grid_width(std::uint64_t n) {
  auto w = static_cast<std::uint64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  return std::max<std::uint64_t>(w, 1);
}

/// Neighbours of unknown i in the generated Laplacian, in column order.
template <class F>
void laplacian_row(std::uint64_t n, std::uint64_t w, std::uint64_t i, F entry) {
  if (i >= w) entry(i - w, -1.0);
  if (i % w != 0) entry(i - 1, -1.0);
  entry(i, 4.0);
  if ((i + 1) % w != 0 && i + 1 < n) entry(i + 1, -1.0);
  if (i + w < n) entry(i + w, -1.0);
}

Rows generated(std::uint64_t n, Range mine) {
  Rows a;
  a.n = n;
  a.mine = mine;
  const std::uint64_t w = grid_width(n);
  a.start.push_back(0);
  for (std::uint64_t i = mine.begin; i < mine.begin + mine.count; ++i) {
    laplacian_row(n, w, i, [&](std::uint64_t j, double v) {
      a.col.push_back(j);
      a.val.push_back(v);
    });
    a.start.push_back(a.col.size());
  }
  // Every row has 5 entries but those on the grid's edges: counted.
  for (std::uint64_t i = 0; i < n; ++i)
    laplacian_row(n, w, i, [&](std::uint64_t, double) { ++a.nnz_global; });
  return a;
}

/// This rank's rows of the file's matrix, checked: square, symmetric (declared, or found equal
/// to its transpose), every diagonal entry present and positive. Each rank keeps the entries
/// of its rows and, from a general file, those of its columns (their transposes, for the
/// symmetry check), so a rank holds its part of the matrix, not all of it; each checks its
/// rows, and the ranks agree on the first problem one found (runner.cpp: a setup's input
/// error ends every rank alike).
Rows from_file(const std::string& path, Range mine) {
  const auto is_mine = [mine](std::uint64_t i) {
    return i >= mine.begin && i < mine.begin + mine.count;
  };
  // (A symmetric file is symmetric: the transposes are not checked, and not kept.)
  const bool symmetric = common::read_matrix_market_header(path).symmetry == "symmetric";
  const common::SparseMatrix m = common::read_matrix_market_coordinate(
      path,
      [&](std::uint64_t i, std::uint64_t j) { return is_mine(i) || (!symmetric && is_mine(j)); });
  if (m.rows != m.cols)
    throw InputError(path + ": cgsolve needs a square matrix, this one is " +
                     std::to_string(m.rows) + " x " + std::to_string(m.cols));
  auto find = [&](std::uint64_t i, std::uint64_t j) -> const double* {
    const auto b = m.col.begin() + static_cast<long>(m.row_start[i]),
               e = m.col.begin() + static_cast<long>(m.row_start[i + 1]);
    const auto it = std::lower_bound(b, e, j);
    return it != e && *it == j ? &m.val[static_cast<std::size_t>(it - m.col.begin())] : nullptr;
  };
  for (std::uint64_t i = mine.begin; i < mine.begin + mine.count; ++i) {
    const double* d = find(i, i);
    if (!d || !(*d > 0))
      throw InputError(
          path + ": row " + std::to_string(i + 1) +
          (d ? " has a diagonal entry that is not positive" : " has no diagonal entry") +
          ": the matrix is not symmetric positive definite");
    if (m.symmetric) continue;
    for (std::uint64_t k = m.row_start[i]; k < m.row_start[i + 1]; ++k) {
      const double* t = find(m.col[k], i);
      if (!t || *t != m.val[k])
        throw InputError(path + ": entry (" + std::to_string(i + 1) + ", " +
                         std::to_string(m.col[k] + 1) + ") has no equal entry (" +
                         std::to_string(m.col[k] + 1) + ", " + std::to_string(i + 1) +
                         "): the matrix is not symmetric");
    }
  }
  Rows a;
  a.n = m.rows;
  a.mine = mine;
  a.nnz_global = m.nonzeros;
  const std::uint64_t first = m.row_start[mine.begin], last = m.row_start[mine.begin + mine.count];
  a.col.assign(m.col.begin() + static_cast<long>(first), m.col.begin() + static_cast<long>(last));
  a.val.assign(m.val.begin() + static_cast<long>(first), m.val.begin() + static_cast<long>(last));
  for (std::uint64_t i = 0; i <= mine.count; ++i)
    a.start.push_back(m.row_start[mine.begin + i] - first);
  return a;
}

class CgInstance : public Instance {
 public:
  CgInstance(const Problem& p, const ExecContext& ctx)
      : ctx_(ctx),
        input_(p.input),
        a_(p.input.empty() ? generated(p.size, ctx.local_range(p.size))
                           : from_file(p.input, ctx.local_range(p.size))),
        m_(a_.mine.count),
        seed_(p.seed),
        b_(m_),
        x_(m_),
        r_(m_),
        p_(m_),
        q_(m_),
        full_(a_.n) {
    const std::uint64_t seed = p.seed;
    // b = A x_true, each rank for its rows (x_true is a formula: no communication).
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ctx.threads > 1)
    for (std::uint64_t i = 0; i < m_; ++i) {
      double s = 0;
      for (std::uint64_t k = a_.start[i]; k < a_.start[i + 1]; ++k)
        s += a_.val[k] * x_true(seed, a_.col[k]);
      b_[i] = s;
    }
    if (ctx.distributed()) {
      counts_.resize(static_cast<std::size_t>(ctx.ranks));
      offsets_.resize(static_cast<std::size_t>(ctx.ranks));
      for (int r = 0; r < ctx.ranks; ++r) {
        const Range rr =
            block_range(a_.n, static_cast<std::uint64_t>(ctx.ranks), static_cast<std::uint64_t>(r));
        counts_[static_cast<std::size_t>(r)] = static_cast<int>(rr.count);
        offsets_[static_cast<std::size_t>(r)] = static_cast<int>(rr.begin);
      }
    }
    max_iterations_ = std::max<std::uint64_t>(1000, 2 * a_.n);
  }

  void run() override {
    const int t = ctx_.threads;
    const std::uint64_t m = m_;
    std::fill(x_.begin(), x_.end(), 0.0);
    std::copy(b_.begin(), b_.end(), r_.begin());
    std::copy(b_.begin(), b_.end(), p_.begin());
    double rr = dot(r_, r_);
    const double bb = rr;
    iterations_ = 0;
    if (bb == 0) return;
    while (iterations_ < max_iterations_) {
      const double* pf = gather(p_);
      {
        ScopedPhase compute(Phase::compute);
#pragma omp parallel for schedule(static) num_threads(t) if (t > 1)
        for (std::uint64_t i = 0; i < m; ++i) {
          double s = 0;
          for (std::uint64_t k = a_.start[i]; k < a_.start[i + 1]; ++k)
            s += a_.val[k] * pf[a_.col[k]];
          q_[i] = s;
        }
      }
      const double pq = dot(p_, q_);
      ++iterations_;
      if (!(pq > 0))
        throw InputError((input_.empty() ? std::string("the generated matrix") : input_) +
                         ": the matrix is not positive definite (p'Ap = " + std::to_string(pq) +
                         " at iteration " + std::to_string(iterations_) + ")");
      const double alpha = rr / pq;
#pragma omp parallel for schedule(static) num_threads(t) if (t > 1)
      for (std::uint64_t i = 0; i < m; ++i) {
        x_[i] += alpha * p_[i];
        r_[i] -= alpha * q_[i];
      }
      const double rr_new = dot(r_, r_);
      if (std::sqrt(rr_new / bb) <= kTarget) break;
      const double beta = rr_new / rr;
      rr = rr_new;
#pragma omp parallel for schedule(static) num_threads(t) if (t > 1)
      for (std::uint64_t i = 0; i < m; ++i) p_[i] = r_[i] + beta * p_[i];
    }
  }

  Verification verify() override {
    const double* xf = gather(x_);
    long double local[3] = {0, 0, 0};  // ||b - A x||^2, ||b||^2, max |x - x_true|
    for (std::uint64_t i = 0; i < m_; ++i) {
      long double s = b_[i];
      for (std::uint64_t k = a_.start[i]; k < a_.start[i + 1]; ++k)
        s -= static_cast<long double>(a_.val[k]) * xf[a_.col[k]];
      local[0] += s * s;
      local[1] += static_cast<long double>(b_[i]) * b_[i];
      local[2] =
          std::max<long double>(local[2], std::fabs(x_[i] - x_true(seed_, a_.mine.begin + i)));
    }
    double sums[2] = {static_cast<double>(local[0]), static_cast<double>(local[1])};
    ctx_.sum_in_place(sums, 2);
    const double error = ctx_.max(static_cast<double>(local[2]));
    const double rel = sums[1] > 0 ? std::sqrt(sums[0] / sums[1]) : std::sqrt(sums[0]);
    Verification v =
        make_verification(rel, kTolerance, "true residual ||b - A x|| / ||b|| (long double)");
    v.results = {{"iterations", static_cast<double>(iterations_)},
                 {"relative_residual", rel},
                 {"max_error_vs_x_true", error},
                 {"nonzeros", static_cast<double>(a_.nnz_global)}};
    return v;
  }

  std::optional<Work> work_done() const override {
    const double n = static_cast<double>(a_.n), nnz = static_cast<double>(a_.nnz_global);
    const double it = static_cast<double>(iterations_);
    // Per iteration: the product (2 nnz), three dot products and three vector updates.
    return Work{it * (2 * nnz + 12 * n), it * (nnz * 16 + n * 8 * 10)};
  }
  std::uint64_t local_size() const override {
    return m_;
  }
  void inject_fault() override {
    if (!x_.empty()) x_[0] += 1.0;
  }
  std::vector<std::pair<std::string, std::string>> configuration() const override {
    return {{"matrix", input_.empty() ? "generated 5-point Laplacian, grid width " +
                                            std::to_string(grid_width(a_.n))
                                      : input_},
            {"nonzeros", std::to_string(a_.nnz_global)}};
  }

 private:
  double dot(const std::vector<double>& u, const std::vector<double>& v) const {
    double s = 0;
    {
      ScopedPhase compute(Phase::compute);
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(ctx_.threads) if (ctx_.threads > 1)
      for (std::uint64_t i = 0; i < m_; ++i) s += u[i] * v[i];
    }
    return ctx_.sum(s);
  }

  /// The whole vector whose rows this rank holds in `v`: gathered from every rank.
  const double* gather(const std::vector<double>& v) {
    if (!ctx_.distributed()) return v.data();
    ScopedPhase communicate(Phase::communicate);
    MPI_Allgatherv(v.data(), static_cast<int>(m_), MPI_DOUBLE, full_.data(), counts_.data(),
                   offsets_.data(), MPI_DOUBLE, ctx_.comm);
    return full_.data();
  }

  ExecContext ctx_;
  std::string input_;
  Rows a_;
  std::uint64_t m_, seed_;
  std::vector<double> b_, x_, r_, p_, q_, full_;
  std::vector<int> counts_, offsets_;
  std::uint64_t iterations_ = 0, max_iterations_ = 1000;
};

class CgSolve : public Kernel {
 public:
  std::string name() const override { return "cgsolve"; }
  std::string summary() const override {
    return "conjugate gradient solve of A x = b, A sparse SPD (a Matrix Market file or a "
           "generated 2-D Laplacian)";
  }
  std::string size_meaning() const override { return "n: unknowns (rows of A)"; }
  Metric metric() const override { return Metric::gflops; }
  std::vector<VariantInfo> variants() const override {
    return {{Backend::seq, "cg", "CSR product, 1 thread"},
            {Backend::omp, "cg", "CSR product and vector operations over OpenMP threads"},
            {Backend::mpi, "cg",
             "a block of rows per rank, MPI_Allgatherv of the direction, "
             "MPI_Allreduce dot products; 1 thread/rank"},
            {Backend::hybrid, "cg", "a block of rows per rank, OpenMP threads in each"}};
  }
  /// One iteration on the generated matrix; a run records the iterations it took.
  Work work(const Problem& p) const override {
    const double n = static_cast<double>(p.size);
    return {10 * n + 12 * n, 5 * n * 16 + n * 80};
  }
  double memory_per_rank(const Problem& p, int ranks) const override {
    const double n = static_cast<double>(p.size);
    double nnz = 5 * n;
    if (!p.input.empty()) {
      // A rank keeps the entries of its rows (a general file's: their transposes too, about
      // as many) as it reads: 24 bytes each in a vector that may have doubled, then 16 in
      // compressed rows, and its rows' copy; row offsets and the gathered direction are n each.
      const auto h = common::read_matrix_market_header(p.input);
      const bool symmetric = h.symmetry == "symmetric";
      nnz = static_cast<double>(h.entries) * (symmetric ? 2 : 1);
      const double kept = std::min(nnz, (symmetric ? 1 : 2) * nnz / ranks);
      return kept * 64 + nnz / ranks * 16 + n * 80 / ranks + n * 16;
    }
    return (nnz * 16 + n * 56) / ranks + n * 8;
  }
  std::string check(const Problem& p, const ExecContext&) const override {
    if (p.size >= (1ULL << 31)) return "cgsolve needs n < 2^31";
    return {};
  }
  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override {
    return base * static_cast<std::uint64_t>(pes);
  }
  std::string input_kind() const override {
    return "a sparse symmetric positive definite matrix in Matrix Market coordinate format "
           "(.mtx, as in the SuiteSparse collection)";
  }
  std::uint64_t input_size(const std::string& path) const override {
    return common::square_matrix_order(path, "coordinate", "cgsolve");
  }
  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo&,
                                  const ExecContext& ctx) const override {
    return std::make_unique<CgInstance>(p, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(CgSolve);

}  // namespace pararun::cgsolve
