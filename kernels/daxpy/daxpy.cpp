// DAXPY, y = a x + y on n doubles: the smallest complete kernel, and the example of
// README's "Adding a kernel". One folder, one file, one registration line; the runtime owns
// the timing loop, the ExecContext the MPI and OpenMP plumbing.
//
// run() overwrites y, so reset() (untimed, before every repetition) restores it. The inputs
// are multiples of 2^-10 below 1 and a = 3, so every a x_i + y_i is exact in double: the
// result must equal the analytic value y0_i + 3 x_i element by element, bit for bit.
#include <algorithm>
#include <cmath>

#include "pararun/buffer.hpp"
#include "pararun/described_kernel.hpp"
#include "pararun/verify.hpp"

namespace pararun::daxpy {

namespace {

constexpr double kA = 3.0;
/// The inputs of global element i; their seed shifts the pattern.
double x0(std::uint64_t i, std::uint64_t seed) {
  return static_cast<double>((i + seed) % 1024) / 1024;
}
double y0(std::uint64_t i, std::uint64_t seed) {
  return static_cast<double>((7 * i + seed) % 1024) / 1024;
}

class DaxpyInstance : public Instance {
 public:
  DaxpyInstance(const Problem& p, const VariantInfo&, const ExecContext& ctx)
      : ctx_(ctx), seed_(p.seed), mine_(ctx.local_range(p.size)), x_(mine_.count), y_(mine_.count) {
    // The first touch: each thread writes the share of x it will later read.
    ctx_.parallel_blocks(mine_.count, [&](std::uint64_t b, std::uint64_t e) {
      for (std::uint64_t i = b; i < e; ++i) x_[i] = x0(mine_.begin + i, seed_);
    });
  }

  void reset() override {
    ctx_.parallel_blocks(mine_.count, [&](std::uint64_t b, std::uint64_t e) {
      for (std::uint64_t i = b; i < e; ++i) y_[i] = y0(mine_.begin + i, seed_);
    });
  }

  void run() override {
    double* y = y_.data();
    const double* x = x_.data();
    ctx_.parallel_blocks(mine_.count, [&](std::uint64_t b, std::uint64_t e) {
#pragma omp simd
      for (std::uint64_t i = b; i < e; ++i) y[i] += kA * x[i];
    });
  }

  Verification verify() override {
    double worst = 0;
    CompensatedSum checksum;  // of y, for the record
    for (std::uint64_t i = 0; i < mine_.count; ++i) {
      const std::uint64_t g = mine_.begin + i;
      worst = std::max(worst, std::fabs(y_[i] - (y0(g, seed_) + kA * x0(g, seed_))));
      checksum.add(y_[i]);
    }
    Verification v = make_verification(ctx_.max(worst), 0.0,
                                       "exact: y0 + 3 x element by element (max abs difference)");
    v.results = {{"checksum", ctx_.sum(checksum.value())}};
    return v;
  }

  std::uint64_t local_size() const override {
    return mine_.count;
  }
  void inject_fault() override {
    if (mine_.count) y_[mine_.count / 2] += 1.0 / 1024;
  }

 private:
  ExecContext ctx_;
  std::uint64_t seed_;
  Range mine_;
  Buffer x_, y_;
};

KernelDescription daxpy() {
  KernelDescription d;
  d.name = "daxpy";
  d.summary = "y = a x + y on n doubles (BLAS level 1)";
  d.size_meaning = "n: elements of x and y";
  d.metric = Metric::gbytes;
  d.variants = {{"plain", "one vectorised loop"}};
  d.work = [](const Problem& p) { return Work{2.0 * p.size, 24.0 * p.size}; };
  d.bytes_per_item = 2 * sizeof(double);
  d.weak = WeakScaling::linear;
  d.setup = instance_of<DaxpyInstance>();
  return d;
}

}  // namespace

PARARUN_REGISTER_DESCRIBED_KERNEL(daxpy);

}  // namespace pararun::daxpy
