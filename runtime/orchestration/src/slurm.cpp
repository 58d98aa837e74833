#include "pararun/slurm.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/metadata.hpp"
#include "pararun/process.hpp"
#include "pararun/study_run.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

namespace {

/// How long sinfo, squeue and sacct may take (Slurm's own MessageTimeout is 10 s, retried):
/// a controller that never answers ends a submit or a report with a message, not a hang.
constexpr double kQueryTimeout = 120;

/// The site's single-valued options: (sbatch option name, value).
std::vector<std::pair<const char*, const std::string*>> site_values(const SlurmSite& site) {
  return {{"account", &site.account},
          {"qos", &site.qos},
          {"constraint", &site.constraint},
          {"reservation", &site.reservation}};
}

std::string sbatch_header(const std::string& name, const std::string& output, const Partition& part,
                          const std::string& time, const SlurmSite& site) {
  std::string s = "#!/bin/bash\n#SBATCH --job-name=" + name + "\n#SBATCH --output=" + output +
                  "\n#SBATCH --time=" + time + "\n";
  if (!part.name.empty()) s += "#SBATCH --partition=" + part.name + "\n";
  for (const auto& [option, value] : site_values(site))
    if (!value->empty()) s += std::string("#SBATCH --") + option + "=" + *value + "\n";
  // Nodes with SMT: a CPU of --cpus-per-task is a core, not a hardware thread (the timings
  // are of cores), unless the site's own --hint says otherwise.
  const bool own_hint = std::any_of(site.sbatch_args.begin(), site.sbatch_args.end(),
                                    [](const std::string& a) { return a.rfind("--hint", 0) == 0; });
  if (part.threads_per_core > 1 && !own_hint) s += "#SBATCH --hint=nomultithread\n";
  for (const auto& a : site.sbatch_args) s += "#SBATCH " + a + "\n";
  return s;
}

/// What a job script does before its work: the site's MPI plugin, its setup script (sourced
/// by job-common.sh), then job-common.sh. With `build_id` (a task that measures), job-common.sh
/// ends the task when the binary at `exe` is another build by then (rebuilt while the job
/// waited in the queue): one study or batch is measured by one build.
std::string job_prologue(const SlurmSite& site, const std::string& common, const std::string& exe,
                         const std::string& build_id = "") {
  // job-common.sh checks (the CPU, the version) the binary the script runs, not another one
  // it finds ($PARARUN of the submitting shell, PATH, this checkout's build).
  std::string s = "export PARARUN=" + shell_quote(exe) + "\n";
  if (!build_id.empty()) s += "export PARARUN_BUILD_ID=" + shell_quote(build_id) + "\n";
  if (!site.mpi.empty()) s += "export SLURM_MPI_TYPE=" + site.mpi + "\n";
  if (!site.setup.empty()) s += "export PARARUN_SETUP=" + shell_quote(site.setup) + "\n";
  return s + "source " + shell_quote(common) + " || exit 2\n";
}

/// What an #SBATCH value cannot hold: a space ends it, % is a file name pattern, # starts a
/// comment (--output=/a#b is /a), sbatch parses quotes and backslashes, and a control
/// character (a newline) would end the line.
bool sbatch_safe(unsigned char c) {
  return c > ' ' && c != 0x7f &&
         std::string("%#'\"\\").find(static_cast<char>(c)) == std::string::npos;
}

/// One #SBATCH word: printable ASCII the line can carry, no shell character either.
bool sbatch_word(const std::string& v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (!sbatch_safe(c) || c >= 0x7f || c == '`' || c == '$' || c == ';') return false;
  return true;
}

}  // namespace

void check_site(const SlurmSite& site) {
  if (!site.mpi.empty() && !std::all_of(site.mpi.begin(), site.mpi.end(), [](char c) {
        return std::islower(static_cast<unsigned char>(c)) ||
               std::isdigit(static_cast<unsigned char>(c)) || c == '_';
      }))
    throw InputError("--mpi '" + site.mpi +
                     "' is not an MPI plugin name of srun (pmix, pmi2, none: srun --mpi=list)");
  if (!site.setup.empty()) {
    struct stat st {};
    if (site.setup[0] != '/' || stat(site.setup.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      throw InputError("--setup '" + site.setup +
                       "' is not a file (an absolute path every node can read)");
    if (site.setup.find_first_of("\n\r") != std::string::npos)
      throw InputError("--setup names a file with a newline in its path");
  }
  for (const auto& [option, value] : site_values(site))
    if (!value->empty() && !sbatch_word(*value))
      throw InputError(std::string("--") + option + " '" + *value +
                       "' holds a space, a quote, a control or shell character, which an #SBATCH "
                       "line cannot carry");
  // What ParaRun writes itself, by the plan or by an option of its own.
  static const std::vector<std::string> kOwn = {
      "--array",       "-a",          "--nodes",     "-N",     "--ntasks",        "-n",
      "--output",      "-o",          "--error",     "-e",     "--job-name",      "-J",
      "--dependency",  "-d",          "--partition", "-p",     "--time",          "-t",
      "--account",     "-A",          "--qos",       "-q",     "--constraint",    "-C",
      "--reservation", "--exclusive", "--signal",    "--wrap", "--cpus-per-task", "-c"};
  for (const auto& a : site.sbatch_args) {
    if (a.size() < 2 || a[0] != '-' || a == "--" || !sbatch_word(a))
      throw InputError("--sbatch-arg '" + a +
                       "' is not one sbatch option without spaces or quotes (e.g. "
                       "--mail-type=END)");
    const std::string name = a.substr(0, a.find('='));
    // sbatch takes a long option by any unambiguous start (--outp is --output) and bundles
    // short ones (-vo/x is -v -o /x): a start of one of ParaRun's own is its own, and a short
    // option that takes no value must stand alone.
    const auto among = [&name](const std::vector<std::string>& options) {
      return name.size() > 2 && name[1] == '-'
                 ? std::any_of(options.begin(), options.end(),
                               [&name](const std::string& o) { return o.rfind(name, 0) == 0; })
                 : std::find(options.begin(), options.end(), name.substr(0, 2)) != options.end();
    };
    // sbatch waiting for each array to end (submit would block until then, and a Ctrl-C
    // would leave arrays without their report job), or not submitting at all.
    if (among({"--wait", "-W", "--test-only"}))
      throw InputError("--sbatch-arg '" + a +
                       "': ParaRun submits each array and then its report job; sbatch must "
                       "neither wait for a job to end nor only test it");
    const bool own = among(kOwn);
    static const std::string kValued = "aAbBcCdDeFGiJLmMnNopqStwx";  // short options with a value
    const bool verbose = a.find_first_not_of('v', 1) == std::string::npos;  // -v, -vv, ...
    if (!own && !verbose && name[1] != '-' && a.size() > 2 &&
        kValued.find(a[1]) == std::string::npos)
      throw InputError("--sbatch-arg '" + a +
                       "': give each short option its own --sbatch-arg (sbatch would read "
                       "the letters after " +
                       a.substr(0, 2) + " as more options)");
    if (own)
      throw InputError("--sbatch-arg '" + a + "': ParaRun sets " + name +
                       " itself (--partition, --time, --account, --qos, --constraint and "
                       "--reservation are options of their own)");
  }
}

void check_submit_options(const StudyOptions& o) {
  check_site(o.site);
  if (o.max_parallel < 1)
    throw InputError("--max-parallel must be at least 1, got " + std::to_string(o.max_parallel));
  // Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; every field digits, not all zero.
  const std::string& t = o.time_limit;
  const std::string bad =
      "--time '" + t + "' is not a Slurm time limit (MINUTES, HH:MM:SS or D-HH:MM:SS, above 0)";
  const auto dash = t.find('-');
  const std::string clock = dash == std::string::npos ? t : t.substr(dash + 1);
  std::vector<std::string> fields;
  if (dash != std::string::npos) fields.push_back(t.substr(0, dash));
  for (std::size_t from = 0;;) {
    const auto colon = clock.find(':', from);
    fields.push_back(clock.substr(from, colon - from));
    if (colon == std::string::npos) break;
    from = colon + 1;
  }
  const std::size_t clock_fields = fields.size() - (dash != std::string::npos);
  if (t.empty() || clock_fields > 3) throw InputError(bad);
  bool nonzero = false;
  for (const auto& f : fields) {
    if (f.empty() || f.size() > 6 || f.find_first_not_of("0123456789") != std::string::npos)
      throw InputError(bad);
    nonzero |= f.find_first_not_of('0') != std::string::npos;
  }
  if (!nonzero) throw InputError(bad);
}

void check_srun_in_allocation(const std::string& what, const std::string& submit) {
  if (!std::getenv("SLURM_JOB_ID"))
    throw InputError(
        "--launcher srun starts the ranks inside a Slurm allocation, and this is not "
        "one (no SLURM_JOB_ID): run " +
        what + " inside salloc or sbatch, submit it with '" + submit +
        "', or use --launcher mpirun");
}

void check_sbatch_path(const std::string& dir) {
  // The folder stands in #SBATCH lines (and in the script, where a newline would start a
  // command).
  for (unsigned char c : dir)
    if (!sbatch_safe(c))
      throw InputError("the study folder '" + dir +
                       "' holds a space, a % # ' \" \\ or a control character, which #SBATCH "
                       "lines cannot carry; choose another --out");
}

namespace {

/// A name Slurm could give a cluster (letters, digits, '-', '_', '.'): what is kept of
/// sbatch's answer and later handed to squeue -M.
bool cluster_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
             std::string::npos;
}

/// The partition `wanted` on one cluster's node lines; nothing when it is not there.
std::optional<Partition> partition_in(const std::vector<std::string>& lines,
                                      const std::string& wanted) {
  Partition p;
  std::set<std::string> nodes;
  for (const auto& line : lines) {
    const auto f = split(line, ' ');
    if (f.size() < 3) continue;
    std::string name = f[1];
    const bool is_default = !name.empty() && name.back() == '*';
    if (is_default) name.pop_back();
    if (wanted.empty() ? !is_default : name != wanted) continue;
    p.name = name;
    if (nodes.insert(f[0]).second) {
      // "%z" is SOCKETS:CORES:THREADS; with SMT the cores are the CPUs a run may count on.
      int threads = 1;
      if (f.size() >= 4) {
        const auto scT = split(f[3], ':');
        if (scT.size() == 3) threads = std::max(1, std::atoi(scT[2].c_str()));
      }
      const int cpus = std::atoi(f[2].c_str()) / threads;
      p.cpus = p.cpus == 0 ? cpus : std::min(p.cpus, cpus);
      p.threads_per_core = std::max(p.threads_per_core, threads);
    }
  }
  p.nodes = static_cast<int>(nodes.size());
  if (p.nodes == 0) return std::nullopt;
  return p;
}

}  // namespace

Partition parse_sinfo(const std::string& text, const std::string& wanted,
                      const std::string& clusters) {
  // sinfo -M prints each cluster's nodes after a "CLUSTER: NAME" line.
  std::vector<std::vector<std::string>> sections(1);
  for (const auto& line : split(text, '\n')) {
    if (line.rfind("CLUSTER:", 0) == 0)
      sections.emplace_back();
    else
      sections.back().push_back(line);
  }
  // Of several clusters sbatch takes one where the job can start: one job script must fit
  // each cluster that has the partition, so the partition is the smallest of them (the fewest
  // nodes, the smallest node), and a default partition must be the same on each.
  std::optional<Partition> found;
  for (const auto& section : sections)
    if (const auto p = partition_in(section, wanted)) {
      if (!found) {
        found = p;
        continue;
      }
      if (p->name != found->name)
        throw InputError("the default partitions of Slurm clusters " + clusters + " differ (" +
                         found->name + ", " + p->name + "); name one with --partition");
      found->nodes = std::min(found->nodes, p->nodes);
      found->cpus = std::min(found->cpus, p->cpus);
      found->threads_per_core = std::max(found->threads_per_core, p->threads_per_core);
    }
  if (found) return *found;
  const std::string where = clusters.empty() ? "this Slurm cluster" : "Slurm cluster " + clusters;
  throw InputError(wanted.empty() ? where + " has no default partition; name one with --partition"
                                  : where + " has no partition '" + wanted + "' (see sinfo" +
                                        (clusters.empty() ? "" : " -M " + clusters) + ")");
}

std::string clusters_of(const SlurmSite& site) {
  std::string clusters;  // the last one given wins, as in sbatch
  for (const auto& a : site.sbatch_args)
    for (const char* prefix : {"--clusters=", "--cluster=", "-M"})
      if (a.rfind(prefix, 0) == 0 && a.size() > std::strlen(prefix)) {
        clusters = a.substr(std::strlen(prefix));
        break;
      }
  if (clusters.empty()) return clusters;
  for (const auto& name : split(clusters, ','))
    if (!cluster_name(name))
      throw InputError("--sbatch-arg: '" + clusters + "' is not a list of Slurm cluster names");
  return clusters;
}

Partition query_partition(const std::string& wanted, const std::string& clusters) {
  for (char c : wanted)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      throw InputError("--partition '" + wanted + "' is not a partition name");
  // One line per node and partition: "NAME PARTITION CPUS S:C:T", the default marked '*'; on
  // the clusters the jobs go to (sinfo itself follows $SLURM_CLUSTERS, as sbatch does).
  std::vector<std::string> argv = {"sinfo", "-h", "-N", "-o", "%N %P %c %z"};
  if (!clusters.empty()) argv.insert(argv.begin() + 1, {"-M", clusters});
  std::string why;
  const auto out = capture_output(argv, kQueryTimeout, &why);
  if (!out)
    throw InputError("sinfo" + (clusters.empty() ? "" : " -M " + clusters) + " failed (" + why +
                     "): is slurmctld reachable (SLURM_CONF, scontrol ping)?");
  return parse_sinfo(*out, wanted, clusters);
}

/// Whole nodes a point needs on `part`; usage error when the partition cannot hold it.
int nodes_for(const Point& p, const Partition& part) {
  const auto where = "point " + p.id + " needs ";
  const auto have = "; partition " + part.name + " has " + std::to_string(part.nodes) +
                    " node(s) of " + std::to_string(part.cpus) + " CPUs";
  if (p.threads > part.cpus)
    throw InputError(where + std::to_string(p.threads) + " threads on one node" + have);
  if (p.oversubscribe || !uses_mpi(p.backend)) return 1;
  const int ranks_per_node = part.cpus / p.threads;
  const int nodes = (p.ranks + ranks_per_node - 1) / ranks_per_node;
  if (nodes > part.nodes)
    throw InputError(where + std::to_string(nodes) + " nodes (" + std::to_string(p.ranks) +
                     " ranks x " + std::to_string(p.threads) + " threads)" + have);
  return nodes;
}

Submission plan_submission(const StudyOptions& o, const StudySpec& spec,
                           const std::vector<Point>& points, const Partition& part,
                           const std::string& dir, const std::set<std::string>& done,
                           const std::string& exe, const std::string& common) {
  check_sbatch_path(dir);
  check_site(o.site);
  // One array per resource shape, nodes x ranks x threads (an array's tasks share one
  // request, and the request says what each task runs: --ntasks, --cpus-per-task).
  std::map<std::tuple<int, int, int>, std::vector<const Point*>> by_shape;
  for (const auto& p : points) by_shape[{nodes_for(p, part), p.ranks, p.threads}].push_back(&p);
  Submission sub;
  for (const auto& [shape, group] : by_shape) {
    const auto [nodes, ranks, threads] = shape;
    std::string cases;
    std::vector<std::string> ids;
    Json described = Json::array();
    int task = 0;
    for (const Point* p : group) {
      if (done.count(p->id)) continue;
      std::vector<std::string> args = launcher_prefix(*p, "srun", nodes * part.cpus);
      args.push_back(exe);
      for (auto& a : run_arguments(*p, spec, point_record_file(dir, p->id))) args.push_back(a);
      cases += "  " + std::to_string(task++) + ") point=" + shell_quote(p->id) + "; set -- " +
               shell_command(args) + " ;;\n";
      ids.push_back(p->id);
      described.push_back(point_json(*p));
    }
    if (task == 0) continue;
    // The labelled oversubscribed point: more ranks than the nodes' cores, on purpose.
    const bool over = ranks * threads > nodes * part.cpus;
    const std::string name =
        std::to_string(nodes) + "node-" + std::to_string(ranks) + "x" + std::to_string(threads);
    JobScript s;
    s.jobs = std::move(ids);
    s.points = std::move(described);
    s.tasks = task;
    s.path = dir + "/slurm/points-" + name + ".sbatch";
    s.text =
        sbatch_header("pararun-study", dir + "/logs/slurm-%A_%a.out", part, o.time_limit, o.site) +
        "#SBATCH --array=0-" + std::to_string(task - 1) + "%" + std::to_string(o.max_parallel) +
        "\n#SBATCH --nodes=" + std::to_string(nodes) +
        "\n#SBATCH --ntasks=" + std::to_string(ranks) +
        "\n#SBATCH --cpus-per-task=" + std::to_string(threads) + "\n" +
        (over ? "#SBATCH --overcommit\n" : "") +
        "#SBATCH --exclusive\n#SBATCH --signal=B:USR1@60\n"
        "# ParaRun study " +
        dir + ": one array task per point of shape " + name + ", written by pararun submit.\n" +
        job_prologue(o.site, common, exe, executable_build_id()) + "cd " + shell_quote(dir) +
        " || exit 2\ncase \"$SLURM_ARRAY_TASK_ID\" in\n" + cases +
        "  *) echo \"pararun: error: no point for array task $SLURM_ARRAY_TASK_ID\" >&2; "
        "exit 2 ;;\nesac\necho \"point $point on $SLURM_JOB_NODELIST\"\npararun_run \"$@\"\n";
    sub.arrays.push_back(std::move(s));
  }
  sub.report = {
      dir + "/slurm/report.sbatch",
      sbatch_header("pararun-report", dir + "/logs/slurm-report-%j.out", part, "00:10:00", o.site) +
          "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n"
          "# Runs when every array task has ended (afterany), however it ended: merges the\n"
          "# points' record files (points/*.jsonl) into results.jsonl and writes the report.\n" +
          job_prologue(o.site, common, exe) + shell_command({exe, "report", dir}) + "\n",
      1,
      {}};

  return sub;
}

Submission plan_batch_submission(const std::vector<BatchJob>& jobs,
                                 const std::set<std::string>& done, const Partition& part,
                                 const std::string& dir, int max_parallel, const std::string& exe,
                                 const std::string& common, const SlurmSite& site) {
  check_sbatch_path(dir);
  check_site(site);
  struct Shape {
    int ranks, cpus_per_rank, minutes;
    bool operator<(const Shape& o) const {
      return std::tie(ranks, cpus_per_rank, minutes) <
             std::tie(o.ranks, o.cpus_per_rank, o.minutes);
    }
  };
  std::map<Shape, std::vector<const BatchJob*>> by_shape;
  for (const auto& j : jobs) {
    const int per_rank = (j.cores + j.ranks - 1) / j.ranks;
    if (per_rank > part.cpus || j.ranks * per_rank > part.cpus * part.nodes)
      throw InputError("job " + j.id + " (" + j.origin + ") needs " + std::to_string(j.ranks) +
                       " rank(s) x " + std::to_string(per_rank) + " CPUs; partition " + part.name +
                       " has " + std::to_string(part.nodes) + " node(s) of " +
                       std::to_string(part.cpus) + " CPUs");
    if (done.count(j.id)) continue;
    // Every attempt may take the whole limit; a minute on top for starting and recording.
    const double seconds = j.time_limit * (j.retries + 1) + 60;
    by_shape[{j.ranks, per_rank, static_cast<int>((seconds + 59) / 60)}].push_back(&j);
  }
  Submission sub;
  for (const auto& [shape, group] : by_shape) {
    std::string cases;
    for (std::size_t i = 0; i < group.size(); ++i)
      cases += "  " + std::to_string(i) + ") job=" + shell_quote(group[i]->id) +
               " digest=" + group[i]->digest() + " ;;\n";
    const std::string name = std::to_string(shape.ranks) + "x" +
                             std::to_string(shape.cpus_per_rank) + "-" +
                             std::to_string(shape.minutes) + "min";
    JobScript s;
    s.tasks = static_cast<int>(group.size());
    for (const BatchJob* j : group) s.jobs.push_back(j->id);
    s.path = dir + "/slurm/jobs-" + name + ".sbatch";
    s.text = sbatch_header("pararun-batch", dir + "/logs/slurm-%A_%a.out", part,
                           std::to_string(shape.minutes), site) +
             "#SBATCH --array=0-" + std::to_string(group.size() - 1) + "%" +
             std::to_string(max_parallel) + "\n#SBATCH --ntasks=" + std::to_string(shape.ranks) +
             "\n#SBATCH --cpus-per-task=" + std::to_string(shape.cpus_per_rank) +
             "\n#SBATCH --signal=B:USR1@30\n"
             "# ParaRun batch " +
             dir + ": one array task per job of shape " + name +
             ", written by pararun batch submit.\n" +
             job_prologue(site, common, exe, executable_build_id()) +
             "case \"$SLURM_ARRAY_TASK_ID\" in\n" + cases +
             "  *) echo \"pararun: error: no job for array task $SLURM_ARRAY_TASK_ID\" >&2; "
             "exit 2 ;;\nesac\necho \"job $job on $SLURM_JOB_NODELIST\"\n"
             "# Without OMP_PROC_BIND the task keeps every CPU Slurm gave it (libgomp would pin\n"
             "# it to one at start-up); it binds each job's threads itself.\n"
             "pararun_run env -u OMP_PLACES -u OMP_PROC_BIND " +
             shell_command({exe, "batch", "task", dir}) + " \"$job\" --digest \"$digest\"\n";
    sub.arrays.push_back(std::move(s));
  }
  sub.report_name = "merge";
  sub.report = {dir + "/slurm/merge.sbatch",
                sbatch_header("pararun-batch-merge", dir + "/logs/slurm-merge-%j.out", part,
                              "00:10:00", site) +
                    "#SBATCH --ntasks=1\n"
                    "# Runs when every array task has ended (afterany), however it ended.\n" +
                    job_prologue(site, common, exe) + shell_command({exe, "batch", "merge", dir}) +
                    "\n",
                1,
                {}};
  return sub;
}

std::string submit_job(const JobScript& s, const std::string& dependency, std::string* cluster) {
  write_file_atomically(s.path, s.text);
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  if (!dependency.empty()) argv.push_back(dependency);
  argv.push_back(s.path);
  std::string why;
  const auto out = capture_output(argv, 0, &why);
  // "ID" or "ID;CLUSTER" (sbatch --parsable), then a newline.
  const std::string line = out ? out->substr(0, out->find('\n')) : "";
  const std::size_t semi = line.find(';');
  const std::string id = line.substr(0, semi);
  if (id.empty())
    throw InputError("sbatch refused " + s.path + (why.empty() ? "" : " (" + why + ")"));
  if (cluster) {
    const std::string name = semi == std::string::npos ? "" : line.substr(semi + 1);
    *cluster = cluster_name(name) ? name : "";
  }
  return id;
}

Submitted submit_all(const Submission& sub, const std::string& dir,
                     const std::function<void(const JobScript&, const std::string&)>& on_array) {
  const std::string kept = dir + "/slurm/submitted.json";
  Json history = parse_json(slurp(kept));
  if (!history.is_object() || !history.value("submissions", Json()).is_array())
    history = {{"submissions", Json::array()}};
  history["submissions"].push_back(
      {{"at", utc_timestamp()}, {"arrays", Json::array()}, {"after", nullptr}});
  Json& mine = history["submissions"].back();
  Submitted out;
  std::string deps;
  // The report job follows what was submitted, also when a later array is refused: the
  // points that run are reported (and recorded as errors when lost) either way.
  const auto submit_report = [&] {
    out.report = submit_job(sub.report, "--dependency=afterany" + deps);
    mine["after"] = out.report;  // the report or merge job
    write_file_atomically(kept, json_text(history, 1) + "\n");
  };
  for (const auto& s : sub.arrays) {
    std::string cluster, id;
    try {
      id = submit_job(s, "", &cluster);
    } catch (const std::exception& refused) {  // sbatch's refusal, or its script not written
      if (out.arrays.empty()) throw;
      std::string done;
      for (const auto& a : out.arrays) done += (done.empty() ? "" : ", ") + a;
      std::string report;
      try {
        submit_report();
        report = sub.report_name + " job " + out.report + " follows them";
      } catch (const std::exception& e) {
        report = out.report.empty()  // (else submitted, and only its record is missing)
                     ? "their " + sub.report_name + " job was not submitted (" + e.what() +
                           "): sbatch " + shell_quote(sub.report.path) + " once they end"
                     : sub.report_name + " job " + out.report + " follows them (" + e.what() + ")";
      }
      throw InputError(std::string(refused.what()) + "; the job array(s) submitted before it (" +
                       done + ") run, and " + report +
                       "; --resume, once they end, submits the rest");
    }
    out.arrays.push_back(id);
    deps += ":" + id;
    out.tasks += s.tasks;
    mine["arrays"].push_back(
        {{"job_id", id}, {"tasks", s.tasks}, {"script", s.path}, {"jobs", s.jobs}});
    if (!cluster.empty()) mine["arrays"].back()["cluster"] = out.cluster = cluster;
    if (!s.points.empty()) mine["arrays"].back()["points"] = s.points;
    try {
      write_file_atomically(kept, json_text(history, 1) + "\n");
    } catch (const WriteError& e) {  // Slurm runs it: say which job that is
      throw WriteError(std::string(e.what()) + "; job array " + id + " (" + s.path +
                       ") was submitted and is not recorded there: scancel " + id +
                       " before submitting again");
    }
    on_array(s, id);
  }
  submit_report();
  return out;
}

SubmittedTasks submitted_tasks(const std::string& dir) {
  SubmittedTasks out;
  const Json submitted = parse_json(slurp(dir + "/slurm/submitted.json"));
  if (!submitted.is_object() || !submitted.value("submissions", Json()).is_array()) return out;
  for (const auto& sub : submitted["submissions"]) {
    if (!sub.is_object()) continue;
    if (out.since.empty() && sub.value("at", Json()).is_string()) out.since = sub["at"];
    for (const auto& a : sub.value("arrays", Json::array())) {
      if (!a.is_object()) continue;
      const Json id = a.value("job_id", Json());
      const Json jobs = a.value("jobs", Json::array());
      if (!id.is_string() || id.get<std::string>().empty() || !jobs.is_array()) continue;
      out.arrays.push_back(id.get<std::string>());
      if (const Json c = a.value("cluster", Json()); c.is_string() && cluster_name(c))
        out.cluster_of[out.arrays.back()] = c;
      for (std::size_t t = 0; t < jobs.size(); ++t)
        if (jobs[t].is_string())
          out.task_of[jobs[t].get<std::string>()] = out.arrays.back() + "_" + std::to_string(t);
      for (const auto& p : a.value("points", Json::array()))
        if (p.is_object() && p.value("id", Json()).is_string()) out.point_of[p["id"]] = p;
    }
  }
  return out;
}

std::string dry_run_text(const Submission& sub) {
  std::string out;
  for (const auto& s : sub.arrays) out += "# " + s.path + "\n" + s.text + "\n";
  return out + "# " + sub.report.path + "\n" + sub.report.text + "\n";
}

namespace {

/// The '|'-separated fields of `line`, empty ones kept (split() drops them).
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> f(1);
  for (char c : line)
    if (c == '|')
      f.emplace_back();
    else
      f.back() += c;
  return f;
}

/// sacct's -S for a UTC time "YYYY-MM-DDTHH:MM:SSZ": ten minutes earlier (clocks of the
/// submitting host and the accounting daemon differ; a job number is not reused that fast),
/// in local time, as sacct reads it; "" when `utc` is not such a time.
std::string sacct_start(const std::string& utc) {
  std::tm tm{};
  char zone = 0;
  if (std::sscanf(utc.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &zone) != 7 ||
      zone != 'Z')
    return "";
  tm.tm_year -= 1900, tm.tm_mon -= 1;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return "";
  t -= 600;
  std::tm local{};
  char buf[32];
  if (!localtime_r(&t, &local) || !std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local))
    return "";
  return buf;
}

/// query_array_tasks for the arrays `wanted` (job numbers) on one cluster ("": the local one):
/// adds what squeue, then sacct, say of their tasks to `out`; false when squeue does not
/// answer.
bool query_cluster_tasks(const std::set<std::string>& wanted, const std::string& since,
                         const std::string& cluster, std::map<std::string, SlurmTask>& out) {
  std::string list;
  for (const auto& id : wanted) list += (list.empty() ? "" : ",") + id;
  // Another cluster of the site: -M (squeue then prints a "CLUSTER: name" line first).
  const auto on_cluster = [&cluster](std::vector<std::string> argv) {
    if (!cluster.empty()) argv.insert(argv.begin() + 1, {"-M", cluster});
    return argv;
  };
  // squeue -j fails when a job it is asked about is gone (MinJobAge): then every job of this
  // user, filtered here. Neither answering means Slurm does not.
  const std::string format = "%i|%T|%r|%N";
  auto q = capture_output(
      on_cluster({"squeue", "-h", "-r", "--states=all", "-j", list, "-o", format}), kQueryTimeout);
  if (!q)
    q = capture_output(on_cluster({"squeue", "-h", "-r", "--states=all", "--me", "-o", format}),
                       kQueryTimeout);
  if (!q) return false;
  const auto array_of = [](const std::string& task) { return task.substr(0, task.find('_')); };
  std::set<std::string> from_squeue;
  for (const auto& line : split(*q, '\n')) {
    const auto f = fields(line);
    if (f.size() < 4 || !wanted.count(array_of(f[0]))) continue;
    out[f[0]] = {f[1], f[2] == "None" ? "" : f[2], f[3]};
    from_squeue.insert(f[0]);
  }
  // Ended tasks the controller has forgotten: accounting, where a site has it; from the
  // submission on (sacct -j gives the newest job of a number; should it list more, the later
  // line wins).
  std::vector<std::string> sacct = {"sacct", "-n", "-P", "-X",
                                    "-j",    list, "-o", "JobID,State,ExitCode,NodeList"};
  if (const std::string start = sacct_start(since); !start.empty()) {
    sacct.insert(sacct.end(), {"-S", start, "-E", "now"});
  }
  if (const auto a = capture_output(on_cluster(sacct), kQueryTimeout))
    for (const auto& line : split(*a, '\n')) {
      const auto f = fields(line);
      if (f.size() < 4 || from_squeue.count(f[0]) || !wanted.count(array_of(f[0]))) continue;
      // "CANCELLED by 0" -> CANCELLED
      out[f[0]] = {f[1].substr(0, f[1].find(' ')), "exit code " + f[2], f[3], true};
    }
  return true;
}

}  // namespace

std::optional<std::map<std::string, SlurmTask>> query_array_tasks(
    const std::vector<std::string>& array_ids, const std::string& since,
    const std::map<std::string, std::string>& cluster_of, bool* every_cluster) {
  // The arrays by the cluster they were submitted to, each cluster asked on its own.
  std::map<std::string, std::set<std::string>> by_cluster;
  for (const auto& id : array_ids) {
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto c = cluster_of.find(id);
    by_cluster[c == cluster_of.end() || !cluster_name(c->second) ? "" : c->second].insert(id);
  }
  std::map<std::string, SlurmTask> out;
  bool answered = false, all = true;
  for (const auto& [cluster, wanted] : by_cluster) {
    const bool this_one = query_cluster_tasks(wanted, since, cluster, out);
    answered = answered || this_one;
    all = all && this_one;
  }
  if (every_cluster) *every_cluster = all;
  if (!answered) return std::nullopt;
  return out;
}

void check_nothing_still_queued(const std::string& dir, bool must_answer) {
  const SubmittedTasks submitted = submitted_tasks(dir);
  if (submitted.arrays.empty()) return;
  std::string arrays;
  for (const auto& id : submitted.arrays) {
    const auto c = submitted.cluster_of.find(id);
    arrays += (arrays.empty() ? "" : " ") + id +
              (c == submitted.cluster_of.end() ? "" : " (cluster " + c->second + ")");
  }
  bool every_cluster = false;
  const auto tasks =
      query_array_tasks(submitted.arrays, submitted.since, submitted.cluster_of, &every_cluster);
  if (!tasks || !every_cluster) {
    if (!must_answer) return;
    throw InputError("squeue did not answer: cannot tell whether the jobs submitted from " + dir +
                     " (arrays " + arrays + ") still run; resume once Slurm answers");
  }
  // squeue lists every task that is queued or running; accounting may keep a task RUNNING
  // that Slurm lost (a node failure), which no scancel would end.
  std::size_t active = 0;
  for (const auto& [task, t] : *tasks) active += !t.from_accounting && slurm_state_active(t.state);
  if (active)
    throw InputError(std::to_string(active) + " task(s) submitted from " + dir +
                     " are still pending or running (arrays " + arrays +
                     "); resume when they end, or scancel them first");
}

bool slurm_state_active(const std::string& state) {
  for (const char* s :
       {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "RESIZING", "SUSPENDED",
        "STAGE_OUT", "SIGNALING", "RESV_DEL_HOLD", "REQUEUE_FED", "REQUEUE_HOLD"})
    if (state == s) return true;
  return false;
}

}  // namespace pararun
