// The ep kernel: NPB EP ("embarrassingly parallel"), after NPB 3.3. 2^M pairs of uniform
// numbers from NPB's generator (x_{k+1} = 5^13 x_k mod 2^46, seed 271828183) become Gaussian
// pairs by the Marsaglia polar method (acceptance-rejection: pairs inside the unit circle);
// the result is the sums sx, sy of the deviates and the counts of pairs in the square annuli
// l <= max(|X|, |Y|) < l + 1. The pairs come in 2^(M-16) batches of 2^16; batch k starts at
// seed * a^(2^17 k), so any batch can be generated independently of the others.
//   seq:        batch after batch.
//   omp:        batches over threads (schedule(static)), each with its own buffer.
//   mpi/hybrid: contiguous blocks of batches per rank (threads within), one MPI_Allreduce.
// Verification as in NPB 3.3 (ep.f/ep.c): the signed sums sx and sy against NPB's published
// values for the class, relative error at most 1e-8 each. Sizes are NPB classes only: no
// other M has a published reference.
// The rate is NPB's: "Mop/s" counts random numbers generated, 2^(M+1) per run; the record's
// GFLOP/s is that count per second (so 1000 x it is NPB's Mop/s).
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/npb_random.hpp"
#include "ep/ep.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/phases.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::ep {

const ClassInfo* find_class(std::uint64_t m) {
  for (const auto& c : kClasses)
    if (static_cast<std::uint64_t>(c.m) == m) return &c;
  return nullptr;
}

namespace {

constexpr std::uint64_t kBatchPairs = std::uint64_t{1} << kLogBatch;
constexpr std::uint64_t kSeed = 271828183;  // S in NPB
constexpr double kTolerance = 1e-8;         // EPSILON in NPB

/// The jump from one batch's start to the next one's: a^(2 * kBatchPairs) mod 2^46.
constexpr std::uint64_t kBatchJump = npb::pow46(npb::kMultiplier, 2 * kBatchPairs);

/// One batch into `t`, with `x` (2 * kBatchPairs doubles) as the buffer of uniform numbers.
void batch(std::uint64_t k, double* x, Tally& t) {
  std::uint64_t seed = npb::mul46(kSeed, npb::pow46(kBatchJump, k));
  npb::vranlc(2 * kBatchPairs, seed, npb::kMultiplier, x);
  double sx = 0, sy = 0;
  for (std::uint64_t i = 0; i < kBatchPairs; ++i) {
    const double x1 = 2.0 * x[2 * i] - 1.0;
    const double x2 = 2.0 * x[2 * i + 1] - 1.0;
    const double r2 = x1 * x1 + x2 * x2;
    if (r2 <= 1.0) {
      const double f = std::sqrt(-2.0 * std::log(r2) / r2);
      const double gx = x1 * f, gy = x2 * f;
      const auto l = static_cast<int>(std::max(std::fabs(gx), std::fabs(gy)));
      t.q[static_cast<std::size_t>(std::min(l, kAnnuli - 1))] += 1.0;
      sx += gx;
      sy += gy;
    }
  }
  t.sx += sx;
  t.sy += sy;
}

}  // namespace

Tally tally_batches(std::uint64_t first, std::uint64_t count) {
  std::vector<double> x(2 * kBatchPairs);
  Tally t;
  for (std::uint64_t k = first; k < first + count; ++k) batch(k, x.data(), t);
  return t;
}

namespace {

class EpInstance : public Instance {
 public:
  EpInstance(const Problem& p, const ExecContext& ctx)
      : ctx_(ctx),
        class_(find_class(p.size)),
        batches_(block_range(std::uint64_t{1} << (p.size - kLogBatch),
                             static_cast<std::uint64_t>(ctx.ranks),
                             static_cast<std::uint64_t>(ctx.rank))),
        buffers_(static_cast<std::size_t>(ctx.threads), std::vector<double>(2 * kBatchPairs, 0.0)),
        per_thread_(static_cast<std::size_t>(ctx.threads)) {}

  void run() override {
    std::fill(per_thread_.begin(), per_thread_.end(), Tally{});
    const auto count = static_cast<std::int64_t>(batches_.count);
#pragma omp parallel num_threads(ctx_.threads) if (ctx_.threads > 1)
    {
      const auto me = static_cast<std::size_t>(omp_get_thread_num());
#pragma omp for schedule(static)
      for (std::int64_t i = 0; i < count; ++i)
        batch(batches_.begin + static_cast<std::uint64_t>(i), buffers_[me].data(), per_thread_[me]);
    }
    std::array<double, 2 + kAnnuli> local{};
    for (const auto& t : per_thread_) {
      local[0] += t.sx;
      local[1] += t.sy;
      for (int l = 0; l < kAnnuli; ++l) local[2 + l] += t.q[static_cast<std::size_t>(l)];
    }
    std::array<double, 2 + kAnnuli> total = local;
    if (ctx_.comm != MPI_COMM_NULL) {
      ScopedPhase communicate(Phase::communicate);
      MPI_Allreduce(local.data(), total.data(), static_cast<int>(total.size()), MPI_DOUBLE, MPI_SUM,
                    ctx_.comm);
    }
    result_.sx = total[0];
    result_.sy = total[1];
    for (int l = 0; l < kAnnuli; ++l) result_.q[static_cast<std::size_t>(l)] = total[2 + l];
  }

  Verification verify() override {
    const double ex = std::fabs((result_.sx - class_->sx) / class_->sx);
    const double ey = std::fabs((result_.sy - class_->sy) / class_->sy);
    double pairs = 0;
    for (double c : result_.q) pairs += c;
    char ref[320];
    std::snprintf(ref, sizeof ref,
                  "NPB 3.3 EP class %s published sums sx = %.15e, sy = %.15e (largest relative "
                  "error; got sx = %.15e, sy = %.15e, %.0f Gaussian pairs)",
                  class_->name, class_->sx, class_->sy, result_.sx, result_.sy, pairs);
    Verification v = make_verification(std::isnan(ex) || std::isnan(ey) ? NAN : std::max(ex, ey),
                                       kTolerance, ref);
    v.results = {{"sx", result_.sx},
                 {"sy", result_.sy},
                 {"sx_reference", class_->sx},
                 {"sy_reference", class_->sy},
                 {"pairs", pairs}};
    for (std::size_t i = 0; i < result_.q.size(); ++i)
      v.results.emplace_back("q" + std::to_string(i), result_.q[i]);
    return v;
  }

  std::uint64_t local_size() const override {
    return batches_.count * kBatchPairs;
  }

  void inject_fault() override {
    result_.sx += 1.0;
  }

 private:
  ExecContext ctx_;
  const ClassInfo* class_;
  Range batches_;
  std::vector<std::vector<double>> buffers_;  // one per thread: its uniform numbers
  std::vector<Tally> per_thread_;
  Tally result_;
};

class Ep : public Kernel {
 public:
  std::string name() const override { return "ep"; }
  std::string summary() const override {
    return "NPB EP: Gaussian pairs by the Marsaglia polar method from NPB's generator, "
           "checked against NPB 3.3's published sums (classes S, W, A, B, C)";
  }
  std::string size_meaning() const override {
    return "M: 2^M pairs of random numbers (class S = 24, W = 25, A = 28, B = 30, C = 32); "
           "the rate counts random numbers, as NPB's Mop/s";
  }
  Metric metric() const override { return Metric::mops; }

  std::vector<NamedSize> named_sizes() const override {
    std::vector<NamedSize> out;
    for (const auto& c : kClasses) out.push_back({c.name, static_cast<std::uint64_t>(c.m)});
    return out;
  }

  std::string describe(const Problem& p) const override {
    const ClassInfo* c = find_class(p.size);
    const std::string m = std::to_string(p.size);
    return std::string("NPB EP class ") + (c ? c->name : "?") + " (M = " + m + ": 2^" + m +
           " pairs in 2^" + std::to_string(p.size - kLogBatch) + " batches)";
  }

  std::vector<VariantInfo> variants() const override {
    return {{Backend::seq, "batches", "batch after batch"},
            {Backend::omp, "batches", "batches over threads, schedule(static)"},
            {Backend::mpi, "batches", "contiguous blocks of batches per rank, one allreduce"},
            {Backend::hybrid, "batches", "blocks of batches per rank, over threads within"}};
  }

  /// NPB's operation count: the 2^(M+1) random numbers generated (no bytes: it runs in cache).
  Work work(const Problem& p) const override {
    return {std::ldexp(1.0, static_cast<int>(p.size) + 1), 0};
  }

  double memory_per_rank(const Problem&, int) const override {
    return 2.0 * kBatchPairs * sizeof(double) * omp_get_max_threads();
  }

  std::string check(const Problem& p, const ExecContext&) const override {
    if (find_class(p.size)) return {};
    return "ep: M = " + std::to_string(p.size) +
           " is not an NPB class, so there is no published result to verify against; use " +
           "class S, W, A, B or C (M = 24, 25, 28, 30, 32)";
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo&,
                                  const ExecContext& ctx) const override {
    return std::make_unique<EpInstance>(p, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Ep);

}  // namespace pararun::ep
