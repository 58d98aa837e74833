// Speedup against the best sequential variant of the same study, and the scaling models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pararun/models.hpp"
#include "pararun/record.hpp"

namespace pararun {

struct ReportRow {
  Record record;
  std::optional<double> speedup;     ///< baseline median / this median (verified rows only)
  std::optional<double> efficiency;  ///< speedup / processing elements
  /// An interval of the speedup: [baseline CI low / this CI high, baseline CI high / this CI
  /// low]. Both medians lie in their intervals at once with probability at least
  /// speedup_ci_coverage = 1 - (1 - baseline coverage) - (1 - this coverage) (Bonferroni):
  /// 0.90 from two 95% intervals. The baseline's own row: exactly 1.
  std::optional<std::pair<double, double>> speedup_ci;
  double speedup_ci_coverage = -1;  ///< -1: unknown (a record without a coverage)
  /// "order statistics" (the Bonferroni interval above) or "bootstrap": when the point or the
  /// baseline was measured in several rounds (study --rounds), a two-stage percentile
  /// bootstrap over rounds and repetitions (stats.hpp), coverage 0.95.
  std::string speedup_ci_method = "order statistics";
  /// Strong scaling: T(1 PE) / T(p) of the same backend and variant. Weak scaling:
  /// Gustafson's scaled speedup p * T(1 PE) / T(p).
  std::optional<double> relative;
  /// Serial fraction from the relative speedup, p > 1; none when that is below 1 (a slowdown)
  std::optional<double> karp_flatt;
};

/// Amdahl's law fitted to one backend/variant series of a group.
struct SeriesFit {
  std::string series;  ///< "omp/blocked"
  AmdahlFit fit;
};

struct ReportGroup {
  std::string kernel;
  std::uint64_t size = 0;     ///< the size (strong) or the size at 1 PE (weak)
  std::string scaling;        ///< "none", "strong" or "weak"
  std::string comparable_as;  ///< the variant, for kernels whose variants differ (STREAM)
  /// Where its records were measured: "build COMMIT FLAGS on CPU" (records without
  /// metadata, such as error records, join a group of the other fields). Records of another
  /// build or kind of CPU are another group: no speedup crosses builds or machine kinds.
  std::string provenance;
  bool show_provenance = false;    ///< the records span several: the report names each
  std::optional<Record> baseline;  ///< the fastest verified seq record of the group
  std::vector<ReportRow> rows;
  std::vector<SeriesFit> fits;  ///< strong scaling series with 2+ distinct PE counts
};

/// Pools the records of one study point measured in several rounds (their "round" field) into
/// one row: all samples for its median and interval, each round's in round_samples. Then groups
/// records by (kernel, size, scaling, the variant where variants compute different
/// things, and the build and kind of CPU that measured them) in order of first appearance (weak
/// scaling by the size at 1 PE) and computes speedups against each group's best verified sequential
/// record.
std::vector<ReportGroup> analyse(const std::vector<Record>& records);

/// The report as CSV, one row per record (error records keep their row with empty cells):
/// kernel, size, backend, variant, threads, ranks, median and CI, verified, speedup,
/// efficiency, baseline variant and median, speedup interval, and the group's scaling,
/// comparable_as and provenance (build and CPU) with the record's oversubscribed flag.
std::string csv_report(const std::vector<ReportGroup>& groups);

/// The analysis as JSON (schema "pararun.analysis/1"): per group its baseline, one row per
/// record (times, speedup, efficiency, relative speedup, Karp-Flatt) and the model fits.
/// The plots read this; they recompute nothing.
Json analysis_json(const std::vector<ReportGroup>& groups);

/// The report as text tables, one per group, each headed by its baseline and absolute time.
std::string format_report(const std::vector<ReportGroup>& groups);

}  // namespace pararun
