// Tuning: `pararun tune KERNEL` times each setting a kernel offers (Kernel::tuning_candidates)
// with the runtime's own timing loop, verifies each, and stores the fastest in a tuning file
// that later runs on the same CPU pick up (Kernel::apply_tuning).
//
// The file (JSON, schema pararun.tuning/1) holds one entry per (key, CPU): the setting, its
// rate and the default's, and how it was measured. It is found at --tuning FILE, else
// $PARARUN_TUNING, else $XDG_CONFIG_HOME/pararun/tuning.json, else
// ~/.config/pararun/tuning.json. A setting made on another CPU (cpu_identity()) is not used.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pararun/json.hpp"
#include "pararun/kernel.hpp"
#include "pararun/runner.hpp"

namespace pararun {

/// Rounds of the search: every setting is timed once per round, the rounds interleaved.
constexpr int kTuneRounds = 3;
/// The search's winner must beat the default by this much when re-measured, or the default
/// stays: less is this host's noise.
constexpr double kTuneMinSpeedup = 1.02;

struct TuningTrial {
  Tuning setting;  ///< empty: the kernel's default
  double median = 0, rate = 0;
  std::string unit;
  bool verified = false;
};

struct TuningResult {
  std::string key;
  std::vector<TuningTrial> trials;  ///< trials[0] is the default
  std::size_t best = 0;             ///< the fastest verified trial, confirmed (else 0)
  std::size_t fastest = 0;          ///< the fastest verified trial of the search
  /// The default's median time over the winner's, re-measured in alternating rounds after
  /// the search (1 when the default won the search); a winner below 1.02 is dropped.
  double confirmed_speedup = 1;
  /// Candidates that run as a timed one at this size (Kernel::tuning_effect), not timed
  /// again: each with the index in `trials` of the one it runs as.
  std::vector<std::pair<Tuning, std::size_t>> not_timed;
};

/// Times the default and every candidate that runs otherwise at this size, on `spec` and
/// `ctx`, each verified, in kTuneRounds interleaved rounds, then the winner against the default
/// again; leaves the best applied. spec.timing.warmup_seconds is one warm-up before the first
/// round, not one per trial. Throws InputError when the variant has nothing to tune, or every
/// candidate runs as the default at this size.
TuningResult tune(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                  const ExecContext& ctx);

/// The tuning file's path: `given`, else $PARARUN_TUNING, else the XDG config folder's.
std::string tuning_file_path(const std::string& given);
/// The file's contents; an empty file object when it does not exist. Throws InputError naming
/// the file when it cannot be read or is not a tuning file.
Json read_tuning_file(const std::string& path);
/// The setting stored for `key` on this CPU, if any.
std::optional<Tuning> stored_tuning(const Json& file, const std::string& key,
                                    const std::string& cpu);
/// `file` with the result stored for its key on this CPU (an older entry replaced).
Json with_tuning(Json file, const TuningResult& result, const std::string& cpu,
                 const std::string& measured_on);

}  // namespace pararun
