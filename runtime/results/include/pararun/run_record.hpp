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

/// The record as `pararun run` prints it: a one-row table, then a line each on the interval's
/// coverage, the verification, the ranks' imbalance, the share of a ceiling, oversubscription
/// and a disturbed host, where the record has them.
std::string run_summary(const Json& record);

}  // namespace pararun
