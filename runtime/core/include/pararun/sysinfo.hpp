// Facts about the machine and process, for records and checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pararun {

/// The most threads per process any option accepts (more is a typo, and thousands of threads
/// crashed the OpenMP runtime: `ceilings -t 100000`).
constexpr int kMaxThreads = 4096;

std::string host_name();
/// This machine's boot id (/proc/sys/kernel/random/boot_id), "" when unreadable. Two "nodes"
/// with one boot id are one machine (the local Slurm cluster's nodes, containers on one host).
std::string machine_id();
std::string cpu_model();
/// The CPU as a tuning result must match it: "AMD EPYC, family 25 model 17, avx512f, L1d 32
/// KiB, L2 1 MiB" (model name, x86 family and model, the widest vector ISA, cache sizes).
std::string cpu_identity();
/// The "flags" of /proc/cpuinfo (avx2, avx512f, fma, ...), as the kernel names them.
std::vector<std::string> cpu_flags();
/// The logical CPUs of this node that the job may use: the online ones within this process's
/// cgroup cpuset (a Slurm allocation with ConstrainCores, a container), sorted. Shared by the
/// ranks of a node: what their PEs are counted against.
const std::vector<int>& node_cpus();
/// The CPUs this process was started on (its affinity before libgomp's OMP_PROC_BIND narrowed
/// the main thread's), sorted; empty when unreadable.
std::vector<int> start_affinity();
/// The logical CPUs this process may use: node_cpus() within the affinity it was started with
/// (`taskset -c 2,3`, `srun --cpu-bind`, a rank bound by mpirun), sorted; node_cpus() when
/// they share none. What a study, a batch or concurrency runs its children and threads on.
const std::vector<int>& usable_cpus();
/// The CPU list ("8-11") of the cpuset of the cgroup that `cgroup` (/proc/self/cgroup's text)
/// names, found through the cgroup mounts `mountinfo` (/proc/self/mountinfo's text) with files
/// read under `root` ("" but in tests): v1's cpuset hierarchy wherever it is mounted (also
/// with other controllers, `cpu,cpuset`), else v2's; the nearest cgroup above that has one
/// when this one has none (a v2 leaf without the cpuset controller). "" when none is found.
std::string cgroup_cpuset_of(const std::string& cgroup, const std::string& mountinfo,
                             const std::string& root);
/// The CPUs of the list `online` ("0-63") that the list `cpuset` ("8-11") holds; all of
/// `online` when `cpuset` is empty, malformed or shares none of them.
std::vector<int> usable_cpus_of(const std::string& online, const std::string& cpuset);
/// "" when usable_cpus() is node_cpus(); else one line saying that `what` (a study, a batch)
/// runs on the CPUs it was started on, which ones, and of which: a mask inherited unawares
/// (a parent pinned by libgomp) is not silent.
std::string narrowed_cpus_note(const std::string& what);
/// How many: the cores a run, a study or a batch may count on (usable_cpus().size()).
int online_cpus();
/// node_cpus().size(): what the PEs of all ranks on this node share.
int node_cpu_count();
/// The online logical CPUs of the whole machine, whatever this process's cpuset: what
/// /proc/stat's times are summed over.
int machine_cpus();
/// MemAvailable from /proc/meminfo in bytes (0 if unknown).
std::uint64_t available_memory_bytes();
/// The calling thread's CPU affinity as a list, e.g. "0-1" or "0,2".
std::string thread_affinity();
/// "0-3,6" from a sorted CPU list.
std::string format_cpu_list(const std::vector<int>& cpus);
/// The CPUs of a list such as "0-3,6" (the inverse of format_cpu_list); empty if malformed.
std::vector<int> parse_cpu_list(const std::string& list);
/// Human-readable byte count, e.g. "1.5 GiB".
std::string format_bytes(double bytes);
/// The current UTC time as ISO 8601, e.g. "2026-11-22T23:50:41Z".
std::string utc_timestamp();

/// CPU time so far, for telling whether others used the machine while a run was timed: the
/// machine's busy and stolen seconds summed over its CPUs (/proc/stat), this process's own
/// CPU seconds (all its threads, getrusage) and a steady wall clock. Differences of two samples
/// are what happened in between; `ok` is false when /proc/stat could not be read.
struct CpuTimes {
  double busy = 0, steal = 0, own = 0, wall = 0;
  bool ok = false;
};
CpuTimes cpu_times();
/// Parses the aggregate "cpu ..." line of /proc/stat (user nice system idle iowait irq softirq
/// steal ...) with ticks of `tick_s` seconds into busy (everything but idle, iowait and steal)
/// and steal seconds; false when the line is not one.
bool parse_proc_stat_cpu(const std::string& line, double tick_s, double& busy, double& steal);
/// The shell-quoted command line of this process (/proc/self/cmdline) and of the launcher
/// that started it: $PARARUN_LAUNCH_COMMAND when a study or batch set it, else the parent
/// process when it is mpirun, mpiexec, orterun or prterun, else the Slurm step that srun
/// started ("srun (Slurm job J step S, N tasks on NODES)"); "" when none is known.
std::string own_command_line();
/// This process's arguments, argv[0] first (/proc/self/cmdline; empty when unreadable).
std::vector<std::string> own_arguments();
std::string launcher_command_line();
/// `word` as one POSIX shell word, whatever it holds: as it is when it is made of letters,
/// digits and @%_+=:,./- only, else in single quotes ('it'\''s').
std::string shell_quote(const std::string& word);
/// The words quoted and joined by spaces: a command line a shell runs as `args`.
std::string shell_command(const std::vector<std::string>& args);

}  // namespace pararun
