#include "pararun/analysis.hpp"

#include "pararun/table.hpp"

namespace pararun {

namespace {

bool verified(const Json& r) {
  return r.value("status", "") == "ok";
}
double median_of(const Json& r) {
  return r.at("time").at("median").get<double>();
}

}  // namespace

std::vector<ReportGroup> analyse(const std::vector<Json>& records) {
  std::vector<ReportGroup> groups;
  for (const Json& r : records) {
    const std::string kernel = r.value("kernel", "");
    const std::uint64_t size = r.value("size", std::uint64_t{0});
    ReportGroup* g = nullptr;
    for (auto& candidate : groups)
      if (candidate.kernel == kernel && candidate.size == size) g = &candidate;
    if (!g) {
      groups.push_back({kernel, size, std::nullopt, {}});
      g = &groups.back();
    }
    g->rows.push_back({r, std::nullopt, std::nullopt});
    if (r.value("backend", "") == "seq" && verified(r) &&
        (!g->baseline || median_of(r) < median_of(*g->baseline)))
      g->baseline = r;
  }
  for (auto& g : groups) {
    if (!g.baseline) continue;
    const double base = median_of(*g.baseline);
    for (auto& row : g.rows) {
      if (!verified(row.record) || median_of(row.record) <= 0) continue;
      row.speedup = base / median_of(row.record);
      row.efficiency = *row.speedup / row.record.value("pes", 1);
    }
  }
  return groups;
}

std::string format_report(const std::vector<ReportGroup>& groups) {
  std::string out;
  for (const auto& g : groups) {
    if (!out.empty()) out += "\n";
    out += g.kernel + ", size " + std::to_string(g.size) + ": ";
    if (g.baseline)
      out += "speedup against the best verified sequential variant, " +
             g.baseline->value("variant", "") + " (seq), median " +
             format_seconds(median_of(*g.baseline)) + "\n";
    else
      out += "no verified sequential run, so no speedup\n";
    Table t({"backend", "variant", "threads", "ranks", "median", "95% CI", "rate", "verified",
             "speedup", "efficiency", "note"});
    for (const auto& row : g.rows) {
      const Json& r = row.record;
      const auto& ci = r.at("time").at("ci95");
      const bool flops = r.value("metric", "") == "gflops";
      const double rate = r.value(flops ? "gflops" : "gbytes_per_s", 0.0);
      std::string note;
      if (r.value("oversubscribed", false)) note = "oversubscribed: concurrency, not parallelism";
      t.add({r.value("backend", ""), r.value("variant", ""), std::to_string(r.value("threads", 0)),
             std::to_string(r.value("ranks", 0)), format_seconds(median_of(r)),
             format_seconds(ci[0].get<double>()) + " .. " + format_seconds(ci[1].get<double>()),
             format(flops ? "%.2f GFLOP/s" : "%.2f GB/s", rate), verified(r) ? "yes" : "FAILED",
             row.speedup ? format("%.2fx", *row.speedup) : "-",
             row.efficiency ? format("%.2f", *row.efficiency) : "-", note});
    }
    out += t.str();
  }
  return out;
}

}  // namespace pararun
