// The matmul kernel: C = A * B with n x n doubles.
//   seq/omp:    the whole problem on one process, 1 or T threads.
//   mpi/hybrid: 1-D row blocks. Rank r owns rows of A, B and C; each repetition gathers
//               all of B (MPI_Allgatherv) and multiplies its rows locally (T threads each
//               in hybrid). Memory per rank: n^2 for B plus three row blocks.
// Every run is verified against Eigen's product of the same inputs (made independently of
// the gathered B) by the relative Frobenius error.
#include "matmul/matmul.hpp"

#include "matmul/gemm.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "pararun/buffer.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/random.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

#ifdef PARARUN_HAVE_BLAS
#include <cblas.h>
#endif

namespace pararun::matmul {

namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

void fill_rows(double* out, std::uint64_t row0, std::uint64_t rows, std::uint64_t n,
               double (*element)(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t),
               std::uint64_t seed, int threads) {
  // Parallel first touch with the same static schedule as the multiplies.
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::uint64_t i = 0; i < rows; ++i)
    for (std::uint64_t j = 0; j < n; ++j) out[i * n + j] = element(seed, n, row0 + i, j);
}

}  // namespace

double element_a(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j) {
  return random_unit(seed, 1, i * n + j);
}

double element_b(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j) {
  return random_unit(seed, 2, i * n + j);
}

double tolerance(std::uint64_t n) {
  // Forward error of a length-n dot product is below n*u*|a||b|; with inputs uniform in
  // [-1, 1) this stays far below 32*n*eps in the Frobenius norm.
  return 32.0 * static_cast<double>(std::max<std::uint64_t>(n, 1)) * 2.0 * kUnitRoundoff;
}

void multiply_naive(const double* a, const double* b, double* c, std::size_t m, std::size_t n,
                    std::size_t k, int threads) {
  // i-k-j order: the inner loop streams a row of B and a row of C with unit stride.
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::size_t i = 0; i < m; ++i) {
    double* ci = c + i * n;
    std::fill(ci, ci + n, 0.0);
    for (std::size_t p = 0; p < k; ++p) {
      const double aip = a[i * k + p];
      const double* bp = b + p * n;
#pragma omp simd
      for (std::size_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

void multiply_eigen(const double* a, const double* b, double* c, std::size_t m, std::size_t n,
                    std::size_t k, int threads) {
  using Index = Eigen::Index;
  Eigen::Map<const RowMajor> A(a, static_cast<Index>(m), static_cast<Index>(k));
  Eigen::Map<const RowMajor> B(b, static_cast<Index>(k), static_cast<Index>(n));
  Eigen::Map<RowMajor> C(c, static_cast<Index>(m), static_cast<Index>(n));
  Eigen::setNbThreads(threads);
  C.noalias() = A * B;
}

#ifdef PARARUN_HAVE_BLAS
void multiply_blas(const double* a, const double* b, double* c, std::size_t m, std::size_t n,
                   std::size_t k, int threads) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(c, c + m * n, 0.0);
    return;
  }
  openblas_set_num_threads(threads);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0, a, static_cast<int>(k), b, static_cast<int>(n), 0.0, c,
              static_cast<int>(n));
}
#endif

void multiply(const std::string& variant, const double* a, const double* b, double* c,
              std::size_t m, std::size_t n, std::size_t k, int threads) {
  if (variant == "blocked") return gemm(m, n, k, a, k, b, n, c, n, threads);
  if (variant == "naive") return multiply_naive(a, b, c, m, n, k, threads);
  if (variant == "eigen") return multiply_eigen(a, b, c, m, n, k, threads);
#ifdef PARARUN_HAVE_BLAS
  if (variant == "blas") return multiply_blas(a, b, c, m, n, k, threads);
#endif
  throw std::invalid_argument("matmul has no local multiply '" + variant + "'");
}

namespace {

class MatmulInstance : public Instance {
 public:
  MatmulInstance(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : variant_(v.name), ctx_(ctx), n_(p.size), seed_(p.seed) {
    const Range mine = block_range(n_, static_cast<std::uint64_t>(ctx.ranks),
                                   static_cast<std::uint64_t>(ctx.rank));
    row0_ = mine.begin;
    rows_ = mine.count;
    a_ = Buffer(rows_ * n_);
    c_ = Buffer(rows_ * n_);
    b_ = Buffer(n_ * n_);
    std::fill(c_.data(), c_.data() + c_.size(), 0.0);
    fill_rows(a_.data(), row0_, rows_, n_, element_a, seed_, ctx.threads);
    if (ctx.comm == MPI_COMM_NULL) {
      fill_rows(b_.data(), 0, n_, n_, element_b, seed_, ctx.threads);
    } else {
      // Each rank makes only its own rows of B; run() gathers the rest.
      fill_rows(b_.data() + row0_ * n_, row0_, rows_, n_, element_b, seed_, ctx.threads);
      MPI_Type_contiguous(static_cast<int>(n_), MPI_DOUBLE, &row_type_);
      MPI_Type_commit(&row_type_);
      for (int r = 0; r < ctx.ranks; ++r) {
        const Range range =
            block_range(n_, static_cast<std::uint64_t>(ctx.ranks), static_cast<std::uint64_t>(r));
        counts_.push_back(static_cast<int>(range.count));
        offsets_.push_back(static_cast<int>(range.begin));
      }
    }
  }

  ~MatmulInstance() override {
    if (row_type_ != MPI_DATATYPE_NULL) MPI_Type_free(&row_type_);
  }

  void run() override {
    if (ctx_.comm != MPI_COMM_NULL)
      MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, b_.data(), counts_.data(), offsets_.data(),
                     row_type_, ctx_.comm);
    multiply(variant_, a_.data(), b_.data(), c_.data(), rows_, n_, n_, ctx_.threads);
  }

  Verification verify() override {
    // The reference B is made afresh, so a wrong gather cannot hide in the reference.
    std::vector<double> b_ref(n_ * n_), c_ref(rows_ * n_);
    fill_rows(b_ref.data(), 0, n_, n_, element_b, seed_, ctx_.threads);
    multiply_eigen(a_.data(), b_ref.data(), c_ref.data(), rows_, n_, n_, ctx_.threads);
    const double err = relative_frobenius_error(c_.data(), c_ref.data(), c_.size(), ctx_);
    return make_verification(err, tolerance(n_), "eigen (relative Frobenius error)");
  }

  std::uint64_t local_size() const override { return rows_; }

  void inject_fault() override {
    if (!c_.empty()) c_[0] = 2.0 * c_[0] + 1.0;
  }

 private:
  std::string variant_;
  ExecContext ctx_;
  std::uint64_t n_, seed_, row0_ = 0, rows_ = 0;
  Buffer a_, b_, c_;
  MPI_Datatype row_type_ = MPI_DATATYPE_NULL;
  std::vector<int> counts_, offsets_;
};

class Matmul : public Kernel {
 public:
  std::string name() const override { return "matmul"; }
  std::string summary() const override { return "C = A * B, dense n x n doubles"; }
  std::string size_meaning() const override { return "n: the matrices are n x n"; }
  Metric metric() const override { return Metric::gflops; }

  std::vector<VariantInfo> variants() const override {
    std::vector<VariantInfo> v;
    const std::string own =
        "ParaRun's BLIS-style GEMM (" + to_string(best_micro_kernel()) + " micro-kernel)";
    const char* local[][2] = {
        {"blocked", own.c_str()},
        {"eigen", "Eigen 3 product"},
        {"naive", "i-k-j loops, inner loop vectorised"},
#ifdef PARARUN_HAVE_BLAS
        {"blas", "OpenBLAS dgemm"},
#endif
    };
    const std::pair<Backend, const char*> backends[] = {
        {Backend::seq, "1 thread"},
        {Backend::omp, "OpenMP threads"},
        {Backend::mpi, "1-D row blocks, B gathered each rep (MPI_Allgatherv), 1 thread/rank"},
        {Backend::hybrid, "1-D row blocks as mpi, OpenMP threads in each rank"}};
    for (auto& [backend, how] : backends)
      for (auto& [name, what] : local) v.push_back({backend, name, std::string(what) + "; " + how});
    return v;
  }

  Work work(const Problem& p) const override {
    const double n = static_cast<double>(p.size);
    return {2.0 * n * n * n, 3.0 * n * n * sizeof(double)};
  }

  double memory_per_rank(const Problem& p, int ranks) const override {
    const double n = static_cast<double>(p.size);
    const double rows = std::ceil(n / std::max(ranks, 1));
    // A, C and the reference C row blocks, B and the reference B.
    return (3.0 * rows * n + 2.0 * n * n) * sizeof(double);
  }

  std::string check(const Problem& p, const ExecContext&) const override {
    if (p.size > 2147483647ULL) return "matmul needs n < 2^31";
    return {};
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    return std::make_unique<MatmulInstance>(p, v, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Matmul);

}  // namespace pararun::matmul
