// A kernel of your own, outside ParaRun's tree: the sum of i^2 for i = 1..n, on every backend,
// verified against the closed form n (n + 1) (2n + 1) / 6 within the bound of recursive
// summation of positive terms, a relative (n - 1) u (u = 2^-53; the squares are exact), with
// the closed form's own rounding: (n + 1) u. Built against an installed ParaRun
// (find_package(ParaRun)); the binary this folder makes offers it beside ParaRun's kernels.
#include <cmath>

#include "pararun/described_kernel.hpp"
#include "pararun/verify.hpp"

namespace mykernels {

using namespace pararun;

namespace {

class SumSquares : public Instance {
 public:
  SumSquares(const Problem& p, const VariantInfo&, const ExecContext& ctx)
      : ctx_(ctx), n_(p.size), mine_(ctx.local_range(p.size)) {}

  void run() override {
    double total = 0;
    const std::uint64_t first = mine_.begin + 1;
    ctx_.parallel_blocks(mine_.count, [&](std::uint64_t b, std::uint64_t e) {
      double s = 0;
      for (std::uint64_t i = b; i < e; ++i) {
        const double v = static_cast<double>(first + i);
        s += v * v;
      }
#pragma omp atomic
      total += s;
    });
    sum_ = ctx_.sum(total);
  }

  Verification verify() override {
    const double n = static_cast<double>(n_);
    const double exact = n * (n + 1) * (2 * n + 1) / 6;
    Verification v = make_verification(std::fabs(sum_ - exact) / exact, (n + 1) * 0x1p-53,
                                       "closed form n (n + 1) (2n + 1) / 6 (relative error)");
    v.results = {{"sum", sum_}};
    return v;
  }

  std::uint64_t local_size() const override {
    return mine_.count;
  }
  void inject_fault() override {
    sum_ *= 1 + 1e-6;
  }

 private:
  ExecContext ctx_;
  std::uint64_t n_;
  Range mine_;
  double sum_ = 0;
};

KernelDescription sumsq() {
  KernelDescription d;
  d.name = "sumsq";
  d.summary = "sum of i^2 for i = 1..n (an out-of-tree example kernel)";
  d.size_meaning = "n: terms";
  d.metric = Metric::gflops;
  d.variants = {{"plain", "one loop per thread, summed over threads and ranks"}};
  d.work = [](const Problem& p) { return Work{2.0 * p.size, 0}; };
  d.weak = WeakScaling::linear;
  d.setup = instance_of<SumSquares>();
  return d;
}

}  // namespace

PARARUN_REGISTER_DESCRIBED_KERNEL(sumsq);

}  // namespace mykernels
