// A kernel as data: what most kernels say about themselves (name, sizes, variants, work and
// memory models, weak-scaling rule, size limit) in one description, so that a kernel is its
// Instance plus ~15 lines. Kernels that need more override Kernel directly.
//
//   KernelDescription daxpy() {
//     KernelDescription d;
//     d.name = "daxpy";
//     d.summary = "y = a x + y on n doubles";
//     d.size_meaning = "n: elements of x and y";
//     d.metric = Metric::gbytes;
//     d.variants = {{"plain", "one loop, vectorised"}};
//     d.work = [](const Problem& p) { return Work{2.0 * p.size, 24.0 * p.size}; };
//     d.bytes_per_item = 2 * sizeof(double);
//     d.weak = WeakScaling::linear;
//     d.setup = instance_of<DaxpyInstance>();
//     return d;
//   }
//   PARARUN_REGISTER_DESCRIBED_KERNEL(daxpy);
#pragma once

#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "pararun/kernel.hpp"
#include "pararun/registry.hpp"

namespace pararun {

/// How the size grows with the processing elements P to keep the work per PE constant.
enum class WeakScaling {
  none,         ///< not defined: the kernel is left out of weak-scaling studies
  linear,       ///< n * P (work proportional to n)
  square_root,  ///< n * sqrt(P) (work proportional to n^2)
  cube_root     ///< n * cbrt(P) (work proportional to n^3)
};

struct KernelDescription {
  using Setup = std::function<std::unique_ptr<Instance>(const Problem&, const VariantInfo&,
                                                        const ExecContext&)>;
  struct Variant {
    std::string name, what;
    /// The backends it runs on (default: all four).
    std::vector<Backend> backends = {std::begin(kAllBackends), std::end(kAllBackends)};
  };

  std::string name, summary, size_meaning;
  Metric metric = Metric::gflops;
  std::vector<NamedSize> named_sizes;
  /// In order: the first a backend lists is its default. Each variant's description is
  /// "what; how", how the backend runs it (how[] below).
  std::vector<Variant> variants;
  /// How each backend runs a variant, indexed by Backend.
  std::vector<std::string> how = {"1 thread", "OpenMP threads, static schedule", "a block per rank",
                                  "a block per rank, OpenMP threads"};
  /// Work of one repetition of the whole problem (the same for every variant unless
  /// work_of_variant is set).
  std::function<Work(const Problem&)> work;
  std::function<Work(const Problem&, const VariantInfo&)> work_of_variant;
  /// Memory: bytes per item of a rank's block (block = ceil(size / ranks) items), or a model.
  double bytes_per_item = 0;
  std::function<double(const Problem&, int ranks)> memory_per_rank;
  WeakScaling weak = WeakScaling::none;
  /// The largest size accepted (refused beyond it with the kernel's name and the limit).
  std::uint64_t max_size = std::uint64_t{1} << 40;
  /// A further reason a problem cannot run in a context (empty: it can).
  std::function<std::string(const Problem&, const ExecContext&)> check;
  std::vector<std::pair<std::string, std::string>> libraries;
  Setup setup;
};

/// The Setup that makes an InstanceT(problem, variant, context).
template <class InstanceT>
KernelDescription::Setup instance_of() {
  return [](const Problem& p, const VariantInfo& v, const ExecContext& ctx) {
    return std::unique_ptr<Instance>(std::make_unique<InstanceT>(p, v, ctx));
  };
}

/// The Kernel a description defines.
class DescribedKernel : public Kernel {
 public:
  explicit DescribedKernel(KernelDescription d);
  std::string name() const override { return d_.name; }
  std::string summary() const override { return d_.summary; }
  std::string size_meaning() const override { return d_.size_meaning; }
  std::vector<NamedSize> named_sizes() const override { return d_.named_sizes; }
  std::vector<VariantInfo> variants() const override { return variants_; }
  Metric metric() const override { return d_.metric; }
  Work work(const Problem& p) const override { return d_.work(p); }
  Work work(const Problem& p, const VariantInfo& v) const override;
  double memory_per_rank(const Problem& p, int ranks) const override;
  std::string check(const Problem& p, const ExecContext& ctx) const override;
  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override;
  std::vector<std::pair<std::string, std::string>> libraries() const override {
    return d_.libraries;
  }
  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    return d_.setup(p, v, ctx);
  }

 private:
  KernelDescription d_;
  std::vector<VariantInfo> variants_;
};

}  // namespace pararun

/// The one registration line of a described kernel: `describe` is a function returning its
/// KernelDescription.
#define PARARUN_REGISTER_DESCRIBED_KERNEL(describe)                \
  static const ::pararun::Registrar pararun_registrar_##describe { \
    std::make_unique<::pararun::DescribedKernel>(describe())       \
  }
