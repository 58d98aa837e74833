// pararun report: speedup tables of recorded runs.
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "commands.hpp"
#include "pararun/analysis.hpp"
#include "pararun/compare.hpp"
#include "pararun/files.hpp"
#include "pararun/gbench.hpp"
#include "pararun/process.hpp"
#include "pararun/record.hpp"
#include "pararun/study_run.hpp"

namespace pararun::app {

namespace {

/// Whether this user may write what `report DIR` writes in a study folder: its report files
/// (replaced: the folder), and for a submitted study the merge's lock and results.jsonl.
bool may_write_study(const std::string& dir) {
  const auto writable = [](const std::string& file, const std::string& folder) {
    return access(file.c_str(), F_OK) == 0 ? access(file.c_str(), W_OK) == 0
                                           : access(folder.c_str(), W_OK) == 0;
  };
  struct stat st {};
  return access(dir.c_str(), W_OK) == 0 &&
         (stat((dir + "/points").c_str(), &st) != 0 ||
          (writable(dir + "/points/.merge.lock", dir + "/points") &&
           writable(dir + "/results.jsonl", dir)));
}

/// The records of result files and study folders (their results.jsonl), bad lines warned
/// about; a usage error when a file cannot be read or none holds a record.
std::vector<Record> read_result_files(const std::vector<std::string>& files,
                                      const std::set<std::string>& unmerged = {}) {
  std::vector<Record> records;
  std::set<std::pair<dev_t, ino_t>> read;  // a file named twice (s and s/results.jsonl): once
  // The results.jsonl of each unmerged folder: named first (s/results.jsonl s), it is read as
  // its folder, point files included (they were skipped with the folder, as named before).
  std::map<std::pair<dev_t, ino_t>, std::string> unmerged_results;
  for (const auto& u : unmerged)
    if (struct stat st{}; stat((u + "/results.jsonl").c_str(), &st) == 0)
      unmerged_results[{st.st_dev, st.st_ino}] = u;
  for (auto f : files) {
    struct stat st {};
    std::string folder = f;
    if (stat(f.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) f += "/results.jsonl";  // a study folder
    if (stat(f.c_str(), &st) == 0) {
      if (!read.insert({st.st_dev, st.st_ino}).second) {
        std::fprintf(stderr, "pararun: warning: %s: named before, read once\n", f.c_str());
        continue;
      }
      if (const auto it = unmerged_results.find({st.st_dev, st.st_ino});
          it != unmerged_results.end())
        folder = it->second;
    }
    if (unmerged.count(folder)) {  // a study folder whose point files could not be merged
      for (auto& r : unmerged_study_records(folder)) records.push_back(std::move(r));
      continue;
    }
    RecordFile rf = read_records(f);
    if (rf.records.empty() && !rf.problems.empty()) {  // one line, not a warning and an error
      if (rf.problems.front() == f + ": cannot be read")
        usage("cannot read result file '" + f + "'");
      if (rf.problems.front() == f + ": not a regular file")
        usage("result file '" + f + "' is not a regular file");
      // Not one record in it (a README, a binary, a study.json): one line naming its first
      // bad line, not a warning for each of its lines (a thousand for a README).
      const std::size_t more = rf.problems.size() - 1;
      const std::string first =
          rf.problems.front() +
          (more ? ", and " + std::to_string(more) + " more line(s) not records" : "");
      if (files.size() == 1) usage("no ParaRun records in " + f + " (" + first + ")");
      std::fprintf(stderr, "pararun: warning: no ParaRun records in %s (%s)\n",
                   printable(f).c_str(), printable(first).c_str());
      continue;
    }
    warn_bad_lines(rf);
    // One of several that adds nothing (empty, or its study not begun): said, not silent.
    if (rf.records.empty() && rf.problems.empty() && files.size() > 1)
      std::fprintf(stderr, "pararun: warning: %s: no ParaRun records in it\n",
                   printable(f).c_str());
    for (auto& r : rf.records) records.push_back(std::move(r));
  }
  if (records.empty())
    usage("no ParaRun records in " + files.front() +
          (read.size() > 1 ? " nor in the " + std::to_string(read.size() - 1) + " other(s)"
                           : std::string()));
  return records;
}

}  // namespace

int compare_command(const std::string& before, const std::string& after, double alpha,
                    double threshold, bool fail_on_slower) {
  if (!(alpha > 0 && alpha < 1)) usage("--alpha must be between 0 and 1");
  if (!(threshold >= 0 && threshold < 10)) usage("--threshold must be 0 or more (a share: 0.02)");
  const CompareOptions o{alpha, threshold};
  const auto first = read_result_files({before}), second = read_result_files({after});
  const auto rows = compare_records(first, second, o);
  // (Kernel and variant names come from the files: printed, never obeyed by the terminal.)
  std::fputs(printable(format_comparison(rows, o), true).c_str(), stdout);
  std::fflush(stdout);
  if (const std::string why = compared_machines_problem(first, second); !why.empty())
    std::fprintf(stderr, "pararun: warning: %s\n", printable(why).c_str());
  // A gate passes on what was compared: a configuration that failed after is a regression,
  // and two sets without a configuration in common compared nothing.
  const bool compared = std::any_of(rows.begin(), rows.end(), [](const Comparison& c) {
    return c.samples_before && c.samples_after;
  });
  if (!compared)
    std::fprintf(stderr, "pararun: %s: %s and %s have no verified configuration in common\n",
                 fail_on_slower ? "error" : "warning", printable(before).c_str(),
                 printable(after).c_str());
  const bool worse = std::any_of(rows.begin(), rows.end(), [](const Comparison& c) {
    return c.verdict == "slower" || c.verdict == "failed after";
  });
  return fail_on_slower && (worse || !compared) ? kExitVerificationFailed : kExitOk;
}

int report_command(const std::vector<std::string>& files, const std::string& csv,
                   const std::string& format) {
  if (format != "md" && format != "csv" && format != "json" && format != "gbench")
    usage("--format must be md, csv, json or gbench, got '" + format + "'");
  // One study folder: its report is (re)written in the folder, as at the end of the study
  // (the aggregation job of `pararun submit` does this).
  // Every file read, and the study files a folder holds, is an input: no output may be one.
  std::vector<std::string> inputs;
  for (const auto& f : files) {
    inputs.push_back(f);
    for (const char* name : {"/results.jsonl", "/study.json"}) inputs.push_back(f + name);
  }
  // A folder is a study's, whose report and merged records are written in it, only when its
  // study.json is a ParaRun study's: another program's file of that name (or one damaged past
  // its schema) made the folder's report.md and speedup.csv ParaRun's to replace. Such a
  // folder's results.jsonl is reported as any records file, and nothing is written there.
  std::set<std::string> not_studies;
  for (const auto& f : files) {
    struct stat st {};
    if (stat((f + "/study.json").c_str(), &st) != 0) continue;
    const Json m = S_ISREG(st.st_mode) ? parse_json(slurp(f + "/study.json")) : Json();
    if (m.is_object() && m.value("schema", Json()) == Json("pararun.study/1")) continue;
    std::fprintf(stderr,
                 "pararun: warning: %s/study.json is not a ParaRun study's (schema "
                 "pararun.study/1): its records reported as they are, nothing written there\n",
                 printable(f).c_str());
    not_studies.insert(f);
  }
  if (!csv.empty()) {
    if (const std::string why = output_file_problem(csv, inputs); !why.empty()) usage(why);
    // Nor a file the report of a study folder writes itself: it would be CSV, or lost.
    // (Its folder and name, not the path's spelling: dir/ or ./dir, before report.md exists.)
    const std::string base = csv.substr(csv.find_last_of('/') + 1);
    for (const auto& f : files)
      if ((base == "report.md" || base == "analysis.json") && same_file(parent_dir(csv), f))
        usage("--csv '" + csv + "' is " + f + "/" + base +
              ", which the study's report writes; name another file");
    // Nor a study's or batch's other own files (its batch.json replaced by CSV).
    if (const std::string why = run_folder_file_problem(csv); !why.empty()) usage(why);
    // Nor any file of records (a copy of results.jsonl kept elsewhere).
    if (holds_records(csv))
      usage("--csv '" + csv +
            "' holds ParaRun records, which the CSV would replace; name another file");
    // Nor any other file but a CSV (a manifest, a tuning file, an input's data, records whose
    // first MiB is damaged): an empty one, or one named .csv, is replaced.
    const std::string suffix = csv.size() >= 4 ? csv.substr(csv.size() - 4) : "";
    struct stat cs {};
    if (stat(csv.c_str(), &cs) == 0 && S_ISREG(cs.st_mode) && cs.st_size > 0 &&
        strcasecmp(suffix.c_str(), ".csv") != 0)
      usage("--csv '" + csv +
            "' exists and is not a .csv file: it is not replaced by the CSV (name a new file)");
  }
  // Study folders of pararun submit: their array tasks' records join results.jsonl first.
  // One this user may not write (a colleague's, an archive) is reported as it is: its point
  // files read where they are, nothing written there (it gave no report at all, exit 3).
  // (A failure to write a folder that may be written is an error, as before.)
  std::set<std::string> unmerged;
  for (const auto& f : files) {
    struct stat st {};
    if (stat((f + "/study.json").c_str(), &st) != 0 || not_studies.count(f)) continue;
    if (!may_write_study(f)) {
      std::fprintf(stderr,
                   "pararun: warning: %s is not this user's to write: reported as it is (its "
                   "point files read in place; results.jsonl and report.md unchanged)\n",
                   printable(f).c_str());
      unmerged.insert(f);
      continue;
    }
    merge_point_records(f);
  }
  struct stat dir_st {};
  if (format == "md" && files.size() == 1 && unmerged.empty() && not_studies.empty() &&
      stat((files[0] + "/study.json").c_str(), &dir_st) == 0) {
    const std::string& dir = files[0];
    if (read_records(dir + "/results.jsonl").records.empty())
      usage("no ParaRun records in " + dir + "/results.jsonl yet");
    const Json manifest = parse_json(slurp(dir + "/study.json"));
    const std::string scaling =
        manifest.is_object() && manifest.value("scaling", Json()).is_string()
            ? manifest["scaling"].get<std::string>()
            : "";
    const std::size_t total =
        manifest.is_object() ? manifest.value("points", Json::array()).size() : 0;
    const auto groups =
        write_study_report(dir, scaling + " scaling, " + std::to_string(total) + " points");
    if (!csv.empty()) write_file_atomically(csv, csv_report(groups));
    return kExitOk;
  }
  const std::vector<Record> records = read_result_files(files, unmerged);
  const auto groups = analyse(records);
  if (format == "gbench")
    std::printf("%s\n", json_text(gbench_json(records), 2).c_str());
  else if (format == "json")
    std::printf("%s\n", json_text(analysis_json(groups), 2).c_str());
  else if (format == "csv")
    std::fputs(csv_report(groups).c_str(), stdout);
  else
    std::fputs(printable(format_report(groups), true).c_str(), stdout);
  if (!csv.empty()) write_file_atomically(csv, csv_report(groups));
  return kExitOk;
}

}  // namespace pararun::app
