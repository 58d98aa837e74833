// The record of one run (see docs in README "Result records"): what ran, where, how long,
// verified against what, and the machine it ran on.
#pragma once

#include "pararun/kernel.hpp"
#include "pararun/record.hpp"
#include "pararun/runner.hpp"

namespace pararun {

/// Builds the record of `outcome`: collects the machine metadata of every rank (collective
/// for mpi/hybrid) and returns the record on rank 0 (an empty object on the others).
Json run_record(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                const ExecContext& ctx, const RunOutcome& outcome);

}  // namespace pararun
