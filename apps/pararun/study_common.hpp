// What `pararun study`, `pararun submit` and `pararun report` share: the study from its
// options, its output folder, running a child process, and the written report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "pararun/study.hpp"

namespace pararun::app {

std::vector<std::string> split(const std::string& s, char sep = ',');
bool on_path(const std::string& program);
std::string self_executable();
std::string slurp(const std::string& path);
/// Prints each bad line of a results file as a warning ("pararun: warning: FILE:LINE: ...").
void warn_bad_lines(const RecordFile& rf);

/// The study the options describe and its points; bad options are usage errors.
StudySpec study_spec(const StudyOptions& o);
std::vector<Point> study_points(const StudySpec& spec);

/// The output folder of a study: `o.out` or results/study-<UTC time>. A folder that holds a
/// different study is refused, the same study only with --resume. Creates the folder, its
/// logs/ and study.json.
std::string prepare_study_dir(const StudyOptions& o, const Json& manifest);

/// Ids of the points of `dir` that have a verified record in its results.jsonl.
std::vector<std::string> done_points(const std::string& dir);

/// Runs argv with stdout and stderr appended to `log`; returns the exit code (128+signal).
/// The child dies with its parent. If `stop` becomes non-zero while the child runs (a signal
/// handler sets it), the child gets SIGTERM, and SIGKILL 10 s later.
int spawn_and_wait(const std::vector<std::string>& args, const std::string& log,
                   const volatile int* stop = nullptr);

/// Runs argv (no shell) with stdin and stderr on /dev/null; its standard output, or nullopt
/// when it cannot start or exits non-zero.
std::optional<std::string> capture_output(const std::vector<std::string>& args);

/// Analyses the study in `dir`: prints the report table, writes speedup.csv, analysis.json,
/// the plots
/// (Debian's matplotlib) and report.md headed by `title`. Returns the report text.
std::string write_study_report(const std::string& dir, const std::string& title);

}  // namespace pararun::app
