#include "pararun/study_run.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "pararun/analysis.hpp"
#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/metadata.hpp"
#include "pararun/process.hpp"
#include "pararun/run_request.hpp"
#include "pararun/slurm.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

namespace {

/// resume_command from its parts: the folder it was started in, the CPUs it was started on
/// ("" for all of the node's), its command line. The program is this pararun's own path (a
/// study.json others may write does not choose what the user is told to run).
std::string command_from(const std::string& cwd, const std::string& cpus,
                         std::vector<std::string> args, const std::string& dir) {
  if (args.empty()) return "";
  args[0] = self_executable();
  // (A binary rebuilt while the study ran: the file now at that path.)
  if (const auto deleted = args[0].rfind(" (deleted)");
      deleted != std::string::npos && deleted + 10 == args[0].size())
    args[0].erase(deleted);
  bool out = false, resume = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    out = out || a == "-o" || a == "--out" || a.rfind("--out=", 0) == 0 ||
          (a.size() > 2 && a.rfind("-o", 0) == 0 && a[2] != '-');
    resume = resume || a == "--resume";
  }
  // From the folder it was started in (a relative study file or --out), on the CPUs it was
  // started on (a taskset before pararun is not in its own command line).
  std::string cmd = cwd.empty() ? "" : "cd " + shell_quote(cwd) + " && ";
  if (!cpus.empty()) cmd += "taskset -c " + cpus + " ";
  cmd += shell_command(args);
  if (!out) cmd += " --out " + shell_quote(dir);
  if (!resume) cmd += " --resume";
  return cmd;
}

}  // namespace

Json resume_from(const std::vector<std::string>& args) {
  char cwd[PATH_MAX];
  return {{"cwd", getcwd(cwd, sizeof cwd) ? cwd : ""},
          {"cpus", usable_cpus() != node_cpus() ? format_cpu_list(usable_cpus()) : ""},
          {"args", args}};
}

std::string resume_command(const Json& from, const std::string& dir) {
  // (Read back from a study.json: each part checked, the command rebuilt from them, quoted.)
  const Json args = from.is_object() ? from.value("args", Json()) : Json();
  const Json cwd = from.is_object() ? from.value("cwd", Json()) : Json(),
             cpus = from.is_object() ? from.value("cpus", Json()) : Json();
  std::vector<std::string> words;
  if (args.is_array() && args.size() >= 2 && args.size() <= 1000)
    for (const auto& a : args)
      if (a.is_string()) words.push_back(a.get<std::string>());
  // (A CPU list is digits, commas and dashes; not expanded: "0-999999999" is one.)
  if (words.size() < 2 || words.size() != args.size() || !cwd.is_string() || !cpus.is_string() ||
      (words[1] != "study" && words[1] != "submit") || cpus.get<std::string>().size() > 4096 ||
      cpus.get<std::string>().find_first_not_of("0123456789,-") != std::string::npos)
    return "pararun study ... --out " + shell_quote(dir) + " --resume";
  return command_from(cwd.get<std::string>(), cpus.get<std::string>(), words, dir);
}

std::string resume_command_of(const std::string& dir) {
  // Only a study.json of this user's that no one else may write: its arguments are what the
  // user is told to run (another's `submit --setup their.sh` would run their script).
  const std::string path = dir + "/study.json";
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return resume_command(Json(), dir);
  const Json m = parse_json(slurp(path));
  return resume_command(m.is_object() ? m.value("resume_from", Json()) : Json(), dir);
}

std::string study_difference(const Json& old, const Json& now) {
  for (const char* key :
       {"scaling", "reps", "max_reps", "variants", "cores", "rounds", "order", "order_seed"}) {
    const Json a = old.value(key, Json()), b = now.value(key, Json());
    if (a != b)
      return std::string("its ") + key + " " + (a.is_null() ? "is not set" : "is " + a.dump()) +
             ", these options' " + (b.is_null() ? "is not set" : b.dump());
  }
  const Json a = old.value("points", Json::array()), b = now.value("points", Json::array());
  if (a == b || !a.is_array() || !b.is_array()) return "";
  std::string why = "its " + std::to_string(a.size()) + " points are not the " +
                    std::to_string(b.size()) + " these options plan";
  for (const auto& p : b)
    if (std::find(a.begin(), a.end(), p) == a.end())
      return why + " (" + printable(p.is_string() ? p.get<std::string>() : p.dump()) +
             " is not among its points)";
  for (const auto& p : a)
    if (std::find(b.begin(), b.end(), p) == b.end())
      return why + " (" + printable(p.is_string() ? p.get<std::string>() : p.dump()) +
             " is not among these options' points)";
  return why + " (their order differs)";
}

namespace {

std::string prepare_study_dir_in(const std::string& dir, const StudyOptions& o,
                                 const Json& manifest, std::optional<FolderLock>* lock) {
  const std::string manifest_path = dir + "/study.json";
  // Locked before study.json is read or written: of two studies started into one new folder
  // at once, the second is refused (it replaced the first's study.json).
  const auto take_lock = [&] {
    if (lock && !*lock) lock->emplace(dir, "study");
  };
  struct stat st {};
  // (A folder of anything else is refused below without a lock file left in it.)
  if (lstat(manifest_path.c_str(), &st) == 0) take_lock();
  if (stat(manifest_path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode))
      throw InputError("'" + manifest_path + "' is not a file; choose a new output folder");
    const Json old = parse_json(slurp(manifest_path));
    // (A discarded parse compares unequal to nothing: a damaged study.json must be named.)
    if (old.is_discarded() || !old.is_object())
      throw InputError("'" + manifest_path +
                       "' is damaged (not a study's JSON): what the folder holds cannot be "
                       "checked against this study; choose a new output folder");
    Json a = old, b = manifest;  // (how to resume it is not the study)
    for (const char* key : {"resume_command", "resume_from"}) {
      a.erase(key);
      b.erase(key);
    }
    if (a != b) {
      a.erase("build");
      b.erase("build");
      const std::string difference = a != b ? study_difference(a, b) : "";
      if (a != b)
        throw InputError("'" + dir + "' holds a different study (" +
                         (difference.empty() ? "its study.json is not this study's" : difference) +
                         "); resume it with the options it was started with: " +
                         resume_command_of(dir) + "; or choose a new output folder");
      throw InputError(other_build_problem(dir, old.value("build", Json::object()),
                                           manifest.value("build", Json::object())));
    }
    if (!o.resume)
      throw InputError("'" + dir + "' holds this study already; add --resume to continue it");
    for (const std::string& why :
         {output_file_problem(dir + "/results.jsonl"),
          foreign_link_problem(dir + "/results.jsonl", own_link_target(dir + "/results.jsonl"))})
      if (!why.empty()) throw InputError(why);
  } else {
    // Its plots are KERNEL-SIZE.png in the folder: a folder of PNGs, which they could replace,
    // is not a new study's (a resumed study redraws its own).
    if (DIR* d = opendir(dir.c_str())) {
      std::string png;
      while (const dirent* e = readdir(d)) {
        const std::string name = e->d_name;
        if (name.size() > 4 && strcasecmp(name.c_str() + name.size() - 4, ".png") == 0) {
          png = name;
          break;
        }
      }
      closedir(d);
      if (!png.empty())
        throw InputError("'" + dir + "' already holds " + png +
                         ", and a study draws its plots there; choose a new output folder");
    }
    // The folder's name reaches job scripts (pararun submit): no control characters. Not a
    // batch's, nor a study's without study.json (points/, slurm/); its logs/ is the study's
    // (plot.log is replaced there; a file named logs failed every point).
    const auto created = make_output_folder(dir,
                                            {"results.jsonl", "study.json", "report.md",
                                             "speedup.csv", "analysis.json", "checkpoint.json"},
                                            {"batch.json", "jobs", "points", "slurm", "logs"});
    try {
      take_lock();
      if (lstat(manifest_path.c_str(), &st) == 0)  // another study made it meanwhile
        throw InputError("'" + dir +
                         "' holds a study already; choose a new output folder, or "
                         "add --resume to continue it");
      Json m = manifest;  // how to continue it, for a stop's message and a user who forgot
      m["resume_from"] = resume_from(own_arguments());
      m["resume_command"] = resume_command(m["resume_from"], dir);  // (for the reader)
      write_file_atomically(manifest_path, json_text(m, 2) + "\n");
    } catch (...) {  // a full disk: no empty study folder is left behind
      let_go_of_refused(lock, manifest_path);
      remove_empty_dirs(created);
      throw;
    }
  }
  mkdir((dir + "/logs").c_str(), 0777);
  return dir;
}

}  // namespace

std::string prepare_study_dir(const StudyOptions& o, const Json& manifest,
                              std::optional<FolderLock>* lock) {
  const std::string dir = o.out.empty() ? default_output_folder("study") : o.out;
  try {
    return prepare_study_dir_in(dir, o, manifest, lock);
  } catch (...) {  // (also a lock the caller took of the folder: a user's, left as it was)
    let_go_of_refused(lock, dir + "/study.json");
    throw;
  }
}

std::string point_record_file(const std::string& dir, const std::string& point) {
  std::string name = point;  // matmul/omp/blocked/n64/t2/r1 -> matmul.omp.blocked.n64.t2.r1
  std::replace(name.begin(), name.end(), '/', '.');
  return dir + "/points/" + name + ".jsonl";
}

namespace {

/// The records of dir/results.jsonl, and those of the per-point files (point_record_file)
/// that it does not hold yet: `extra` of them, at the end. Bad lines are printed as warnings
/// (those of results.jsonl only when `warn_results`: its readers name them again).
std::vector<Record> study_records(const std::string& dir, std::size_t* extra, bool warn_results) {
  struct stat st {};
  std::vector<Record> records;
  std::set<std::string> seen;
  const std::string results = dir + "/results.jsonl";
  if (stat(results.c_str(), &st) == 0) {
    RecordFile rf = read_records(results);
    if (warn_results) warn_bad_lines(rf);
    for (auto& r : rf.records) {
      seen.insert(json_text(to_json(r)));
      records.push_back(std::move(r));
    }
  }
  const std::size_t merged = records.size();
  const Json manifest = parse_json(slurp(dir + "/study.json"));
  if (manifest.is_object() && manifest.value("points", Json()).is_array())
    for (const auto& id : manifest["points"]) {
      if (!id.is_string()) continue;
      const std::string file = point_record_file(dir, id.get<std::string>());
      if (stat(file.c_str(), &st) != 0) continue;
      RecordFile rf = read_records(file);
      warn_bad_lines(rf);
      for (auto& r : rf.records)
        if (seen.insert(json_text(to_json(r))).second) records.push_back(std::move(r));
    }
  if (extra) *extra = records.size() - merged;
  return records;
}

}  // namespace

std::vector<Record> unmerged_study_records(const std::string& dir) {
  return study_records(dir, nullptr, true);
}

std::vector<std::string> done_points(const std::string& dir) {
  return completed_points(study_records(dir, nullptr, true));
}

namespace {

/// "ARRAYID_TASK" of the Slurm array task that wrote `r`, or of the lost task an error record
/// stands for; "" for a record of no array task.
std::string array_task_of(const Record& r) {
  const Json meta = r.json.value("meta", Json::object());
  const Json slurm = meta.is_object() ? meta.value("slurm", Json::object()) : Json::object();
  if (slurm.is_object() && slurm.value("array_job_id", Json()).is_string() &&
      slurm.value("array_task_id", Json()).is_string())
    return slurm["array_job_id"].get<std::string>() + "_" +
           slurm["array_task_id"].get<std::string>();
  const Json lost = r.json.value("slurm_task", Json());
  return lost.is_string() ? lost.get<std::string>() : "";
}

/// sacct's "exit code A:B" as a process's exit code (128 + B when a signal B ended it); -1
/// when Slurm gave none (squeue's reason of an ended task is text: "NodeDown").
int exit_code_of(const std::string& reason) {
  int code = 0, signal = 0;
  if (std::sscanf(reason.c_str(), "exit code %d:%d", &code, &signal) < 1) return -1;
  return signal > 0 ? 128 + signal : code;
}

/// The error records of the points whose latest array task ended, as Slurm says, without
/// writing a record (a lost node, Slurm's time limit, a cancel): each once, with its state.
std::vector<Record> lost_point_records(const std::string& dir, const SubmittedTasks& submitted,
                                       const std::map<std::string, SlurmTask>& tasks,
                                       const std::vector<Record>& records) {
  std::set<std::string> answered;  // tasks that wrote a record, or have an error record
  for (const auto& r : records) answered.insert(array_task_of(r));
  const Json manifest = parse_json(slurp(dir + "/study.json"));
  const std::string scaling = manifest.is_object() && manifest.value("scaling", Json()).is_string()
                                  ? manifest["scaling"].get<std::string>()
                                  : "";
  std::vector<Record> out;
  for (const auto& [id, task] : submitted.task_of) {
    const auto t = tasks.find(task);
    const auto described = submitted.point_of.find(id);
    // Not ended, or ended well: a COMPLETED task wrote its record, which a shared filesystem
    // may not show here yet (never an error that stays); a held or stopped one may go on.
    const std::string& state = t == tasks.end() ? std::string() : t->second.state;
    if (t == tasks.end() || slurm_state_active(state) || state == "COMPLETED" ||
        state == "SPECIAL_EXIT" || state == "STOPPED" || answered.count(task) ||
        described == submitted.point_of.end())
      continue;
    const auto point = point_from_json(described->second);
    if (!point) continue;
    Record r = error_record(*point, scaling, kDefaultSeed, exit_code_of(t->second.reason),
                            dir + "/logs/slurm-" + task + ".out");
    // The build of the study that submitted it (study.json), not this report job's binary:
    // one rebuilt while the tasks waited would put the lost points in a group of their own.
    if (manifest.is_object() && manifest.value("build", Json()).is_object())
      r.json["meta"]["build"] = manifest["build"];
    r.json["slurm_task"] = task;
    r.json["slurm_state"] = t->second.state;
    r.json["slurm_nodes"] = t->second.nodes;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

int merge_point_records(const std::string& dir) {
  struct stat st {};
  if (stat((dir + "/points").c_str(), &st) != 0) return 0;  // not submitted: nothing to merge
  // Slurm is asked before the files are read: a task that writes its record and ends in
  // between is seen with its record, not as lost.
  const SubmittedTasks submitted = submitted_tasks(dir);
  const auto tasks = query_array_tasks(submitted.arrays, submitted.since, submitted.cluster_of);
  // One merge at a time (the report job and a user's `report DIR` may overlap): reading what
  // results.jsonl holds and appending what it lacks are one step under this lock.
  const std::string lock_path = dir + "/points/.merge.lock";
  std::string problem;
  const int lock = open_own(lock_path, O_RDWR | O_CREAT, &problem);
  if (lock < 0) throw WriteError(problem);
  while (flock(lock, LOCK_EX) != 0 && errno == EINTR) {
  }
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lock};
  std::size_t extra = 0;
  const std::vector<Record> records = study_records(dir, &extra, false);
  // Appended one by one under the file's lock: what results.jsonl held stays as it was.
  for (std::size_t i = records.size() - extra; i < records.size(); ++i)
    append_record(dir + "/results.jsonl", records[i]);
  if (!tasks) return static_cast<int>(extra);
  const std::vector<Record> lost = lost_point_records(dir, submitted, *tasks, records);
  for (const auto& r : lost) append_record(dir + "/results.jsonl", r);
  return static_cast<int>(extra + lost.size());
}

namespace {

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

/// True when `path` holds, past byte `offset`, a record of study point `point`.
bool has_record_since(const std::string& path, std::uint64_t offset, const std::string& point) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;  // (a FIFO blocks)
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(offset));
  for (std::string line; std::getline(in, line);) {
    const Json j = parse_json(line);
    if (j.is_object() && j.value("point", Json()) == point) return true;
  }
  return false;
}

}  // namespace

std::string launcher_named(const std::string& launcher) {
  std::string l = launcher;
  if (l == "auto") l = std::getenv("SLURM_JOB_ID") && on_path("srun") ? "srun" : "mpirun";
  if (l != "mpirun" && l != "srun")
    throw InputError("--launcher must be auto, mpirun or srun, got '" + launcher + "'");
  return l;
}

std::string resolve_launcher(const std::string& launcher, const std::vector<Point>& points) {
  const std::string l = launcher_named(launcher);
  const bool needs_mpi =
      std::any_of(points.begin(), points.end(), [](const Point& p) { return uses_mpi(p.backend); });
  if (needs_mpi && !on_path(l))
    throw InputError("launcher '" + l +
                     "' is not on PATH; install it (mpirun: Debian's openmpi-bin) or leave mpi "
                     "and hybrid out of --backends");
  if (needs_mpi && l == "srun") check_srun_in_allocation("the study", "pararun submit");
  return l;
}

int usable_cpus(const std::string& launcher) {
  const char* per_node = std::getenv("SLURM_JOB_CPUS_PER_NODE");  // e.g. "2(x3),4"
  if (launcher != "srun" || !per_node) return online_cpus();
  int total = 0;
  for (const auto& item : split(per_node)) {
    const int cpus = std::atoi(item.c_str());
    const auto x = item.find("(x");
    total += cpus * (x == std::string::npos ? 1 : std::atoi(item.c_str() + x + 2));
  }
  return total > 0 ? total : online_cpus();
}

StudyRun run_study(const StudySpec& spec, const std::vector<Point>& points, const std::string& dir,
                   const std::string& launcher, const std::string& exe, const volatile int* stop,
                   const std::function<void(const PointDone&)>& on_done) {
  const std::string results = dir + "/results.jsonl";
  merge_point_records(dir);  // a study submitted before: its array tasks' records
  std::set<std::string> done;
  for (const auto& id : done_points(dir)) done.insert(id);
  std::remove((dir + "/checkpoint.json").c_str());

  const int cores = usable_cpus(launcher);
  // Started on fewer CPUs than the node's (taskset): mpirun binding ranks would place them on
  // the node's first cores, outside those; unbound, they keep the CPUs spawn gives mpirun.
  const Placement placement = launcher == "mpirun" && usable_cpus() != node_cpus()
                                  ? Placement::inherit
                                  : Placement::bind_cores;
  const auto start = std::chrono::steady_clock::now();
  const ExecutableWatch program(exe);
  StudyRun out;
  const int total = static_cast<int>(points.size());
  for (int i = 0; i < total && !*stop; ++i) {
    const Point& p = points[static_cast<std::size_t>(i)];
    if (done.count(p.id)) {
      ++out.skipped;
      continue;
    }
    // One build measures the whole study: a binary rebuilt while it ran would run the rest.
    out.replaced = program.replaced();
    if (!out.replaced.empty()) break;
    std::vector<std::string> args = launcher_prefix(p, launcher, cores, placement);
    args.push_back(exe);
    for (auto& a : run_arguments(p, spec, results)) args.push_back(a);
    std::string log = dir + "/logs/" + p.id + ".log";
    std::replace(log.begin() + static_cast<long>(dir.size()) + 6, log.end(), '/', '_');
    const std::uint64_t before = file_size(results);
    const int code = spawn_and_wait(args, log, stop);
    // What the point wrote, not its exit code, says whether it has a record: a launcher that
    // failed (srun without a cluster, mpirun as root without Open MPI's variables) exits 1,
    // like a verification failure, but wrote nothing.
    const bool recorded = has_record_since(results, before, p.id);
    // Stopped while the point ran: abandoned without a record, it runs again on --resume
    // (a point that finished before the signal reached it keeps its record).
    if (*stop && !recorded) break;
    ++out.run;
    done.insert(p.id);
    if (code != 0) ++out.failures;
    if (!recorded) {  // no record was written: keep the failure in the results
      // 0 too: a point that exited 0 without its record is an error
      append_record(results, error_record(p, spec.scaling, kDefaultSeed, code, log));
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!recorded && code == 0) ++out.failures;
    on_done({i + 1, total, &p, code, recorded, elapsed, elapsed / out.run * (total - i - 1)});
  }
  if (!*stop && out.replaced.empty()) return out;

  // Stopped (Slurm's warning signal before the time limit, scancel, Ctrl-C, a replaced
  // binary): every finished record is already on disk; the checkpoint says what is left and
  // how to go on. What is done is what the results file says (a point may have written its
  // record just before the signal reached it).
  out.stopped_by = *stop;
  done.clear();
  for (const auto& id : done_points(dir)) done.insert(id);
  Json left = Json::array();
  for (const auto& p : points)
    if (!done.count(p.id)) left.push_back(p.id);
  out.points_left = static_cast<int>(left.size());
  out.resume = resume_command(resume_from(own_arguments()), dir);
  const Json checkpoint = {
      {"stopped_by", out.stopped_by ? strsignal(out.stopped_by) : out.replaced},
      {"signal", out.stopped_by},
      {"points_done", total - out.points_left},
      {"points_left", left},
      {"resume", out.resume}};
  write_file_atomically(dir + "/checkpoint.json", json_text(checkpoint, 2) + "\n");
  return out;
}

std::vector<ReportGroup> write_study_report(const std::string& dir, const std::string& title,
                                            const volatile int* stop, int* plots_stopped_by) {
  const RecordFile rf = read_records(dir + "/results.jsonl");
  warn_bad_lines(rf);
  const auto groups = analyse(rf.records);
  // (Kernel names, labels and why a host was busy come from the records: shown, never obeyed
  // by the terminal, as `pararun report` does.)
  std::string text = printable(format_report(groups), true);
  // Points of the study without a verified record (failed, abandoned or never run).
  const Json manifest = parse_json(slurp(dir + "/study.json"));
  // (A damaged study.json lists no points: its ids are strings, as study_records reads them.)
  if (manifest.is_object() && manifest.value("points", Json()).is_array()) {
    const auto done = completed_points(rf.records);
    std::string missing;
    int n = 0;
    for (const auto& id : manifest["points"])
      if (id.is_string() &&
          std::find(done.begin(), done.end(), id.get<std::string>()) == done.end()) {
        missing += "  " + printable(id.get<std::string>()) + "\n";
        ++n;
      }
    if (n)
      text += "\n" + std::to_string(n) + " point(s) without a verified record (logs in " + dir +
              "/logs):\n" + missing;
  }
  std::fputs(text.c_str(), stdout);
  write_file_atomically(dir + "/speedup.csv", csv_report(groups));
  write_file_atomically(dir + "/analysis.json", json_text(analysis_json(groups), 1) + "\n");

  // Plots through Debian's matplotlib, when it is there; the study stands without them.
  const std::string plot_log = dir + "/logs/plot.log";
  std::remove(plot_log.c_str());
  // Not started once a stop signal came; stopped when one comes while it draws (a signal
  // after it drew every plot changes nothing). "--": a folder named -h is a folder.
  const int plot =
      stop && *stop
          ? -1
          : spawn_and_wait({"/usr/bin/python3", data_file("scripts/plot_study.py"), "--", dir},
                           plot_log, stop);
  std::vector<std::string> images;
  const std::string plot_out = slurp(plot_log);
  const int stopped = stop && *stop && plot != 0 ? *stop : 0;
  if (plots_stopped_by) *plots_stopped_by = stopped;
  if (stopped) {  // Ctrl-C reaches python3 too: its KeyboardInterrupt is no missing module
    std::fprintf(stderr, "plots skipped: stopped by signal %d (%s)\n", stopped, strsignal(stopped));
  } else if (plot == 0) {
    for (auto& line : split(plot_out, '\n'))
      if (line.size() > 4 && line.substr(line.size() - 4) == ".png" &&
          line.find('/') == std::string::npos)  // a file of the folder, as plot_study.py names
        images.push_back(line);
  } else if (plot == 127 || plot_out.find("No module named") != std::string::npos) {
    std::fprintf(stderr, "plots skipped (%s): they need Debian's python3-matplotlib\n",
                 plot_log.c_str());
  } else {
    std::fprintf(stderr, "plots skipped: plot_study.py failed (exit %d); see %s\n", plot,
                 plot_log.c_str());
  }
  std::string md = "# ParaRun study\n\n`" + dir + "`: " + title + ".\n\n";
  for (const auto& img : images) md += "![" + img + "](" + img + ")\n\n";
  md += "```\n" + text + "```\n";
  const auto with_meta = std::find_if(rf.records.begin(), rf.records.end(),
                                      [](const Record& r) { return r.json.contains("meta"); });
  if (with_meta != rf.records.end()) {
    const Json& m = with_meta->json["meta"];
    const Json build = m.value("build", Json::object());
    md += "\n## Machine\n\n| | |\n|---|---|\n";
    md += "| hosts | " + json_text(m.value("hosts", Json::array())) + " |\n";
    md += "| CPU | " + json_text(m.value("cpu_model", Json(""))) + ", " +
          json_text(m.value("cores", Json(0))) + " cores |\n";
    for (const char* key : {"compiler", "flags", "build_type", "git_commit", "mpi_library",
                            "openmp", "eigen", "openblas"})
      if (build.contains(key) && build[key].is_string())
        md += std::string("| ") + key + " | " + build[key].get<std::string>() + " |\n";
    md += "| environment | " + json_text(m.value("env", Json::object())) + " |\n";
    if (m.contains("slurm") && !m["slurm"].empty())
      md += "| slurm | " + json_text(m["slurm"]) + " |\n";
  }
  write_file_atomically(dir + "/report.md", md);
  std::printf("\nStudy: %s (results.jsonl, report.md, speedup.csv%s, logs/)\n", dir.c_str(),
              images.empty() ? "" : ", plots");
  return groups;
}

}  // namespace pararun
