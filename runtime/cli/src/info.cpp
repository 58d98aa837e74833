// pararun list and pararun info.
#include <omp.h>

#include <cstdio>
#include <map>

#include "commands.hpp"
#include "pararun/batch.hpp"
#include "pararun/ceilings.hpp"
#include "pararun/errors.hpp"
#include "pararun/launcher.hpp"
#include "pararun/metadata.hpp"
#include "pararun/mpi_session.hpp"
#include "pararun/process.hpp"
#include "pararun/registry.hpp"
#include "pararun/run_context.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

namespace pararun::app {

int list_command(bool json) {
  if (json) {  // for tools: every kernel with what it computes and every variant per backend
    Json out = Json::array();
    for (const Kernel* k : Registry::global().kernels()) {
      const auto [unused, unit] = rate_of(k->metric(), Work{1, 1}, 1);
      Json kernel = {{"name", k->name()},
                     {"summary", k->summary()},
                     {"size_meaning", k->size_meaning()},
                     {"rate_unit", unit},
                     {"variants_compute_the_same", k->variants_compute_the_same()},
                     {"named_sizes", Json::object()},
                     {"backends", Json::object()}};
      for (const auto& n : k->named_sizes()) kernel["named_sizes"][n.name] = n.size;
      if (!k->input_kind().empty()) kernel["input"] = k->input_kind();  // (what --input reads)
      for (Backend b : built_backends()) {
        Json variants = Json::array();
        for (const auto& v : k->variants_of(b))
          variants.push_back({{"name", v.name},
                              {"description", v.description},
                              {"default", variants.empty()},
                              {"in_studies", v.in_studies}});
        if (!variants.empty()) kernel["backends"][to_string(b)] = variants;
      }
      out.push_back(std::move(kernel));
    }
    std::printf("%s\n", json_text(out, 2).c_str());
    return kExitOk;
  }
  Table t({"kernel", "backend", "variant", "description"});
  for (const Kernel* k : Registry::global().kernels())
    for (Backend b : built_backends()) {
      bool first = true;
      for (auto& v : k->variants_of(b)) {
        t.add({k->name(), to_string(b), v.name, v.description + (first ? " (default)" : "")});
        first = false;
      }
    }
  std::fputs(t.str().c_str(), stdout);
  return kExitOk;
}

int launcher_command(const LauncherOptions& o) {
  if (o.launcher != "mpirun" && o.launcher != "srun")
    throw InputError("launcher must be mpirun or srun, got '" + o.launcher + "'");
  const auto backend = parse_backend(o.backend);
  if (!backend || !uses_mpi(*backend))
    throw InputError("--backend must be mpi or hybrid, got '" + o.backend + "'");
  if (o.ranks < 1 || o.ranks > 100000) throw InputError("--ranks must be 1 to 100000");
  if (o.threads < 1 || o.threads > kMaxThreads)
    throw InputError("--threads must be 1 to " + std::to_string(kMaxThreads));
  if (*backend == Backend::mpi && o.threads != 1)
    throw InputError("backend mpi runs 1 thread per rank; use --backend hybrid");
  if (o.cores < 0) throw InputError("--cores must be 1 or more");
  for (const auto& word : launcher_prefix(LaunchShape{*backend, o.ranks, o.threads}, o.launcher,
                                          o.cores ? o.cores : o.ranks * o.threads,
                                          o.inherit ? Placement::inherit : Placement::bind_cores))
    std::printf("%s\n", word.c_str());
  return kExitOk;
}

int info_command(bool json) {
  Json b = build_metadata();
  // The libraries the kernels use, each once (the kernels report them).
  std::map<std::string, std::string> libs;
  for (const Kernel* k : Registry::global().kernels())
    for (const auto& [key, version] : k->libraries()) libs[key] = version;
  for (const auto& [key, version] : libs) b[key] = version;
  Json backends = Json::array();  // what this build runs (no mpi without MPI, ...)
  for (Backend k : built_backends()) backends.push_back(to_string(k));
  Json j = {{"backends", backends},
            {"host", host_name()},
            {"cpu_model", cpu_model()},
            {"cores", online_cpus()},
            {"memory_available", available_memory_bytes()},
            {"openmp_max_threads", omp_get_max_threads()},
            {"data_dir", data_file("")},
            {"build", b}};
  if (json) {
    std::printf("%s\n", json_text(j, 2).c_str());
    return kExitOk;
  }
  auto line = [](const char* what, const std::string& value) {
    std::printf("%-11s %s\n", what, value.c_str());
  };
  line("host", host_name());
  line("cpu", cpu_model());
  line("cores", std::to_string(online_cpus()) + " usable (" + format_cpu_list(usable_cpus()) +
                    ": online, in this process's cpuset and start-up CPU affinity)");
  line("memory", format_bytes(static_cast<double>(available_memory_bytes())) + " available");
  line("compiler", b["compiler"]);
  line("flags", b["flags"]);
  line("build type", b["build_type"]);
  line("git commit", b["git_commit"]);
  line("build id", b.value("build_id", "none (the linker gave this binary none)"));
  std::string names;
  for (const auto& name : backends) names += (names.empty() ? "" : ", ") + name.get<std::string>();
  line("backends", names);
  line("MPI", b["mpi_library"]);
  line("OpenMP",
       b["openmp"].get<std::string>() + ", max threads " + std::to_string(omp_get_max_threads()));
  for (const auto& [key, version] : libs) line(key.c_str(), version);
  line("data files", data_file(""));
  return kExitOk;
}

int ceilings_command(int max_threads, const std::optional<std::string>& read_bytes_text,
                     bool json) {
  if (max_threads < 1 || max_threads > kMaxThreads)
    usage("--threads must be 1 to " + std::to_string(kMaxThreads) + ", got " +
          std::to_string(max_threads));
  std::size_t read_bytes = 0;  // 0: the rule (read_buffer_bytes())
  if (read_bytes_text) {
    const auto bytes = parse_bytes(*read_bytes_text);
    if (!bytes || *bytes < (std::uint64_t{2} << 20) || *bytes > (std::uint64_t{1} << 40))
      usage("--read-bytes must be a size from 2M (one huge page) to 1T, such as 64M or 4G, got '" +
            *read_bytes_text + "'");
    read_bytes = static_cast<std::size_t>(*bytes);
    // Both buffers are written before they are read: within half of what is available, as
    // the default keeps them within a quarter (more was a kill by the kernel, not a line).
    const std::uint64_t memory = available_memory_bytes();
    if (memory > 0 && 2 * *bytes > memory / 2)
      usage("--read-bytes " + *read_bytes_text +
            ": the two buffers read (on huge and on 4 KiB pages) need " +
            format_bytes(2.0 * static_cast<double>(*bytes)) + ", more than half of the " +
            format_bytes(static_cast<double>(memory)) + " available");
  }
  if (launcher_world_size() > 1)  // each rank would measure against the others, unsaid
    usage("ceilings runs on one process; start it without mpirun or srun");
  if (max_threads > 1 && !built_with_openmp())  // one thread would be reported as several
    usage("--threads " + std::to_string(max_threads) +
          ": this pararun was built without OpenMP (PARARUN_OPENMP=OFF) and reads with 1 thread");
  // (After the line above: a build without OpenMP has a "limit" of 1 thread of its own.)
  if (const std::string why = thread_limit_problem(max_threads); !why.empty()) usage(why);
  // Said before the measurement, on stderr (--json stays one document).
  const std::size_t read = read_bytes_for(read_bytes), uncached = uncached_read_bytes();
  if (read_bytes > 0 && read < uncached)
    std::fprintf(stderr,
                 "pararun: note: --read-bytes %s is less than 4x the last-level cache (%s): "
                 "the read bandwidth may come from the cache\n",
                 format_bytes(static_cast<double>(read)).c_str(),
                 format_bytes(static_cast<double>(uncached)).c_str());
  const auto ceilings = measure_ceilings(max_threads, read_bytes);
  if (json) {
    std::printf("%s\n", json_text(to_json(ceilings)).c_str());
    return kExitOk;
  }
  Table t({"threads", "FMA peak GFLOP/s", "read bandwidth GB/s (best)", "(median)",
           "(best, 4 KiB pages)"});
  for (const auto& c : ceilings)
    t.add({std::to_string(c.threads), format("%.1f", c.fma_gflops), format("%.1f", c.read_gbytes),
           format("%.1f", c.read_gbytes_median), format("%.1f", c.read_gbytes_small_pages)});
  std::fputs(t.str().c_str(), stdout);
  const std::string size = format_bytes(static_cast<double>(read));
  std::printf(
      "FMA: best of 3 runs of 16 independent FMA chains per thread. Read: best and median of\n"
      "20 passes of aligned vector loads over %s (%s; code of its own, not a kernel's)\n"
      "on huge pages, as kernel buffers get them; and over %s of 4 KiB pages, as tools that\n"
      "do not ask for huge pages (likwid-bench) read.\n",
      size.c_str(), read_bytes == 0 ? "4x the last-level cache, at least 512 MiB" : "--read-bytes",
      size.c_str());
  return kExitOk;
}

}  // namespace pararun::app
