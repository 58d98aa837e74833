// pararun run: one kernel, one backend, one variant.
#include <omp.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <functional>
#include "commands.hpp"

#include "pararun/ceilings.hpp"
#include "pararun/errors.hpp"
#include "pararun/mpi_session.hpp"
#include "pararun/parse.hpp"
#include "pararun/record.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/run_record.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"
#include "pararun/tuning.hpp"

namespace pararun::app {

namespace {

constexpr int kMaxReps = 100000, kMaxWarmup = 10000, kMaxThreads = 4096;
constexpr double kMaxTimeLimit = 1e8;  // about 3 years; beyond, the wait's clock overflows

/// Ends the process (exit 3, one line) when it is still alive `seconds` after it was made.
class Watchdog {
 public:
  Watchdog(double seconds, int rank) {
    if (seconds <= 0) return;
    thread_ = std::thread([this, seconds, rank] {
      std::unique_lock<std::mutex> lock(mutex_);
      if (done_cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; }))
        return;
      std::fprintf(stderr,
                   "pararun: error on rank %d: the run took longer than --time-limit %g s (a "
                   "rank stopped or hung?); ending it\n",
                   rank, seconds);
      std::fflush(stderr);
      _exit(kExitRuntimeError);
    });
  }
  ~Watchdog() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

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

/// Every rank learns whether any rank has a problem; the lowest such rank prints its own.
void agree(const std::string& problem, const ExecContext& ctx) {
  int mine = problem.empty() ? ctx.ranks : ctx.rank, first = mine;
  if (ctx.comm != MPI_COMM_NULL) MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, ctx.comm);
  if (first == ctx.rank) usage_here(problem);
  if (first < ctx.ranks) throw UsageError(problem);
}

void print_table(const Json& r) {
  const std::string unit = r["rate"]["unit"];
  Table t({"kernel", "backend", "variant", "size", "threads", "ranks", "reps", "median",
           "CI of median", unit, "verified"});
  const auto& ci = r["time"]["ci"];
  t.add({r["kernel"], r["backend"], r["variant"], std::to_string(r["size"].get<std::uint64_t>()),
         std::to_string(r["threads"].get<int>()), std::to_string(r["ranks"].get<int>()),
         std::to_string(r["reps"].get<int>()), format_seconds(r["time"]["median"]),
         format_seconds(ci[0]) + " .. " + format_seconds(ci[1]),
         format("%.2f", r["rate"]["value"].get<double>()), r["status"] == "ok" ? "yes" : "FAILED"});
  std::fputs(t.str().c_str(), stdout);
  if (r.contains("problem")) std::printf("Problem: %s\n", r["problem"].get<std::string>().c_str());
  const double coverage = r["time"]["ci_coverage"];
  if (coverage >= kCiConfidence)
    std::printf("CI of the median: %.1f%% coverage (exact, order statistics of %d samples)\n",
                100 * coverage, r["reps"].get<int>());
  else
    std::printf(
        "CI of the median: only %.1f%% coverage with %d samples (6 give 95%%): not a "
        "95%% interval\n",
        100 * coverage, r["reps"].get<int>());
  const auto& v = r["verification"];
  const double err = v["error"].is_number() ? v["error"].get<double>() : NAN;
  std::printf("Verification %s: error %.3g %s tolerance %.3g (reference: %s)\n",
              r["status"] == "ok" ? "SUCCESSFUL" : "FAILED", err,
              r["status"] == "ok" ? "<=" : "exceeds", v["tolerance"].get<double>(),
              v["reference"].get<std::string>().c_str());
  if (r["ranks"].get<int>() > 1) {
    const bool phased = r.value("imbalance_basis", "run") == "compute phase";
    std::printf("Rank imbalance (max/mean of per-rank %s time): %.3f", phased ? "compute" : "run()",
                r["imbalance"].get<double>());
    if (phased)
      std::printf("; communication %.1f%% of run() (mean over ranks)",
                  100 * r.value("communication_share", 0.0));
    std::printf("\n");
  }
  if (r.contains("ceiling") && r["ceiling"].is_object())
    std::printf("%.0f%% of the measured %s (%.1f %s at %d PE(s))\n",
                100 * r["ceiling"]["fraction"].get<double>(),
                r["ceiling"]["kind"] == "fma_peak" ? "FMA peak" : "read bandwidth (median)",
                r["ceiling"]["value"].get<double>(), unit.c_str(), r["ceiling"]["pes"].get<int>());
  if (r["oversubscribed"].get<bool>() && r["meta"].value("hosts_share_machine", false))
    std::printf(
        "Oversubscribed: hosts %s are one machine, and their %d PE(s) share its %d CPU(s): "
        "this measures concurrency, not parallelism.\n",
        r["node_cpu_use"]["host"].get<std::string>().c_str(), r["node_cpu_use"]["pes"].get<int>(),
        r["node_cpu_use"]["cpus_allowed"].get<int>());
  else if (r["oversubscribed"].get<bool>())
    std::printf(
        "Oversubscribed: %d thread(s) x %d rank(s) per node on %d CPUs, of which their "
        "affinity allows %d: this measures concurrency, not parallelism.\n",
        r["threads"].get<int>(), r["ranks_per_node"].get<int>(), r["meta"]["cores"].get<int>(),
        r["node_cpu_use"]["cpus_allowed"].get<int>());
  if (const auto load = r["meta"].find("host_load");
      load != r["meta"].end() && load->value("disturbed", false))
    std::printf("Disturbed: %s while it was timed; these are not a quiet machine's times.\n",
                load->value("why", std::string()).c_str());
}

/// Applies the tuning stored for this variant on this CPU, if the variant has settings and
/// the file has one. Rank 0 decides (the environment, e.g. PARARUN_GEMM_*, may differ between
/// nodes) and every rank applies the same setting, only when all ranks run on the same kind
/// of CPU. Returns the file the setting came from ("" for none). Collective.
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
        if (t) setting = Json(*t).dump();
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

}  // namespace

int run_command(const RunOptions& o, std::optional<MpiSession>& mpi, int* argc, char*** argv) {
  // MPI starts first when it will be needed (main started it under a launcher), so that
  // every rank takes part in reporting bad input (see usage()).
  const auto backend = parse_backend(o.backend);
  if (!mpi && (launched_by_mpi_launcher() || (backend && uses_mpi(*backend))))
    mpi.emplace(argc, argv);

  const Kernel* kernel = Registry::global().find(o.kernel);
  if (!kernel) usage("unknown kernel '" + o.kernel + "'; kernels: " + Registry::global().names());
  if (!backend) usage("unknown backend '" + o.backend + "'; backends: " + backend_names());
  if (!kernel->supports(*backend))
    usage("kernel '" + o.kernel + "' does not support backend '" + o.backend +
          "'; it supports: " + supported_backends(*kernel));
  const auto variants = kernel->variants_of(*backend);
  const std::string vname = o.variant.empty() ? variants.front().name : o.variant;
  const auto variant = kernel->find_variant(*backend, vname);
  if (!variant)
    usage("unknown variant '" + vname + "' for " + o.kernel + "/" + o.backend +
          "; variants: " + variant_names(variants));

  RunSpec spec;
  std::optional<std::uint64_t> size;
  if (!o.size.empty()) {
    size = kernel->parse_size(o.size);
    if (!size)
      usage("--size '" + o.size + "' is not a whole number (e.g. 1024 or 2^26)" +
            kernel->size_name_hint());
    if (*size == 0) usage("--size must be at least 1");
  }
  if (!o.input.empty()) {  // the data, and so the size, come from the file
    if (kernel->input_kind().empty())
      usage("kernel '" + o.kernel + "' reads no input files; it generates its data from --seed");
    const std::uint64_t in_file = kernel->input_size(o.input);  // InputError: file and line
    if (size && *size != in_file)
      usage("--size " + o.size + " but '" + o.input + "' holds size " + std::to_string(in_file) +
            "; leave --size out with --input");
    size = in_file;
  }
  if (!size) usage("--size is required (or --input for a kernel that reads files)");
  const auto seed = parse_count(o.seed);
  if (!seed) usage("--seed '" + o.seed + "' is not a whole number");
  spec.problem = {*size, *seed, o.input};
  // Counts within reason: a billion repetitions is a typo, not a measurement.
  if (o.reps <= 0 || o.reps > kMaxReps)
    usage("--reps must be 1 to " + std::to_string(kMaxReps) + ", got " + std::to_string(o.reps));
  if (o.max_reps < 0 || o.max_reps > kMaxReps)
    usage("--max-reps must be up to " + std::to_string(kMaxReps) + ", got " +
          std::to_string(o.max_reps));
  if (o.warmup < 0 || o.warmup > kMaxWarmup)
    usage("--warmup must be 0 to " + std::to_string(kMaxWarmup) + ", got " +
          std::to_string(o.warmup));
  if (!(o.time_limit >= 0) || o.time_limit > kMaxTimeLimit)
    usage("--time-limit must be 0 (none) to " + format("%.0f", kMaxTimeLimit) + " seconds");
  if (o.max_reps != 0 && o.max_reps < o.reps)
    usage("--max-reps (" + std::to_string(o.max_reps) + ") is less than --reps (" +
          std::to_string(o.reps) + ")");
  if (!(o.ci_target >= 0)) usage("--ci-target must be 0 or more");
  spec.timing = {o.warmup, o.reps, o.max_reps ? o.max_reps : std::max(20, o.reps), o.ci_target};
  if (!o.inject_fault.empty()) {
    const auto fault = parse_fault(o.inject_fault);
    if (!fault || *fault == Fault::none)
      usage("--inject-fault must be output, rank, input, halo or panel, got '" + o.inject_fault +
            "'");
    spec.fault = *fault;
  }
  if (o.scaling != "none" && o.scaling != "strong" && o.scaling != "weak")
    usage("--scaling must be none, strong or weak, got '" + o.scaling + "'");
  spec.scaling = o.scaling;
  spec.point = o.point;
  if (o.round < 0 || o.round > 1000) usage("--round must be 0 to 1000");
  spec.round = o.round;
  if (!o.base_size.empty()) {
    const auto base = parse_count(o.base_size);
    if (!base) usage("--base-size '" + o.base_size + "' is not a whole number");
    spec.base_size = *base;
  }
  if (o.threads_given && (o.threads <= 0 || o.threads > kMaxThreads))
    usage("--threads must be 1 to " + std::to_string(kMaxThreads) + ", got " +
          std::to_string(o.threads));
  if (!uses_threads(*backend) && o.threads > 1)
    usage("backend '" + o.backend + "' runs 1 thread per process; use " +
          (uses_mpi(*backend) ? "hybrid" : "omp") + " for more threads");

  if (!uses_mpi(*backend) && mpi && mpi->size() > 1)
    usage("backend '" + o.backend + "' runs on one process, but " + std::to_string(mpi->size()) +
          " MPI ranks were launched; use mpi or hybrid");

  // A rank that stops (SIGSTOP) or hangs would keep the others, and mpirun, waiting forever:
  // every rank ends the run when it takes longer than the limit. Armed before the first
  // collective (the communicator's duplication, the agreements, the tuning broadcast).
  std::optional<Watchdog> watchdog;
  watchdog.emplace(o.time_limit, mpi ? mpi->rank() : 0);

  const RunContext run(*backend, o.threads_given ? o.threads : 0);
  const ExecContext& ctx = run.ctx();

  // Checks that need the rank count or the file system; all ranks agree on the outcome.
  agree(run_problem(*kernel, spec, ctx), ctx);
  // The record file must be neither the ceilings nor the tuning file.
  agree(ctx.is_root() && !o.out.empty()
            ? output_file_problem(o.out, {o.ceilings, tuning_file_path(o.tuning)})
            : "",
        ctx);
  // Only rank 0 writes the record, so only rank 0 reads the ceilings (a file that exists on
  // its node alone is fine); every rank learns whether it could.
  Json ceilings;
  std::string ceilings_problem;
  if (ctx.is_root() && !o.ceilings.empty())
    ceilings = read_ceilings_file(o.ceilings, &ceilings_problem);
  agree(ceilings_problem, ctx);
  const std::string tuning_file = apply_stored_tuning(*kernel, *variant, o.tuning, ctx);

  if (o.crash_rank >= 0 && ctx.rank == o.crash_rank) std::raise(SIGSEGV);  // fault injection
  const RunOutcome outcome = execute(*kernel, *variant, spec, ctx);
  Json record = run_record(*kernel, *variant, spec, ctx, outcome);
  if (ctx.is_root() && !tuning_file.empty()) record["config"]["tuning_file"] = tuning_file;
  watchdog.reset();  // the run is over: nothing may cut the record short
  if (ctx.is_root()) {
    if (!ceilings.is_null())
      record["ceiling"] = ceiling_fraction(ceilings, record["pes"], record["rate"]["unit"],
                                           record["rate"]["value"]);
    if (!o.out.empty()) append_record(o.out, record);
    if (o.json)
      std::printf("%s\n", record.dump().c_str());
    else
      print_table(record);
    std::fflush(stdout);
  }
  return outcome.verified() ? kExitOk : kExitVerificationFailed;
}

}  // namespace pararun::app
