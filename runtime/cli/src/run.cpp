// pararun run: one kernel, one backend, one variant.
#include <csignal>
#include <cstdio>
#include <optional>

#include "commands.hpp"
#include "pararun/ceilings.hpp"
#include "pararun/files.hpp"
#include "pararun/run_context.hpp"
#include "pararun/run_record.hpp"
#include "pararun/run_request.hpp"
#include "pararun/tuning.hpp"
#include "pararun/watchdog.hpp"

namespace pararun::app {

int run_command(const RunOptions& o, std::optional<MpiSession>& mpi, int* argc, char*** argv) {
  // MPI starts first when it will be needed (main started it under a launcher), so that
  // every rank takes part in reporting bad input (main prints it once).
  const auto backend = parse_backend(o.backend);
  if (!mpi && (launched_by_mpi_launcher() || (backend && uses_mpi(*backend))))
    mpi.emplace(argc, argv);
  // Armed before the first collective (the agreement on the request below, the
  // communicator's duplication, the tuning broadcast): a rank that stops or hangs (in its
  // input file's stalled mount) ends the run. A --time-limit out of range is refused below.
  std::optional<Watchdog> watchdog;
  watchdog.emplace(o.time_limit >= 0 && o.time_limit <= kMaxTimeLimit ? o.time_limit : 0,
                   mpi ? mpi->rank() : 0);
  // Each rank checks the request where it runs (an input file on one node only, one rank's
  // OMP_THREAD_LIMIT): a rank that refused alone left the others waiting in the first
  // collective, so every rank learns of it before any other.
  ResolvedRun r;
  if (mpi) {
    std::string problem;
    try {
      r = resolve_run(o, mpi->size());
    } catch (const InputError& e) {
      problem = e.what();
    }
    ExecContext world;
    world.comm = MPI_COMM_WORLD, world.rank = mpi->rank(), world.ranks = mpi->size();
    agree(problem, world);
  } else {
    r = resolve_run(o, 1);
  }

  const RunContext run(r.backend, o.threads_given ? o.threads : 0);
  const ExecContext& ctx = run.ctx();

  // Checks that need the rank count or the file system; all ranks agree on the outcome.
  agree(run_problem(*r.kernel, r.spec, ctx), ctx);
  r.spec.timing.warmup_seconds = agreed_warmup_time(o, ctx);
  // The record file must be neither the input, the ceilings nor the tuning file; nor, unless
  // this run is a study's or batch's own point (--point), a file of such a folder other than
  // its results.jsonl (a line appended to its study.json or batch.json broke the folder); nor
  // a file that holds no record (records_file_problem).
  std::string out_problem;
  if (ctx.is_root() && !o.out.empty()) {
    out_problem = output_file_problem(o.out, {o.input, o.ceilings, tuning_file_path(o.tuning)});
    if (out_problem.empty() && o.point.empty()) out_problem = run_folder_file_problem(o.out, true);
    if (out_problem.empty()) out_problem = records_file_problem(o.out);
  }
  agree(out_problem, ctx);
  // Only rank 0 writes the record, so only rank 0 reads the ceilings (a file that exists on
  // its node alone is fine); every rank learns whether it could.
  Json ceilings;
  std::string ceilings_problem;
  if (ctx.is_root() && !o.ceilings.empty())
    ceilings = read_ceilings_file(o.ceilings, &ceilings_problem);
  agree(ceilings_problem, ctx);
  const std::string tuning_file = apply_stored_tuning(*r.kernel, r.variant, o.tuning, ctx);

  if (o.crash_rank >= 0 && ctx.rank == o.crash_rank) std::raise(SIGSEGV);  // fault injection
  const RunOutcome outcome = execute(*r.kernel, r.variant, r.spec, ctx);
  Json record = run_record(*r.kernel, r.variant, r.spec, ctx, outcome);
  if (ctx.is_root() && !tuning_file.empty()) record["config"]["tuning_file"] = tuning_file;
  watchdog.reset();  // the run is over: nothing may cut the record short
  if (ctx.is_root()) {
    if (!ceilings.is_null())
      record["ceiling"] = ceiling_fraction(ceilings, record["pes"], record["rate"]["unit"],
                                           record["rate"]["value"]);
    if (!o.out.empty()) append_record(o.out, record);
    if (o.json)
      std::printf("%s\n", json_text(record).c_str());
    else
      std::fputs(run_summary(record).c_str(), stdout);
    std::fflush(stdout);
  }
  return outcome.verified() ? kExitOk : kExitVerificationFailed;
}

}  // namespace pararun::app
