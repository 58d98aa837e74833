#include "pararun/runner.hpp"

#include <omp.h>

#include "pararun/errors.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

namespace {
constexpr std::pair<Fault, const char*> kFaultNames[] = {
    {Fault::none, "none"},   {Fault::output, "output"}, {Fault::rank, "rank"},
    {Fault::input, "input"}, {Fault::halo, "halo"},     {Fault::panel, "panel"}};
}  // namespace

std::string to_string(Fault f) {
  for (const auto& [fault, name] : kFaultNames)
    if (fault == f) return name;
  return "?";
}

std::optional<Fault> parse_fault(std::string_view name) {
  for (const auto& [fault, text] : kFaultNames)
    if (name == text) return fault;
  return std::nullopt;
}

std::string run_problem(const Kernel& kernel, const RunSpec& spec, const ExecContext& ctx) {
  if (!kernel.supports(ctx.backend))
    return "kernel '" + kernel.name() + "' does not support backend '" + to_string(ctx.backend) +
           "'";
  // (--threads is checked where it is read as well; OMP_NUM_THREADS only here: libgomp
  // crashed starting 100000 threads.)
  // (omp_get_max_threads() is an int: an OMP_NUM_THREADS of 2^31 or more came back as 0 or
  // negative, and the run crashed.)
  if (ctx.threads < 1) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    return "OMP_NUM_THREADS='" + std::string(env ? env : "") +
           "' is not a thread count from 1 to " + std::to_string(kMaxThreads);
  }
  if (ctx.threads > kMaxThreads)
    return std::to_string(ctx.threads) + " threads per rank is more than " +
           std::to_string(kMaxThreads) + " (OMP_NUM_THREADS, --threads or a study's --cores)";
  if (std::string why = kernel.check(spec.problem, ctx); !why.empty()) return why;
  const double per_rank = kernel.memory_per_rank(spec.problem, ctx.ranks);
  const double per_node = per_rank * ctx.ranks_per_node;
  const double available = static_cast<double>(available_memory_bytes());
  if (available > 0 && per_node > 0.9 * available)
    return "size " + std::to_string(spec.problem.size) + " needs about " + format_bytes(per_node) +
           " on this node (" + std::to_string(ctx.ranks_per_node) + " rank(s) x " +
           format_bytes(per_rank) + "), more than the " + format_bytes(0.9 * available) +
           " that can be used (90% of MemAvailable)";
  return {};
}

namespace {

/// The highest rank with a share of the problem (a fault in one rank's block must land where
/// there is a block); rank 0 when none has one. Collective.
int last_rank_with_data(const Instance& instance, const ExecContext& ctx) {
  int mine = instance.local_size() > 0 ? ctx.rank : 0, last = mine;
  if (ctx.comm != MPI_COMM_NULL) MPI_Allreduce(&mine, &last, 1, MPI_INT, MPI_MAX, ctx.comm);
  return last;
}

/// One verdict for all ranks, whatever each kernel's verify() combines: passed only if every
/// rank passed, the largest error (NaN when any rank's is NaN). Rank 0 writes the record, so
/// a failure only the last rank saw must reach it. Collective.
Verification agreed(Verification v, const ExecContext& ctx) {
  v.passed = ctx.max(v.passed ? 0.0 : 1.0) == 0.0;
  v.error = ctx.max(v.error);
  return v;
}

}  // namespace

RunOutcome execute(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                   const ExecContext& ctx) {
  omp_set_num_threads(ctx.threads);
  std::unique_ptr<Instance> instance;
  std::string problem;
  try {
    instance = kernel.setup(spec.problem, variant, ctx);
  } catch (const InputError& e) {
    problem = *e.what() ? e.what() : "the kernel refused its input";
  }
  // A setup that refused its input on some ranks only (a problem in their part of a file):
  // every rank ends alike (the others would wait in the run's first collective), and the
  // lowest of those ranks names the problem.
  agree(problem, ctx);
  const Fault f = spec.fault;
  if ((f == Fault::input || f == Fault::halo || f == Fault::panel) && !instance->arm_fault(f))
    throw InputError(
        "--inject-fault=" + to_string(f) + ": " + kernel.name() + " " + variant.name +
        " on backend " + to_string(ctx.backend) + " has no " + to_string(f) + " to corrupt" +
        (f == Fault::halo || f == Fault::panel ? " (one block, or not distributed)" : ""));
  RunOutcome out;
  out.timings = measure(*instance, ctx, spec.timing);
  if (f == Fault::output || (f == Fault::rank && ctx.rank == last_rank_with_data(*instance, ctx)))
    instance->inject_fault();
  out.verification = agreed(instance->verify(), ctx);
  out.configuration = instance->configuration();
  out.work = instance->work_done();
  std::uint64_t local = instance->local_size();
  out.local_min = out.local_max = local;
  if (ctx.comm != MPI_COMM_NULL) {
    MPI_Allreduce(&local, &out.local_min, 1, MPI_UINT64_T, MPI_MIN, ctx.comm);
    MPI_Allreduce(&local, &out.local_max, 1, MPI_UINT64_T, MPI_MAX, ctx.comm);
  }
  return out;
}

}  // namespace pararun
