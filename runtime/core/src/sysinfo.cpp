#include "pararun/sysinfo.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

namespace pararun {

std::string machine_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

namespace {

/// The value of the first "key : value" line of /proc/cpuinfo whose key is `key`.
std::string cpuinfo_value(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
    if (k != key) continue;
    const auto start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

}  // namespace

std::string cpu_model() {
  const std::string model = cpuinfo_value("model name");
  return model.empty() ? "unknown" : model;
}

std::string cpu_identity() {
  std::string id = cpu_model();
  const std::string family = cpuinfo_value("cpu family"), model = cpuinfo_value("model");
  if (!family.empty()) id += ", family " + family + " model " + model;
  const std::vector<std::string> flags = cpu_flags();
  auto has = [&](const char* f) { return std::find(flags.begin(), flags.end(), f) != flags.end(); };
  id += has("avx512f") ? ", avx512f" : has("avx2") ? ", avx2" : ", no avx2";
  const long l1 = sysconf(_SC_LEVEL1_DCACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l1 > 0) id += ", L1d " + format_bytes(static_cast<double>(l1));
  if (l2 > 0) id += ", L2 " + format_bytes(static_cast<double>(l2));
  return id;
}

std::vector<std::string> cpu_flags() {
  std::istringstream in(cpuinfo_value("flags"));
  std::vector<std::string> out;
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

/// The fields of one /proc/self/mountinfo line that say where a cgroup hierarchy is: the
/// root of the mount within it, where it is mounted, its file system type and its options.
struct CgroupMount {
  std::string root, point, type, options;
};

std::vector<CgroupMount> cgroup_mounts(const std::string& mountinfo) {
  std::vector<CgroupMount> out;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    // "ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER_OPTIONS"
    std::istringstream in(line);
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    const auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string type = dash[1];
    if (type != "cgroup" && type != "cgroup2") continue;
    const auto unescape = [](const std::string& p) {  // octal escapes: a space is \040
      std::string out;
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] == '\\' && i + 3 < p.size() && p.find_first_not_of("01234567", i + 1) >= i + 4) {
          out += static_cast<char>((p[i + 1] - '0') * 64 + (p[i + 2] - '0') * 8 + (p[i + 3] - '0'));
          i += 3;
        } else {
          out += p[i];
        }
      }
      return out;
    };
    out.push_back({unescape(f[3]), unescape(f[4]), type, "," + dash[3] + ","});
  }
  return out;
}

}  // namespace

std::string cgroup_cpuset_of(const std::string& cgroup, const std::string& mountinfo,
                             const std::string& root) {
  const std::vector<CgroupMount> mounts = cgroup_mounts(mountinfo);
  std::string v1, v2;
  std::istringstream lines(cgroup);
  for (std::string line; std::getline(lines, line);) {  // "ID:CONTROLLERS:PATH"
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    const bool unified = line.compare(0, a + 1, "0:") == 0 && controllers == ",,";
    if (!unified && controllers.find(",cpuset,") == std::string::npos) continue;
    const std::string path = line.substr(b + 1);
    // The mount of this hierarchy whose root holds the cgroup (a container's mount shows its
    // own cgroup as the root; a bind mount of another cgroup's folder is passed over), else
    // the first (a container without its own cgroup namespace sees a path above its root).
    const auto holds = [&path](const CgroupMount& m) {
      return m.root == "/" || path == m.root || path.rfind(m.root + "/", 0) == 0;
    };
    const CgroupMount* mount = nullptr;
    for (const auto& m : mounts) {
      if (unified ? m.type != "cgroup2"
                  : m.type != "cgroup" || m.options.find(",cpuset,") == std::string::npos)
        continue;
      if (!mount || holds(m)) mount = &m;
      if (holds(m)) break;
    }
    if (mount) {
      const CgroupMount& m = *mount;
      // The cgroup's folder under the mount, then up to the mount's top for the nearest that
      // has a cpuset: a cgroup v2 leaf without the cpuset controller has the CPUs of the
      // nearest one above it.
      std::string rel = path;
      if (m.root != "/") rel = holds(m) ? path.substr(m.root.size()) : "";
      for (;;) {
        const std::string folder = root + m.point + rel;
        std::string cpus = unified ? first_line(folder + "/cpuset.cpus.effective")
                                   : first_line(folder + "/cpuset.effective_cpus");
        if (cpus.empty() && !unified) cpus = first_line(folder + "/cpuset.cpus");
        if (!cpus.empty()) {
          (unified ? v2 : v1) = cpus;
          break;
        }
        const auto slash = rel.find_last_of('/');
        if (rel.empty() || slash == std::string::npos) break;
        rel.erase(slash);
      }
    }
  }
  return v1.empty() ? v2 : v1;
}

namespace {

/// The CPU affinity this process was started with (taskset, srun --cpu-bind, mpirun's binding),
/// read before any library initialiser runs: libgomp's, with OMP_PROC_BIND set, narrows the
/// main thread's own affinity to its first place before main.
cpu_set_t g_start_affinity;
bool g_start_affinity_read = false;

void read_start_affinity(int, char**, char**) {
  CPU_ZERO(&g_start_affinity);
  g_start_affinity_read = sched_getaffinity(0, sizeof g_start_affinity, &g_start_affinity) == 0;
}

// .preinit_array runs in the executable before the shared libraries' initialisers (glibc's
// _dl_init), so libgomp's has not run yet. This file is linked into every pararun program
// (pararun_core is static). The linker refuses .preinit_array in a shared library: a build of
// pararun_core as one would need this entry moved into the executables.
__attribute__((section(".preinit_array"),
               used)) void (*const g_read_start_affinity)(int, char**,
                                                          char**) = read_start_affinity;

/// The CPU list of this process's cgroup cpuset (v1's cpuset controller, or v2's
/// cpuset.cpus.effective), "" when there is none to read.
std::string cgroup_cpuset() {
  const auto text = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  return cgroup_cpuset_of(text("/proc/self/cgroup"), text("/proc/self/mountinfo"), "");
}

}  // namespace

std::vector<int> usable_cpus_of(const std::string& online, const std::string& cpuset) {
  std::vector<int> cpus = parse_cpu_list(online);
  const std::vector<int> allowed = parse_cpu_list(cpuset);
  if (!allowed.empty()) {
    std::vector<int> both;
    std::set_intersection(cpus.begin(), cpus.end(), allowed.begin(), allowed.end(),
                          std::back_inserter(both));
    if (!both.empty()) cpus = both;
  }
  return cpus;
}

const std::vector<int>& node_cpus() {
  static const std::vector<int> cpus = [] {
    std::vector<int> c =
        usable_cpus_of(first_line("/sys/devices/system/cpu/online"), cgroup_cpuset());
    if (c.empty()) {  // (no sysfs)
      const long n = sysconf(_SC_NPROCESSORS_ONLN);
      for (int i = 0; i < std::max(1L, n); ++i) c.push_back(i);
    }
    return c;
  }();
  return cpus;
}

std::vector<int> start_affinity() {
  if (!g_start_affinity_read) read_start_affinity(0, nullptr, nullptr);  // (not run: no preinit)
  std::vector<int> cpus;
  if (!g_start_affinity_read) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &g_start_affinity)) cpus.push_back(c);
  return cpus;
}

const std::vector<int>& usable_cpus() {
  static const std::vector<int> cpus = [] {
    const std::vector<int> mine = start_affinity();
    std::vector<int> both;
    std::set_intersection(node_cpus().begin(), node_cpus().end(), mine.begin(), mine.end(),
                          std::back_inserter(both));
    return both.empty() ? node_cpus() : both;
  }();
  return cpus;
}

int online_cpus() {
  return static_cast<int>(usable_cpus().size());
}

std::string narrowed_cpus_note(const std::string& what) {
  if (usable_cpus() == node_cpus()) return "";
  return what + " runs on CPUs " + format_cpu_list(usable_cpus()) + " of " +
         format_cpu_list(node_cpus()) +
         ": the CPU affinity it was started with (taskset, a pinned parent)";
}

int node_cpu_count() {
  return static_cast<int>(node_cpus().size());
}

int machine_cpus() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

std::uint64_t available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return value * 1024;
  }
  return 0;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::vector<int> parse_cpu_list(const std::string& list) {
  std::vector<int> cpus;
  if (!list.empty() && list.back() == ',') return cpus;
  std::size_t i = 0;
  auto number = [&](int& v) {
    const std::size_t start = i;
    v = 0;
    while (i < list.size() && list[i] >= '0' && list[i] <= '9' && i - start < 6)
      v = v * 10 + (list[i++] - '0');
    return i > start;
  };
  while (i < list.size()) {
    int a = 0, b = 0;
    if (!number(a)) return {};
    b = a;
    if (i < list.size() && list[i] == '-' && (++i, !number(b))) return {};
    if (b < a) return {};
    for (int c = a; c <= b; ++c) cpus.push_back(c);
    if (i < list.size() && list[i++] != ',') return {};
  }
  return cpus;
}

std::string thread_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "unknown";
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return format_cpu_list(cpus);
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool parse_proc_stat_cpu(const std::string& line, double tick_s, double& busy, double& steal) {
  std::istringstream in(line);
  std::string label;
  if (!(in >> label) || label != "cpu") return false;
  // user nice system idle iowait irq softirq steal (guest time is inside user already).
  unsigned long long v[8] = {};
  int n = 0;
  while (n < 8 && in >> v[n]) ++n;
  if (n < 4) return false;
  busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6]) * tick_s;
  steal = static_cast<double>(v[7]) * tick_s;
  return true;
}

CpuTimes cpu_times() {
  CpuTimes t;
  t.wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    t.own = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  std::ifstream in("/proc/stat");
  std::string line;
  const long ticks = sysconf(_SC_CLK_TCK);
  if (std::getline(in, line) && ticks > 0)
    t.ok = parse_proc_stat_cpu(line, 1.0 / static_cast<double>(ticks), t.busy, t.steal);
  return t;
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789@%_+=:,./-") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string shell_command(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + shell_quote(a);
  return s;
}

namespace {

/// /proc/PID/cmdline's arguments (none when unreadable).
std::vector<std::string> arguments_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/cmdline", std::ios::binary);
  std::vector<std::string> out;
  for (std::string arg; std::getline(in, arg, '\0');) out.push_back(arg);
  return out;
}

/// /proc/PID/cmdline as shell words ("" when unreadable).
std::string command_line_of(const std::string& pid) {
  return shell_command(arguments_of(pid));
}

}  // namespace

std::string own_command_line() {
  return command_line_of("self");
}

std::vector<std::string> own_arguments() {
  return arguments_of("self");
}

std::string launcher_command_line() {
  if (const char* set = std::getenv("PARARUN_LAUNCH_COMMAND"); set && *set) return set;
  const std::string parent = command_line_of(std::to_string(getppid()));
  std::string first = parent.substr(0, parent.find(' '));
  first = first.substr(first.rfind('/') + 1);
  for (const char* launcher : {"mpirun", "mpiexec", "orterun", "prterun"})
    if (first == launcher) return parent;
  // srun's tasks are children of slurmstepd, which does not know srun's command line: the
  // step, as Slurm describes it.
  const char* job = std::getenv("SLURM_JOB_ID");
  const char* step = std::getenv("SLURM_STEP_ID");
  if (job && step) {
    const char* tasks = std::getenv("SLURM_STEP_NUM_TASKS");
    const char* nodes = std::getenv("SLURM_STEP_NODELIST");
    return std::string("srun (Slurm job ") + job + " step " + step +
           (tasks ? std::string(", ") + tasks + " tasks" : "") +
           (nodes ? std::string(" on ") + nodes : "") + ")";
  }
  return "";
}

}  // namespace pararun
