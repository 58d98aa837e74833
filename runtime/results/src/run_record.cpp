#include "pararun/run_record.hpp"

#include "pararun/metadata.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

Json run_record(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                const ExecContext& ctx, const RunOutcome& outcome) {
  Json meta = collect_metadata(
      ctx, {{"cpu_load", cpu_load(outcome.timings.cpu_before, outcome.timings.cpu_after)}});
  for (const auto& [key, version] : kernel.libraries()) meta["build"][key] = version;

  if (!ctx.is_root()) return Json::object();
  const Timings& t = outcome.timings;
  const Verification& v = outcome.verification;
  const std::uint64_t local_min = outcome.local_min, local_max = outcome.local_max;

  const Summary s = summarize(t.samples);
  const Work w = outcome.work ? *outcome.work : kernel.work(spec.problem, variant);
  Record rec;
  rec.kind = RecordKind::run;
  rec.kernel = kernel.name();
  rec.backend = to_string(ctx.backend);
  rec.variant = variant.name;
  rec.status = v.passed ? "ok" : "verification_failed";
  rec.scaling = spec.scaling;
  rec.point = spec.point;
  rec.problem = kernel.describe(spec.problem);
  if (!kernel.variants_compute_the_same()) rec.comparable_as = variant.name;
  rec.size = spec.problem.size;
  rec.base_size = spec.base_size;
  rec.threads = ctx.threads;
  rec.ranks = ctx.ranks;
  rec.pes = ctx.threads * ctx.ranks;
  // More PEs on a node than it has CPUs, or than their affinity masks allow (a hybrid rank
  // bound to one core by the launcher runs all its threads on that core).
  const NodeCpuUse node = busiest_node(meta["affinity"]);
  rec.oversubscribed = ctx.oversubscribed(online_cpus()) || node.cpus < node.pes;
  rec.time =
      TimeStats{s.median, s.min, s.max, s.mean, s.stddev, s.ci_low, s.ci_high, s.ci_coverage};
  const double per_s = s.median > 0 ? 1 / s.median : 0;
  const auto [rate, unit] = rate_of(kernel.metric(), w, s.median);
  rec.rate = Rate{rate, unit};

  Json& r = rec.json;
  r["size_meaning"] = kernel.size_meaning();
  r["size_per_rank"] = {{"min", local_min}, {"max", local_max}};
  // Work per processing element: a rank's share over its threads (the unit of size_per_rank).
  r["size_per_pe"] = static_cast<double>(local_max) / ctx.threads;
  r["seed"] = spec.problem.seed;
  if (spec.round > 0) r["round"] = spec.round;
  if (!spec.problem.input.empty()) r["input"] = spec.problem.input;
  r["ranks_per_node"] = ctx.ranks_per_node;
  r["node_cpu_use"] = {{"host", node.host}, {"pes", node.pes}, {"cpus_allowed", node.cpus}};
  r["warmup"] = spec.timing.warmup;
  // What the adaptive repetitions aimed at and whether they got there: a 95% interval of the
  // median no wider than ci_target of it.
  r["timing"] = {{"min_reps", spec.timing.min_reps},
                 {"max_reps", spec.timing.max_reps},
                 {"ci_confidence", kCiConfidence},
                 {"ci_target", spec.timing.ci_target},
                 {"ci_target_met", s.ci_coverage >= kCiConfidence &&
                                       s.ci_relative_width() <= spec.timing.ci_target}};
  r["reps"] = t.samples.size();
  r["samples"] = t.samples;
  r["imbalance"] = t.imbalance;
  r["imbalance_basis"] = t.imbalance_basis;
  // Phases the kernel marks (phases.hpp): each rank's total seconds over the timed reps, the
  // largest and the mean over ranks; and the mean share of run() spent communicating.
  Json phases = Json::object();
  const char* phase_names[kPhases] = {"compute", "communicate"};
  for (int p = 0; p < kPhases; ++p)
    if (t.phase_max[p] > 0)
      phases[phase_names[p]] = {{"max_seconds", t.phase_max[p]}, {"mean_seconds", t.phase_mean[p]}};
  r["phases"] = phases;
  r["communication_share"] = t.communication_share;
  r["rank_samples"] = t.rank_samples;
  // The work model: flops (for Mop/s kernels, the operations their benchmark counts) and
  // bytes, and both rates (the record's own rate is "rate").
  r["flops"] = w.flops;
  r["bytes"] = w.bytes;
  if (kernel.metric() != Metric::mops) r["gflops"] = w.flops * per_s * 1e-9;
  r["gbytes_per_s"] = w.bytes * per_s * 1e-9;
  r["verification"] = {{"status", v.passed ? "passed" : "failed"},
                       {"error", v.error},
                       {"tolerance", v.tolerance},
                       {"reference", v.reference}};
  Json results = Json::object();
  for (const auto& [key, value] : v.results) results[key] = value;
  r["results"] = results;
  Json config = Json::object();
  for (const auto& [key, value] : outcome.configuration) config[key] = value;
  r["config"] = config;
  r["baseline"] = nullptr;
  r["meta"] = std::move(meta);
  return to_json(rec);
}

}  // namespace pararun
