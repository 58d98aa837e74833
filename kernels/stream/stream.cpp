// The STREAM kernels (McCalpin): copy c = a, scale b = s*c, add c = a + b, triad a = b + s*c,
// one variant each. Bytes are counted as STREAM counts them: 2 arrays moved for copy and scale,
// 3 for add and triad (no write-allocate traffic); flops 0, 1, 1, 2 per element.
//   seq/omp:    the arrays on one process, static schedule (first touch matches it).
//   mpi/hybrid: a block of each array per rank; no communication but the timing barrier.
// The inputs are multiples of 2^-20 in [-1, 1) and s = 3, so every result element is exact
// in double (any evaluation order, with or without FMA): verification is exact, element by
// element, against the formula.
#include <omp.h>

#include <cmath>
#include <stdexcept>

#include "common/random.hpp"
#include "pararun/buffer.hpp"
#include "pararun/kernel.hpp"
#include "pararun/partition.hpp"
#include "pararun/registry.hpp"
#include "pararun/verify.hpp"

namespace pararun::stream {

namespace {

constexpr double kScalar = 3.0;

enum class Op { copy, scale, add, triad };

struct OpInfo {
  const char* name;
  const char* formula;
  int arrays;  // arrays moved per element (STREAM's byte count)
  int flops;
};

constexpr OpInfo kOps[] = {{"triad", "a = b + s*c", 3, 2},
                           {"copy", "c = a", 2, 0},
                           {"scale", "b = s*c", 2, 1},
                           {"add", "c = a + b", 3, 1}};

const OpInfo& info(Op op) {
  switch (op) {
    case Op::triad:
      return kOps[0];
    case Op::copy:
      return kOps[1];
    case Op::scale:
      return kOps[2];
    case Op::add:
      return kOps[3];
  }
  return kOps[0];
}

Op parse_op(const std::string& name) {
  for (Op op : {Op::triad, Op::copy, Op::scale, Op::add})
    if (name == info(op).name) return op;
  throw std::invalid_argument("stream has no operation '" + name + "'");
}

/// Input value i of array `which` (0: a, 1: b, 2: c): a multiple of 2^-20 in [-1, 1).
double input(std::uint64_t seed, int which, std::uint64_t i) {
  const auto bits = random_bits(seed, 10 + static_cast<std::uint64_t>(which), i) >> 43;  // 21 bits
  return (static_cast<double>(bits) - 1048576.0) / 1048576.0;
}

class StreamInstance : public Instance {
 public:
  StreamInstance(const Problem& p, const VariantInfo& v, const ExecContext& ctx)
      : op_(parse_op(v.name)),
        ctx_(ctx),
        seed_(p.seed),
        range_(block_range(p.size, static_cast<std::uint64_t>(ctx.ranks),
                           static_cast<std::uint64_t>(ctx.rank))),
        a_(range_.count),
        b_(range_.count),
        c_(range_.count) {
    double *a = a_.data(), *b = b_.data(), *c = c_.data();
    const std::int64_t n = static_cast<std::int64_t>(range_.count);
    const std::uint64_t begin = range_.begin, seed = seed_;
#pragma omp parallel for schedule(static) num_threads(ctx.threads) if (ctx.threads > 1)
    for (std::int64_t i = 0; i < n; ++i) {
      const auto g = begin + static_cast<std::uint64_t>(i);
      a[i] = input(seed, 0, g);
      b[i] = input(seed, 1, g);
      c[i] = input(seed, 2, g);
    }
  }

  void run() override {
    double* __restrict a = a_.data();
    double* __restrict b = b_.data();
    double* __restrict c = c_.data();
    const std::int64_t n = static_cast<std::int64_t>(range_.count);
    const double s = kScalar;
    const int t = ctx_.threads;
    switch (op_) {
      case Op::copy:
#pragma omp parallel for simd schedule(static) num_threads(t) if (t > 1)
        for (std::int64_t i = 0; i < n; ++i) c[i] = a[i];
        break;
      case Op::scale:
#pragma omp parallel for simd schedule(static) num_threads(t) if (t > 1)
        for (std::int64_t i = 0; i < n; ++i) b[i] = s * c[i];
        break;
      case Op::add:
#pragma omp parallel for simd schedule(static) num_threads(t) if (t > 1)
        for (std::int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
        break;
      case Op::triad:
#pragma omp parallel for simd schedule(static) num_threads(t) if (t > 1)
        for (std::int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
        break;
    }
  }

  Verification verify() override {
    // Each operation writes one array from inputs it does not write: the expected value of
    // every element follows from the (never changed) inputs.
    double err = 0;
    CompensatedSum checksum;  // of the array the operation wrote, for the record
    for (std::uint64_t i = 0; i < range_.count; ++i) {
      const auto g = range_.begin + i;
      const double a = input(seed_, 0, g), b = input(seed_, 1, g), c = input(seed_, 2, g);
      double expected = 0, got = 0;
      switch (op_) {
        case Op::copy:
          expected = a, got = c_.data()[i];
          break;
        case Op::scale:
          expected = kScalar * c, got = b_.data()[i];
          break;
        case Op::add:
          expected = a + b, got = c_.data()[i];
          break;
        case Op::triad:
          expected = b + kScalar * c, got = a_.data()[i];
          break;
      }
      err = std::max(err, std::fabs(got - expected));
      checksum.add(got);
    }
    Verification v = make_verification(
        ctx_.max(err), 0.0,
        std::string("exact: ") + info(op_).formula + " element by element (max abs error)");
    v.results = {{"checksum", ctx_.sum(checksum.value())}};
    return v;
  }

  std::uint64_t local_size() const override {
    return range_.count;
  }

  void inject_fault() override {
    if (range_.count == 0) return;
    double* out = op_ == Op::copy || op_ == Op::add ? c_.data()
                  : op_ == Op::scale                ? b_.data()
                                                    : a_.data();
    out[range_.count / 2] += 1.0;
  }

 private:
  Op op_;
  ExecContext ctx_;
  std::uint64_t seed_;
  Range range_;
  Buffer a_, b_, c_;
};

class Stream : public Kernel {
 public:
  std::string name() const override { return "stream"; }
  std::string summary() const override {
    return "STREAM copy, scale, add, triad (McCalpin) on three arrays of n doubles";
  }
  std::string size_meaning() const override { return "n: elements per array"; }
  Metric metric() const override { return Metric::gbytes; }
  /// Copy, scale, add and triad are four computations: each is its own baseline.
  bool variants_compute_the_same() const override { return false; }

  std::vector<VariantInfo> variants() const override {
    std::vector<VariantInfo> v;
    const std::pair<Backend, const char*> backends[] = {
        {Backend::seq, "1 thread"},
        {Backend::omp, "OpenMP threads, static schedule"},
        {Backend::mpi, "a block per rank"},
        {Backend::hybrid, "a block per rank, OpenMP threads"}};
    for (auto& [backend, how] : backends)
      for (const auto& op : kOps)
        v.push_back({backend, op.name, std::string(op.formula) + "; " + how});
    return v;
  }

  /// The default operation's (triad) work.
  Work work(const Problem& p) const override { return work(p, variants().front()); }
  /// STREAM counts each operation's own arrays: copy and scale move 2, add and triad 3.
  Work work(const Problem& p, const VariantInfo& v) const override {
    const OpInfo& op = info(parse_op(v.name));
    const double n = static_cast<double>(p.size);
    return {op.flops * n, op.arrays * n * sizeof(double)};
  }

  double memory_per_rank(const Problem& p, int ranks) const override {
    return 3 * std::ceil(static_cast<double>(p.size) / std::max(ranks, 1)) * sizeof(double);
  }

  std::optional<std::uint64_t> weak_size(std::uint64_t base, int pes) const override {
    return base * static_cast<std::uint64_t>(pes);
  }

  std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& v,
                                  const ExecContext& ctx) const override {
    return std::make_unique<StreamInstance>(p, v, ctx);
  }
};

}  // namespace

PARARUN_REGISTER_KERNEL(Stream);

}  // namespace pararun::stream
