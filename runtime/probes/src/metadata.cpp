#include "pararun/metadata.hpp"

#include <elf.h>
#include <link.h>
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "build_info.hpp"
#include "git_info.hpp"
#include "pararun/mpi_session.hpp"
#include "pararun/sysinfo.hpp"

extern char** environ;

namespace pararun {

namespace {

/// Every rank's string, on rank 0 (others get an empty vector).
std::vector<std::string> gather_strings(const std::string& mine, const ExecContext& ctx) {
  if (ctx.comm == MPI_COMM_NULL) return {mine};
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(ctx.is_root() ? ctx.ranks : 0), offsets(lens.size());
  MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, ctx.comm);
  int total = 0;
  for (std::size_t i = 0; i < lens.size(); ++i) {
    offsets[i] = total;
    total += lens[i];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, 0,
              ctx.comm);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < lens.size(); ++i)
    out.push_back(
        all.substr(static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(lens[i])));
  return out;
}

Json environment_settings() {
  Json env = Json::object();
  const char* prefixes[] = {"OMP_", "GOMP_", "OPENBLAS_", "OMPI_MCA_", "PARARUN_"};
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    for (const char* p : prefixes)
      if (kv.rfind(p, 0) == 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

Json slurm_settings() {
  const char* names[][2] = {{"job_id", "SLURM_JOB_ID"},
                            {"step_id", "SLURM_STEP_ID"},
                            {"array_job_id", "SLURM_ARRAY_JOB_ID"},
                            {"array_task_id", "SLURM_ARRAY_TASK_ID"},
                            {"partition", "SLURM_JOB_PARTITION"},
                            {"nodelist", "SLURM_JOB_NODELIST"},
                            {"cpus_per_task", "SLURM_CPUS_PER_TASK"}};
  Json s = Json::object();
  for (auto& [key, var] : names)
    if (const char* v = std::getenv(var)) s[key] = v;
  return s;
}

}  // namespace

std::string openmp_version() {
#ifndef _OPENMP
  return "none (built without OpenMP: PARARUN_OPENMP=OFF)";
#else
  const int d = _OPENMP;
  const char* v = d >= 202011   ? "5.1"
                  : d >= 201811 ? "5.0"
                  : d >= 201511 ? "4.5"
                  : d >= 201307 ? "4.0"
                  : d >= 201107 ? "3.1"
                                : "3.0 or older";
  return std::string(v) + " (" + std::to_string(d) + ")";
#endif
}

namespace {

/// executable_build_id, read once.
std::string read_build_id() {
  // The main program is the first object dl_iterate_phdr reports. Its NT_GNU_BUILD_ID note
  // is in a PT_NOTE segment: name "GNU", then the ID, each padded to the segment's alignment.
  std::string id;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const std::size_t align = ph.p_align == 8 ? 8 : 4;
          const auto pad = [align](std::size_t n) { return (n + align - 1) / align * align; };
          const auto* p = reinterpret_cast<const unsigned char*>(info->dlpi_addr + ph.p_vaddr);
          const unsigned char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const unsigned char* name = p + sizeof(ElfW(Nhdr));
            // (Padded from the note's start, as glibc reads them: the same with 4-byte
            // alignment, 4 bytes more after "GNU" with 8.)
            const unsigned char* desc = p + pad(sizeof(ElfW(Nhdr)) + note->n_namesz);
            if (desc + note->n_descsz > end) break;
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
                std::string(reinterpret_cast<const char*>(name), 4) == std::string("GNU", 4)) {
              auto& hex = *static_cast<std::string*>(out);
              char two[3];
              for (unsigned k = 0; k < note->n_descsz; ++k) {
                std::snprintf(two, sizeof two, "%02x", desc[k]);
                hex += two;
              }
              return 1;
            }
            p = desc + pad(note->n_descsz);
          }
        }
        return 1;  // the main program only
      },
      &id);
  return id;
}

}  // namespace

std::string executable_build_id() {
  static const std::string id = read_build_id();
  return id;
}

Json build_metadata() {
  Json b;
  b["pararun_version"] = PARARUN_VERSION;
  b["compiler"] = PARARUN_COMPILER;
  b["flags"] = PARARUN_CXX_FLAGS;
  b["build_type"] = PARARUN_BUILD_TYPE;
  b["git_commit"] = PARARUN_GIT_COMMIT;
  if (const std::string id = executable_build_id(); !id.empty()) b["build_id"] = id;
  b["openmp"] = openmp_version();
  b["mpi_library"] = mpi_library_version();
  return b;
}

Json build_identity() {
  const Json b = build_metadata();
  Json out = Json::object();
  for (const char* key :
       {"pararun_version", "git_commit", "build_id", "compiler", "flags", "build_type"})
    if (b.contains(key)) out[key] = b[key];
  return out;
}

std::string build_text(const Json& x) {
  if (!x.is_object() || x.empty()) return "a build that did not record itself";
  const auto text = [&x](const char* key) {
    const Json v = x.value(key, Json());
    return v.is_string() ? v.get<std::string>() : std::string("?");
  };
  return "commit " + text("git_commit") + ", build id " + text("build_id").substr(0, 12) + ", " +
         text("build_type") + " " + text("flags");
}

std::string other_build_problem(const std::string& dir, const Json& then, const Json& now) {
  return "'" + dir + "' was measured by another build of pararun (" + build_text(then) +
         ") than this one (" + build_text(now) +
         "): resuming would mix two builds' numbers in one table; choose a new output folder, "
         "or resume with that build";
}

Json cpu_load(const CpuTimes& before, const CpuTimes& after) {
  if (!before.ok || !after.ok) return Json();
  return {{"window_s", after.wall - before.wall},
          {"busy_s", after.busy - before.busy},
          {"steal_s", after.steal - before.steal},
          {"own_s", after.own - before.own},
          // /proc/stat's times are the machine's, whatever this process's cpuset
          {"cpus", machine_cpus()}};
}

namespace {

/// The machine a rank of collect_metadata's "affinity" ran on: its boot id where it names
/// one, else its host ("nodes" of one machine share its CPUs).
std::string machine_of(const Json& rank) {
  const std::string machine = rank.value("machine", "");
  return machine.empty() ? rank.value("host", "") : machine;
}

}  // namespace

Json host_load(const Json& affinity) {
  struct Machine {
    std::set<std::string> hosts;
    double window = 0, busy = 0, steal = 0, own = 0;
    int cpus = 0;
  };
  std::map<std::string, Machine> machines;
  for (const auto& rank : affinity) {
    const auto load = rank.find("cpu_load");
    if (load == rank.end() || !load->is_object()) continue;
    const std::string host = rank.value("host", "");
    Machine& m = machines[machine_of(rank)];
    m.hosts.insert(host);
    m.window = std::max(m.window, load->value("window_s", 0.0));
    m.busy = std::max(m.busy, load->value("busy_s", 0.0));
    m.steal = std::max(m.steal, load->value("steal_s", 0.0));
    m.own += load->value("own_s", 0.0);
    m.cpus = std::max(m.cpus, load->value("cpus", 0));
  }
  Json out = {{"machines", Json::array()}, {"disturbed", false}, {"why", ""}};
  std::string why;
  for (const auto& [id, m] : machines) {
    std::string names;
    for (const auto& h : m.hosts) names += (names.empty() ? "" : ",") + h;
    // /proc/stat counts in clock ticks (10 ms) per CPU: a window must be long enough that
    // the ticks of all CPUs cannot add up to kDisturbedCpus on their own.
    const bool judged = m.window >= std::max(kJudgedWindow, kJudgedWindowPerCpu * m.cpus);
    const double others = judged ? std::max(0.0, m.busy - m.own) / m.window : 0;
    const double steal = judged && m.cpus > 0 ? m.steal / (m.window * m.cpus) : 0;
    const bool disturbed = judged && (others >= kDisturbedCpus || steal >= kDisturbedSteal);
    out["machines"].push_back({{"hosts", names},
                               {"window_s", m.window},
                               {"cpus", m.cpus},
                               {"others_cpus", others},
                               {"steal_share", steal},
                               {"judged", judged},
                               {"disturbed", disturbed}});
    if (!disturbed) continue;
    char text[200];
    if (others >= kDisturbedCpus)
      std::snprintf(text, sizeof text, "other processes kept %.2f of %d CPU(s) busy on %s", others,
                    m.cpus, names.c_str());
    else
      std::snprintf(text, sizeof text, "the hypervisor stole %.0f%% of the CPU time on %s",
                    100 * steal, names.c_str());
    why += (why.empty() ? "" : "; ") + std::string(text);
  }
  out["disturbed"] = !why.empty();
  out["why"] = why;
  return out;
}

Json collect_metadata(const ExecContext& ctx, const Json& rank_facts) {
  // Affinity of every OpenMP thread of this rank, as the threads that run the kernel see it.
  std::vector<std::string> thread_cpus(static_cast<std::size_t>(ctx.threads));
#pragma omp parallel num_threads(ctx.threads)
  thread_cpus[static_cast<std::size_t>(omp_get_thread_num())] = thread_affinity();

  Json mine;
  mine["rank"] = ctx.rank;
  mine["host"] = host_name();
  mine["machine"] = machine_id();
  mine["threads"] = thread_cpus;
  for (const auto& [key, value] : rank_facts.items()) mine[key] = value;
  const auto all = gather_strings(json_text(mine), ctx);

  Json m;
  m["timestamp"] = utc_timestamp();
  m["cpu_model"] = cpu_model();
  m["cpu"] = cpu_identity();
  m["cores"] = node_cpu_count();      // the node's, which its ranks share
  m["cores_usable"] = online_cpus();  // rank 0's: those it was started on, within them
  m["build"] = build_metadata();
  std::set<std::string> hosts;
  Json affinity = Json::array();
  for (auto& s : all) {
    Json a = Json::parse(s);
    hosts.insert(a["host"].get<std::string>());
    affinity.push_back(std::move(a));
  }
  m["hosts"] = hosts;
  m["affinity"] = affinity;
  // Hosts that are one machine (the local cluster's "nodes") share its CPUs: the record is
  // then oversubscribed when their PEs together outnumber them (busiest_node).
  std::set<std::string> machines;
  for (const auto& a : affinity) machines.insert(a.value("machine", ""));
  m["hosts_share_machine"] = !machines.count("") && machines.size() < hosts.size();
  if (rank_facts.contains("cpu_load")) m["host_load"] = host_load(affinity);
  // How it was started: this process's command line and the launcher's (rank 0's view).
  m["command"] = own_command_line();
  m["launcher"] = launcher_command_line();
  m["env"] = environment_settings();
  m["slurm"] = slurm_settings();
  if (ctx.comm != MPI_COMM_NULL) {
    int level = 0;
    MPI_Query_thread(&level);
    m["mpi_thread_level"] = level == MPI_THREAD_MULTIPLE     ? "multiple"
                            : level == MPI_THREAD_SERIALIZED ? "serialized"
                            : level == MPI_THREAD_FUNNELED   ? "funneled"
                                                             : "single";
  }
  return m;
}

NodeCpuUse busiest_node(const Json& affinity) {
  // Ranks are grouped by machine (boot id) where they name one, else by host: "nodes" of one
  // machine share its CPUs.
  std::map<std::string, std::pair<int, std::set<int>>> nodes;  // machine -> (PEs, CPUs)
  std::set<std::string> unknown;  // machines with an affinity that could not be read
  std::map<std::string, std::set<std::string>> hosts_of;
  for (const auto& rank : affinity) {
    const std::string host = machine_of(rank);
    hosts_of[host].insert(rank.value("host", ""));
    auto& [pes, cpus] = nodes[host];
    for (const auto& t : rank["threads"]) {
      ++pes;
      const auto list = parse_cpu_list(t.is_string() ? t.get<std::string>() : "");
      if (list.empty()) unknown.insert(host);
      cpus.insert(list.begin(), list.end());
    }
  }
  NodeCpuUse worst;
  for (const auto& [host, use] : nodes) {
    if (unknown.count(host)) continue;
    const int cpus = static_cast<int>(use.second.size());
    // Fewer CPUs per PE is worse: compare cpus / pes without dividing.
    if (worst.pes == 0 ||
        static_cast<long>(cpus) * worst.pes < static_cast<long>(worst.cpus) * use.first) {
      std::string names;
      for (const auto& h : hosts_of[host]) names += (names.empty() ? "" : ",") + h;
      worst = {names, use.first, cpus};
    }
  }
  return worst;
}

}  // namespace pararun
