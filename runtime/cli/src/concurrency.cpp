// pararun concurrency: concurrency is not parallelism, measured.
#include "concurrency.hpp"

#include <cstdio>

#include "commands.hpp"
#include "pararun/metadata.hpp"
#include "pararun/mpi_session.hpp"
#include "pararun/record.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

namespace pararun::app {

namespace {

using namespace pararun::concurrency;

constexpr int kMaxTasks = 1024;
// 250 times the default: a compute task of minutes. (Without a bound, 2^63 ran for ever.)
constexpr long long kMaxSteps = 10'000'000'000LL;

}  // namespace

int concurrency_command(const ConcurrencyOptions& o) {
  // Each task is a thread (threaded mode) and a file descriptor (event loop).
  if (o.tasks < 1 || o.tasks > kMaxTasks)
    usage("--tasks must be between 1 and " + std::to_string(kMaxTasks) + ", got " +
          std::to_string(o.tasks));
  if (o.steps < 0 || o.steps > kMaxSteps)
    usage("--steps must be 1 to " + std::to_string(kMaxSteps) + " (0: the default), got " +
          std::to_string(o.steps));
  if (o.reps < 1 || o.reps > 1000) usage("--reps must be 1 to 1000, got " + std::to_string(o.reps));
  if (launcher_world_size() > 1)  // each rank would measure against the others, unsaid
    usage("concurrency runs on one process; start it without mpirun or srun");
  if (!(o.wait_seconds >= 0) || o.wait_seconds > 60)
    usage("--wait must be between 0 and 60 seconds");
  if (!o.out.empty()) {
    if (std::string why = output_file_problem(o.out); !why.empty()) usage(why);
    if (std::string why = run_folder_file_problem(o.out, true); !why.empty()) usage(why);
    if (std::string why = records_file_problem(o.out); !why.empty()) usage(why);
  }

  Config config;
  config.tasks = o.tasks;
  config.wait_seconds = o.wait_seconds;
  if (o.steps > 0) config.compute_steps = static_cast<std::uint64_t>(o.steps);
  const int cpus = online_cpus();
  if (const std::string note = narrowed_cpus_note("concurrency"); !note.empty())
    std::fprintf(stderr, "pararun: note: %s\n", note.c_str());
  ExecContext ctx;  // metadata of this process, one thread
  const Json meta = collect_metadata(ctx);

  Table table(
      {"workload", "mode", "tasks", "median", "speedup", "CPUs seen by tasks", "what it shows"});
  bool all_ok = true;
  int surprises = 0;  // measurements that disagree with what the model predicts
  for (Workload w : kWorkloads) {
    const std::uint64_t steps = w == Workload::compute ? config.compute_steps : config.wait_steps;
    double sequential = 0;
    for (Mode m : kModes) {
      std::vector<double> samples;
      ModeResult last;
      bool ok = true;
      std::string problem;
      for (int rep = 0; rep < o.reps; ++rep) {
        last = run(w, m, config);
        samples.push_back(last.seconds);
        for (const auto& t : last.tasks) {
          if (!t.ok)
            ok = false, problem = t.error;
          else if (t.value != task_value(t.task, steps))
            ok = false, problem = "task " + std::to_string(t.task) + " computed a wrong value";
        }
      }
      all_ok &= ok;
      const Summary s = summarize(samples);
      if (m == Mode::sequential) sequential = s.median;
      const double speedup = s.median > 0 ? sequential / s.median : 0;
      const Reading reading = interpret(w, m, o.tasks, cpus, speedup);
      surprises += ok && !reading.as_expected;
      std::string cpus_seen;
      for (const auto& t : last.tasks)
        if (cpus_seen.find(t.cpus) == std::string::npos)
          cpus_seen += (cpus_seen.empty() ? "" : " ") + t.cpus;
      table.add({to_string(w), to_string(m), std::to_string(o.tasks), format_seconds(s.median),
                 ok ? format("%.2fx", speedup) : "FAILED", cpus_seen, ok ? reading.text : problem});

      const bool threaded = m == Mode::threads_one_core || m == Mode::threads_all_cores;
      Record r;
      r.kind = RecordKind::concurrency;
      r.kernel = "concurrency-" + to_string(w);
      r.backend = m == Mode::sequential ? "seq" : to_string(m);
      r.variant = to_string(m);
      r.status = ok ? "ok" : "verification_failed";
      r.size = static_cast<std::uint64_t>(o.tasks);
      r.threads = threaded ? o.tasks : 1;
      r.pes = m == Mode::threads_all_cores ? std::min(o.tasks, cpus) : 1;
      r.oversubscribed = (m == Mode::threads_one_core && o.tasks > 1) ||
                         (m == Mode::threads_all_cores && o.tasks > cpus);
      r.time =
          TimeStats{s.median, s.min, s.max, s.mean, s.stddev, s.ci_low, s.ci_high, s.ci_coverage};
      r.rate = Rate{s.median > 0 ? o.tasks / s.median : 0.0, "tasks/s"};
      Json& j = r.json;
      j["size_meaning"] = "tasks";
      j["reps"] = samples.size();
      j["samples"] = samples;
      j["speedup_vs_sequential"] = speedup;
      j["task_cpus"] = cpus_seen;
      j["explanation"] = reading.text;
      j["expected_speedup"] = reading.expected;
      j["as_expected"] = reading.as_expected;
      j["verification"] = {{"status", ok ? "passed" : "failed"},
                           {"error", ok ? 0.0 : 1.0},
                           {"tolerance", 0.0},
                           {"reference", "every task's value equals the sequential chain"}};
      j["config"] = {{"wait_seconds", config.wait_seconds},
                     {"compute_steps", config.compute_steps},
                     {"wait_steps", config.wait_steps}};
      j["meta"] = meta;
      if (!o.out.empty()) append_record(o.out, r);
    }
  }
  std::fputs(table.str().c_str(), stdout);
  std::printf(
      "%d CPUs online. Concurrency: dealing with many things at once (interleaved, even "
      "on one core).\nParallelism: doing many things at once (on several cores).\n",
      cpus);
  if (surprises > 0)
    std::printf(
        "%d measurement(s) disagree with the expectation (the row says which): a busy or "
        "throttled machine, or fewer CPUs than the affinity shows.\n",
        surprises);
  return all_ok ? kExitOk : kExitVerificationFailed;
}

}  // namespace pararun::app
