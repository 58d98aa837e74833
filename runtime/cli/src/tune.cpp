// pararun tune: time every setting a kernel offers on this machine, store the fastest.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "commands.hpp"
#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/mpi_session.hpp"
#include "pararun/parse.hpp"
#include "pararun/record.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/run_request.hpp"
#include "pararun/runner.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"
#include "pararun/tuning.hpp"

namespace pararun::app {

namespace {

std::string describe(const Tuning& t) {
  if (t.empty()) return "default";
  std::string out;
  for (const auto& [k, v] : t) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

}  // namespace

int tune_command(const TuneOptions& o) {
  const Kernel* kernel = Registry::global().find(o.kernel);
  if (!kernel) usage("unknown kernel '" + o.kernel + "'; kernels: " + Registry::global().names());
  const auto backend = parse_backend(o.backend);
  if (!backend || uses_mpi(*backend))
    usage("tune runs on one process: --backend seq or omp, got '" + o.backend + "'");
  if (const std::string why = backend_unavailable(*backend); !why.empty()) usage(why);
  if (!kernel->supports(*backend))
    usage("kernel '" + o.kernel + "' does not support backend '" + o.backend + "'");
  if (*backend == Backend::seq && o.threads != 1)
    usage("backend seq runs 1 thread; use -b omp for more");
  if (o.threads < 1 || o.threads > kMaxThreads)
    usage("--threads must be 1 to " + std::to_string(kMaxThreads));
  if (const std::string why = thread_limit_problem(o.threads); !why.empty()) usage(why);
  if (o.reps < 1 || o.reps > 1000) usage("--reps must be 1 to 1000");
  const auto size = kernel->parse_size(o.size);
  if (!size) usage("--size '" + o.size + "' " + count_problem(o.size));
  if (*size == 0) usage("--size must be at least 1");
  if (launched_by_mpi_launcher())
    usage(
        "tune runs on one process; start it without mpirun or srun (each rank would tune "
        "and write the file)");

  // The variants to tune: the one named, else every variant with settings, each key once.
  std::vector<VariantInfo> variants;
  std::set<std::string> keys;
  for (const auto& v : kernel->variants_of(*backend)) {
    if (!o.variant.empty() && v.name != o.variant) continue;
    std::vector<Tuning> candidates;
    try {
      candidates = kernel->tuning_candidates(v);
    } catch (const std::invalid_argument& e) {
      usage(e.what());
    }
    if (candidates.empty()) {
      if (!o.variant.empty()) usage(o.kernel + "/" + v.name + " has nothing to tune");
      continue;
    }
    if (keys.insert(kernel->tuning_key(v)).second) variants.push_back(v);
  }
  if (variants.empty())
    usage(o.variant.empty()
              ? "kernel '" + o.kernel + "' has nothing to tune"
              : "unknown variant '" + o.variant + "' for " + o.kernel + "/" + o.backend);

  const std::string path = tuning_file_path(o.file);
  // The default location's folder (~/.config/pararun) is made; a folder named is not.
  const char* env = std::getenv("PARARUN_TUNING");
  if (o.file.empty() && !(env && *env)) {
    const std::string problem = make_dirs(path.substr(0, path.find_last_of('/')));
    if (!problem.empty()) usage(problem);
  }
  if (const std::string problem = output_file_problem(path); !problem.empty()) usage(problem);
  if (const std::string problem = run_folder_file_problem(path); !problem.empty()) usage(problem);
  Json file = read_tuning_file(path);  // a bad file is named before any tuning

  RunSpec spec;
  spec.problem = {*size, 42};
  spec.timing = {1, o.reps, o.reps, 0.0, default_warmup_time()};
  const RunContext run(*backend, o.threads);
  if (const std::string problem = run_problem(*kernel, spec, run.ctx()); !problem.empty())
    usage(problem);
  const std::string cpu = cpu_identity();
  std::printf(
      "Tuning on %s, %s, size %s, %d thread(s), %d reps each in %d interleaved rounds (median "
      "of the rounds' medians), after %gs of warm-up\n",
      cpu.c_str(), o.backend.c_str(), o.size.c_str(), o.threads, o.reps, kTuneRounds,
      spec.timing.warmup_seconds);
  for (const auto& v : variants) {
    const TuningResult r = tune(*kernel, v, spec, run.ctx());
    const TuningTrial& best = r.trials[r.best];
    Table t({"setting", "median", best.unit, "vs default", "verified"});
    for (const auto& trial : r.trials)
      t.add({describe(trial.setting), format_seconds(trial.median), format("%.2f", trial.rate),
             format("%.3f", trial.rate / r.trials.front().rate),
             trial.verified ? "yes" : "FAILED"});
    std::printf("\n%s (variant %s), %zu settings:\n%s", r.key.c_str(), v.name.c_str(),
                r.trials.size(), t.str().c_str());
    if (!r.not_timed.empty()) {
      Table same({"setting", "runs as"});
      for (const auto& [setting, as] : r.not_timed)
        same.add({describe(setting), describe(r.trials[as].setting)});
      std::printf("%zu more run at size %s as a setting above, not timed again:\n%s",
                  r.not_timed.size(), o.size.c_str(), same.str().c_str());
    }
    if (!best.verified) {
      std::fprintf(stderr, "pararun: error: no setting of %s verified; nothing stored\n",
                   r.key.c_str());
      return kExitVerificationFailed;
    }
    const TuningTrial& fastest = r.trials[r.fastest];
    if (!r.trials.front().verified)  // nothing to measure it against: stored as it is
      std::printf("fastest: %s, %.2f %s; the default did not verify: stored\n",
                  describe(fastest.setting).c_str(), fastest.rate, fastest.unit.c_str());
    else if (r.fastest == 0)
      std::printf("best: the default, %.2f %s\n", best.rate, best.unit.c_str());
    else
      std::printf("fastest: %s, %.2f %s; against the default again: %.3fx%s\n",
                  describe(fastest.setting).c_str(), fastest.rate, fastest.unit.c_str(),
                  r.confirmed_speedup,
                  r.best == 0
                      ? format(", less than %.2fx: the default stays", kTuneMinSpeedup).c_str()
                      : ": stored");
    // Stored at once, on the file as it is now (another tune may have written it meanwhile),
    // under a lock of FILE.lock: two tunes storing at once each keep their entry (the later
    // rename dropped the other's). FILE is the one written: through the user's own links, so a
    // link to the file and the file itself take one lock. FILE.lock is removed while held
    // (open_locked locks only the file still at its name: a waiter makes a new one), so no
    // FILE.lock is left beside the tuning file; a file of that name with something in it is
    // not this lock's and stays.
    std::string problem;
    const std::string lock_path = own_link_target(path) + ".lock";
    const int lock = open_locked(lock_path, O_RDWR, &problem, 60);
    if (lock < 0)
      std::fprintf(stderr,
                   "pararun: warning: %s: a tune that stores at the same time may drop this "
                   "entry\n",
                   printable(problem).c_str());
    struct Unlock {
      int fd;
      const std::string& path;
      ~Unlock() {
        if (fd < 0) return;
        struct stat st {
        }, name{};  // (an empty file by that name: a user's link to one stays)
        if (fstat(fd, &st) == 0 && st.st_size == 0 && lstat(path.c_str(), &name) == 0 &&
            S_ISREG(name.st_mode) && is_file_at(fd, path))
          std::remove(path.c_str());
        ::close(fd);
      }
    } unlock{lock, lock_path};
    file = with_tuning(read_tuning_file(path), r, cpu,
                       o.backend + ", size " + o.size + ", " + std::to_string(o.threads) +
                           " thread(s), " + std::to_string(o.reps) + " reps");
    write_file_atomically(path, json_text(file, 2) + "\n");
    std::printf("stored in %s\n", printable(path).c_str());
  }
  // (A command to copy: the path quoted, "my $(x) file.json" stays one word and runs nothing.)
  std::printf("runs on this CPU use it (pararun run --tuning %s, or $PARARUN_TUNING)\n",
              shell_quote(path).c_str());
  return kExitOk;
}

}  // namespace pararun::app
