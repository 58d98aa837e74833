// Records as Google Benchmark JSON, so that its tools (tools/compare.py, dashboards that read
// benchmark output) work on ParaRun's results.
#pragma once

#include <vector>

#include "pararun/record.hpp"

namespace pararun {

/// {"context": {...}, "benchmarks": [...]} in Google Benchmark's format: per verified record one
/// "iteration" entry per timed repetition (repetitions, repetition_index; real_time in ns, the
/// slowest rank's, as cpu_time too: a distributed run has no one CPU time) with the rate as a
/// counter, then its "median" aggregate. The name is the record's point, else
/// kernel/backend/variant/nSIZE/tT/rR. Records that did not verify are left out: no time of a
/// wrong result is reported. The context is the first record's machine and build.
Json gbench_json(const std::vector<Record>& records);

}  // namespace pararun
