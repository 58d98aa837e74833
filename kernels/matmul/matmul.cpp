// The matmul kernel: C = A * B with n x n doubles.
//   seq/omp:    the whole problem on one process, 1 or T threads.
//   mpi/hybrid: SUMMA (van de Geijn & Watts, 1997) on a pr x pc process grid, any rank count,
//               sizes that do not divide: A, B and C are split in 2-D blocks; for each panel
//               of k the owners broadcast an A panel along their process row and a B panel
//               along their process column, and every rank adds the product of the two into
//               its block of C (T threads each in hybrid). Memory per rank: its three blocks
//               and two panels.
// Every run is verified against Eigen's product of freshly made inputs (not the ones the
// run moved around) by the relative Frobenius error.
#include "matmul/matmul.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "common/input_files.hpp"
#include "common/random.hpp"
#include "matmul/gemm.hpp"
#include "pararun/buffer.hpp"
#include "pararun/errors.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

#ifdef PARARUN_HAVE_BLAS
#include <cblas.h>
#endif

namespace pararun::matmul {

namespace {

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Where the inputs come from: generated from the seed, or a file (--input: A = B = the
/// file's matrix, so C = A * A).
struct Inputs {
  std::uint64_t seed = 42;
  std::shared_ptr<const common::DenseMatrix> file;
  Inputs(const Problem& p) : seed(p.seed) {
    if (!p.input.empty())
      file = std::make_shared<const common::DenseMatrix>(common::read_matrix_market_array(p.input));
  }
};

double element(const Inputs& in, char which, std::uint64_t n, std::uint64_t i, std::uint64_t j);

/// out (rows x cols, row-major) = block [row0, row0+rows) x [col0, col0+cols) of an n x n
/// input ('a' or 'b').
void fill_block(double* out, Range rows, Range cols, std::uint64_t n, const Inputs& in, char which,
                int threads) {
  // Parallel first touch with the same static schedule as the multiplies.
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::uint64_t i = 0; i < rows.count; ++i)
    for (std::uint64_t j = 0; j < cols.count; ++j)
      out[i * cols.count + j] = element(in, which, n, rows.begin + i, cols.begin + j);
}

}  // namespace

double element_a(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j) {
  return random_unit(seed, 1, i * n + j);
}

double element_b(std::uint64_t seed, std::uint64_t n, std::uint64_t i, std::uint64_t j) {
  return random_unit(seed, 2, i * n + j);
}

namespace {

double element(const Inputs& in, char which, std::uint64_t n, std::uint64_t i, std::uint64_t j) {
  if (in.file) return in.file->at(i, j);
  return which == 'a' ? element_a(in.seed, n, i, j) : element_b(in.seed, n, i, j);
}

}  // namespace

void multiply_naive(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                    const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                    bool accumulate) {
  // i-k-j order: the inner loop streams a row of B and a row of C with unit stride.
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::size_t i = 0; i < m; ++i) {
    double* ci = c + i * ldc;
    if (!accumulate) std::fill(ci, ci + n, 0.0);
    for (std::size_t p = 0; p < k; ++p) {
      const double aip = a[i * lda + p];
      const double* bp = b + p * ldb;
#pragma omp simd
      for (std::size_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

void multiply_eigen(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                    const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                    bool accumulate) {
  using Index = Eigen::Index;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const RowMajor, 0, Stride> A(a, static_cast<Index>(m), static_cast<Index>(k),
                                          Stride(static_cast<Index>(lda)));
  Eigen::Map<const RowMajor, 0, Stride> B(b, static_cast<Index>(k), static_cast<Index>(n),
                                          Stride(static_cast<Index>(ldb)));
  Eigen::Map<RowMajor, 0, Stride> C(c, static_cast<Index>(m), static_cast<Index>(n),
                                    Stride(static_cast<Index>(ldc)));
  Eigen::setNbThreads(threads);
  if (accumulate)
    C.noalias() += A * B;
  else
    C.noalias() = A * B;
}

#ifdef PARARUN_HAVE_BLAS
void multiply_blas(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                   const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                   bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0);
    return;
  }
#ifdef PARARUN_HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#else
  (void)threads;  // another BLAS takes its threads from its own settings (OMP_NUM_THREADS, ...)
#endif
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb),
              accumulate ? 1.0 : 0.0, c, static_cast<int>(ldc));
}
#endif

namespace {

template <MicroKernel mk>
void multiply_blocked(std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                      const double* b, std::size_t ldb, double* c, std::size_t ldc, int threads,
                      bool accumulate) {
  gemm(m, n, k, a, lda, b, ldb, c, ldc, threads, accumulate, mk);
}

void multiply_blocked_best(std::size_t m, std::size_t n, std::size_t k, const double* a,
                           std::size_t lda, const double* b, std::size_t ldb, double* c,
                           std::size_t ldc, int threads, bool accumulate) {
  gemm(m, n, k, a, lda, b, ldb, c, ldc, threads, accumulate, best_micro_kernel());
}

constexpr MicroKernel kMicroKernels[] = {MicroKernel::avx512, MicroKernel::avx2,
                                         MicroKernel::portable};

/// The micro-kernel a variant runs: "blocked" the best this CPU has, "blocked-avx2" that one.
std::optional<MicroKernel> micro_kernel_of(const std::string& variant) {
  if (variant == "blocked") return best_micro_kernel();
  for (MicroKernel mk : kMicroKernels)
    if (variant == "blocked-" + to_string(mk)) return mk;
  return std::nullopt;
}

}  // namespace

LocalMultiply local_multiply(const std::string& variant) {
  if (variant == "blocked") return multiply_blocked_best;
  if (const auto mk = micro_kernel_of(variant); mk && cpu_supports(*mk)) switch (*mk) {
      case MicroKernel::avx512:
        return multiply_blocked<MicroKernel::avx512>;
      case MicroKernel::avx2:
        return multiply_blocked<MicroKernel::avx2>;
      case MicroKernel::portable:
        return multiply_blocked<MicroKernel::portable>;
    }
  if (variant == "naive") return multiply_naive;
  if (variant == "eigen") return multiply_eigen;
#ifdef PARARUN_HAVE_BLAS
  if (variant == "blas") return multiply_blas;
#endif
  throw std::invalid_argument("matmul has no local multiply '" + variant + "'");
}

namespace {

/// A blocked variant's micro-kernel, blocking (as gemm() runs an m x n x k product: KC and NC
/// evened out) and the way its threads split an m x n C (the local product, under SUMMA), for
/// the record; nothing for the others.
std::vector<std::pair<std::string, std::string>> configuration_of(const std::string& variant,
                                                                  std::uint64_t m, std::uint64_t n,
                                                                  std::uint64_t k, int threads) {
  const auto mk = micro_kernel_of(variant);
  if (!mk) return {};
  // As gemm() runs this product (KC and NC evened out over it), and the setting it came from.
  const Blocking b = blocking_for(*mk, k, n), setting = blocking_for(*mk);
  const Split split = split_for(m, n, threads, *mk);
  return {{"micro_kernel", to_string(*mk)},
          {"blocking", to_string(b)},
          {"blocking_setting", to_string(setting)},
          {"blocking_from", b.from},
          {"threads_split", to_string(split.way) + " on " + std::to_string(split.threads) +
                                " thread(s)" + (split.forced ? " (PARARUN_GEMM_SPLIT)" : "")}};
}

/// The reference product for a variant: code other than the variant's own. Eigen for every
/// variant but `eigen`, which is checked against OpenBLAS (or, built without BLAS, against
/// ParaRun's own GEMM).
/// The bound's scale |A| |B| needs no independence from anything: the fastest product at
/// hand computes it.
struct Reference {
  LocalMultiply multiply;
  const char* name;
  LocalMultiply scale;
};
Reference reference_for(const std::string& variant) {
#ifdef PARARUN_HAVE_BLAS
  if (variant != "eigen") return {multiply_eigen, "eigen", multiply_blas};
#ifdef PARARUN_HAVE_OPENBLAS
  return {multiply_blas, "openblas", multiply_blas};
#else
  return {multiply_blas, "blas (" PARARUN_BLAS_VENDOR ")", multiply_blas};
#endif
#else
  if (variant != "eigen") return {multiply_eigen, "eigen", multiply_blocked_best};
  return {multiply_blocked_best, "pararun blocked", multiply_blocked_best};
#endif
}

/// Every element against the reference's product R of freshly made (or freshly read) rows of
/// A and columns of B, within its own rounding bound: |C - R| <= 2 gamma_n (|A| |B|) holds
/// for any two correctly computed products (each within gamma_n of the exact one, whatever
/// the order of summation), and the computed |A| |B| is at least (1 - gamma_n) of the exact
/// one. The record's error is the worst element's share of its bound (<= 1 passes); one
/// element off by 1e-7 of its value fails at any size, where a Frobenius norm would hide it.
Verification verify_block(const double* c, Range rows, Range cols, std::uint64_t n,
                          const Inputs& in, const ExecContext& ctx, const Reference& reference) {
  const Range all{0, n};
  std::vector<double> a(rows.count * n), b(n * cols.count), ref(rows.count * cols.count);
  fill_block(a.data(), rows, all, n, in, 'a', ctx.threads);
  fill_block(b.data(), all, cols, n, in, 'b', ctx.threads);
  reference.multiply(rows.count, cols.count, n, a.data(), n, b.data(), cols.count, ref.data(),
                     cols.count, ctx.threads, false);
  std::vector<double> scale(ref.size());
  for (auto* m : {&a, &b})  // the same inputs, as magnitudes
    for (double& v : *m) v = std::fabs(v);
  reference.scale(rows.count, cols.count, n, a.data(), n, b.data(), cols.count, scale.data(),
                  cols.count, ctx.threads, false);
  const double gamma = rounding_gamma(n);
  const double bound = 2 * gamma / (1 - gamma);
  // Underflow: each of n products and sums may lose up to the smallest subnormal.
  const double floor = 4.0 * static_cast<double>(n) * std::numeric_limits<double>::denorm_min();
  const double err =
      componentwise_error(c, ref.data(), scale.data(), ref.size(), bound, floor, ctx);
  Verification v =
      make_verification(err, 1.0,
                        std::string(reference.name) +
                            ", every element: |C - R| / (2 gamma_n |A| |B|), worst element");
  CompensatedSum sum;  // of C, for the record
  for (std::size_t i = 0; i < ref.size(); ++i) sum.add(c[i]);
  v.results = {{"checksum", ctx.sum(sum.value())}};
  return v;
}

/// seq and omp: the whole matrices in one process.
class SharedMatmul : public Instance {
 public:
  SharedMatmul(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : multiply_(local_multiply(v.name)),
        reference_(reference_for(v.name)),
        config_(configuration_of(v.name, p.size, p.size, p.size, ctx.threads)),
        ctx_(ctx),
        n_(p.size),
        in_(p),
        a_(n_ * n_),
        b_(n_ * n_),
        c_(n_ * n_) {
    fill_block(a_.data(), {0, n_}, {0, n_}, n_, in_, 'a', ctx.threads);
    fill_block(b_.data(), {0, n_}, {0, n_}, n_, in_, 'b', ctx.threads);
    std::fill(c_.data(), c_.data() + c_.size(), 0.0);
  }
  void run() override {
    multiply_(n_, n_, n_, a_.data(), n_, b_.data(), n_, c_.data(), n_, ctx_.threads, false);
  }
  Verification verify() override {
    return verify_block(c_.data(), {0, n_}, {0, n_}, n_, in_, ctx_, reference_);
  }
  std::uint64_t local_size() const override { return n_ * n_; }
  void inject_fault() override {
    if (!c_.empty()) c_[0] = 2.0 * c_[0] + 1.0;
  }
  /// input: A's first element, before the repetitions multiply it (verification makes A anew).
  bool arm_fault(Fault f) override {
    if (f != Fault::input || a_.empty()) return false;
    a_[0] += 1.0;
    return true;
  }
  std::vector<std::pair<std::string, std::string>> configuration() const override {
    return config_;
  }

 private:
  LocalMultiply multiply_;
  Reference reference_;
  std::vector<std::pair<std::string, std::string>> config_;
  ExecContext ctx_;
  std::uint64_t n_;
  Inputs in_;
  Buffer a_, b_, c_;
};

/// mpi and hybrid: SUMMA on a 2-D process grid.
class SummaMatmul : public Instance {
 public:
  static constexpr std::uint64_t kPanel = 512;  ///< panel width: the GEMM's KC on this machine

  SummaMatmul(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : multiply_(local_multiply(v.name)),
        reference_(reference_for(v.name)),
        ctx_(ctx),
        n_(p.size),
        in_(p),
        grid_(make_grid(ctx.ranks)) {
    const int row = ctx.rank / grid_.cols, col = ctx.rank % grid_.cols;
    rows_ =
        block_range(n_, static_cast<std::uint64_t>(grid_.rows), static_cast<std::uint64_t>(row));
    cols_ =
        block_range(n_, static_cast<std::uint64_t>(grid_.cols), static_cast<std::uint64_t>(col));
    MPI_Comm_split(ctx.comm, row, col, &row_comm_);  // my process row, ranked by column
    MPI_Comm_split(ctx.comm, col, row, &col_comm_);  // my process column, ranked by row
    // A's columns follow the column distribution, B's rows the row distribution.
    a_cols_ = cols_;
    b_rows_ = rows_;
    a_ = Buffer(rows_.count * a_cols_.count);
    b_ = Buffer(b_rows_.count * cols_.count);
    c_ = Buffer(rows_.count * cols_.count);
    a_panel_ = Buffer(rows_.count * kPanel);
    b_panel_ = Buffer(kPanel * cols_.count);
    config_ = configuration_of(v.name, rows_.count, cols_.count, std::min(kPanel, n_), ctx.threads);
    fill_block(a_.data(), rows_, a_cols_, n_, in_, 'a', ctx.threads);
    fill_block(b_.data(), b_rows_, cols_, n_, in_, 'b', ctx.threads);
    std::fill(c_.data(), c_.data() + c_.size(), 0.0);
  }

  ~SummaMatmul() override {
    MPI_Comm_free(&row_comm_);
    MPI_Comm_free(&col_comm_);
  }

  void run() override {
    const auto pr = static_cast<std::uint64_t>(grid_.rows),
               pc = static_cast<std::uint64_t>(grid_.cols);
    for (std::uint64_t k = 0; k < n_;) {
      // The panel ends at the next block boundary of either distribution of k.
      const std::uint64_t a_owner = block_owner(n_, pc, k), b_owner = block_owner(n_, pr, k);
      const Range a_block = block_range(n_, pc, a_owner), b_block = block_range(n_, pr, b_owner);
      const std::uint64_t w =
          std::min({kPanel, a_block.begin + a_block.count - k, b_block.begin + b_block.count - k});
      // A panel (my rows x w) from the process column that owns columns k..k+w.
      if (static_cast<std::uint64_t>(cols_index()) == a_owner)
        for (std::uint64_t i = 0; i < rows_.count; ++i)
          std::copy_n(a_.data() + i * a_cols_.count + (k - a_cols_.begin), w,
                      a_panel_.data() + i * w);
      {
        ScopedPhase communicate(Phase::communicate);
        MPI_Bcast(a_panel_.data(), static_cast<int>(rows_.count * w), MPI_DOUBLE,
                  static_cast<int>(a_owner), row_comm_);
      }
      if (corrupt_panel_) a_panel_[0] += 1.0;  // --inject-fault=panel
      // B panel (w x my cols): whole rows of the owner's block, already contiguous.
      double* b_panel = b_panel_.data();
      if (static_cast<std::uint64_t>(rows_index()) == b_owner)
        std::copy_n(b_.data() + (k - b_rows_.begin) * cols_.count, w * cols_.count, b_panel);
      {
        ScopedPhase communicate(Phase::communicate);
        MPI_Bcast(b_panel, static_cast<int>(w * cols_.count), MPI_DOUBLE, static_cast<int>(b_owner),
                  col_comm_);
      }
      ScopedPhase compute(Phase::compute);
      multiply_(rows_.count, cols_.count, w, a_panel_.data(), w, b_panel, cols_.count, c_.data(),
                cols_.count, ctx_.threads, k > 0);
      k += w;
    }
  }

  Verification verify() override {
    return verify_block(c_.data(), rows_, cols_, n_, in_, ctx_, reference_);
  }
  std::uint64_t local_size() const override { return rows_.count * cols_.count; }
  void inject_fault() override {
    if (!c_.empty()) c_[0] = 2.0 * c_[0] + 1.0;
  }
  /// input: rank 0's first element of A. panel: the first element of every A panel the last
  /// rank that owns part of C receives, after the broadcast (what a corrupted message does).
  bool arm_fault(Fault f) override {
    if (f == Fault::input) {
      if (ctx_.rank == 0 && !a_.empty()) a_[0] += 1.0;
      return true;
    }
    if (f != Fault::panel) return false;
    corrupt_panel_ = ctx_.rank == last_rank_with_c();
    return true;
  }
  std::vector<std::pair<std::string, std::string>> configuration() const override {
    return config_;
  }

 private:
  /// The highest rank whose block of C is not empty (rank 0's never is for n >= 1).
  int last_rank_with_c() const {
    for (int r = ctx_.ranks - 1; r > 0; --r)
      if (block_range(n_, static_cast<std::uint64_t>(grid_.rows),
                      static_cast<std::uint64_t>(r / grid_.cols))
                  .count > 0 &&
          block_range(n_, static_cast<std::uint64_t>(grid_.cols),
                      static_cast<std::uint64_t>(r % grid_.cols))
                  .count > 0)
        return r;
    return 0;
  }
  int rows_index() const { return ctx_.rank / grid_.cols; }
  int cols_index() const { return ctx_.rank % grid_.cols; }

  LocalMultiply multiply_;
  Reference reference_;
  std::vector<std::pair<std::string, std::string>> config_;
  ExecContext ctx_;
  std::uint64_t n_;
  Inputs in_;
  Grid grid_;
  Range rows_, cols_, a_cols_, b_rows_;
  MPI_Comm row_comm_ = MPI_COMM_NULL, col_comm_ = MPI_COMM_NULL;
  Buffer a_, b_, c_, a_panel_, b_panel_;
  bool corrupt_panel_ = false;
};

class Matmul : public Kernel {
 public:
  std::string name() const override { return "matmul"; }
  std::string summary() const override { return "C = A * B, dense n x n doubles"; }
  std::string size_meaning() const override {
    return "n: the matrices are n x n (size per rank: elements of C owned)";
  }
  Metric metric() const override { return Metric::gflops; }

  std::vector<VariantInfo> variants() const override {
    std::vector<VariantInfo> v;
    const std::string own = "ParaRun's BLIS-style GEMM";
    std::vector<std::tuple<std::string, std::string, bool>> local = {
        {"blocked",
         own + " (the best micro-kernel of this CPU: " + to_string(best_micro_kernel()) + ")",
         true},
        {"eigen", "Eigen 3 product", true},
        {"naive", "i-k-j loops, inner loop vectorised", true},
#ifdef PARARUN_HAVE_BLAS
#ifdef PARARUN_HAVE_OPENBLAS
        {"blas", "OpenBLAS dgemm", true},
#else
        {"blas", "dgemm of the BLAS ParaRun was built with (" PARARUN_BLAS_VENDOR ")", true},
#endif
#endif
    };
    // Every micro-kernel this CPU runs, forced: the AVX2 path measured on an AVX-512 machine.
    for (MicroKernel mk : kMicroKernels)
      if (cpu_supports(mk))
        local.emplace_back("blocked-" + to_string(mk),
                           own + " with the " + to_string(mk) + " micro-kernel, forced", false);
    const std::pair<Backend, const char*> backends[] = {
        {Backend::seq, "1 thread"},
        {Backend::omp, "OpenMP threads"},
        {Backend::mpi, "SUMMA on a 2-D process grid, 1 thread/rank"},
        {Backend::hybrid, "SUMMA on a 2-D process grid, OpenMP threads in each rank"}};
    for (auto& [backend, how] : backends)
      for (auto& [name, what, in_studies] : local)
        v.push_back({backend, name, what + "; " + how, in_studies});
    return v;
  }

  Work work(const Problem& p) const override {
    const double n = static_cast<double>(p.size);
    return {2.0 * n * n * n, 3.0 * n * n * sizeof(double)};
  }

  double memory_per_rank(const Problem& p, int ranks) const override {
    const double n = static_cast<double>(p.size);
    const Grid g = make_grid(std::max(ranks, 1));
    const double rows = std::ceil(n / g.rows), cols = std::ceil(n / g.cols);
    const double panel = std::min<double>(n, SummaMatmul::kPanel);
    // A, B, C blocks and two panels; verification adds the block's rows of A, columns of B
    // and a reference block.
    return (3.0 * rows * cols + panel * (rows + cols) + rows * n + n * cols + rows * cols) *
           sizeof(double);
  }

  /// Work grows with n^3: n * P^(1/3) keeps it constant per PE.
  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override {
    return static_cast<std::uint64_t>(std::llround(static_cast<double>(base) * std::cbrt(pes)));
  }

  // Tuning: the blocked variants' KC, MC, NC, one setting per micro-kernel.
  std::vector<Tuning> tuning_candidates(const VariantInfo& v) const override {
    const auto mk = micro_kernel_of(v.name);
    if (!mk || !cpu_supports(*mk)) return {};
    for (const char* env : {"PARARUN_GEMM_KC", "PARARUN_GEMM_MC", "PARARUN_GEMM_NC"})
      if (std::getenv(env))
        throw std::invalid_argument(std::string(env) +
                                    " is set and overrides every setting; unset it to tune");
    if (std::getenv("PARARUN_GEMM_SPLIT"))  // (settings timed under a split runs may not use)
      throw std::invalid_argument(
          "PARARUN_GEMM_SPLIT is set and forces the threads' split; unset it to tune");
    std::vector<Tuning> out;
    for (const Blocking& b : blocking_candidates(*mk))
      out.push_back({{"KC", std::to_string(b.kc)},
                     {"MC", std::to_string(b.mc)},
                     {"NC", std::to_string(b.nc)}});
    return out;
  }
  std::string tuning_key(const VariantInfo& v) const override {
    const auto mk = micro_kernel_of(v.name);
    return mk ? "matmul/blocked-" + to_string(*mk) : Kernel::tuning_key(v);
  }
  void apply_tuning(const VariantInfo& v, const Tuning& tuning) const override {
    const auto mk = micro_kernel_of(v.name);
    if (!mk) {
      if (!tuning.empty()) throw std::invalid_argument("matmul/" + v.name + " has nothing to tune");
      return;
    }
    if (tuning.empty()) return set_tuned_blocking(*mk, std::nullopt);
    Blocking b = blocking_for(*mk);
    for (const auto& [key, value] : tuning) {
      std::size_t* field = key == "KC"   ? &b.kc
                           : key == "MC" ? &b.mc
                           : key == "NC" ? &b.nc
                                         : nullptr;
      char* end = nullptr;
      const unsigned long long x = std::strtoull(value.c_str(), &end, 10);
      // Caps far above any cache, so that a bad file cannot make the packing buffers huge.
      const unsigned long long cap = key == "KC" ? 4096 : key == "MC" ? 16384 : 65536;
      if (!field || value.empty() || *end != '\0' || x == 0 || x > cap)
        throw std::invalid_argument("matmul tuning: " + key + " = '" + value +
                                    "' is not a block size (KC up to 4096, MC up to 16384, NC "
                                    "up to 65536)");
      *field = static_cast<std::size_t>(x);
    }
    set_tuned_blocking(*mk, b);
  }

  /// The blocking and split as gemm() runs an n x n x n product (its KC and NC evened out,
  /// its MC at most the rows).
  std::string tuning_effect(const VariantInfo& v, const Problem& p,
                            const ExecContext& ctx) const override {
    const auto mk = micro_kernel_of(v.name);
    if (!mk) return {};
    const std::size_t n = p.size;
    Blocking b = blocking_for(*mk, n, n);
    b.mc = std::min(b.mc, (n + b.mr - 1) / b.mr * b.mr);
    const Split split = split_for(n, n, ctx.threads, *mk);
    return to_string(b) + ", " + to_string(split.way) + " on " + std::to_string(split.threads);
  }

  std::vector<std::pair<std::string, std::string>> libraries() const override {
    std::vector<std::pair<std::string, std::string>> libs = {
        {"eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                      "." + std::to_string(EIGEN_MINOR_VERSION)}};
#ifdef PARARUN_HAVE_BLAS
#ifdef PARARUN_HAVE_OPENBLAS
    libs.emplace_back("openblas", openblas_get_config());
#else
    libs.emplace_back("blas", PARARUN_BLAS_VENDOR);
#endif
#endif
    return libs;
  }

  std::string check(const Problem& p, const ExecContext&) const override {
    if (p.size > 2147483647ULL) return "matmul needs n < 2^31";
    return {};
  }

  std::string input_kind() const override {
    return "a square matrix A in Matrix Market array format (.mtx); the run computes A * A";
  }
  std::uint64_t input_size(const std::string& path) const override {
    return common::square_matrix_order(path, "array", "matmul");
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    if (uses_mpi(ctx.backend)) return std::make_unique<SummaMatmul>(p, v, ctx);
    return std::make_unique<SharedMatmul>(p, v, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Matmul);

}  // namespace pararun::matmul
