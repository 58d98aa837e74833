// A kernel for testing the runtime: sums 1..n on seq only and needs n >= ranks.
#pragma once

#include <cmath>

#include "pararun/kernel.hpp"
#include "pararun/verify.hpp"

namespace pararun::test {

class FakeInstance : public Instance {
 public:
  explicit FakeInstance(std::uint64_t n) : n_(n) {}
  void run() override {
    ++runs;
    result_ = 0;
    for (std::uint64_t i = 1; i <= n_; ++i) result_ += static_cast<double>(i);
  }
  Verification verify() override {
    const double exact = 0.5 * static_cast<double>(n_) * static_cast<double>(n_ + 1);
    return make_verification(std::fabs(result_ - exact), 0.0, "analytic n(n+1)/2");
  }
  std::uint64_t local_size() const override { return n_; }
  void inject_fault() override { result_ += 1; }
  int runs = 0;

 private:
  std::uint64_t n_;
  double result_ = 0;
};

/// The FakeInstance as a described kernel's setup makes it.
class FakeInstanceFor : public FakeInstance {
 public:
  FakeInstanceFor(const Problem& p, const VariantInfo&, const ExecContext&)
      : FakeInstance(p.size) {}
};

class FakeKernel : public Kernel {
 public:
  explicit FakeKernel(std::string name = "fake") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  std::string summary() const override { return "sum 1..n"; }
  std::string size_meaning() const override { return "n"; }
  std::vector<VariantInfo> variants() const override {
    return {{Backend::seq, "loop", "a loop"}, {Backend::seq, "other", "the same loop"}};
  }
  Metric metric() const override { return Metric::gflops; }
  Work work(const Problem& p) const override { return {static_cast<double>(p.size), 0}; }
  double memory_per_rank(const Problem& p, int) const override {
    return static_cast<double>(p.size);
  }
  std::string check(const Problem& p, const ExecContext& ctx) const override {
    return p.size < static_cast<std::uint64_t>(ctx.ranks) ? "fewer rows than ranks" : "";
  }
  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo&,
                                  const ExecContext&) const override {
    return std::make_unique<FakeInstance>(p.size);
  }

 private:
  std::string name_;
};

}  // namespace pararun::test
