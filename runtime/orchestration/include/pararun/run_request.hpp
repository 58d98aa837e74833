// What `pararun run` is asked for, checked before anything runs: a kernel, a backend, a
// variant and the run's spec. Every check names the problem in an InputError (exit 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pararun/backend.hpp"
#include "pararun/context.hpp"
#include "pararun/kernel.hpp"
#include "pararun/runner.hpp"

namespace pararun {

/// The seed of the input data when none is given: pararun run's default, and so every study
/// point's (a study passes none).
inline constexpr std::uint64_t kDefaultSeed = 42;

/// The options of one run as given (strings where the user writes sizes and seeds).
struct RunRequest {
  std::string kernel, backend, variant, size = "", seed = std::to_string(kDefaultSeed), out;
  std::string input;  ///< a file the kernel reads (--input)
  int threads = 1;
  bool threads_given = false;  ///< false: the default for the backend
  int reps = 5, max_reps = 0, warmup = 1;
  /// --warmup-time: seconds of untimed repetitions at least; none: agreed_warmup_time().
  std::optional<double> warmup_time;
  double time_limit = 6 * 3600;  ///< seconds the run may take at most (0: no limit)
  double ci_target = 0.05;
  bool json = false;
  std::string inject_fault;             ///< --inject-fault[=WHERE]: "" none, else a Fault name
  std::string scaling = "none", point;  ///< set by pararun study
  int round = 0;                        ///< set by pararun study with --rounds
  std::string base_size;
  int crash_rank = -1;   ///< fault injection: this rank raises SIGSEGV before the run
  std::string ceilings;  ///< JSON from `pararun ceilings --json`: records carry % of ceiling
  std::string tuning;    ///< the tuning file (default: tuning_file_path)
};

/// The warm-up time of a run that does not give --warmup-time: $PARARUN_WARMUP_TIME (seconds),
/// else 1 s. InputError when the variable is not a number of seconds from 0 to 3600.
double default_warmup_time();

/// The warm-up time of `request`'s run: --warmup-time when given, none after --warmup 0, else
/// rank 0's default_warmup_time(). A bad variable on any rank ends the run on every rank
/// (agree). Collective.
double agreed_warmup_time(const RunRequest& request, const ExecContext& ctx);

/// The largest --time-limit: about 3 years; beyond, the watchdog's clock overflows.
inline constexpr double kMaxTimeLimit = 1e8;

/// A request resolved against the registry: what runs, and how.
struct ResolvedRun {
  const Kernel* kernel = nullptr;
  Backend backend = Backend::seq;
  VariantInfo variant;
  RunSpec spec;
};

/// Checks everything a request says that needs neither the ranks' data nor the file system
/// beyond reading an input file's size; `launched_ranks` is the MPI world size (1 without a
/// launcher). Throws InputError naming the first problem. The same on every rank.
ResolvedRun resolve_run(const RunRequest& request, int launched_ranks);

/// Applies the tuning stored for this variant on this CPU, if the variant has settings and
/// the file (`given`, else the default tuning file) has one. Rank 0 decides (the environment,
/// e.g. PARARUN_GEMM_*, may differ between nodes) and every rank applies the same setting,
/// only when all ranks run on the same kind of CPU. Returns the file the setting came from
/// ("" for none). Collective.
std::string apply_stored_tuning(const Kernel& kernel, const VariantInfo& variant,
                                const std::string& given, const ExecContext& ctx);

}  // namespace pararun
