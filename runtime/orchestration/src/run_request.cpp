#include "pararun/run_request.hpp"

#include <omp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "pararun/errors.hpp"
#include "pararun/parse.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"
#include "pararun/tuning.hpp"

namespace pararun {

namespace {

constexpr int kMaxReps = 100000, kMaxWarmup = 10000;
// An hour of warm-up is a typo, not a warm-up. The default, 1 s: on a 2-vCPU Zen 5 VM the
// first 0.3 s of one thread ran 1.25x slower and up to the first 0.6 s of two threads 3x
// slower (BENCHMARKS.md, session 15).
constexpr double kMaxWarmupTime = 3600, kDefaultWarmupTime = 1;

[[noreturn]] void refuse(const std::string& what) {
  throw InputError(what);
}

std::string variant_names(const std::vector<VariantInfo>& vs) {
  std::string out;
  for (auto& v : vs) out += (out.empty() ? "" : ", ") + v.name;
  return out;
}

std::string supported_backends(const Kernel& k) {
  std::string out;
  for (Backend b : kAllBackends)
    if (k.supports(b)) out += (out.empty() ? "" : ", ") + to_string(b);
  return out;
}

/// Counts within reason: a billion repetitions is a typo, not a measurement.
TimingPolicy checked_timing(const RunRequest& o) {
  if (o.reps <= 0 || o.reps > kMaxReps)
    refuse("--reps must be 1 to " + std::to_string(kMaxReps) + ", got " + std::to_string(o.reps));
  if (o.max_reps < 0 || o.max_reps > kMaxReps)
    refuse("--max-reps must be up to " + std::to_string(kMaxReps) + ", got " +
           std::to_string(o.max_reps));
  if (o.warmup < 0 || o.warmup > kMaxWarmup)
    refuse("--warmup must be 0 to " + std::to_string(kMaxWarmup) + ", got " +
           std::to_string(o.warmup));
  if (o.warmup_time && (!(*o.warmup_time >= 0) || *o.warmup_time > kMaxWarmupTime))
    refuse("--warmup-time must be 0 to " + format("%.0f", kMaxWarmupTime) + " seconds, got " +
           format("%g", *o.warmup_time));
  if (!(o.time_limit >= 0) || o.time_limit > kMaxTimeLimit)
    refuse("--time-limit must be 0 (none) to " + format("%.0f", kMaxTimeLimit) + " seconds");
  if (o.max_reps != 0 && o.max_reps < o.reps)
    refuse("--max-reps (" + std::to_string(o.max_reps) + ") is less than --reps (" +
           std::to_string(o.reps) + ")");
  if (!(o.ci_target >= 0)) refuse("--ci-target must be 0 or more");
  // (warmup_seconds: agreed_warmup_time, once the ranks can agree on the environment's.)
  return {o.warmup, o.reps, o.max_reps ? o.max_reps : std::max(20, o.reps), o.ci_target};
}

}  // namespace

double agreed_warmup_time(const RunRequest& o, const ExecContext& ctx) {
  if (o.warmup_time) return *o.warmup_time;  // the command line: the same on every rank
  if (o.warmup == 0) return 0;               // --warmup 0: no warm-up at all
  double seconds = 0;
  std::string problem;
  try {
    seconds = default_warmup_time();
  } catch (const InputError& e) {
    problem = e.what();
  }
  agree(problem, ctx);
  // Rank 0's: the environment may differ between nodes.
  if (ctx.comm != MPI_COMM_NULL) MPI_Bcast(&seconds, 1, MPI_DOUBLE, 0, ctx.comm);
  return seconds;
}

double default_warmup_time() {
  const char* v = std::getenv("PARARUN_WARMUP_TIME");
  if (!v) return kDefaultWarmupTime;
  char* end = nullptr;
  const double seconds = std::strtod(v, &end);
  if (end == v || *end != '\0' || !(seconds >= 0) || seconds > kMaxWarmupTime)
    refuse("PARARUN_WARMUP_TIME must be a number of seconds from 0 to " +
           format("%.0f", kMaxWarmupTime) + ", got '" + v + "'");
  return seconds;
}

ResolvedRun resolve_run(const RunRequest& o, int launched_ranks) {
  ResolvedRun r;
  r.kernel = Registry::global().find(o.kernel);
  const Kernel* kernel = r.kernel;
  if (!kernel) refuse("unknown kernel '" + o.kernel + "'; kernels: " + Registry::global().names());
  const auto backend = parse_backend(o.backend);
  if (!backend) refuse("unknown backend '" + o.backend + "'; backends: " + backend_names());
  r.backend = *backend;
  if (const std::string why = backend_unavailable(*backend); !why.empty()) refuse(why);
  if (!kernel->supports(*backend))
    refuse("kernel '" + o.kernel + "' does not support backend '" + o.backend +
           "'; it supports: " + supported_backends(*kernel));
  const auto variants = kernel->variants_of(*backend);
  const std::string vname = o.variant.empty() ? variants.front().name : o.variant;
  const auto variant = kernel->find_variant(*backend, vname);
  if (!variant)
    refuse("unknown variant '" + vname + "' for " + o.kernel + "/" + o.backend +
           "; variants: " + variant_names(variants));
  r.variant = *variant;

  RunSpec& spec = r.spec;
  std::optional<std::uint64_t> size;
  if (!o.size.empty()) {
    size = kernel->parse_size(o.size);
    if (!size)
      refuse("--size '" + o.size + "' " +
             count_problem(o.size, " (e.g. 1024 or 2^26)" + kernel->size_name_hint()));
    if (*size == 0) refuse("--size must be at least 1");
  }
  if (!o.input.empty()) {  // the data, and so the size, come from the file
    if (kernel->input_kind().empty())
      refuse("kernel '" + o.kernel + "' reads no input files; it generates its data from --seed");
    const std::uint64_t in_file = kernel->input_size(o.input);  // InputError: file and line
    if (size && *size != in_file)
      refuse("--size " + o.size + " but '" + o.input + "' holds size " + std::to_string(in_file) +
             "; leave --size out with --input");
    size = in_file;
  }
  if (!size) refuse("--size is required (or --input for a kernel that reads files)");
  const auto seed = parse_count(o.seed);
  if (!seed) refuse("--seed '" + o.seed + "' " + count_problem(o.seed));
  spec.problem = {*size, *seed, o.input};
  spec.timing = checked_timing(o);
  if (!o.inject_fault.empty()) {
    const auto fault = parse_fault(o.inject_fault);
    if (!fault || *fault == Fault::none)
      refuse("--inject-fault must be output, rank, input, halo or panel, got '" + o.inject_fault +
             "'");
    spec.fault = *fault;
  }
  if (o.scaling != "none" && o.scaling != "strong" && o.scaling != "weak")
    refuse("--scaling must be none, strong or weak, got '" + o.scaling + "'");
  spec.scaling = o.scaling;
  spec.point = o.point;
  if (o.round < 0 || o.round > 1000) refuse("--round must be 0 to 1000");
  spec.round = o.round;
  if (!o.base_size.empty()) {
    const auto base = parse_count(o.base_size);
    if (!base) refuse("--base-size '" + o.base_size + "' " + count_problem(o.base_size));
    spec.base_size = *base;
  }
  if (o.threads_given && (o.threads <= 0 || o.threads > kMaxThreads))
    refuse("--threads must be 1 to " + std::to_string(kMaxThreads) + ", got " +
           std::to_string(o.threads));
  // OMP_THREAD_LIMIT caps every team below it: the record would claim threads that never ran.
  if (o.threads_given && uses_threads(*backend))
    if (const std::string why = thread_limit_problem(o.threads); !why.empty()) refuse(why);
  if (!uses_threads(*backend) && o.threads > 1)
    refuse("backend '" + o.backend + "' runs 1 thread per process; use " +
           (uses_mpi(*backend) ? "hybrid" : "omp") + " for more threads");
  if (!uses_mpi(*backend) && launched_ranks > 1)
    refuse("backend '" + o.backend + "' runs on one process, but " +
           std::to_string(launched_ranks) + " MPI ranks were launched; use mpi or hybrid");
  return r;
}

std::string apply_stored_tuning(const Kernel& kernel, const VariantInfo& variant,
                                const std::string& given, const ExecContext& ctx) {
  const std::string path = tuning_file_path(given);
  std::string problem, setting = "null";
  if (ctx.is_root()) {
    bool tunable = false;
    try {
      tunable = !kernel.tuning_candidates(variant).empty();
    } catch (const std::invalid_argument&) {  // the environment overrides every setting
    }
    struct stat st {};
    if (!given.empty() && stat(given.c_str(), &st) != 0)
      problem = "tuning file '" + given + "' does not exist (make it with 'pararun tune')";
    else if (tunable)
      try {
        const auto t =
            stored_tuning(read_tuning_file(path), kernel.tuning_key(variant), cpu_identity());
        if (t) setting = json_text(Json(*t));
      } catch (const InputError& e) {
        problem = e.what();
      }
  }
  agree(problem, ctx);
  if (ctx.comm != MPI_COMM_NULL) {
    int length = static_cast<int>(setting.size());
    MPI_Bcast(&length, 1, MPI_INT, 0, ctx.comm);
    setting.resize(static_cast<std::size_t>(length));
    MPI_Bcast(setting.data(), length, MPI_CHAR, 0, ctx.comm);
    // A setting made for rank 0's CPU is no setting for another kind of CPU.
    const auto id = static_cast<unsigned long long>(std::hash<std::string>{}(cpu_identity()));
    unsigned long long low = id, high = id;
    MPI_Allreduce(&id, &low, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, ctx.comm);
    MPI_Allreduce(&id, &high, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, ctx.comm);
    if (low != high) setting = "null";
  }
  const Json j = Json::parse(setting);
  if (j.is_null()) return {};
  std::string bad;
  try {
    kernel.apply_tuning(variant, j.get<Tuning>());
  } catch (const std::invalid_argument& e) {
    bad = "tuning file '" + path + "': " + e.what();
  }
  agree(bad, ctx);  // the same setting everywhere: every rank fails alike
  return path;
}

}  // namespace pararun
