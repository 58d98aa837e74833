// Study files: the options of `pararun study` as YAML, checked key by key.
//
//   kernels: [matmul, reduction]       # or one name
//   backends: [seq, omp, mpi]
//   threads: [1, 2]                    # or one number, or auto (the default: 1, 2, 4, ... cores)
//   ranks: [1, 2]                      # or auto
//   sizes: {matmul: 1024, reduction: 2^26}   # or one size for all kernels
//   scaling: strong                    # or weak
//   reps: 5
//   max_reps: 20
//   oversubscribed_ranks: 4
//   launcher: auto                     # auto, mpirun or srun
//   out: results/my-study
#include "pararun/study_options.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "yaml_file.hpp"

#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/parse.hpp"
#include "pararun/process.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

namespace {

/// A list that names an item twice is a mistake (a point twice, or a typo for another item):
/// refused, as duplicate sizes are.
void once_each(const std::vector<std::string>& items, const std::string& option) {
  std::set<std::string> seen;
  for (const auto& item : items)
    if (!seen.insert(item).second) throw InputError(option + " gives '" + item + "' twice");
}

std::vector<int> counts(const std::string& list, const std::string& option, int most) {
  std::vector<int> out;
  for (const auto& item : split(list)) {
    const auto v = parse_count(item);
    if (!v || *v < 1 || *v > static_cast<std::uint64_t>(most))
      throw InputError(option + " takes whole numbers of at least 1 (at most " +
                       std::to_string(most) + "), got '" + item + "'");
    out.push_back(static_cast<int>(*v));
  }
  if (out.empty()) throw InputError(option + " is empty");
  std::vector<std::string> texts;
  for (int v : out) texts.push_back(std::to_string(v));
  once_each(texts, option);
  return out;
}

}  // namespace

std::string scaling_counts(int cores) {
  std::string out = "1";
  int c = 2;
  for (; c <= cores && c <= (1 << 20); c *= 2) out += "," + std::to_string(c);
  if (cores > 1 && c / 2 != cores) out += "," + std::to_string(cores);
  return out;
}

StudySpec study_spec(const StudyOptions& o, int node_cores, int all_cores, bool quiet) {
  if (node_cores <= 0) node_cores = online_cpus();
  if (all_cores <= 0) all_cores = online_cpus();
  StudySpec spec;
  spec.kernels = split(o.kernels);
  once_each(spec.kernels, "--kernels");
  once_each(split(o.backends), "--backends");
  for (const auto& b : split(o.backends)) {
    const auto backend = parse_backend(b);
    if (!backend)
      throw InputError("unknown backend '" + b + "' in --backends; backends: " + backend_names());
    if (const std::string why = backend_unavailable(*backend); !why.empty())
      throw InputError(why + " (--backends " + o.backends + ")");
    spec.backends.push_back(*backend);
  }
  // As `pararun run` allows: 4096 threads per process; ranks x threads stays within an int.
  const bool auto_threads = o.threads == "auto", auto_ranks = o.ranks == "auto";
  spec.threads = counts(
      auto_threads ? scaling_counts(std::min({node_cores, kMaxThreads, omp_get_thread_limit()}))
                   : o.threads,
      "--threads", kMaxThreads);
  spec.ranks =
      counts(auto_ranks ? scaling_counts(std::min(all_cores, 100000)) : o.ranks, "--ranks", 100000);
  // Thread counts OMP_THREAD_LIMIT would cap: refused now, not as an error record per point.
  if (std::any_of(spec.backends.begin(), spec.backends.end(), uses_threads)) {
    for (int t : spec.threads)
      if (const std::string why = thread_limit_problem(t); !why.empty()) throw InputError(why);
    // A core budget runs omp on all of them (its hybrid shapes stay within the limit:
    // study_points leaves out those above it).
    if (std::find(spec.backends.begin(), spec.backends.end(), Backend::omp) != spec.backends.end())
      if (const std::string why = thread_limit_problem(o.cores, "--cores");
          o.cores > 0 && !why.empty())
        throw InputError(why);
  }
  // The default grid stays within the cores (a counted list given by hand is run as given).
  if (auto_threads && auto_ranks) spec.max_pes = all_cores;
  std::string unused;  // sizes of kernels the study leaves out
  for (const auto& item : split(o.sizes)) {
    const auto eq = item.find('=');
    const std::string kernel = eq == std::string::npos ? "" : item.substr(0, eq);
    const std::string value = eq == std::string::npos ? item : item.substr(eq + 1);
    // A class name (NPB's "S") means a size of that kernel; one for all kernels needs all of
    // them to know it.
    std::vector<std::string> kernels = {kernel};
    if (kernel.empty() && !parse_count(value)) kernels = spec.kernels;
    for (const auto& name : kernels) {
      const Kernel* k = Registry::global().find(name);
      const auto n = k ? k->parse_size(value) : parse_count(value);
      if (!n || *n == 0) {
        const std::string hint = !k                         ? ""
                                 : k->named_sizes().empty() ? " for kernel '" + name + "'"
                                                            : k->size_name_hint();
        throw InputError("--sizes: '" + value + "' " +
                         count_problem(value, " of at least 1" + hint));
      }
      // A size for a kernel the study leaves out is not used (the default sizes name
      // matmul and reduction); a kernel pararun does not have is a mistake.
      if (!name.empty() && !k)
        throw InputError("--sizes names kernel '" + name +
                         "', which pararun does not have; kernels: " + Registry::global().names());
      if (!name.empty() &&
          std::find(spec.kernels.begin(), spec.kernels.end(), name) == spec.kernels.end())
        unused += (unused.empty() ? "" : ", ") + name + "=" + value;
      const std::pair<std::string, std::uint64_t> size(name, *n);
      if (std::find(spec.sizes.begin(), spec.sizes.end(), size) != spec.sizes.end())
        throw InputError("--sizes gives " + (name.empty() ? "" : name + "=") + value + " twice");
      spec.sizes.push_back(size);
    }
  }
  spec.scaling = o.scaling;
  // The limits `pararun run` applies to every point: refused now, not point by point.
  if (o.reps < 1 || o.reps > 100000)
    throw InputError("--reps must be 1 to 100000, got " + std::to_string(o.reps));
  if (o.max_reps < 0 || o.max_reps > 100000)
    throw InputError("--max-reps must be up to 100000, got " + std::to_string(o.max_reps));
  // As `pararun run`: a cap below the repetitions asked for contradicts them.
  if (o.max_reps > 0 && o.max_reps < o.reps)
    throw InputError("--max-reps (" + std::to_string(o.max_reps) + ") is less than --reps (" +
                     std::to_string(o.reps) + ")");
  spec.reps = o.reps;
  spec.max_reps = o.max_reps > 0 ? o.max_reps : std::max(20, o.reps);
  // The oversubscribed point runs on one node on purpose: a handful of ranks per core shows
  // concurrency; thousands only exhaust the node.
  const int most = 16 * online_cpus();
  if (o.oversubscribed_ranks < 0 || o.oversubscribed_ranks > most)
    throw InputError("--oversubscribed-ranks must be 0 to " + std::to_string(most) +
                     " (16 per CPU it may use), got " + std::to_string(o.oversubscribed_ranks));
  spec.oversubscribed_ranks = o.oversubscribed_ranks;
  spec.variants = split(o.variants);
  once_each(spec.variants, "--variants");
  if (o.cores < 0 || o.cores > 100000)
    throw InputError("--cores must be 1 to 100000, got " + std::to_string(o.cores));
  spec.cores = o.cores;
  if (o.rounds < 1 || o.rounds > 1000)
    throw InputError("--rounds must be 1 to 1000, got " + std::to_string(o.rounds));
  spec.rounds = o.rounds;
  if (o.order != "auto" && o.order != "fixed" && o.order != "shuffled")
    throw InputError("--order must be fixed, shuffled or auto, got '" + o.order + "'");
  spec.shuffled = o.order == "shuffled" || (o.order == "auto" && o.rounds > 1);
  if (o.order_seed < 0)
    throw InputError("--order-seed must be 0 or more, got " + std::to_string(o.order_seed));
  spec.order_seed = static_cast<unsigned long long>(o.order_seed);
  // Said once the study is valid, as a likely slip for another kernel; not for the default
  // sizes, which name matmul and reduction for a study of either.
  if (!quiet && !unused.empty() && o.sizes != StudyOptions().sizes)
    std::fprintf(stderr, "pararun: warning: sizes not used (this study's kernels: %s): %s\n",
                 printable(o.kernels).c_str(), unused.c_str());
  return spec;
}

std::vector<Point> study_points(const StudySpec& spec) {
  try {
    return plan_points(spec, Registry::global());
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}

namespace {

using yaml::scalar;
using yaml::where;
using yaml::whole;

/// A scalar or a list of scalars, as the comma-separated text the flags take.
std::string list(const std::string& path, const std::string& key, const YAML::Node& v) {
  std::string out;
  for (const auto& item : yaml::items(path, key, v)) out += (out.empty() ? "" : ",") + item;
  return out;
}

}  // namespace

StudyOptions load_study_file(const std::string& path, StudyOptions o) {
  const YAML::Node root = yaml::load_map(path, "study file");
  yaml::check_keys(path, root);
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "kernels")
      o.kernels = list(path, key, v);
    else if (key == "backends")
      o.backends = list(path, key, v);
    else if (key == "threads")
      o.threads = list(path, key, v);
    else if (key == "ranks")
      o.ranks = list(path, key, v);
    else if (key == "scaling")
      o.scaling = scalar(path, key, v);
    else if (key == "launcher")
      o.launcher = scalar(path, key, v);
    else if (key == "out")
      o.out = scalar(path, key, v);
    else if (key == "reps")
      o.reps = whole(path, key, v);
    else if (key == "max_reps" || key == "cores") {
      // 0 stands for "not given" inside; written in a file it is a mistake (as on the command
      // line), and max_reps: 0 once meant a cap of reps.
      const int n = whole(path, key, v);
      (key == "cores" ? o.cores : o.max_reps) = n;
      if (n < 1)
        throw InputError(where(path, v) + "'" + key + "' must be 1 or more, got " + v.Scalar());
    } else if (key == "oversubscribed_ranks")
      o.oversubscribed_ranks = whole(path, key, v);
    else if (key == "variants")
      o.variants = list(path, key, v);
    else if (key == "rounds")
      o.rounds = whole(path, key, v);
    else if (key == "order")
      o.order = scalar(path, key, v);
    else if (key == "order_seed")
      o.order_seed = whole(path, key, v);
    else if (key == "sizes") {
      if (v.IsScalar()) {
        o.sizes = v.Scalar();
      } else if (v.IsMap() && v.size() > 0) {
        // kernel: size, or kernel: [size, size, ...] for several sizes of one kernel.
        o.sizes.clear();
        std::set<std::string> kernels;
        for (const auto& s : v) {
          if (!s.first.IsScalar() || !kernels.insert(s.first.Scalar()).second)
            throw InputError(where(path, s.first) + "'sizes' keys must be kernel names, each once");
          const std::string kernel = s.first.Scalar();
          for (const auto& n : split(list(path, "sizes." + kernel, s.second)))
            o.sizes += (o.sizes.empty() ? "" : ",") + kernel + "=" + n;
        }
      } else {
        throw InputError(where(path, v) +
                         "'sizes' must be one size or a map of kernel: size (or a list of sizes)");
      }
    } else {
      throw InputError(
          where(path, kv.first) + "unknown key '" + key +
          "'; keys: kernels, backends, variants, threads, ranks, cores, sizes, scaling, reps, "
          "max_reps, rounds, order, order_seed, oversubscribed_ranks, launcher, out");
    }
  }
  return o;
}

StudyOptions merge_study_options(const StudyOptions& file, const StudyOptions& flags,
                                 const std::function<bool(const std::string&)>& given) {
  StudyOptions merged = file;
  using S = StudyOptions;
  const std::pair<const char*, std::string S::*> texts[] = {
      {"--kernels", &S::kernels},   {"--backends", &S::backends}, {"--threads", &S::threads},
      {"--ranks", &S::ranks},       {"--sizes", &S::sizes},       {"--scaling", &S::scaling},
      {"--variants", &S::variants}, {"--launcher", &S::launcher}, {"--out", &S::out},
      {"--order", &S::order}};
  const std::pair<const char*, int S::*> numbers[] = {
      {"--reps", &S::reps},
      {"--max-reps", &S::max_reps},
      {"--oversubscribed-ranks", &S::oversubscribed_ranks},
      {"--cores", &S::cores},
      {"--rounds", &S::rounds}};
  for (const auto& [flag, field] : texts)
    if (given(flag)) merged.*field = flags.*field;
  for (const auto& [flag, field] : numbers)
    if (given(flag)) merged.*field = flags.*field;
  if (given("--order-seed")) merged.order_seed = flags.order_seed;
  if (given("--resume")) merged.resume = flags.resume;
  // Slurm settings come from the command line only.
  merged.partition = flags.partition;
  merged.site = flags.site;
  merged.time_limit = flags.time_limit;
  merged.max_parallel = flags.max_parallel;
  merged.dry_run = flags.dry_run;
  return merged;
}

}  // namespace pararun
