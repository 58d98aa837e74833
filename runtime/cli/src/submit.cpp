// pararun submit: a study as Slurm job arrays plus a report job (runtime/orchestration).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "commands.hpp"
#include "pararun/errors.hpp"
#include "pararun/files.hpp"
#include "pararun/process.hpp"
#include "pararun/slurm.hpp"
#include "pararun/study_run.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun::app {

int submit_command(const StudyOptions& o) {
  study_points(study_spec(o, 0, 0, true));  // bad options are refused before Slurm is asked
  check_submit_options(o);
  if (!on_path("sbatch"))
    throw InputError(
        "sbatch is not on PATH: no Slurm here. Run the study on this machine with 'pararun "
        "study' (same arguments), or try Slurm locally: scripts/local-cluster.sh start");
  const Partition part = query_partition(o.partition, clusters_of(o.site));
  // Automatic thread and rank counts: up to the cores of one of the partition's nodes.
  const StudySpec spec = study_spec(o, part.cpus, part.cpus);
  const std::vector<Point> points = study_points(spec);
  for (const auto& p : points) nodes_for(p, part);  // every point fits, before any file

  check_sbatch_path(absolute_path(o.out.empty() ? "results" : o.out));  // before any file is made
  std::string dir = o.out.empty() && o.dry_run ? "results/study-UTC-TIME" : o.out;
  // Not while a study runs or is submitted in the folder from this machine (it would run the
  // same points): locked before Slurm is asked (two resumes at once both saw nothing queued)
  // and before study.json is read or written.
  std::optional<FolderLock> lock;
  std::set<std::string> done;
  struct stat st {};
  if (!o.dry_run && !o.out.empty() && stat(o.out.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    lock.emplace(o.out, "study");
  if (o.resume && !o.dry_run && !o.out.empty()) check_nothing_still_queued(o.out);
  if (!o.dry_run) {
    dir = prepare_study_dir(o, study_manifest(spec, points), &lock);
    if (!lock) lock.emplace(dir, "study");
    for (const auto& id : done_points(dir)) done.insert(id);
    mkdir((dir + "/slurm").c_str(), 0777);
    mkdir((dir + "/points").c_str(), 0777);  // one record file per point (NFS-safe)
  }
  dir = absolute_path(dir);
  const Submission sub = plan_submission(o, spec, points, part, dir, done, self_executable(),
                                         data_file("slurm/job-common.sh"));
  if (sub.arrays.empty()) {
    std::printf("Every point of %s has a verified record; the report: pararun report %s\n",
                dir.c_str(), shell_quote(dir).c_str());
    return kExitOk;
  }
  if (o.dry_run) {
    std::printf("%s", dry_run_text(sub).c_str());
    std::string ids;
    for (std::size_t i = 0; i < sub.arrays.size(); ++i) {
      std::printf("sbatch --parsable %s\n", shell_quote(sub.arrays[i].path).c_str());
      ids += ":<job " + std::to_string(i + 1) + ">";
    }
    std::printf("sbatch --parsable --dependency=afterany%s %s\n", ids.c_str(),
                shell_quote(sub.report.path).c_str());
    return kExitOk;
  }
  // slurm/submitted.json keeps which task runs which point: the report job records a point
  // whose task ended without a record (a lost node, Slurm's time limit) as an error.
  const Submitted ids = submit_all(sub, dir, [&](const JobScript& s, const std::string& id) {
    std::printf("submitted job array %s: %d point(s), at most %d at once (%s)\n", id.c_str(),
                s.tasks, o.max_parallel, s.path.c_str());
  });
  std::printf("submitted report job %s (after the array ends)\n", ids.report.c_str());
  std::string jobs;
  for (const auto& id : ids.arrays) jobs += id + ",";
  const std::string on = ids.cluster.empty() ? "" : "-M " + ids.cluster + " ";
  std::printf("study %s: %d point(s) to run on partition %s; watch: squeue %s-j %s%s\n",
              dir.c_str(), ids.tasks, part.name.c_str(), on.c_str(), jobs.c_str(),
              ids.report.c_str());
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace pararun::app
