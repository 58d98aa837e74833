// Speedup against the best sequential variant of the same study.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pararun/record.hpp"

namespace pararun {

struct ReportRow {
  Json record;
  std::optional<double> speedup;     ///< baseline median / this median (verified rows only)
  std::optional<double> efficiency;  ///< speedup / processing elements
};

struct ReportGroup {
  std::string kernel;
  std::uint64_t size = 0;
  std::optional<Json> baseline;  ///< the fastest verified seq record of the group
  std::vector<ReportRow> rows;
};

/// Groups records by (kernel, size) in order of first appearance and computes speedups
/// against each group's best verified sequential record.
std::vector<ReportGroup> analyse(const std::vector<Json>& records);

/// The report as text tables, one per group, each headed by its baseline and absolute time.
std::string format_report(const std::vector<ReportGroup>& groups);

}  // namespace pararun
