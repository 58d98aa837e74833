// pararun report: speedup tables of recorded runs.
#include <sys/stat.h>

#include <cstdio>
#include <sstream>

#include "commands.hpp"
#include "pararun/analysis.hpp"
#include "pararun/record.hpp"
#include "study_common.hpp"

namespace pararun::app {

void write_csv(const std::string& path, const std::vector<ReportGroup>& groups) {
  std::ostringstream out;
  out << "kernel,size,backend,variant,threads,ranks,median_s,ci95_low_s,ci95_high_s,verified,"
         "speedup,efficiency,baseline_variant,baseline_median_s\n";
  for (const auto& g : groups)
    for (const auto& row : g.rows) {
      const Json& r = row.record;
      out << g.kernel << ',' << g.size << ',' << r.value("backend", "") << ','
          << r.value("variant", "") << ',' << r.value("threads", 0) << ',' << r.value("ranks", 0)
          << ',';
      // Records without a time (error records of failed points) keep their row, empty cells.
      if (r.contains("time"))
        out << r["time"]["median"].get<double>() << ',' << r["time"]["ci95"][0].get<double>() << ','
            << r["time"]["ci95"][1].get<double>();
      else
        out << ",,";
      out << ',' << (r.value("status", "") == "ok" ? "yes" : "no") << ',';
      if (row.speedup) out << *row.speedup;
      out << ',';
      if (row.efficiency) out << *row.efficiency;
      out << ',';
      if (g.baseline)
        out << g.baseline->value("variant", "") << ','
            << (*g.baseline)["time"]["median"].get<double>();
      else
        out << ',';
      out << '\n';
    }
  write_file_atomically(path, out.str());
}

int report_command(const std::vector<std::string>& files, const std::string& csv) {
  // One study folder: its report is (re)written in the folder, as at the end of the study
  // (the aggregation job of `pararun submit` does this).
  // Every file read, and the study files a folder holds, is an input: no output may be one.
  std::vector<std::string> inputs;
  for (const auto& f : files) {
    inputs.push_back(f);
    for (const char* name : {"/results.jsonl", "/study.json"}) inputs.push_back(f + name);
  }
  if (!csv.empty())
    if (const std::string why = output_file_problem(csv, inputs); !why.empty()) usage(why);
  struct stat dir_st {};
  if (files.size() == 1 && stat((files[0] + "/study.json").c_str(), &dir_st) == 0) {
    const std::string& dir = files[0];
    if (read_records(dir + "/results.jsonl").records.empty())
      usage("no ParaRun records in " + dir + "/results.jsonl yet");
    const Json manifest = Json::parse(slurp(dir + "/study.json"), nullptr, false);
    const std::string scaling = manifest.is_object() ? manifest.value("scaling", "") : "";
    const std::size_t total =
        manifest.is_object() ? manifest.value("points", Json::array()).size() : 0;
    write_study_report(dir, scaling + " scaling, " + std::to_string(total) + " points");
    if (!csv.empty()) write_csv(csv, analyse(read_records(dir + "/results.jsonl").records));
    return kExitOk;
  }
  std::vector<Json> records;
  for (auto f : files) {
    struct stat st {};
    if (stat(f.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) f += "/results.jsonl";  // a study folder
    RecordFile rf = read_records(f);
    if (rf.records.empty() && !rf.problems.empty() && rf.problems.front() == f + ": cannot be read")
      usage("cannot read result file '" + f + "'");
    warn_bad_lines(rf);
    for (auto& r : rf.records) records.push_back(std::move(r));
  }
  if (records.empty()) usage("no ParaRun records in " + files.front());
  const auto groups = analyse(records);
  std::fputs(format_report(groups).c_str(), stdout);
  if (!csv.empty()) write_csv(csv, groups);
  return kExitOk;
}

}  // namespace pararun::app
