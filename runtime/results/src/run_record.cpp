#include "pararun/run_record.hpp"

#include "pararun/metadata.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

Json run_record(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                const ExecContext& ctx, const RunOutcome& outcome) {
  Json meta = collect_metadata(ctx);
  for (const auto& [key, version] : kernel.libraries()) meta["build"][key] = version;

  if (!ctx.is_root()) return Json::object();
  const Timings& t = outcome.timings;
  const Verification& v = outcome.verification;
  const std::uint64_t local_min = outcome.local_min, local_max = outcome.local_max;

  const Summary s = summarize(t.samples);
  const Work w = kernel.work(spec.problem, variant);
  Json r;
  r["schema"] = kRecordSchema;
  r["kernel"] = kernel.name();
  r["backend"] = to_string(ctx.backend);
  r["variant"] = variant.name;
  r["size"] = spec.problem.size;
  r["size_meaning"] = kernel.size_meaning();
  r["problem"] = kernel.describe(spec.problem);
  r["size_per_rank"] = {{"min", local_min}, {"max", local_max}};
  // Work per processing element: a rank's share over its threads (the unit of size_per_rank).
  r["size_per_pe"] = static_cast<double>(local_max) / ctx.threads;
  r["seed"] = spec.problem.seed;
  r["scaling"] = spec.scaling;
  if (!spec.point.empty()) r["point"] = spec.point;
  if (spec.base_size) r["base_size"] = spec.base_size;
  r["threads"] = ctx.threads;
  r["ranks"] = ctx.ranks;
  r["ranks_per_node"] = ctx.ranks_per_node;
  r["pes"] = ctx.threads * ctx.ranks;
  // More PEs on a node than it has CPUs, or than their affinity masks allow (a hybrid rank
  // bound to one core by the launcher runs all its threads on that core).
  const NodeCpuUse node = busiest_node(meta["affinity"]);
  r["node_cpu_use"] = {{"host", node.host}, {"pes", node.pes}, {"cpus_allowed", node.cpus}};
  r["oversubscribed"] = ctx.oversubscribed(online_cpus()) || node.cpus < node.pes;
  r["warmup"] = spec.timing.warmup;
  r["reps"] = t.samples.size();
  r["samples"] = t.samples;
  r["time"] = {{"median", s.median}, {"min", s.min},       {"max", s.max},
               {"mean", s.mean},     {"stddev", s.stddev}, {"ci95", {s.ci_low, s.ci_high}}};
  r["imbalance"] = t.imbalance;
  r["flops"] = w.flops;
  r["bytes"] = w.bytes;
  r["metric"] = kernel.metric() == Metric::gflops ? "gflops" : "gbytes_per_s";
  r["gflops"] = s.median > 0 ? w.flops / s.median * 1e-9 : 0.0;
  r["gbytes_per_s"] = s.median > 0 ? w.bytes / s.median * 1e-9 : 0.0;
  r["verification"] = {{"status", v.passed ? "passed" : "failed"},
                       {"error", v.error},
                       {"tolerance", v.tolerance},
                       {"reference", v.reference}};
  r["status"] = v.passed ? "ok" : "verification_failed";
  r["baseline"] = nullptr;
  r["meta"] = std::move(meta);
  return r;
}

}  // namespace pararun
