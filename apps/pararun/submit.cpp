// pararun submit: a study as a Slurm job array (one task per point, each on whole nodes)
// plus an aggregation job (--dependency=afterany) that writes the report.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "commands.hpp"
#include "pararun/study.hpp"
#include "study_common.hpp"

namespace pararun::app {

namespace {

struct Partition {
  std::string name;
  int nodes = 0, cpus = 0;  ///< node count, CPUs of its smallest node
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string command_line(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += (s.empty() ? "" : " ") + quote(a);
  return s;
}

Partition query_partition(const std::string& wanted) {
  for (char c : wanted)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      usage("--partition '" + wanted + "' is not a partition name");
  // One line per node and partition: "NAME PARTITION CPUS", the default partition marked '*'.
  const auto out = capture_output({"sinfo", "-h", "-N", "-o", "%N %P %c"});
  if (!out) usage("sinfo failed: is slurmctld reachable (SLURM_CONF, scontrol ping)?");
  Partition p;
  std::set<std::string> nodes;
  for (const auto& line : split(*out, '\n')) {
    const auto f = split(line, ' ');
    if (f.size() < 3) continue;
    std::string name = f[1];
    const bool is_default = !name.empty() && name.back() == '*';
    if (is_default) name.pop_back();
    if (wanted.empty() ? !is_default : name != wanted) continue;
    p.name = name;
    if (nodes.insert(f[0]).second) {
      const int cpus = std::atoi(f[2].c_str());
      p.cpus = p.cpus == 0 ? cpus : std::min(p.cpus, cpus);
    }
  }
  p.nodes = static_cast<int>(nodes.size());
  if (p.nodes == 0)
    usage(wanted.empty() ? std::string("this Slurm cluster has no default partition; name one with "
                                       "--partition")
                         : "Slurm has no partition '" + wanted + "' (see sinfo)");
  return p;
}

/// Whole nodes a point needs on `part`; usage error when the partition cannot hold it.
int nodes_for(const Point& p, const Partition& part) {
  const auto where = "point " + p.id + " needs ";
  const auto have = "; partition " + part.name + " has " + std::to_string(part.nodes) +
                    " node(s) of " + std::to_string(part.cpus) + " CPUs";
  if (p.threads > part.cpus)
    usage(where + std::to_string(p.threads) + " threads on one node" + have);
  if (p.oversubscribe || !uses_mpi(p.backend)) return 1;
  const int ranks_per_node = part.cpus / p.threads;
  const int nodes = (p.ranks + ranks_per_node - 1) / ranks_per_node;
  if (nodes > part.nodes)
    usage(where + std::to_string(nodes) + " nodes (" + std::to_string(p.ranks) + " ranks x " +
          std::to_string(p.threads) + " threads)" + have);
  return nodes;
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char buf[4096];
  return std::string(getcwd(buf, sizeof buf) ? buf : ".") + "/" + path;
}

std::string sbatch_header(const std::string& name, const std::string& output,
                          const std::string& partition, const std::string& time) {
  std::string s = "#!/bin/bash\n#SBATCH --job-name=" + name + "\n#SBATCH --output=" + output +
                  "\n#SBATCH --time=" + time + "\n";
  if (!partition.empty()) s += "#SBATCH --partition=" + partition + "\n";
  return s;
}

}  // namespace

int submit_command(const StudyOptions& o) {
  const StudySpec spec = study_spec(o);
  const std::vector<Point> points = study_points(spec);
  if (o.max_parallel < 1) usage("--max-parallel must be at least 1");
  if (o.time_limit.empty() || o.time_limit.find_first_not_of("0123456789:-") != std::string::npos)
    usage("--time '" + o.time_limit + "' is not a Slurm time (MINUTES, HH:MM:SS or D-HH:MM:SS)");
  if (!on_path("sbatch"))
    usage(
        "sbatch is not on PATH: no Slurm here. Run the study on this machine with 'pararun "
        "study' (same arguments), or try Slurm locally: scripts/local-cluster.sh start");
  const Partition part = query_partition(o.partition);

  std::map<int, std::vector<const Point*>> by_nodes;  // node count -> points
  for (const auto& p : points) by_nodes[nodes_for(p, part)].push_back(&p);

  const Json manifest = study_manifest(spec, points);
  std::string dir = o.out.empty() && o.dry_run ? "results/study-<UTC time>" : o.out;
  std::set<std::string> done;
  if (!o.dry_run) {
    dir = prepare_study_dir(o, manifest);
    for (const auto& id : done_points(dir)) done.insert(id);
    mkdir((dir + "/slurm").c_str(), 0755);
  }
  dir = absolute(dir);
  const std::string exe = self_executable();
  const std::string common = PARARUN_SOURCE_DIR "/slurm/job-common.sh";
  const std::string results = dir + "/results.jsonl";

  // One array per node count (an array's tasks share one resource request).
  struct Script {
    std::string path, text;
    int tasks = 0;
  };
  std::vector<Script> arrays;
  for (const auto& [nodes, group] : by_nodes) {
    std::string cases;
    int task = 0;
    for (const Point* p : group) {
      if (done.count(p->id)) continue;
      std::vector<std::string> args = launcher_prefix(*p, "srun", nodes * part.cpus);
      args.push_back(exe);
      for (auto& a : run_arguments(*p, spec, results)) args.push_back(a);
      cases += "  " + std::to_string(task++) + ") point=" + quote(p->id) + "; set -- " +
               command_line(args) + " ;;\n";
    }
    if (task == 0) continue;
    Script s;
    s.tasks = task;
    s.path = dir + "/slurm/points-" + std::to_string(nodes) + "node.sbatch";
    s.text =
        sbatch_header("pararun-study", dir + "/logs/slurm-%A_%a.out", part.name, o.time_limit) +
        "#SBATCH --array=0-" + std::to_string(task - 1) + "%" + std::to_string(o.max_parallel) +
        "\n#SBATCH --nodes=" + std::to_string(nodes) +
        "\n#SBATCH --exclusive\n#SBATCH --signal=B:USR1@60\n"
        "# ParaRun study " +
        dir + ": one array task per point, written by pararun submit.\n" + "source " +
        quote(common) + " || exit 2\ncd " + quote(dir) +
        " || exit 2\ncase \"$SLURM_ARRAY_TASK_ID\" in\n" + cases +
        "  *) echo \"pararun: error: no point for array task $SLURM_ARRAY_TASK_ID\" >&2; "
        "exit 2 ;;\nesac\necho \"point $point on $SLURM_JOB_NODELIST\"\npararun_run \"$@\"\n";
    arrays.push_back(std::move(s));
  }
  if (arrays.empty()) {
    std::printf("Every point of %s has a verified record; the report: pararun report %s\n",
                dir.c_str(), dir.c_str());
    return kExitOk;
  }
  const Script report{
      dir + "/slurm/report.sbatch",
      sbatch_header("pararun-report", dir + "/logs/slurm-report-%j.out", part.name, "00:10:00") +
          "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n"
          "# Runs when every array task has ended (afterany), however it ended.\n"
          "source " +
          quote(common) + " || exit 2\n" + command_line({exe, "report", dir}) + "\n",
      1};

  if (o.dry_run) {
    for (const auto& s : arrays) std::printf("# %s\n%s\n", s.path.c_str(), s.text.c_str());
    std::printf("# %s\n%s\n", report.path.c_str(), report.text.c_str());
    std::string ids;
    for (std::size_t i = 0; i < arrays.size(); ++i) {
      std::printf("sbatch --parsable %s\n", arrays[i].path.c_str());
      ids += ":<job " + std::to_string(i + 1) + ">";
    }
    std::printf("sbatch --parsable --dependency=afterany%s %s\n", ids.c_str(), report.path.c_str());
    return kExitOk;
  }

  auto submit = [&](const Script& s, const std::string& extra) {
    write_file_atomically(s.path, s.text);
    std::vector<std::string> argv = {"sbatch", "--parsable"};
    if (!extra.empty()) argv.push_back(extra);
    argv.push_back(s.path);
    const auto out = capture_output(argv);
    const std::string id = out ? out->substr(0, out->find_first_of(";\n")) : "";
    if (id.empty()) {
      std::fprintf(stderr, "pararun: error: sbatch refused %s (try: sbatch %s)\n", s.path.c_str(),
                   s.path.c_str());
      throw UsageError("sbatch");
    }
    return id;
  };
  std::string deps;
  int tasks = 0;
  for (const auto& s : arrays) {
    const std::string id = submit(s, "");
    deps += ":" + id;
    tasks += s.tasks;
    std::printf("submitted job array %s: %d point(s), at most %d at once (%s)\n", id.c_str(),
                s.tasks, o.max_parallel, s.path.c_str());
  }
  const std::string report_id = submit(report, "--dependency=afterany" + deps);
  std::printf("submitted report job %s (after the array ends)\n", report_id.c_str());
  std::string jobs = deps.substr(1) + ":" + report_id;
  std::replace(jobs.begin(), jobs.end(), ':', ',');
  std::printf("study %s: %d point(s) to run on partition %s; watch: squeue -j %s\n", dir.c_str(),
              tasks, part.name.c_str(), jobs.c_str());
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace pararun::app
