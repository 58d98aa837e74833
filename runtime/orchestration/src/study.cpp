#include "pararun/study.hpp"

#include "pararun/metadata.hpp"

#include "pararun/run_request.hpp"
#include "pararun/runner.hpp"
#include "pararun/sysinfo.hpp"

#include <omp.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>

namespace pararun {

namespace {

/// The sizes of `kernel`: those given for it by name, else those given for every kernel.
std::vector<std::uint64_t> sizes_for(const StudySpec& spec, const std::string& kernel) {
  std::vector<std::uint64_t> out;
  for (auto& [k, n] : spec.sizes)
    if (k == kernel) out.push_back(n);
  if (out.empty())
    for (auto& [k, n] : spec.sizes)
      if (k.empty()) out.push_back(n);
  if (out.empty()) throw std::invalid_argument("no size given for kernel '" + kernel + "'");
  return out;
}

}  // namespace

std::vector<Point> plan_points(const StudySpec& spec, const Registry& registry) {
  if (spec.kernels.empty()) throw std::invalid_argument("the study has no kernels");
  if (spec.backends.empty()) throw std::invalid_argument("the study has no backends");
  for (int t : spec.threads)
    if (t < 1)
      throw std::invalid_argument("thread counts must be at least 1, got " + std::to_string(t));
  for (int r : spec.ranks)
    if (r < 1)
      throw std::invalid_argument("rank counts must be at least 1, got " + std::to_string(r));
  if (spec.scaling != "strong" && spec.scaling != "weak")
    throw std::invalid_argument("scaling must be strong or weak, got '" + spec.scaling + "'");
  const bool weak = spec.scaling == "weak";
  std::vector<Point> points;
  for (const auto& name : spec.kernels) {
    const Kernel* k = registry.find(name);
    if (!k)
      throw std::invalid_argument("unknown kernel '" + name + "'; kernels: " + registry.names());
    for (const std::uint64_t base : sizes_for(spec, name)) {  // every size, all its points
      if (base == 0) throw std::invalid_argument("the size of '" + name + "' must be at least 1");
      if (weak && !k->weak_size(base, 2))
        throw std::invalid_argument("weak scaling is not defined for kernel '" + name + "'");
      auto add = [&](Backend b, const std::string& variant, int threads, int ranks) {
        Point p;
        p.kernel = name;
        p.variant = variant;
        p.backend = b;
        p.threads = threads;
        p.ranks = ranks;
        p.base_size = weak ? base : 0;
        const auto weak_n = weak ? k->weak_size(base, p.pes()) : base;
        if (!weak_n)
          throw std::invalid_argument("weak scaling of '" + name + "' is not defined for " +
                                      std::to_string(p.pes()) + " PEs");
        p.size = *weak_n;
        p.id = name + "/" + to_string(b) + "/" + variant + "/n" + std::to_string(p.size) + "/t" +
               std::to_string(threads) + "/r" + std::to_string(ranks);
        // What every process of the point would refuse (the kernel's own check, a rank's memory
        // beyond this node's) is refused now, before anything is launched.
        RunSpec run;
        run.problem = {p.size, kDefaultSeed};  // the seed every point runs with
        ExecContext ctx;
        ctx.backend = b;
        ctx.threads = threads;
        ctx.ranks = ranks;
        if (const std::string why = run_problem(*k, run, ctx); !why.empty())
          throw std::invalid_argument("point " + p.id + ": " + why);
        points.push_back(p);
      };
      // The thread and rank counts, or the shapes of the core budget.
      std::vector<int> threads = spec.threads, ranks = spec.ranks;
      std::vector<std::pair<int, int>> shapes;  // hybrid: ranks x threads
      if (spec.cores > 0) {
        threads = ranks = {spec.cores};
        // No process of more threads than one may run: kMaxThreads, OMP_THREAD_LIMIT (such a
        // shape ran only to fail, its point an error record; the auto counts stop there too).
        const int most = std::min(kMaxThreads, std::max(1, omp_get_thread_limit()));
        for (int r = 1; r <= spec.cores; ++r)
          if (spec.cores % r == 0 && spec.cores / r <= most) shapes.emplace_back(r, spec.cores / r);
      } else {
        for (int r : ranks)
          for (int t : threads)
            if (spec.max_pes == 0 || static_cast<long long>(r) * t <= spec.max_pes)
              shapes.emplace_back(r, t);
      }
      bool variant_used = spec.variants.empty();
      for (Backend b : spec.backends) {
        if (!k->supports(b))
          throw std::invalid_argument("kernel '" + name + "' does not support backend '" +
                                      to_string(b) + "'");
        std::vector<std::string> variants;
        for (const auto& v : k->variants_of(b))
          if (std::find(spec.variants.begin(), spec.variants.end(), v.name) != spec.variants.end())
            variants.push_back(v.name);
        if (spec.variants.empty()) variants = {k->variants_of(b).front().name};
        variant_used |= b != Backend::seq && !variants.empty();
        switch (b) {
          case Backend::seq:  // every sequential variant: the baseline is the best of them
            for (const auto& v : k->variants_of(b))
              if (v.in_studies) add(b, v.name, 1, 1);
            break;
          case Backend::omp:
            for (const auto& v : variants)
              for (int t : threads) add(b, v, t, 1);
            break;
          case Backend::mpi:
            for (const auto& v : variants) {
              for (int r : ranks) add(b, v, 1, r);
              if (spec.oversubscribed_ranks > 0) {
                add(b, v, 1, spec.oversubscribed_ranks);
                points.back().oversubscribe = true;
              }
            }
            break;
          case Backend::hybrid:
            for (const auto& v : variants)
              for (auto [r, t] : shapes) add(b, v, t, r);
            break;
        }
      }
      if (!variant_used) {
        std::string names;
        for (Backend b : spec.backends)
          if (b != Backend::seq)
            for (const auto& v : k->variants_of(b))
              names += std::string(names.empty() ? "" : ", ") + to_string(b) + "/" + v.name;
        std::string given;
        for (const auto& v : spec.variants) given += (given.empty() ? "" : ",") + v;
        throw std::invalid_argument("--variants " + given +
                                    ": no parallel backend of the study has one of them for '" +
                                    name + "'; its parallel variants: " +
                                    (names.empty() ? "none (the study runs seq only)" : names));
      }
    }
  }
  // The same point twice (e.g. an oversubscribed rank count already listed) runs once.
  std::set<std::string> seen;
  points.erase(std::remove_if(points.begin(), points.end(),
                              [&](const Point& p) { return !seen.insert(p.id).second; }),
               points.end());
  if (spec.rounds < 1) throw std::invalid_argument("rounds must be at least 1");
  if (spec.rounds == 1 && !spec.shuffled) return points;
  std::vector<Point> ordered;
  for (int round = 1; round <= spec.rounds; ++round) {
    std::vector<Point> these = points;
    for (auto& p : these)
      if (spec.rounds > 1) {
        p.round = round;
        p.id += "/round" + std::to_string(round);
      }
    if (spec.shuffled) {  // Fisher-Yates: the same order from the same seed on any library
      std::mt19937_64 rng(spec.order_seed * 1000003ULL + static_cast<unsigned long long>(round));
      for (std::size_t i = these.size(); i > 1; --i) std::swap(these[i - 1], these[rng() % i]);
    }
    ordered.insert(ordered.end(), these.begin(), these.end());
  }
  return ordered;
}

Json point_json(const Point& p) {
  return {{"id", p.id},           {"kernel", p.kernel}, {"backend", to_string(p.backend)},
          {"variant", p.variant}, {"size", p.size},     {"base_size", p.base_size},
          {"threads", p.threads}, {"ranks", p.ranks},   {"oversubscribe", p.oversubscribe},
          {"round", p.round}};
}

std::optional<Point> point_from_json(const Json& j) {
  try {
    Point p;
    p.id = j.at("id").get<std::string>();
    p.kernel = j.at("kernel").get<std::string>();
    const auto backend = parse_backend(j.at("backend").get<std::string>());
    if (!backend) return std::nullopt;
    p.backend = *backend;
    p.variant = j.at("variant").get<std::string>();
    p.size = j.at("size").get<std::uint64_t>();
    p.base_size = j.at("base_size").get<std::uint64_t>();
    p.threads = j.at("threads").get<int>();
    p.ranks = j.at("ranks").get<int>();
    p.oversubscribe = j.at("oversubscribe").get<bool>();
    p.round = j.at("round").get<int>();
    return p;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

Json study_manifest(const StudySpec& spec, const std::vector<Point>& points) {
  Json j;
  j["schema"] = "pararun.study/1";
  j["scaling"] = spec.scaling;
  j["reps"] = spec.reps;
  j["max_reps"] = spec.max_reps;
  if (!spec.variants.empty()) j["variants"] = spec.variants;
  if (spec.cores) j["cores"] = spec.cores;
  // How the points are ordered and repeated; "points" below is the run order itself.
  j["rounds"] = spec.rounds;
  j["order"] = spec.shuffled ? "shuffled" : "fixed";
  if (spec.shuffled) j["order_seed"] = spec.order_seed;
  Json ids = Json::array();
  for (const auto& p : points) ids.push_back(p.id);
  j["points"] = ids;
  // The build that measures them: a --resume by another build would mix two builds' numbers
  // in one table (prepare_study_dir refuses it).
  j["build"] = build_identity();
  return j;
}

std::vector<std::string> completed_points(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    if (r.verified() && !r.point.empty()) out.push_back(r.point);
  return out;
}

Record error_record(const Point& p, const std::string& scaling, std::uint64_t seed, int exit_code,
                    const std::string& log) {
  Record r;
  r.kind = RecordKind::error;
  r.kernel = p.kernel;
  r.backend = to_string(p.backend);
  r.variant = p.variant;
  r.status = "error";
  r.scaling = scaling;
  r.point = p.id;
  r.size = p.size;
  r.base_size = p.base_size;
  r.threads = p.threads;
  r.ranks = p.ranks;
  r.pes = p.pes();
  r.exit_code = exit_code;
  r.json["seed"] = seed;
  r.json["log"] = log;
  // The build and CPU of the study that recorded it: the report puts it with its study's
  // records, not with another build's.
  r.json["meta"] = {{"build", build_identity()}, {"cpu_model", cpu_model()}};
  return r;
}

std::vector<std::string> run_arguments(const Point& p, const StudySpec& spec,
                                       const std::string& results_file) {
  std::vector<std::string> a = {"run",        p.kernel,
                                "--backend",  to_string(p.backend),
                                "--variant",  p.variant,
                                "--size",     std::to_string(p.size),
                                "--reps",     std::to_string(spec.reps),
                                "--max-reps", std::to_string(std::max(spec.reps, spec.max_reps)),
                                "--scaling",  spec.scaling,
                                "--point",    p.id,
                                "--out",      results_file};
  if (uses_threads(p.backend)) a.insert(a.end(), {"--threads", std::to_string(p.threads)});
  if (p.base_size) a.insert(a.end(), {"--base-size", std::to_string(p.base_size)});
  if (p.round) a.insert(a.end(), {"--round", std::to_string(p.round)});
  return a;
}

std::vector<std::string> launcher_prefix(const Point& p, const std::string& launcher, int cores,
                                         Placement placement) {
  return launcher_prefix(LaunchShape{p.backend, p.ranks, p.threads}, launcher, cores, placement);
}

}  // namespace pararun
