#include "pararun/batch_run.hpp"

#include "pararun/launcher.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/metadata.hpp"
#include "pararun/process.hpp"
#include "pararun/slurm.hpp"
#include "pararun/stats.hpp"
#include "pararun/study.hpp"
#include "pararun/sysinfo.hpp"
#include "pararun/table.hpp"

namespace pararun {

namespace {

constexpr const char* kBatchSchema = "pararun.batch/1";

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

std::string job_file(const std::string& dir, const std::string& id) {
  return dir + "/jobs/" + id + ".jsonl";
}

Json manifest_json(const BatchManifest& m, const Json& history) {
  Json jobs = Json::array();
  for (const auto& j : m.jobs) jobs.push_back(j.to_json());
  return {{"schema", kBatchSchema}, {"name", m.name}, {"manifest", m.path},
          {"history", history},     {"jobs", jobs},   {"build", build_identity()}};
}

/// The final record of a job in `dir`, or null when it has none (yet).
Json final_record(const std::string& dir, const std::string& id) {
  const std::string text = slurp(job_file(dir, id));
  if (text.empty()) return nullptr;
  const Json j = parse_json(text);
  return j.is_object() ? j : Json(nullptr);
}

bool verified(const Json& record) {
  std::string why;
  const auto r = read_record(record, &why);
  return r && r->verified();
}

Point point_of(const BatchJob& job) {
  Point p;
  p.id = job.id;
  p.kernel = job.kernel;
  p.variant = job.variant;
  p.backend = job.backend;
  p.threads = job.threads;
  p.ranks = job.ranks;
  p.size = job.size;
  return p;
}

/// The command of one attempt of `job`, its record going to `out`.
std::vector<std::string> job_command(const BatchJob& job, const BatchOptions& o,
                                     const std::string& out) {
  // The job's CPUs are the launcher's affinity (set at spawn): the ranks stay on them.
  std::vector<std::string> a = launcher_prefix(LaunchShape{job.backend, job.ranks, job.threads},
                                               o.launcher, job.cores, Placement::inherit);
  a.insert(a.end(), {o.exe,
                     "run",
                     job.kernel,
                     "--backend",
                     to_string(job.backend),
                     "--variant",
                     job.variant,
                     "--size",
                     std::to_string(job.size),
                     "--seed",
                     std::to_string(job.seed),
                     "--reps",
                     std::to_string(job.reps),
                     "--max-reps",
                     std::to_string(std::max(job.reps, job.max_reps)),
                     "--warmup",
                     std::to_string(job.warmup),
                     "--time-limit",
                     format("%g", job.time_limit),
                     "--point",
                     job.id,
                     "--out",
                     out});
  if (uses_threads(job.backend)) a.insert(a.end(), {"--threads", std::to_string(job.threads)});
  if (!job.input.empty()) a.insert(a.end(), {"--input", job.input});
  return a;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// True when `pid` is a live process (not a zombie whose parent has not reaped it yet).
bool alive(int pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

struct Running {
  std::size_t job = 0;
  int attempt = 1;
  std::vector<int> cpus;
  double start = 0, start_unix = 0;
  bool terminated = false, killed = false, timed_out = false;
  std::string attempt_file;
};

}  // namespace

std::vector<std::size_t> backfill(int free_cores, std::uint64_t memory_used,
                                  std::uint64_t memory_budget,
                                  const std::vector<RunningJob>& running,
                                  const std::vector<WaitingJob>& waiting, double now_s) {
  std::vector<std::size_t> start;
  std::vector<RunningJob> ending = running;  // and the jobs started here, by when they end
  bool reserved = false;
  double shadow = 0;  // when the reserved job can start
  int spare = 0;      // cores the reserved job leaves over at that time
  for (std::size_t i = 0; i < waiting.size() && free_cores > 0; ++i) {
    const WaitingJob& w = waiting[i];
    const bool memory_fits = memory_used == 0 || memory_used + w.memory <= memory_budget;
    const bool fits = w.cores <= free_cores && memory_fits;
    if (reserved) {
      if (!fits) continue;
      const bool ends_before = now_s + w.time_limit_s <= shadow;
      if (!ends_before && w.cores > spare) continue;
      if (!ends_before) spare -= w.cores;
    } else if (!fits) {
      if (!memory_fits && w.cores <= free_cores) continue;  // memory, not cores: no reservation
      // The reservation: the earliest end of running jobs that frees enough cores.
      std::sort(ending.begin(), ending.end(),
                [](const RunningJob& a, const RunningJob& b) { return a.ends_s < b.ends_s; });
      int avail = free_cores;
      for (const auto& r : ending) {
        avail += r.cores;
        if (avail >= w.cores) {
          reserved = true;
          shadow = r.ends_s;
          spare = avail - w.cores;
          break;
        }
      }
      continue;  // (more cores than the node: never fits, and reserves nothing)
    }
    start.push_back(i);
    free_cores -= w.cores;
    memory_used += w.memory;
    ending.push_back({w.cores, now_s + w.time_limit_s});
  }
  return start;
}

namespace {

void prepare_batch_dir_in(const BatchManifest& m, const BatchOptions& o,
                          std::vector<std::string>* added, std::optional<FolderLock>* lock) {
  const std::string& dir = o.out;
  const std::string path = dir + "/batch.json";
  const auto take_lock = [&] {
    if (lock && !*lock) lock->emplace(dir, "batch");
  };
  struct stat st {};
  // (A folder of anything else is refused below without a lock file left in it.)
  if (lstat(path.c_str(), &st) == 0) take_lock();
  Json history = Json::array();
  Json held = Json::array();  // the jobs batch.json lists: this run's, and earlier selections'
  bool fresh = false;         // batch.json is made now
  std::vector<std::string> created, made;  // the folders this call made: the folder, its own
  if (exists(path)) {
    const Json old = parse_json(slurp(path));
    if (!old.is_object() || value_or<std::string>(old, "schema", "") != kBatchSchema ||
        !old["jobs"].is_array())
      throw InputError("'" + path + "' is not a batch file of this version; choose a new --out");
    if (!o.resume)
      throw InputError("'" + dir + "' holds a batch already; add --resume to continue it");
    // One build measures the whole batch (a batch.json of a version before builds were kept
    // names none: not checked).
    if (const auto then = old.find("build");
        then != old.end() && then->is_object() && *then != build_identity())
      throw InputError(other_build_problem(dir, *then, build_identity()));
    // Checked against the whole manifest: a job another --tags selected is still the batch's.
    std::map<std::string, Json> now;
    for (const auto* list : {&m.jobs, &m.left_out})
      for (const auto& j : *list) now[j.id] = j.to_json();
    std::set<std::string> before;
    for (const auto& j : old["jobs"]) {
      const std::string id = value_or<std::string>(j, "id", "");
      before.insert(id);
      const auto it = now.find(id);
      if (it == now.end())
        throw InputError("the manifest changed: job " + id + " of the batch in '" + dir +
                         "' is not in '" + m.path + "' any more; use a new --out");
      if (it->second != j) {
        std::string keys;
        for (const auto& [k, v] : it->second.items())
          if (j.value(k, Json()) != v) keys += (keys.empty() ? "" : ", ") + k;
        throw InputError("the manifest changed: job " + id + " has another " + keys + " than in '" +
                         dir + "'; use a new --out");
      }
    }
    // batch.json keeps what it held, then the jobs new to it.
    for (const auto& j : old["jobs"]) held.push_back(now.at(value_or<std::string>(j, "id", "")));
    for (const auto& j : m.jobs)
      if (!before.count(j.id)) {
        held.push_back(j.to_json());
        if (added) added->push_back(j.id);
      }
    history = value_or(old, "history", Json::array());
    if (!history.is_array()) history = Json::array();  // (an edited file: the history restarts)
  } else {
    created =
        make_output_folder(dir, {"results.jsonl", "batch.json", "checkpoint.json", "summary.json"},
                           {"study.json", "points", "report.md", "jobs", "slurm"});
    // Its folders, where they are there already: refused before batch.json is written (a
    // file named logs left a batch.json no run could use).
    for (const char* sub : {"/logs", "/running"})
      if (struct stat s{}; lstat((dir + sub).c_str(), &s) == 0 && !S_ISDIR(s.st_mode))
        throw InputError("'" + dir + sub + "' is not a folder; a batch keeps its " + (sub + 1) +
                         " there: choose a new --out");
    take_lock();
    fresh = true;
  }
  bool wrote = false;
  try {
    if (fresh && exists(path))  // another run made it meanwhile
      throw InputError("'" + dir + "' holds a batch already; add --resume to continue it");
    history.push_back({{"at", utc_timestamp()},
                       {"by", o.merge ? "run" : "submit"},
                       {"jobs", m.jobs.size()},
                       {"added", added && !history.empty() ? added->size() : 0}});
    // batch.json first: a batch stopped between the two is resumed (--resume makes the
    // folders); the other way round its jobs/ made the folder another run's, and it could be
    // neither resumed (no batch.json) nor started again.
    Json written = manifest_json(m, history);
    if (!held.empty()) written["jobs"] = held;
    write_file_atomically(path, json_text(written, 1) + "\n");
    wrote = fresh;
    for (const char* sub : {"/jobs", "/logs", "/running"})
      if (const std::string why = make_dirs(dir + sub, &made); !why.empty()) throw InputError(why);
  } catch (...) {  // (a full disk, an inode quota): a new batch leaves nothing behind
    if (wrote) std::remove(path.c_str());
    remove_empty_dirs(made);
    let_go_of_refused(lock, path);
    remove_empty_dirs(created);
    throw;
  }
}

}  // namespace

std::string prepare_batch_dir(const BatchManifest& m, const BatchOptions& o,
                              std::vector<std::string>* added, std::optional<FolderLock>* lock) {
  try {
    prepare_batch_dir_in(m, o, added, lock);
    return o.out;
  } catch (...) {  // (also a lock the caller took of the folder: a user's, left as it was)
    let_go_of_refused(lock, o.out + "/batch.json");
    throw;
  }
}

int merge_batch_results(const std::string& dir, const std::vector<std::string>& ids, int* kept,
                        double lock_wait_s) {
  const std::string path = dir + "/results.jsonl";
  std::string text;
  std::set<std::string> merged;
  int n = 0;
  for (const auto& id : ids) {
    const Json r = final_record(dir, id);
    if (r.is_null()) continue;
    text += json_text(r) + "\n";
    merged.insert(id);
    ++n;
  }
  // What the file held that no job's record file replaces stays: records of jobs not merged
  // now (a record file lost), records put there by hand (pararun run -o), and lines that are
  // not records (named: `report` skips them, and they are not this command's to drop). The
  // file is read and replaced under its lock, which `run -o` takes to append: a record
  // appended meanwhile would have gone to the old file, and been lost with it.
  int held = 0, not_records = 0;
  std::string problem;
  // Another user's link there is not followed: neither read (its file's lines would be kept
  // in a results file others can read) nor replaced.
  const std::string file = own_link_target(path);
  if (std::string why = foreign_link_problem(path, file); !why.empty()) throw WriteError(why);
  struct stat st {};
  const bool regular = stat(file.c_str(), &st) != 0 || S_ISREG(st.st_mode);  // (or missing)
  bool busy = false;
  const int fd = regular ? open_locked(path, O_RDWR, &problem, lock_wait_s, &busy) : -1;
  if (busy)  // nothing is lost: each job's record file stays for a later merge
    throw WriteError(problem + "; it is unchanged, the records stay in " + dir +
                     "/jobs/ (pararun batch merge " + shell_quote(dir) + " merges them)");
  if (regular && fd < 0)
    std::fprintf(stderr,
                 "pararun: warning: %s: a record appended while it is merged could be lost\n",
                 problem.c_str());
  struct FdCloser {
    int fd;
    ~FdCloser() {
      if (fd >= 0) ::close(fd);  // (the lock with it)
    }
  } closer{fd};
  // What is read is the locked file itself (not the path again); without a lock, the file
  // the path names (not a FIFO or a device).
  std::string before;
  if (fd >= 0) {
    char buf[1 << 16];
    for (ssize_t n; (n = pread(fd, buf, sizeof buf, static_cast<off_t>(before.size()))) != 0;) {
      if (n > 0)
        before.append(buf, static_cast<std::size_t>(n));
      else if (errno != EINTR)
        throw WriteError("cannot read '" + path + "': " + std::strerror(errno) +
                         " (it is unchanged)");
    }
  } else if (regular) {
    before = slurp(file);
  }
  std::istringstream old(before);
  for (std::string line; std::getline(old, line);) {
    const Json r = parse_json(line);
    if (!r.is_object()) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      text += line + "\n";
      ++not_records;
      continue;
    }
    const Json point = r.value("point", Json());
    if (point.is_string() && merged.count(point.get<std::string>())) continue;
    text += line + "\n";
    ++held;
  }
  if (not_records > 0)
    std::fprintf(stderr,
                 "pararun: warning: %s: %d line(s) that are not records kept as they were\n",
                 path.c_str(), not_records);
  if (kept) *kept = held;
  write_file_atomically(path, text);
  return n;
}

BatchRun run_batch(const std::vector<BatchJob>& jobs, const std::string& dir, const BatchOptions& o,
                   const volatile int* stop,
                   const std::function<void(const BatchEvent&)>& on_event) {
  BatchRun out;
  out.total = static_cast<int>(jobs.size());
  out.cores = o.cores > 0 ? o.cores : online_cpus();
  {
    std::set<std::string> ids;
    for (const auto& job : jobs)
      if (!ids.insert(job.id).second)
        throw InputError("job " + job.id + " is in the batch twice; every job needs its own id");
  }
  // One run of a batch folder at a time (two would share its jobs' files); Slurm array
  // tasks, which each run one job of it, do not take the lock.
  std::optional<FolderLock> lock;
  if (o.merge) lock.emplace(dir, "batch");
  if (o.merge) std::remove((dir + "/checkpoint.json").c_str());
  // What an earlier run left: attempt files of jobs that never finished (each run names its
  // own: a process an earlier run left behind cannot write into this run's), stale markers.
  // The folder is listed, not globbed: its name may hold * ? [ ], which a glob would match
  // against other folders (b[1] is b1). Not by a Slurm task (no lock): another task of its
  // job may still run (a node Slurm lost that runs on, its job requeued elsewhere), and its
  // attempt file is its record to be.
  std::set<std::string> job_ids;
  for (const auto& job : jobs) {
    std::remove((dir + "/running/" + job.id).c_str());
    job_ids.insert(job.id);
  }
  if (DIR* d = o.merge ? opendir((dir + "/jobs").c_str()) : nullptr) {
    // Exactly ID.attemptN.PID: a job labelled "attempt" has the id X.attempt, and its record
    // file X.attempt.jsonl is no attempt of job X.
    const auto attempt_suffix = [](const std::string& t) {  // "N.PID"
      const auto dot = t.find('.');
      return dot != std::string::npos && dot > 0 && dot + 1 < t.size() &&
             t.find_first_not_of("0123456789.") == std::string::npos &&
             t.find('.', dot + 1) == std::string::npos;
    };
    std::vector<std::string> stale;
    while (const dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      for (auto at = name.find(".attempt"); at != std::string::npos;
           at = name.find(".attempt", at + 1))
        if (attempt_suffix(name.substr(at + 8)) && job_ids.count(name.substr(0, at))) {
          stale.push_back(dir + "/jobs/" + name);
          break;
        }
    }
    closedir(d);
    for (const auto& path : stale) std::remove(path.c_str());
  }

  std::deque<std::pair<std::size_t, int>> pending;  // job index, attempt
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const Json r = final_record(dir, jobs[i].id);
    if (!r.is_null() && verified(r))
      ++out.skipped;
    else
      pending.emplace_back(i, 1);
  }
  // The CPUs this batch may use (its cgroup's, in a Slurm allocation or a container), not
  // 0..cores-1: pinned outside them, jobs shared the allowed ones unrecorded. A Slurm array
  // task (not pinned: Slurm chose its CPUs) may be given more cores than it sees: numbers
  // past the last stand for them, or its job would wait for them forever.
  std::set<int> free_cpus;
  const std::vector<int>& usable = usable_cpus();
  for (std::size_t i = 0; static_cast<int>(free_cpus.size()) < out.cores; ++i)
    free_cpus.insert(i < usable.size() ? usable[i]
                                       : usable.back() + 1 + static_cast<int>(i - usable.size()));
  std::map<int, double> free_since;  // cpu -> when it became free
  const double start = now_s();
  for (int c : free_cpus) free_since[c] = start;
  const std::uint64_t memory_budget = available_memory_bytes() / 10 * 9;
  std::uint64_t memory_used = 0;
  std::map<pid_t, Running> running;
  int done = out.skipped, failed = 0;
  double finished_core_s = 0;
  int finished = 0;

  auto progress = [&] {
    BatchProgress p;
    p.total = out.total;
    p.done = done;
    p.failed = failed;
    p.running = static_cast<int>(running.size());
    p.pending = static_cast<int>(pending.size());
    p.elapsed_s = now_s() - start;
    // Remaining core time at the mean of what finished, spread over the cores.
    p.eta_s = finished ? finished_core_s / finished * (p.pending + p.running) / out.cores : 0;
    return p;
  };

  // The binary the jobs run: rebuilt meanwhile, it would measure the jobs left with another build.
  const ExecutableWatch program(o.exe);
  const bool set_binding = !std::getenv("OMP_PLACES") && !std::getenv("OMP_PROC_BIND");
  auto launch = [&](std::size_t index, int attempt, std::vector<int> cpus) {
    const BatchJob& job = jobs[index];
    Running r;
    r.job = index;
    r.attempt = attempt;
    r.cpus = std::move(cpus);
    if (attempt > 1) ++out.retries;  // (counted as it starts: a retry the batch dropped is none)
    r.attempt_file = dir + "/jobs/" + job.id + ".attempt" + std::to_string(attempt) + "." +
                     std::to_string(getpid());
    std::remove(r.attempt_file.c_str());
    SpawnOptions how;
    how.log = dir + "/logs/" + job.id + ".log";
    how.cpus = r.cpus;
    how.keep_affinity = !o.pin;
    how.own_group = true;
    how.env = {{"OMP_NUM_THREADS", std::to_string(job.threads)}};
    if (uses_mpi(job.backend) && job.ranks > 1) {
      // The ranks share the job's CPUs unbound (Placement::inherit): OpenMP binding, the
      // parent's or ours, would put every rank on the first of them (2 SUMMA ranks on 2 cores
      // ran both on CPU 0: 0.92x of 1 rank, recorded as oversubscribed). The OS places them.
      how.env.emplace_back("OMP_PROC_BIND", "false");
      how.unset.push_back("OMP_PLACES");
    } else if (set_binding && uses_threads(job.backend)) {
      how.env.insert(how.env.end(), {{"OMP_PLACES", "cores"}, {"OMP_PROC_BIND", "close"}});
    }
    if (!job.label.empty()) how.env.emplace_back("PARARUN_LABEL", job.label);
    for (const auto& [name, value] : job.env)  // the manifest's, after ParaRun's own
      if (value)
        how.env.emplace_back(name, *value);
      else
        how.unset.push_back(name);
    write_own(how.log,
              "== pararun batch: attempt " + std::to_string(attempt) + " of " +
                  std::to_string(job.retries + 1) + " on CPUs " + format_cpu_list(r.cpus) + " at " +
                  utc_timestamp() + "\n",
              O_APPEND);
    r.start = now_s();
    r.start_unix = unix_time();
    const pid_t pid = spawn(job_command(job, o, r.attempt_file), how);
    if (pid < 0) throw std::runtime_error(std::string("cannot start a job: ") + strerror(errno));
    write_own(dir + "/running/" + job.id,
              json_text(Json{{"pid", pid},
                             {"batch_pid", getpid()},
                             {"attempt", attempt},
                             {"cpus", format_cpu_list(r.cpus)},
                             {"host", host_name()},
                             {"started", utc_timestamp()}}) +
                  "\n",
              O_TRUNC);
    running[pid] = r;
    BatchEvent e;
    e.kind = BatchEvent::started;
    e.job = &job;
    e.attempt = attempt;
    e.cpus = format_cpu_list(r.cpus);
    e.progress = progress();
    on_event(e);
  };

  std::vector<std::function<void()>> deferred;  // final records to write, in order
  // The ending of one job's attempt: its final record, a retry, or (stopping) nothing.
  auto reap = [&](pid_t pid, int status, const rusage& ru) {
    const auto it = running.find(pid);
    if (it == running.end()) return;
    Running r = it->second;
    running.erase(it);
    kill(-pid, SIGKILL);  // whatever the job left in its group (a rank mpirun did not end)
    const BatchJob& job = jobs[r.job];
    const double end = now_s(), wall = end - r.start;
    for (int c : r.cpus) {
      free_cpus.insert(c);
      free_since[c] = end;
    }
    memory_used -= std::min(memory_used, job.memory);
    out.held_core_s += wall * static_cast<double>(r.cpus.size());
    out.cpu_s += static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::remove((dir + "/running/" + job.id).c_str());
    // The record the attempt wrote, if it wrote one.
    Json record;
    {
      std::ifstream in(r.attempt_file);
      for (std::string line; std::getline(in, line);) {
        const Json j = parse_json(line);
        if (j.is_object() && j.value("point", Json()) == job.id) record = j;
      }
    }
    ++out.ran;
    const bool ok = code == 0 && record.is_object() && verified(record);
    // The run's own watchdog ends it at the job's time limit (exit 3).
    if (!ok && wall >= job.time_limit) r.timed_out = true;
    const std::string log = dir + "/logs/" + job.id + ".log";
    if (!ok && *stop && !record.is_object()) {  // abandoned: it runs again on --resume
      std::remove(r.attempt_file.c_str());
      return;
    }
    const bool retry = !ok && !*stop && r.attempt <= job.retries;
    // A retry would run the binary now at the path: another build there (rebuilt meanwhile)
    // stops the batch, and the job is left for --resume (no record), neither retried nor
    // counted as a retry.
    if (retry && out.replaced.empty()) out.replaced = program.replaced();
    if (retry && !out.replaced.empty()) {
      std::remove(r.attempt_file.c_str());
      return;
    }
    BatchEvent e;
    e.job = &job;
    e.attempt = r.attempt;
    e.exit_code = code;
    e.ok = ok;
    e.timed_out = r.timed_out;
    e.wall_s = wall;
    e.cpus = format_cpu_list(r.cpus);
    if (retry) {
      std::remove(r.attempt_file.c_str());
      pending.emplace_front(r.job, r.attempt + 1);
      e.kind = BatchEvent::retrying;
      e.progress = progress();
      on_event(e);
      return;
    }
    if (!record.is_object()) {
      record = to_json(error_record(point_of(job), "none", job.seed, code, log));
    }
    record["batch"] = {{"job", job.id},
                       {"attempt", r.attempt},
                       {"attempts_allowed", job.retries + 1},
                       {"exit_code", code},
                       {"timed_out", r.timed_out},
                       {"cpus", o.pin ? format_cpu_list(r.cpus) : std::string("allocation")},
                       {"cores", r.cpus.size()},
                       {"started", r.start_unix},
                       {"ended", r.start_unix + wall},
                       {"wall_s", wall},
                       {"tags", job.tags},
                       {"label", job.label},
                       {"origin", job.origin},
                       {"log", log}};
    // Written after the freed cores have their next jobs: the flush to disk does not hold
    // them up. Until it is written the job has no final record, and a --resume runs it again.
    deferred.push_back([&, record, e, attempt_file = r.attempt_file, wall]() mutable {
      const BatchJob& job = *e.job;
      write_file_atomically(job_file(dir, job.id), json_text(record) + "\n");
      std::remove(attempt_file.c_str());
      ++done;
      if (e.ok)
        ++out.ok;
      else
        ++out.failed, ++failed;
      ++finished;
      finished_core_s += wall * static_cast<double>(job.cores);
      e.kind = BatchEvent::finished;
      e.progress = progress();
      on_event(e);
    });
  };

  // An error out of the loop below (fork: EAGAIN; a full disk under a job's record) ends the
  // jobs it started, their whole groups: mpirun dies with the batch (PR_SET_PDEATHSIG), its
  // ranks did not, and ran on into the CPUs of the next run's jobs.
  struct EndRunning {
    std::map<pid_t, Running>& running;
    ~EndRunning() {
      if (!std::uncaught_exceptions()) return;
      for (const auto& [pid, r] : running) kill(-pid, SIGKILL);
      for (const auto& [pid, r] : running) waitpid(pid, nullptr, 0);
    }
  } end_running{running};
  bool stopping = false;
  double stop_at = 0;
  // backfill() runs again only when a job ended (cores, memory or the queue changed): with
  // nothing changed, time only moves the reservation's deadline closer, so a pass that
  // started nothing would start nothing again.
  bool reschedule = true;
  while (!pending.empty() || !running.empty() || !deferred.empty()) {
    bool acted = false;
    if (*stop && !stopping) {  // end what runs; it runs again on --resume
      stopping = true;
      stop_at = now_s();
      pending.clear();
      for (auto& [pid, r] : running) {
        kill(-pid, SIGTERM);
        r.terminated = true;
      }
    }
    // Jobs that ended.
    for (;;) {
      int status = 0;
      rusage ru{};
      const pid_t pid = wait4(-1, &status, WNOHANG, &ru);
      if (pid <= 0) break;
      reap(pid, status, ru);
      reschedule = true;
      acted = true;
    }
    // One build runs the whole batch: a binary rebuilt meanwhile would run the jobs left.
    // Those running finish; the rest (a retry waiting for cores too) wait for --resume.
    if (out.replaced.empty() && reschedule && !stopping && !free_cpus.empty() && !pending.empty())
      out.replaced = program.replaced();
    if (!out.replaced.empty()) pending.clear();
    // Start the pending jobs that backfill picks (in order while they fit; a job that does
    // not fit is reserved the cores it needs, later ones pass it only without delaying it).
    // A start that fails (fork: EAGAIN) must not lose the records of jobs that just ended.
    struct Flush {
      std::vector<std::function<void()>>& writes;
      ~Flush() {
        if (!std::uncaught_exceptions()) return;
        for (auto& w : writes) try {
            w();
          } catch (const std::exception&) {  // unwinding already: the first error is reported
          }
      }
    } flush{deferred};
    if (reschedule && !stopping && !free_cpus.empty() && !pending.empty()) {
      reschedule = false;
      std::vector<RunningJob> busy;
      for (const auto& [pid, r] : running)
        busy.push_back({static_cast<int>(r.cpus.size()), r.start + jobs[r.job].time_limit});
      std::vector<WaitingJob> waiting;
      for (const auto& [index, attempt] : pending)
        waiting.push_back({jobs[index].cores, jobs[index].time_limit, jobs[index].memory});
      const double t = now_s();
      const auto chosen = backfill(static_cast<int>(free_cpus.size()), memory_used, memory_budget,
                                   busy, waiting, t);
      std::vector<std::pair<std::size_t, int>> starting;
      for (auto k = chosen.rbegin(); k != chosen.rend(); ++k) {  // erase from the back
        starting.push_back(pending[*k]);
        pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(*k));
      }
      for (auto k = starting.rbegin(); k != starting.rend(); ++k) {
        const auto [index, attempt] = *k;
        const BatchJob& job = jobs[index];
        std::vector<int> cpus(free_cpus.begin(), std::next(free_cpus.begin(), job.cores));
        for (int c : cpus) {
          free_cpus.erase(c);
          out.idle_core_s += t - free_since[c];
        }
        memory_used += job.memory;
        launch(index, attempt, cpus);
        acted = true;
      }
    }
    for (auto& write : deferred) write();
    deferred.clear();
    // Time limits: the run's own watchdog ends it at its limit; this is the backstop for a
    // launcher or a process that does not end (SIGTERM to its group, SIGKILL 10 s later).
    const double t = now_s();
    for (auto& [pid, r] : running) {
      const double limit = jobs[r.job].time_limit + 10;
      if (!r.terminated && t - r.start > limit) {
        kill(-pid, SIGTERM);
        r.terminated = r.timed_out = true;
      } else if (r.terminated && !r.killed && t - (r.timed_out ? r.start + limit : stop_at) > 10) {
        kill(-pid, SIGKILL);
        r.killed = true;
      }
    }
    if (!acted) usleep(1000);
  }
  out.makespan_s = now_s() - start;

  out.stopped_by = *stop;
  if (!o.merge) return out;
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  // A merge that cannot be done (its file locked elsewhere, a full disk) loses nothing: the
  // jobs' records stay, and the checkpoint and summary are still written.
  try {
    merge_batch_results(dir, ids);
  } catch (const WriteError& e) {
    out.merge_problem = e.what();
  }
  if (!*stop && out.replaced.empty()) return out;
  Json left = Json::array();
  for (const auto& j : jobs)
    if (!verified(final_record(dir, j.id))) left.push_back(j.id);
  write_file_atomically(
      dir + "/checkpoint.json",
      json_text(
          Json{{"stopped_by", out.stopped_by ? strsignal(out.stopped_by) : out.replaced},
               {"signal", out.stopped_by},
               {"jobs_left", left},
               {"resume", "pararun batch run MANIFEST --out " + shell_quote(dir) + " --resume"}},
          2) +
          "\n");
  return out;
}

std::vector<BatchJob> batch_jobs(const std::string& dir) {
  const Json batch = parse_json(slurp(dir + "/batch.json"));
  if (!batch.is_object() || value_or<std::string>(batch, "schema", "") != kBatchSchema ||
      !batch["jobs"].is_array())
    throw InputError("'" + dir + "' is not a batch folder (no batch.json of " + kBatchSchema + ")");
  std::vector<BatchJob> jobs;
  try {
    for (const auto& j : batch["jobs"]) jobs.push_back(batch_job_from_json(j));
  } catch (const std::invalid_argument& e) {
    throw InputError("'" + dir + "/batch.json' is damaged: " + e.what());
  }
  return jobs;
}

namespace {

/// What Slurm says of the latest array task of each job of a batch submitted to Slurm
/// (slurm/submitted.json), asked before the record files are read: a task that writes its
/// record and ends in between is then seen done, not "ended without a record".
struct SlurmView {
  std::map<std::string, std::string> task_of;  // job id -> "ARRAY_TASK", the latest
  std::map<std::string, SlurmTask> tasks;
  bool answered = false;
};

SlurmView slurm_view(const std::string& dir) {
  SlurmView v;
  // A local `batch run` after the last submission owns the folder's state now.
  const Json batch = parse_json(slurp(dir + "/batch.json"));
  const Json history = batch.is_object() ? batch.value("history", Json::array()) : Json::array();
  if (history.is_array() && !history.empty() && history.back().is_object() &&
      value_or<std::string>(history.back(), "by", "") == "run")
    return v;
  SubmittedTasks submitted_by = submitted_tasks(dir);
  v.task_of = std::move(submitted_by.task_of);
  if (auto tasks =
          query_array_tasks(submitted_by.arrays, submitted_by.since, submitted_by.cluster_of)) {
    v.tasks = std::move(*tasks);
    v.answered = true;
  }
  return v;
}

/// Pending and running tasks are named (a job resubmitted after a failure is pending again,
/// whatever its old record says); a task that ended without a record (a cancel, a node
/// failure, Slurm's time limit) is a failure with Slurm's state and log.
void add_slurm_states(const std::string& dir, const SlurmView& v,
                      std::vector<BatchJobState>& states) {
  if (!v.answered) return;  // Slurm does not answer: what the files say
  for (auto& s : states) {
    if (s.state == "done") continue;
    const auto key = v.task_of.find(s.id);
    if (key == v.task_of.end()) continue;
    const std::string job = "Slurm job " + key->second;
    const auto t = v.tasks.find(key->second);
    const bool known = t != v.tasks.end();
    if (known && (t->second.state == "PENDING" || slurm_state_active(t->second.state))) {
      const bool pending = t->second.state == "PENDING";
      s.state = pending ? "pending" : "running";
      s.reason = job + (pending ? (t->second.reason.empty() ? "" : " (" + t->second.reason + ")")
                                : " " + t->second.state + " on " + t->second.nodes);
      if (pending) s.attempts = 0;  // of this submission
      s.exit_code = 0;
      s.wall_s = 0;
    } else if (s.state != "failed") {  // ended, or cancelled before it ran: no record of it
      s.state = "failed";
      s.reason = job +
                 (!known ? " is neither queued nor running (cancelled, or ended long ago)"
                  : t->second.state == "COMPLETED"
                      ? " COMPLETED, but its record is not there (not visible yet on a "
                        "network filesystem?)"
                      : " ended " + t->second.state) +
                 " without a record";
      s.log = dir + "/logs/slurm-" + key->second + ".out";  // the scripts' --output
      s.attempts = s.exit_code = 0;
      s.wall_s = 0;
    }
  }
}

}  // namespace

std::vector<BatchJobState> batch_status(const std::string& dir) {
  std::vector<BatchJobState> out;
  const std::vector<BatchJob> jobs = batch_jobs(dir);
  const SlurmView slurm = slurm_view(dir);  // first: see above
  for (const auto& j : jobs) {
    BatchJobState s;
    s.id = j.id;
    s.log = dir + "/logs/" + s.id + ".log";
    const Json r = final_record(dir, s.id);
    if (r.is_object()) {
      // (The files may have been edited: a field of another type reads as its default.)
      const Json b = value_or(r, "batch", Json::object());
      s.state = verified(r) ? "done" : "failed";
      s.attempts = value_or(b, "attempt", 1);
      s.exit_code = value_or(b, "exit_code", 0);
      s.wall_s = value_or(b, "wall_s", 0.0);
      if (s.state == "failed")
        s.reason = value_or(b, "timed_out", false) ? "time limit"
                   : value_or<std::string>(r, "status", "") == "verification_failed"
                       ? "verification failed"
                       : "exit code " + std::to_string(s.exit_code);
    } else if (const Json m = parse_json(slurp(dir + "/running/" + s.id)); m.is_object()) {
      const int pid = value_or(m, "pid", 0), batch_pid = value_or(m, "batch_pid", 0);
      // A job on another node (a Slurm array task) cannot be checked from here.
      const std::string host = value_or(m, "host", host_name());
      s.state = host != host_name() || (alive(pid) && alive(batch_pid)) ? "running" : "interrupted";
      if (host != host_name()) s.reason = "on " + host + ", ";
      s.attempts = value_or(m, "attempt", 1);
      s.reason += "CPUs " + value_or<std::string>(m, "cpus", "?") + " since " +
                  value_or<std::string>(m, "started", "?");
    } else {
      s.state = "pending";
    }
    out.push_back(s);
  }
  add_slurm_states(dir, slurm, out);
  return out;
}

Json batch_summary(const BatchRun& r) {
  const double span = std::max(r.makespan_s, 1e-9);
  return {{"jobs", r.total},
          {"ran", r.ran},
          {"ok", r.ok},
          {"failed", r.failed},
          {"skipped", r.skipped},
          {"retries", r.retries},
          {"cores", r.cores},
          {"makespan_s", r.makespan_s},
          {"jobs_per_s", (r.ok + r.failed) / span},
          {"cores_held", r.held_core_s / (r.cores * span)},
          {"cpu_busy", r.cpu_s / (r.cores * span)},
          {"idle_core_s_per_job", r.ran ? r.idle_core_s / r.ran : 0.0}};
}

BatchRun run_batch_with_summary(const std::vector<BatchJob>& jobs, const std::string& dir,
                                const BatchOptions& o, const volatile int* stop,
                                const std::function<void(const BatchEvent&)>& on_event,
                                const std::vector<std::string>& added) {
  const BatchRun r = run_batch(jobs, dir, o, stop, on_event);
  Json summary = batch_summary(r);
  if (!added.empty()) summary["jobs_added_to_the_manifest"] = added;
  write_file_atomically(dir + "/summary.json", json_text(summary, 1) + "\n");
  return r;
}

namespace {

/// `jobs` reshaped to `pes` (omp: threads, mpi: ranks, hybrid: threads); jobs that differed
/// only in their counts become one (the first).
std::vector<BatchJob> reshaped(const std::vector<BatchJob>& jobs, int pes) {
  std::vector<BatchJob> out;
  std::set<std::string> ids;
  for (BatchJob j : jobs) {
    if (j.backend == Backend::mpi)
      j.ranks = pes;
    else
      j.threads = pes, j.ranks = 1;
    j.cores = pes;
    j.id = batch_job_id(j);
    if (ids.insert(j.id).second) out.push_back(j);
  }
  return out;
}

double median_wall(const std::string& dir) {
  std::vector<double> walls;
  for (const auto& s : batch_status(dir))
    if (s.state == "done") walls.push_back(s.wall_s);
  return walls.empty() ? 0 : median(walls);
}

}  // namespace

std::vector<CompareMode> compare_batch(const BatchManifest& m, BatchOptions o,
                                       const volatile int* stop,
                                       const std::function<void(const std::string&)>& say,
                                       const std::function<void(const BatchEvent&)>& on_event) {
  for (const auto& j : m.jobs)
    if (j.backend == Backend::seq)
      throw InputError(j.origin + ": --compare gives every job either 1 core or all " +
                       std::to_string(o.cores) + "; job " + j.id +
                       " is sequential (use omp, mpi or hybrid)");
  const std::string root = o.out;
  // A comparison's folder holds its three batches and compare.json alone: not a study's or a
  // batch's (it rewrote their lock and added its folders beside their records).
  std::string there;
  for (const char* name : {"study.json", "batch.json", "results.jsonl", "points", "jobs", "slurm"})
    if (struct stat s{}; lstat((root + "/" + name).c_str(), &s) == 0)
      there += (there.empty() ? "" : ", ") + std::string(name);
  if (!there.empty())
    throw InputError("'" + root + "' holds " + there +
                     " of a study or batch; a comparison needs a folder of its own: choose a "
                     "new output folder");
  if (const std::string why = make_dirs(o.out); !why.empty()) throw InputError(why);
  // compare.json is replaced at the end: only a comparison's own (with --resume), never a
  // file of that name the folder held before.
  struct stat st {};
  if (!o.resume && lstat((root + "/compare.json").c_str(), &st) == 0)
    throw InputError("'" + root + "' already holds compare.json; choose a new output folder");
  // One comparison of a folder at a time, refused before any of its folders is written.
  const FolderLock lock(root, "batch");
  std::vector<CompareMode> modes;
  // Untimed first: as many jobs as run at once in throughput mode, then one in latency
  // mode. Memory a process touches beyond what the node used a moment ago is slow to get (on
  // this VM a 2^24-element reduction took 0.26-0.33 s instead of 0.066 s when it was), and
  // would count against whichever mode ran first.
  {
    BatchManifest warm = m;
    const auto one = reshaped(m.jobs, 1), all = reshaped(m.jobs, o.cores);
    warm.jobs.assign(one.begin(), one.begin() + std::min<long>(o.cores, one.size()));
    warm.jobs.push_back(all.front());
    o.out = root + "/warmup";
    prepare_batch_dir(warm, o, nullptr);
    say("warm-up: " + std::to_string(warm.jobs.size()) + " job(s) (not reported)");
    CompareMode w{"warm-up", 1, o.out,
                  run_batch(warm.jobs, o.out, o, stop, [](const BatchEvent&) {}), 0};
    if (w.run.stopped_by || !w.run.replaced.empty()) return {w};
  }
  for (const auto& [name, pes] :
       {std::pair<const char*, int>{"throughput", 1}, {"latency", o.cores}}) {
    BatchManifest shaped = m;
    shaped.jobs = reshaped(m.jobs, pes);
    o.out = root + "/" + name;
    std::vector<std::string> added;  // batch.json's history counts what --resume added
    prepare_batch_dir(shaped, o, &added);
    say(std::string(name) + ": " + std::to_string(shaped.jobs.size()) + " job(s), " +
        std::to_string(o.cores / pes) + " at once with " + std::to_string(pes) + " core(s) each");
    CompareMode mode{name, pes, o.out,
                     run_batch_with_summary(shaped.jobs, o.out, o, stop, on_event), 0};
    mode.median_job_s = median_wall(mode.dir);
    modes.push_back(mode);
    if (mode.run.stopped_by || !mode.run.replaced.empty()) return modes;
  }
  write_file_atomically(
      root + "/compare.json",
      json_text(Json{{"cores", o.cores},
                     {"cpu", cpu_model()},
                     {"throughput", batch_summary(modes[0].run)},
                     {"latency", batch_summary(modes[1].run)},
                     {"median_job_s",
                      {{"throughput", modes[0].median_job_s}, {"latency", modes[1].median_job_s}}}},
                1) +
          "\n");
  return modes;
}

}  // namespace pararun
