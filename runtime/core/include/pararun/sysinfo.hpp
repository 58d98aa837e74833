// Facts about the machine and process, for records and checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pararun {

std::string host_name();
/// This machine's boot id (/proc/sys/kernel/random/boot_id), "" when unreadable. Two "nodes"
/// with one boot id are one machine (the local Slurm cluster's nodes, containers on one host).
std::string machine_id();
std::string cpu_model();
/// The CPU as a tuning result must match it: "AMD EPYC, family 25 model 17, avx512f, L1d 32
/// KiB, L2 1 MiB" (model name, x86 family and model, the widest vector ISA, cache sizes).
std::string cpu_identity();
/// Online logical CPUs of the machine.
int online_cpus();
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

}  // namespace pararun
