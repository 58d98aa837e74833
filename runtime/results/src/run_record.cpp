#include "pararun/run_record.hpp"

#include "pararun/metadata.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

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
  rec.oversubscribed = ctx.oversubscribed(node_cpu_count()) || node.cpus < node.pes;
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
  // The untimed repetitions run, what they took, and what was asked of them (--warmup,
  // --warmup-time).
  r["warmup"] = t.warmup_reps;
  r["warmup_seconds"] = t.warmup_seconds;
  // What the adaptive repetitions aimed at and whether they got there: a 95% interval of the
  // median no wider than ci_target of it.
  r["timing"] = {{"warmup_min_reps", spec.timing.warmup},
                 {"warmup_min_seconds", spec.timing.warmup_seconds},
                 {"min_reps", spec.timing.min_reps},
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

std::string run_summary(const Json& r) {
  const std::string unit = r["rate"]["unit"];
  Table t({"kernel", "backend", "variant", "size", "threads", "ranks", "reps", "median",
           "CI of median", unit, "verified"});
  const auto& ci = r["time"]["ci"];
  t.add({r["kernel"], r["backend"], r["variant"], std::to_string(r["size"].get<std::uint64_t>()),
         std::to_string(r["threads"].get<int>()), std::to_string(r["ranks"].get<int>()),
         std::to_string(r["reps"].get<int>()), format_seconds(r["time"]["median"]),
         format_seconds(ci[0]) + " .. " + format_seconds(ci[1]),
         format("%.2f", r["rate"]["value"].get<double>()), r["status"] == "ok" ? "yes" : "FAILED"});
  std::string out = t.str();
  if (r.contains("problem")) out += "Problem: " + r["problem"].get<std::string>() + "\n";
  const double coverage = r["time"]["ci_coverage"];
  if (coverage >= kCiConfidence)
    out += format("CI of the median: %.1f%% coverage (exact, order statistics of %d samples)\n",
                  100 * coverage, r["reps"].get<int>());
  else
    out += format(
        "CI of the median: only %.1f%% coverage with %d samples (6 give 95%%): not a "
        "95%% interval\n",
        100 * coverage, r["reps"].get<int>());
  const auto& v = r["verification"];
  const double err = v["error"].is_number() ? v["error"].get<double>() : NAN;
  out += format("Verification %s: error %.3g %s tolerance %.3g (reference: %s)\n",
                r["status"] == "ok" ? "SUCCESSFUL" : "FAILED", err,
                r["status"] == "ok" ? "<=" : "exceeds", v["tolerance"].get<double>(),
                v["reference"].get<std::string>().c_str());
  if (r["ranks"].get<int>() > 1) {
    const bool phased = r.value("imbalance_basis", "run") == "compute phase";
    out += format("Rank imbalance (max/mean of per-rank %s time): %.3f",
                  phased ? "compute" : "run()", r["imbalance"].get<double>());
    if (phased)
      out += format("; communication %.1f%% of run() (mean over ranks)",
                    100 * r.value("communication_share", 0.0));
    out += "\n";
  }
  if (r.contains("ceiling") && r["ceiling"].is_object())
    out +=
        format("%.0f%% of the measured %s (%.1f %s at %d PE(s))\n",
               100 * r["ceiling"]["fraction"].get<double>(),
               r["ceiling"]["kind"] == "fma_peak" ? "FMA peak" : "read bandwidth (median)",
               r["ceiling"]["value"].get<double>(), unit.c_str(), r["ceiling"]["pes"].get<int>());
  if (r["oversubscribed"].get<bool>() && r["meta"].value("hosts_share_machine", false))
    out += format(
        "Oversubscribed: hosts %s are one machine, and their %d PE(s) share its %d CPU(s): "
        "this measures concurrency, not parallelism.\n",
        r["node_cpu_use"]["host"].get<std::string>().c_str(), r["node_cpu_use"]["pes"].get<int>(),
        r["node_cpu_use"]["cpus_allowed"].get<int>());
  else if (r["oversubscribed"].get<bool>())
    out += format(
        "Oversubscribed: %d thread(s) x %d rank(s) per node on %d CPUs, of which their "
        "affinity allows %d: this measures concurrency, not parallelism.\n",
        r["threads"].get<int>(), r["ranks_per_node"].get<int>(), r["meta"]["cores"].get<int>(),
        r["node_cpu_use"]["cpus_allowed"].get<int>());
  if (const auto load = r["meta"].find("host_load");
      load != r["meta"].end() && load->value("disturbed", false))
    out += "Disturbed: " + load->value("why", std::string()) +
           " while it was timed; these are not a quiet machine's times.\n";
  return out;
}

}  // namespace pararun
