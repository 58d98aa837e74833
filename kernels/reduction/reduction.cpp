// The reduction kernel: s = sum of n doubles.
//   seq/omp:    the whole array on one process, 1 or T threads.
//   mpi/hybrid: block distribution; each rank sums its block (T threads in hybrid), then
//               one MPI_Allreduce combines the partial sums.
//   reproducible: the same result to the last bit for any thread and rank count
//               (reproducible.hpp): ranks own whole chunks, a fixed tree combines them.
// The inputs are multiples of 2^-20 in [-1, 1), so the exact sum is an integer multiple of
// 2^-20 that integer arithmetic gives exactly; while n * 2^20 <= 2^53 every partial sum in
// any order is exact too, and the result must equal the exact sum to the last bit.
#include "reduction/reduction.hpp"

#include "reduction/reproducible.hpp"

#include <omp.h>
#include <algorithm>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/input_files.hpp"
#include "common/random.hpp"
#include "common/simd_sum.hpp"
#include "pararun/buffer.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::reduction {

namespace {

constexpr int kFractionBits = 20;
constexpr double kScale = 1.0 / (1 << kFractionBits);

std::int64_t element_units(std::uint64_t seed, std::uint64_t i) {
  const auto bits = random_bits(seed, 3, i) >> (64 - kFractionBits - 1);  // 21 bits
  return static_cast<std::int64_t>(bits) - (std::int64_t{1} << kFractionBits);
}

}  // namespace

double element(std::uint64_t seed, std::uint64_t i) {
  return static_cast<double>(element_units(seed, i)) * kScale;
}

ExactSum exact_sum(std::uint64_t seed, std::uint64_t begin, std::uint64_t count) {
  ExactSum s;
  for (std::uint64_t i = begin; i < begin + count; ++i) {
    const std::int64_t u = element_units(seed, i);
    s.sum += u;
    s.abs_sum += u < 0 ? -u : u;
  }
  return s;
}

double tolerance(std::uint64_t n) {
  if (static_cast<double>(n) <= std::ldexp(1.0, 53 - kFractionBits)) return 0.0;
  return static_cast<double>(n) * kUnitRoundoff;
}

double sum_plain(const double* x, std::size_t n, int threads) {
  double s = 0;
  if (threads <= 1) {
    for (std::size_t i = 0; i < n; ++i) s += x[i];
    return s;
  }
#pragma omp parallel for schedule(static) reduction(+ : s) num_threads(threads)
  for (std::size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

double sum_simd(const double* x, std::size_t n, int threads) {
  if (threads <= 1) return common::simd_sum(x, n);
  double s = 0;
  // One parallel region; each thread sums its contiguous static share.
#pragma omp parallel num_threads(threads) reduction(+ : s)
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t nt = static_cast<std::size_t>(omp_get_num_threads());
    const std::size_t begin = n * t / nt, end = n * (t + 1) / nt;
    s += common::simd_sum(x + begin, end - begin);
  }
  return s;
}

double sum(const std::string& variant, const double* x, std::size_t n, int threads) {
  if (variant == "plain") return sum_plain(x, n, threads);
  if (variant == "simd") return sum_simd(x, n, threads);
  throw std::invalid_argument("reduction has no local sum '" + variant + "'");
}

namespace {

class ReductionInstance : public Instance {
 public:
  ReductionInstance(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : variant_(v.name),
        ctx_(ctx),
        n_(p.size),
        seed_(p.seed),
        range_(variant_ == "reproducible" ? reproducible_range(n_, ctx.ranks, ctx.rank)
                                          : block_range(n_, static_cast<std::uint64_t>(ctx.ranks),
                                                        static_cast<std::uint64_t>(ctx.rank))),
        x_(range_.count),
        from_file_(!p.input.empty()) {
    const std::uint64_t count = range_.count, begin = range_.begin;
    double* x = x_.data();
    // This rank's part of the file, or of the generated input.
    std::vector<double> part;
    if (from_file_) part = common::read_doubles(p.input, begin, count);
    const double* in = part.data();
    // Parallel first touch with the same static schedule as the sums.
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ctx.threads > 1)
    for (std::uint64_t i = 0; i < count; ++i) x[i] = from_file_ ? in[i] : element(seed_, begin + i);
  }

  void run() override {
    if (variant_ == "reproducible") {  // collective itself: every rank gets the same sum
      result_ = reproducible_sum(x_.data(), n_, range_, ctx_.threads, ctx_.comm);
      return;
    }
    double local = 0;
    {
      ScopedPhase compute(Phase::compute);
      local = sum(variant_, x_.data(), x_.size(), ctx_.threads);
    }
    result_ = local;
    if (ctx_.comm != MPI_COMM_NULL) {
      ScopedPhase communicate(Phase::communicate);
      MPI_Allreduce(&local, &result_, 1, MPI_DOUBLE, MPI_SUM, ctx_.comm);
    }
  }

  Verification verify() override {
    if (from_file_) return verify_file();
    const ExactSum mine = exact_sum(seed_, range_.begin, range_.count);
    std::int64_t local[2] = {mine.sum, mine.abs_sum}, total[2] = {local[0], local[1]};
    if (ctx_.comm != MPI_COMM_NULL) MPI_Allreduce(local, total, 2, MPI_INT64_T, MPI_SUM, ctx_.comm);
    const double exact = static_cast<double>(total[0]) * kScale;
    const double magnitude = static_cast<double>(total[1]) * kScale;
    const double diff = std::fabs(result_ - exact);
    // Relative to sum |x_i| (the condition of the sum); absolute when all inputs are 0.
    const double err = magnitude > 0 ? diff / magnitude : diff;
    Verification v =
        make_verification(err, tolerance(n_), "exact integer sum (error relative to sum |x_i|)");
    v.results = {{"sum", result_}, {"sum_reference", exact}};
    return v;
  }

  /// A file's doubles have no exact sum to compare with: the reference is a compensated
  /// (Neumaier) sum in long double, in index order, and the bound is the forward error of any
  /// summation order, (n - 1) u sum |x_i|.
  Verification verify_file() {
    long double sum = 0, carry = 0, magnitude = 0;
    for (std::uint64_t i = 0; i < range_.count; ++i) {
      const long double v = x_.data()[i], t = sum + v;
      carry += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
      sum = t;
      magnitude += std::fabs(v);
    }
    sum += carry;
    // Each rank's reference as a double pair (hi + lo): the pairs add up without losing it.
    const double hi = static_cast<double>(sum);
    double local[3] = {hi, static_cast<double>(sum - hi), static_cast<double>(magnitude)},
           total[3] = {local[0], local[1], local[2]};
    if (ctx_.comm != MPI_COMM_NULL) MPI_Allreduce(local, total, 3, MPI_DOUBLE, MPI_SUM, ctx_.comm);
    const double reference = total[0] + total[1];
    const double diff = std::fabs(result_ - reference);
    const double err = total[2] > 0 ? diff / total[2] : diff;
    Verification v =
        make_verification(err, static_cast<double>(n_) * kUnitRoundoff,
                          "compensated long-double sum of the file (error relative to sum |x_i|)");
    v.results = {{"sum", result_}, {"sum_reference", reference}};
    return v;
  }

  std::uint64_t local_size() const override {
    return range_.count;
  }
  void inject_fault() override {
    result_ += 1.0;
  }

 private:
  std::string variant_;
  ExecContext ctx_;
  std::uint64_t n_, seed_;
  Range range_;
  Buffer x_;
  bool from_file_ = false;
  double result_ = 0;
};

class Reduction : public Kernel {
 public:
  std::string name() const override { return "reduction"; }
  std::string summary() const override { return "s = sum of n doubles"; }
  std::string size_meaning() const override { return "n: number of doubles"; }
  Metric metric() const override { return Metric::gbytes; }

  std::vector<VariantInfo> variants() const override {
    std::vector<VariantInfo> v;
    const char* local[][2] = {{"simd", "SIMD sum, 8 AVX-512 (or 32 scalar) accumulators"},
                              {"plain", "scalar loop in order, no SIMD"}};
    const std::pair<Backend, const char*> backends[] = {
        {Backend::seq, "1 thread"},
        {Backend::omp, "OpenMP threads, reduction clause"},
        {Backend::mpi, "blocks per rank, one MPI_Allreduce, 1 thread/rank"},
        {Backend::hybrid, "blocks per rank with OpenMP threads, one MPI_Allreduce"}};
    const char* reproducible[] = {
        "1 thread", "chunks over OpenMP threads",
        "whole chunks per rank, the ranks' subtrees gathered (MPI_Allgatherv), 1 thread/rank",
        "whole chunks per rank over OpenMP threads, the ranks' subtrees gathered"};
    for (std::size_t b = 0; b < 4; ++b) {
      const auto& [backend, how] = backends[b];
      for (auto& [name, what] : local) v.push_back({backend, name, std::string(what) + "; " + how});
      v.push_back({backend, "reproducible",
                   std::string("bitwise the same for any threads and ranks: fixed chunks of 8192, "
                               "32 fixed SIMD lanes, a fixed tree over the chunks; ") +
                       reproducible[b],
                   false});
    }
    return v;
  }

  Work work(const Problem& p) const override {
    const double n = static_cast<double>(p.size);
    return {n, n * sizeof(double)};
  }

  double memory_per_rank(const Problem& p, int ranks) const override {
    // The reproducible variant deals whole chunks: a rank may hold up to one chunk more.
    return (std::ceil(static_cast<double>(p.size) / std::max(ranks, 1)) + kChunk) * sizeof(double);
  }

  /// Work grows with n: n * P keeps it constant per PE.
  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override {
    return base * static_cast<std::uint64_t>(pes);
  }

  std::string input_kind() const override {
    return "an array of doubles: NumPy .npy ('<f8', any shape) or raw little-endian float64 "
           "(any other name)";
  }
  std::uint64_t input_size(const std::string& path) const override {
    return common::count_doubles(path);
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    return std::make_unique<ReductionInstance>(p, v, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Reduction);

}  // namespace pararun::reduction
