// The cg kernel: NPB CG, after NPB 3.3. The inverse power method estimates the smallest
// eigenvalue of a sparse symmetric positive definite matrix A made by NPB's generator (makea):
// each outer iteration solves A z = x with 25 conjugate-gradient iterations, then
//   zeta = shift + 1 / (x . z),   x = z / ||z||.
// A = sum_i ratio^i v_i v_i^T + (rcond - shift) I, where v_i is a random sparse vector with
// nonzer entries from NPB's generator (x_{k+1} = 5^13 x_k mod 2^46, seed 314159265) plus 0.5
// at position i, and ratio = rcond^(1/na). Duplicates are summed in NPB's order (by i), so the
// matrix is NPB's to the last bit.
//   seq:        CSR sparse matrix-vector product, the CG vector updates.
//   omp:        the same loops over threads in one parallel region per CG solve.
//   mpi/hybrid: rows in contiguous blocks per rank (row distribution); the search direction p
//               and the solution z are gathered whole with MPI_Allgatherv before each product,
//               dot products are local sums plus MPI_Allreduce. Any rank count works.
// One repetition is NPB's timed section: x = (1, ..., 1), niter outer iterations. Verification
// as in NPB: |zeta - zeta_ref| / zeta_ref <= 1e-10 against NPB's published zeta of the class.
// The rate is NPB's Mop/s formula (per outer iteration 2 na (3 + nonzer (nonzer+1) +
// 25 (5 + nonzer (nonzer+1)) + 3) operations); the bytes count the matrix and the vectors
// each sparse product and vector update streams (26 products per outer iteration).
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "cg/cg.hpp"
#include "common/npb_random.hpp"
#include "pararun/buffer.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::cg {

const ClassInfo* find_class(std::uint64_t na) {
  for (const auto& c : kClasses)
    if (c.na == na) return &c;
  return nullptr;
}

namespace {

constexpr double kRcond = 0.1;
constexpr int kCgIterations = 25;
constexpr double kTolerance = 1e-10;  // epsilon in NPB

/// NPB's sprnvc + vecset: nonzer distinct random positions in [0, n) with random values
/// (value first, then position, drawn from the generator; positions >= n are redrawn), then
/// position i set to 0.5 (replacing a drawn one or appended).
void sparse_vector(std::uint64_t n, int nonzer, std::uint64_t nn1, std::uint64_t& seed,
                   std::uint64_t i, std::vector<int>& pos, std::vector<double>& val) {
  pos.clear();
  val.clear();
  while (static_cast<int>(pos.size()) < nonzer) {
    const double v = npb::randlc(seed, npb::kMultiplier);
    const double where = npb::randlc(seed, npb::kMultiplier);
    const auto j = static_cast<std::uint64_t>(static_cast<double>(nn1) * where);
    if (j >= n || std::find(pos.begin(), pos.end(), static_cast<int>(j)) != pos.end()) continue;
    pos.push_back(static_cast<int>(j));
    val.push_back(v);
  }
  const auto at = std::find(pos.begin(), pos.end(), static_cast<int>(i));
  if (at != pos.end()) {
    val[static_cast<std::size_t>(at - pos.begin())] = 0.5;
  } else {
    pos.push_back(static_cast<int>(i));
    val.push_back(0.5);
  }
}

}  // namespace

// Every rank runs the whole generator (it is cheap) and keeps the contributions to its rows,
// in generation order.
Csr make_matrix(const ClassInfo& c, std::uint64_t first, std::uint64_t count) {
  const std::uint64_t n = c.na;
  std::uint64_t nn1 = 1;
  do nn1 *= 2;
  while (nn1 < n);
  std::uint64_t seed = 314159265;
  npb::randlc(seed, npb::kMultiplier);  // NPB draws one number first (its zeta = randlc(...))

  // The outer products' vectors, all of them (each rank needs every one that touches its rows).
  std::vector<std::uint64_t> start(n + 1, 0);
  std::vector<int> pos_all;
  std::vector<double> val_all;
  pos_all.reserve(n * static_cast<std::uint64_t>(c.nonzer + 1));
  val_all.reserve(pos_all.capacity());
  std::vector<int> pos;
  std::vector<double> val;
  for (std::uint64_t i = 0; i < n; ++i) {
    sparse_vector(n, c.nonzer, nn1, seed, i, pos, val);
    pos_all.insert(pos_all.end(), pos.begin(), pos.end());
    val_all.insert(val_all.end(), val.begin(), val.end());
    start[i + 1] = pos_all.size();
  }

  // Contributions (column, value) to my rows, bucketed by row in generation order (i, then
  // the vector's order): NPB sums duplicates in this order.
  const std::uint64_t last = first + count;
  std::vector<std::uint64_t> bucket(count + 1, 0);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t len = start[i + 1] - start[i];
    for (std::uint64_t a = start[i]; a < start[i + 1]; ++a) {
      const auto row = static_cast<std::uint64_t>(pos_all[a]);
      if (row >= first && row < last) bucket[row - first + 1] += len;
    }
  }
  std::partial_sum(bucket.begin(), bucket.end(), bucket.begin());
  std::vector<std::pair<int, double>> entries(bucket[count]);
  std::vector<std::uint64_t> fill(bucket.begin(), bucket.end() - 1);
  const double ratio = std::pow(kRcond, 1.0 / static_cast<double>(n));
  double size = 1.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    for (std::uint64_t a = start[i]; a < start[i + 1]; ++a) {
      const auto row = static_cast<std::uint64_t>(pos_all[a]);
      if (row < first || row >= last) continue;
      const double scale = size * val_all[a];
      for (std::uint64_t b = start[i]; b < start[i + 1]; ++b) {
        double v = val_all[b] * scale;
        if (static_cast<std::uint64_t>(pos_all[b]) == row && row == i) v = v + kRcond - c.shift;
        entries[fill[row - first]++] = {pos_all[b], v};
      }
    }
    size = size * ratio;
  }

  // Each row: sort by column keeping the generation order of equal columns, sum duplicates.
  Csr m;
  m.first = first;
  m.count = count;
  m.row_start.assign(count + 1, 0);
  m.col.reserve(entries.size());
  m.val.reserve(entries.size());
  for (std::uint64_t r = 0; r < count; ++r) {
    const auto b = entries.begin() + static_cast<std::ptrdiff_t>(bucket[r]);
    const auto e = entries.begin() + static_cast<std::ptrdiff_t>(bucket[r + 1]);
    std::stable_sort(b, e, [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto it = b; it != e; ++it) {
      if (it != b && it->first == (it - 1)->first) {
        m.val.back() += it->second;
      } else {
        m.col.push_back(it->first);
        m.val.push_back(0.0 + it->second);
      }
    }
    m.row_start[r + 1] = m.col.size();
  }
  return m;
}

namespace {

/// My rows of the matrix in memory first touched by the threads that multiply them: the
/// generator builds it on one thread; this copy goes row by row with the static schedule of
/// multiply().
struct PlacedCsr {
  std::vector<std::uint64_t> row_start;
  std::unique_ptr<int[]> col;
  Buffer val;
};

PlacedCsr place(const Csr& m, int threads) {
  PlacedCsr p{m.row_start, std::unique_ptr<int[]>(new int[m.col.size()]), Buffer(m.val.size())};
  const auto rows = static_cast<std::int64_t>(m.count);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::uint64_t k = m.row_start[static_cast<std::size_t>(r)];
         k < m.row_start[static_cast<std::size_t>(r) + 1]; ++k) {
      p.col[k] = m.col[k];
      p.val[k] = m.val[k];
    }
  return p;
}

class CgInstance : public Instance {
 public:
  CgInstance(const ClassInfo& c, const ExecContext& ctx)
      : ctx_(ctx),
        class_(c),
        rows_(block_range(c.na, static_cast<std::uint64_t>(ctx.ranks),
                          static_cast<std::uint64_t>(ctx.rank))),
        a_(place(make_matrix(c, rows_.begin, rows_.count), ctx.threads)),
        x_(rows_.count, 0.0, ctx.threads),
        r_(rows_.count, 0.0, ctx.threads),
        q_(rows_.count, 0.0, ctx.threads),
        p_(c.na, 0.0, ctx.threads),
        z_(c.na, 0.0, ctx.threads) {
    for (int k = 0; k < ctx.ranks; ++k) {
      const Range r =
          block_range(c.na, static_cast<std::uint64_t>(ctx.ranks), static_cast<std::uint64_t>(k));
      counts_.push_back(static_cast<int>(r.count));
      displs_.push_back(static_cast<int>(r.begin));
    }
  }

  void run() override {
    std::fill(x_.data(), x_.data() + x_.size(), 1.0);
    for (int it = 0; it < class_.niter; ++it) {
      rnorm_ = conj_grad();
      // zeta = shift + 1 / (x . z); x = z / ||z||
      const double* z = z_.data() + rows_.begin;
      const auto n = static_cast<std::int64_t>(rows_.count);
      double xz = 0, zz = 0;
#pragma omp parallel for schedule(static) reduction(+ : xz, zz) num_threads(ctx_.threads) \
    if (ctx_.threads > 1)
      for (std::int64_t j = 0; j < n; ++j) {
        xz += x_[j] * z[j];
        zz += z[j] * z[j];
      }
      std::array<double, 2> dots = {xz, zz};
      all_sum(dots.data(), 2);
      zeta_ = class_.shift + 1.0 / dots[0];
      const double inv_norm = 1.0 / std::sqrt(dots[1]);
#pragma omp parallel for schedule(static) num_threads(ctx_.threads) if (ctx_.threads > 1)
      for (std::int64_t j = 0; j < n; ++j) x_[j] = inv_norm * z[j];
    }
  }

  Verification verify() override {
    const double err = std::fabs(zeta_ - class_.zeta) / class_.zeta;
    char ref[256];
    std::snprintf(ref, sizeof ref,
                  "NPB 3.3 CG class %s published zeta = %.13f (relative error; got zeta = "
                  "%.13f, last ||r|| = %.3e)",
                  class_.name, class_.zeta, zeta_, rnorm_);
    Verification v = make_verification(err, kTolerance, ref);
    v.results = {{"zeta", zeta_}, {"zeta_reference", class_.zeta}, {"rnorm", rnorm_}};
    return v;
  }

  std::uint64_t local_size() const override {
    return rows_.count;
  }

  void inject_fault() override {
    zeta_ *= 1 + 1e-9;
  }

 private:
  void all_sum(double* v, int n) const {
    ctx_.sum_in_place(v, n);
  }

  /// My block of v (whole length na) gathered from every rank's block.
  void gather(Buffer& v) const {
    if (ctx_.comm != MPI_COMM_NULL && ctx_.ranks > 1) {
      ScopedPhase communicate(Phase::communicate);
      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v.data(), counts_.data(), displs_.data(),
                     MPI_DOUBLE, ctx_.comm);
    }
  }

  /// out[j] = (A v)[first + j] for my rows; v whole.
  void multiply(const Buffer& v, double* out) const {
    const auto rows = static_cast<std::int64_t>(a_.row_start.size() - 1);
#pragma omp for schedule(static)
    for (std::int64_t j = 0; j < rows; ++j) {
      double s = 0;
      for (std::uint64_t k = a_.row_start[static_cast<std::size_t>(j)];
           k < a_.row_start[static_cast<std::size_t>(j) + 1]; ++k)
        s += a_.val[k] * v[static_cast<std::size_t>(a_.col[k])];
      out[j] = s;
    }
  }

  /// 25 CG iterations for A z = x from z = 0 (NPB's conj_grad); returns ||x - A z||.
  double conj_grad() {
    const auto n = static_cast<std::int64_t>(rows_.count);
    double* p = p_.data() + rows_.begin;
    double* z = z_.data() + rows_.begin;
    double rho = 0, rho0 = 0, d = 0, residual = 0;
#pragma omp parallel num_threads(ctx_.threads) if (ctx_.threads > 1)
    {
#pragma omp for schedule(static) reduction(+ : rho)
      for (std::int64_t j = 0; j < n; ++j) {
        q_[j] = 0;
        z[j] = 0;
        r_[j] = x_[j];
        p[j] = x_[j];
        rho += x_[j] * x_[j];
      }
#pragma omp master
      all_sum(&rho, 1);
      for (int it = 0; it < kCgIterations; ++it) {
#pragma omp barrier
#pragma omp master
        {
          gather(p_);
          rho0 = rho;
          rho = 0;
          d = 0;
        }
#pragma omp barrier
        multiply(p_, q_.data());
#pragma omp for schedule(static) reduction(+ : d)
        for (std::int64_t j = 0; j < n; ++j) d += p[j] * q_[j];
#pragma omp master
        all_sum(&d, 1);
#pragma omp barrier
        const double alpha = rho0 / d;
#pragma omp for schedule(static) reduction(+ : rho)
        for (std::int64_t j = 0; j < n; ++j) {
          z[j] += alpha * p[j];
          r_[j] -= alpha * q_[j];
          rho += r_[j] * r_[j];
        }
#pragma omp master
        all_sum(&rho, 1);
#pragma omp barrier
        const double beta = rho / rho0;
#pragma omp for schedule(static)
        for (std::int64_t j = 0; j < n; ++j) p[j] = r_[j] + beta * p[j];
      }
      // ||x - A z||, with r as the workspace for A z.
#pragma omp master
      gather(z_);
#pragma omp barrier
      multiply(z_, r_.data());
#pragma omp for schedule(static) reduction(+ : residual)
      for (std::int64_t j = 0; j < n; ++j) residual += (x_[j] - r_[j]) * (x_[j] - r_[j]);
#pragma omp master
      all_sum(&residual, 1);
    }
    return std::sqrt(residual);
  }

  ExecContext ctx_;
  const ClassInfo& class_;
  Range rows_;
  PlacedCsr a_;
  Buffer x_, r_, q_;  // my rows only
  Buffer p_, z_;      // whole length: my block plus the others' gathered
  std::vector<int> counts_, displs_;
  double zeta_ = 0, rnorm_ = 0;
};

class Cg : public Kernel {
 public:
  std::string name() const override { return "cg"; }
  std::string summary() const override {
    return "NPB CG: inverse power method with conjugate gradient on NPB's sparse matrix, "
           "zeta checked against NPB 3.3's published values (classes S, W, A, B, C)";
  }
  std::string size_meaning() const override {
    return "na: rows of the sparse matrix (class S = 1400, W = 7000, A = 14000, B = 75000, "
           "C = 150000)";
  }
  Metric metric() const override { return Metric::mops; }

  std::vector<NamedSize> named_sizes() const override {
    std::vector<NamedSize> out;
    for (const auto& c : kClasses) out.push_back({c.name, c.na});
    return out;
  }

  std::string describe(const Problem& p) const override {
    const ClassInfo* c = find_class(p.size);
    if (!c) return "na = " + std::to_string(p.size) + " (not an NPB class)";
    return std::string("NPB CG class ") + c->name + " (na = " + std::to_string(c->na) +
           ", nonzer = " + std::to_string(c->nonzer) + ", niter = " + std::to_string(c->niter) +
           ", shift = " + std::to_string(static_cast<int>(c->shift)) + ", " +
           std::to_string(c->nnz) + " nonzeros)";
  }

  std::vector<VariantInfo> variants() const override {
    return {{Backend::seq, "csr", "CSR sparse products and CG updates"},
            {Backend::omp, "csr", "the same loops over threads, schedule(static)"},
            {Backend::mpi, "rows", "row blocks per rank, p and z gathered with MPI_Allgatherv"},
            {Backend::hybrid, "rows", "row blocks per rank, threads within"}};
  }

  Work work(const Problem& p) const override {
    const ClassInfo* c = find_class(p.size);
    if (!c) return {};
    const double na = static_cast<double>(c->na), nz = c->nonzer, it = c->niter;
    const double flops = 2 * it * na * (3 + nz * (nz + 1) + 25 * (5 + nz * (nz + 1)) + 3);
    // Per sparse product: values and columns (12 B per nonzero), the gathered vector read
    // once and the result written (16 B per row); per CG iteration 10 more vector streams.
    const double product = 12.0 * static_cast<double>(c->nnz) + 16 * na;
    const double bytes = it * ((kCgIterations + 1) * product + kCgIterations * 10 * 8 * na);
    return {flops, bytes};
  }

  double memory_per_rank(const Problem& p, int ranks) const override {
    const ClassInfo* c = find_class(p.size);
    if (!c) return 0;
    const double na = static_cast<double>(c->na), per_vector = c->nonzer + 1.0;
    // generator vectors (12 B/entry) + my contributions (16 B) + my matrix (12 B) + vectors
    return na * per_vector * 12 + na * per_vector * per_vector * 16 / ranks +
           static_cast<double>(c->nnz) * 12 / ranks + 5 * na * 8;
  }

  std::string check(const Problem& p, const ExecContext& ctx) const override {
    if (!find_class(p.size))
      return "cg: na = " + std::to_string(p.size) +
             " is not an NPB class, so there is no published zeta to verify against; use " +
             "class S, W, A, B or C (na = 1400, 7000, 14000, 75000, 150000)";
    if (static_cast<std::uint64_t>(ctx.ranks) > p.size)
      return "cg: " + std::to_string(ctx.ranks) + " ranks for " + std::to_string(p.size) +
             " rows: at least one row per rank is needed";
    return {};
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo&,
                                  const ExecContext& ctx) const override {
    return std::make_unique<CgInstance>(*find_class(p.size), ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Cg);

}  // namespace pararun::cg
