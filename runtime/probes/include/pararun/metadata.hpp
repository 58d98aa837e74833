// The metadata every record carries (DESIGN.md): where, how and with what it ran.
#pragma once

#include "pararun/context.hpp"
#include "pararun/json.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

/// Build facts fixed at compile time: compiler, flags, build type, git commit, OpenMP and MPI
/// versions (the libraries a kernel uses are the kernel's: Kernel::libraries()), and the
/// running binary's "build_id" (executable_build_id) where the linker gave it one.
Json build_metadata();

/// The GNU build ID of the running executable (the linker's hash of its contents, as
/// `readelf -n` shows it), in hex; "" when it has none. Two binaries of one commit with
/// different edits (a "-dirty" commit rebuilt) have different IDs; the same code built the
/// same way has the same.
std::string executable_build_id();

/// What identifies this build (build_metadata without the run-time library versions): what
/// study.json and batch.json keep and error records carry.
Json build_identity();

/// A build_identity as one line: "commit C, build id I (12 digits), TYPE FLAGS".
std::string build_text(const Json& identity);

/// The refusal of a --resume into `dir`, whose records `then` (a build_identity) measured,
/// by this build (`now`): "'DIR' was measured by another build of pararun (...) than this one
/// (...): resuming would mix two builds' numbers in one table; ...".
std::string other_build_problem(const std::string& dir, const Json& then, const Json& now);

/// Everything about this run's environment. Collective for mpi/hybrid (gathers host names
/// and the CPU affinity of every thread of every rank); the full result is on rank 0.
/// `rank_facts` joins this rank's entry of "affinity" (run_record passes its "cpu_load").
/// With cpu_load on the ranks it also holds "host_load" and "disturbed" (host_load below),
/// and always "command" and "launcher" (sysinfo.hpp's command lines).
Json collect_metadata(const ExecContext& ctx, const Json& rank_facts = Json::object());

/// A rank's CPU use over the timed reps, from two cpu_times() samples: window_s (wall),
/// busy_s and steal_s (its machine's, over all CPUs), own_s (its process's), cpus (online).
Json cpu_load(const CpuTimes& before, const CpuTimes& after);

/// Whether others used the machines while the run was timed, from the ranks' "cpu_load" in
/// collect_metadata's "affinity". Per machine (ranks grouped by boot id, else host): the
/// window and the machine's busy and steal seconds are the largest any of its ranks saw, its
/// ranks' own seconds are summed; others_cpus = (busy - own) / window, steal_share = steal /
/// (window x cpus). A machine is disturbed when others kept >= kDisturbedCpus CPUs busy on
/// average or steal took >= kDisturbedSteal of its CPU time, in a window of at least
/// kJudgedWindow seconds and kJudgedWindowPerCpu per CPU of the machine (shorter windows are
/// a few clock ticks per CPU: not judged). Returns {"machines": [...], "disturbed": bool,
/// "why": text ("" when not)}.
inline constexpr double kDisturbedCpus = 0.25, kDisturbedSteal = 0.05, kJudgedWindow = 0.1,
                        kJudgedWindowPerCpu = 0.08;
Json host_load(const Json& affinity);

/// The node whose processing elements (threads of its ranks) have the fewest CPUs each to run
/// on, from collect_metadata's "affinity": how many PEs, and how many distinct CPUs their
/// affinity masks allow. cpus < pes: they share CPUs (a rank bound to one core running two
/// threads, or more ranks than cores) and the run measures concurrency, not parallelism.
struct NodeCpuUse {
  std::string host;  ///< its host name(s): several when "nodes" are one machine
  int pes = 0;
  int cpus = 0;
};
NodeCpuUse busiest_node(const Json& affinity);

/// OpenMP version from _OPENMP, e.g. "4.5 (201511)".
std::string openmp_version();

}  // namespace pararun
