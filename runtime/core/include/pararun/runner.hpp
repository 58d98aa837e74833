// One run of one kernel variant: setup, timed reps, verification. The record of it is built
// by the results layer (run_record.hpp).
#pragma once

#include <string>

#include "pararun/kernel.hpp"
#include "pararun/timing.hpp"

namespace pararun {

struct RunSpec {
  Problem problem;
  TimingPolicy timing;
  std::string scaling = "none";  ///< "none", "strong" or "weak"
  std::string point;             ///< the study point this run is (empty outside studies)
  int round = 0;                 ///< its study round (0: the study has one)
  std::uint64_t base_size = 0;   ///< weak scaling: the size at 1 PE
  Fault fault = Fault::none;     ///< a fault to inject so that verification fails (testing)
};

/// What one run measured; the same on every rank.
struct RunOutcome {
  Timings timings;
  Verification verification;
  std::uint64_t local_min = 0, local_max = 0;  ///< the smallest and largest rank's share
  std::vector<std::pair<std::string, std::string>> configuration;  ///< Instance::configuration
  std::optional<Work> work;  ///< Instance::work_done (empty: Kernel::work)
  bool verified() const { return verification.passed; }
};

/// Why this run cannot start (empty: it can): unsupported backend, the kernel's own check,
/// more memory than the node has. Same answer on every rank.
std::string run_problem(const Kernel& kernel, const RunSpec& spec, const ExecContext& ctx);

/// Sets up, times and verifies the variant. Collective for mpi/hybrid. Throws InputError when
/// spec.fault is one the instance cannot arm.
RunOutcome execute(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                   const ExecContext& ctx);

}  // namespace pararun
