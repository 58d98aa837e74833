// Running a study on this machine or inside an allocation: its folder, its points (each its
// own process under the launcher), error records for points that died, a checkpoint when
// stopped, and the report.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pararun/analysis.hpp"
#include "pararun/files.hpp"
#include "pararun/record.hpp"
#include "pararun/study_options.hpp"

namespace pararun {

/// The output folder of a study: `o.out` or results/study-<UTC time>. A folder that holds a
/// different study is refused, the same study only with --resume. Creates the folder (no
/// shell), its logs/ and study.json; InputError for a folder that cannot be one.
std::string prepare_study_dir(const StudyOptions& o, const Json& manifest,
                              std::optional<FolderLock>* lock = nullptr);

/// What a study continues from, for study.json's "resume_from": this process's folder, its
/// usable_cpus() when they are fewer than the node's (else ""), and `args` (its command line).
Json resume_from(const std::vector<std::string>& args);
/// The command that continues a study in `dir`, from a "resume_from": its args (argv[0]
/// replaced by this pararun's path) with --out DIR and --resume added where they are not
/// given, as shell words, after a `cd` to its folder and a `taskset -c` of its CPUs. A
/// "resume_from" that is not one (others may write study.json: it never names the program
/// to run, and every part of it is quoted): "pararun study ... --out DIR --resume".
std::string resume_command(const Json& from, const std::string& dir);
/// resume_command of the "resume_from" study.json in `dir` keeps, when study.json is this
/// user's and no one else's to write (else the generic hint).
std::string resume_command_of(const std::string& dir);
/// Why study manifest `old` (a folder's study.json) is not `now` (what the options plan),
/// in words: the first field that differs, or how their points differ ("" when they do not).
std::string study_difference(const Json& old, const Json& now);

/// Where a point run by a Slurm array task (pararun submit) writes its record: a file of its
/// own, dir/points/POINT.jsonl (the id's slashes become dots), because many nodes appending to one
/// file on a network filesystem is not safe. merge_point_records gathers them into
/// dir/results.jsonl.
std::string point_record_file(const std::string& dir, const std::string& point);

/// Ids of the points of `dir` that have a verified record in its results.jsonl or in their
/// point_record_file; bad lines are printed as warnings.
std::vector<std::string> done_points(const std::string& dir);

/// Appends to dir/results.jsonl each record of the study's point files that it does not hold
/// yet (the same record twice is merged once: merging again adds nothing), and an error
/// record for each point whose array task ended without one as Slurm says (slurm_state
/// NODE_FAIL, TIMEOUT, CANCELLED...: `submit --resume` runs it again). Never rewrites what
/// results.jsonl holds. Returns the number of records appended.
int merge_point_records(const std::string& dir);
/// What merge_point_records would leave in dir/results.jsonl, read where it is (for a folder
/// this user may not write): its records, then those of the point files it lacks.
std::vector<Record> unmerged_study_records(const std::string& dir);

/// "auto" becomes srun inside a Slurm allocation (srun on PATH), else mpirun; InputError for
/// another name.
std::string launcher_named(const std::string& launcher);
/// launcher_named, and InputError when MPI points need a launcher that is not on PATH.
std::string resolve_launcher(const std::string& launcher, const std::vector<Point>& points);

/// CPUs the points may use: inside a Slurm allocation (srun) all of its nodes' CPUs, else
/// this machine's.
int usable_cpus(const std::string& launcher);

/// What a study run says after each point.
struct PointDone {
  int index = 0, total = 0;  ///< 1-based position, points in all
  const Point* point = nullptr;
  int exit_code = 0;     ///< how the point's process ended (0 verified, 1 verification failed)
  bool recorded = true;  ///< false: it wrote no record, and an error record stands for it
  double elapsed_s = 0, eta_s = 0;
};

struct StudyRun {
  int run = 0, failures = 0, skipped = 0;  ///< skipped: verified before (--resume)
  int stopped_by = 0;                      ///< the signal that stopped the study, or 0
  std::string replaced;  ///< why it stopped without a signal: its binary was replaced (a rebuild)
  int points_left = 0;   ///< after a stop
  std::string resume;    ///< after a stop: the command that continues it
};

/// Runs every point of `points` that has no verified record in `dir`, in order, each as
/// `launcher prefix + exe run ...` with its log in dir/logs. A point that ends without a
/// record (crash, launcher failure) gets an error record. When `*stop` becomes non-zero the
/// running point is abandoned (it runs again on --resume) and dir/checkpoint.json says what
/// is left; so it is, without a signal, when the file at `exe` is no longer this program (a
/// rebuild: the points left would be another build's).
StudyRun run_study(const StudySpec& spec, const std::vector<Point>& points, const std::string& dir,
                   const std::string& launcher, const std::string& exe, const volatile int* stop,
                   const std::function<void(const PointDone&)>& done);

/// Analyses the study in `dir`: prints the report table, writes speedup.csv, analysis.json,
/// the plots (Debian's matplotlib) and report.md headed by `title`. Returns the analysis.
/// When `*stop` is or becomes non-zero (a stop signal) before the plots are drawn, their
/// script is not started or is stopped, report.md is written without them, and
/// `*plots_stopped_by` (when given) is that signal; it is 0 otherwise.
std::vector<ReportGroup> write_study_report(const std::string& dir, const std::string& title,
                                            const volatile int* stop = nullptr,
                                            int* plots_stopped_by = nullptr);

}  // namespace pararun
