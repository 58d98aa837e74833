// The kernel interface. The runtime knows kernels only through this interface and the
// registry; each kernel lives in its own folder under kernels/ and registers itself with
// PARARUN_REGISTER_KERNEL (see registry.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pararun/backend.hpp"
#include "pararun/context.hpp"

namespace pararun {

/// What one run computes: the global problem size and the seed of its input data.
struct Problem {
  Problem() = default;
  Problem(std::uint64_t size_, std::uint64_t seed_ = 42, std::string input_ = {})
      : size(size_), seed(seed_), input(std::move(input_)) {}
  std::uint64_t size = 0;
  std::uint64_t seed = 42;
  /// An input file the kernel reads instead of generating its data (empty: generated from
  /// the seed). Its size is `size` (Kernel::input_size).
  std::string input;
};

/// Work done by one repetition of the whole (global) problem.
struct Work {
  double flops = 0;  ///< floating-point operations
  double bytes = 0;  ///< bytes moved to/from memory by the algorithm's minimal traffic model
};

/// Which rate describes the kernel best (the one its records and tables quote):
/// GFLOP/s from Work::flops, GB/s from Work::bytes, or Mop/s from Work::flops for kernels
/// whose benchmark counts operations of its own (NPB's Mop/s).
enum class Metric { gflops, gbytes, mops };

/// The rate of `work` done in `seconds` in the metric's unit: (value, "GFLOP/s"), (value,
/// "GB/s") from the bytes, or (value, "Mop/s") from the operations counted as flops. 0 for
/// no time.
std::pair<double, std::string> rate_of(Metric metric, const Work& work, double seconds);

/// A size with a name, e.g. an NPB class: "S" -> 1400 rows.
struct NamedSize {
  std::string name;
  std::uint64_t size = 0;
};

/// One setting of a kernel's tuning parameters, as (name, value), e.g. {{"KC", "256"}}.
using Tuning = std::vector<std::pair<std::string, std::string>>;

struct VariantInfo {
  Backend backend;
  std::string name;
  std::string description;
  /// False for variants a study does not run unless asked: diagnostics that repeat another
  /// variant (matmul's forced micro-kernels) or that trade speed for another property.
  bool in_studies = true;
};

/// The outcome of checking a result against its reference. Identical on every rank.
struct Verification {
  bool passed = false;
  double error = 0;       ///< the measured error (its meaning is in `reference`)
  double tolerance = 0;   ///< the bound the error had to meet
  std::string reference;  ///< what the result was compared with, e.g. "eigen (rel. Frobenius)"
  /// What the run computed, as numbers (CG's zeta, EP's sums, a checksum) and, where there is
  /// one, the value it was checked against: records carry them under "results".
  std::vector<std::pair<std::string, double>> results;
};

/// Where a fault is injected to test the failure path (`pararun run --inject-fault=WHERE`):
/// output   the result, on every rank, after the last repetition (every kernel);
/// rank     the result of one rank only, the last that holds data (one rank's block; every
///          kernel; the runtime makes every rank's verdict one, so rank 0's record sees it);
/// input    an input before the repetitions use it (kernels that arm it);
/// halo     a received halo cell in every repetition (domain-decomposed kernels);
/// panel    a received SUMMA panel in every repetition (distributed matmul).
/// Verification must fail for each.
enum class Fault { none, output, rank, input, halo, panel };
std::string to_string(Fault f);
std::optional<Fault> parse_fault(std::string_view name);

/// One prepared run: inputs allocated and initialised, ready to be timed.
///
/// The lifecycle, driven by the runtime (which alone owns the timer):
///   Kernel::setup   allocate, initialise with a parallel first touch in the layout run() uses
///   reset()         untimed, before every repetition (warm-up included)
///   run()           the timed repetition
///   verify()        after the last repetition, against an independent reference
class Instance {
 public:
  virtual ~Instance() = default;
  /// Restores what run() overwrites (e.g. a grid it iterates on) so that every repetition
  /// starts from the same state. Never timed. Collective for mpi/hybrid if it communicates.
  /// Kernels whose run() leaves its inputs as they were need nothing here.
  virtual void reset() {}
  /// One repetition. Collective over the context's communicator for mpi/hybrid.
  virtual void run() = 0;
  /// Compare the last result with the reference. Collective; same answer on every rank.
  virtual Verification verify() = 0;
  /// This rank's share of the problem (rows, elements: the unit of Problem::size).
  virtual std::uint64_t local_size() const = 0;
  /// Perturb the result so that verification must fail (tests the failure path).
  virtual void inject_fault() = 0;
  /// Arms a fault that strikes while run() runs (Fault::input, halo, panel): the instance
  /// corrupts that data from now on. False when this kernel, backend or layout has no such
  /// data (the run is then refused). Same answer on every rank.
  virtual bool arm_fault(Fault) { return false; }
  /// The work of one repetition when only the run knows it (an iterative solver's iteration
  /// count depends on the matrix); empty: Kernel::work. Same on every rank.
  virtual std::optional<Work> work_done() const { return std::nullopt; }
  /// How this run is configured beyond kernel, backend and variant, as (key, value): e.g. the
  /// GEMM's micro-kernel and block sizes. Records carry it under "config".
  virtual std::vector<std::pair<std::string, std::string>> configuration() const { return {}; }
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual std::string name() const = 0;
  /// One line: what the kernel computes.
  virtual std::string summary() const = 0;
  /// What --size means for this kernel, e.g. "n: matrices are n x n".
  virtual std::string size_meaning() const = 0;
  /// Sizes that have names (NPB classes), smallest first; --size and --sizes accept the names
  /// (any case). A kernel whose check() accepts only these is tested at the first.
  virtual std::vector<NamedSize> named_sizes() const { return {}; }
  /// The problem in words for the output, e.g. "class S (na=1400, nonzer=7, niter=15)";
  /// by default "size N (size_meaning())" or, for a named size, "class NAME (size N)".
  virtual std::string describe(const Problem& p) const;
  /// All variants; the first listed for a backend is that backend's default.
  virtual std::vector<VariantInfo> variants() const = 0;
  /// False when variants compute different things (STREAM's copy and triad): a variant is then
  /// only ever compared with itself (baselines and speedups), never with another.
  virtual bool variants_compute_the_same() const { return true; }
  virtual Metric metric() const = 0;
  /// Flops and bytes per repetition of the whole problem.
  virtual Work work(const Problem& p) const = 0;
  /// Flops and bytes of one variant, for kernels whose variants do different work (e.g. the
  /// STREAM operations); by default the same for every variant. The runner records this one.
  virtual Work work(const Problem& p, const VariantInfo& /*variant*/) const { return work(p); }
  /// Estimated peak memory of one rank in bytes, for refusing too large sizes before allocating.
  virtual double memory_per_rank(const Problem& p, int ranks) const = 0;
  /// A reason this problem cannot run in this context (empty: it can). Checked before setup.
  virtual std::string check(const Problem& /*p*/, const ExecContext& /*ctx*/) const { return {}; }
  /// The size that keeps the work per processing element of `base` constant on `pes` PEs
  /// (weak scaling); empty when the kernel cannot define it.
  virtual std::optional<std::uint64_t> weak_size(std::uint64_t /*base*/, int /*pes*/) const {
    return std::nullopt;
  }
  /// Tuning (`pararun tune`): the settings worth trying for `variant` on this machine (none:
  /// nothing to tune), the key its results are stored under (variants that share a setting
  /// share the key), and applying one to the runs that follow in this process (empty: the
  /// kernel's own default). The runtime times every candidate with its own timing loop.
  virtual std::vector<Tuning> tuning_candidates(const VariantInfo& /*variant*/) const { return {}; }
  virtual std::string tuning_key(const VariantInfo& variant) const {
    return name() + "/" + variant.name;
  }
  /// Throws std::invalid_argument for a setting it does not understand.
  virtual void apply_tuning(const VariantInfo& /*variant*/, const Tuning& /*tuning*/) const {}
  /// What the setting applied last amounts to when `variant` runs `p` in `ctx` (e.g. the
  /// block sizes as the GEMM evens them out over the product): two settings with the same
  /// effect run the same code there, and `pararun tune` times them once. Empty: unknown, every
  /// setting is timed.
  virtual std::string tuning_effect(const VariantInfo& /*variant*/, const Problem& /*p*/,
                                    const ExecContext& /*ctx*/) const {
    return {};
  }
  /// Third-party libraries the kernel's variants use, as (key, version): records carry them
  /// in meta.build and `pararun info` lists them. The core itself uses none.
  virtual std::vector<std::pair<std::string, std::string>> libraries() const { return {}; }
  /// Input files (`--input`): what the kernel reads, in words (empty: it reads none), e.g.
  /// "a square matrix in Matrix Market array format (.mtx)".
  virtual std::string input_kind() const { return {}; }
  /// The problem size the file at `path` holds; InputError (errors.hpp) naming the file and
  /// line when it is not what input_kind() says. Called only when input_kind() is not empty.
  virtual std::uint64_t input_size(const std::string& /*path*/) const { return 0; }
  /// Allocate and initialise the inputs of one run. Collective for mpi/hybrid.
  virtual std::unique_ptr<Instance> setup(const Problem& p, const VariantInfo& variant,
                                          const ExecContext& ctx) const = 0;

  /// Helpers built on variants().
  std::vector<VariantInfo> variants_of(Backend b) const;
  std::optional<VariantInfo> find_variant(Backend b, const std::string& name) const;
  bool supports(Backend b) const { return !variants_of(b).empty(); }
  /// A size given on the command line: one of named_sizes() or a whole number ("2^26").
  std::optional<std::uint64_t> parse_size(const std::string& text) const;
  /// For a size that parse_size refused: " nor a class of cg (S, W, A)", or "" when the
  /// kernel names no sizes.
  std::string size_name_hint() const;
};

}  // namespace pararun
