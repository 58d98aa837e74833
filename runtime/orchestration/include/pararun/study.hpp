// Scaling studies: a study is a batch of points (one run each), planned from the study's
// lists of kernels, backends, thread and rank counts and sizes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pararun/backend.hpp"
#include "pararun/launcher.hpp"
#include "pararun/record.hpp"
#include "pararun/registry.hpp"

namespace pararun {

struct StudySpec {
  std::vector<std::string> kernels;
  std::vector<Backend> backends;
  std::vector<int> threads, ranks;
  std::vector<std::pair<std::string, std::uint64_t>> sizes;  ///< kernel ("" = all) -> size
  std::string scaling = "strong";                            ///< strong or weak
  int reps = 5, max_reps = 20;
  int oversubscribed_ranks = 0;  ///< an extra mpi point with this many ranks (0: none)
  /// Variants of the parallel backends (empty: each backend's default); each runs where the
  /// backend has it. The sequential backend always runs every variant (the baseline).
  std::vector<std::string> variants;
  /// A core budget (0: none): instead of the thread and rank lists, omp on `cores` threads,
  /// mpi on `cores` ranks and hybrid in every ranks x threads shape whose product is `cores`.
  int cores = 0;
  /// Hybrid shapes of more PEs than this are left out (0: none). Automatic thread and rank
  /// counts (both) set it to the cores they were derived from, so their shapes stay within them.
  int max_pes = 0;
  /// Every point runs `rounds` times (each round a point "ID/roundR"); the report pools a
  /// point's rounds and bootstraps its speedup's interval over rounds and repetitions.
  int rounds = 1;
  /// Run order: each round's points shuffled (Fisher-Yates from a 64-bit Mersenne Twister
  /// seeded with order_seed and the round), so that drift of the machine (heat, a neighbour)
  /// does not always land on the same points; false: the planned order.
  bool shuffled = false;
  unsigned long long order_seed = 1;
};

/// One run of a study.
struct Point {
  std::string id;  ///< stable, e.g. "matmul/omp/blocked/n1024/t2/r1"
  std::string kernel, variant;
  Backend backend = Backend::seq;
  int threads = 1, ranks = 1;
  std::uint64_t size = 0, base_size = 0;
  bool oversubscribe = false;  ///< the study's labelled oversubscribed point: one node on purpose
  int round = 0;               ///< 1..rounds when the study has several rounds, else 0

  int pes() const { return threads * ranks; }
};

/// A point as JSON (what slurm/submitted.json keeps of each array task's point), and back:
/// nullopt for an object that is not one.
Json point_json(const Point& p);
std::optional<Point> point_from_json(const Json& j);

/// The points of a study, in run order (rounds after one another, each shuffled when the
/// spec says so); throws std::invalid_argument naming the problem
/// (unknown kernel, unsupported backend, weak scaling a kernel cannot define, no size).
std::vector<Point> plan_points(const StudySpec& spec, const Registry& registry);

/// The study as JSON (what study.json in the output folder holds) and its identity.
Json study_manifest(const StudySpec& spec, const std::vector<Point>& points);

/// Ids of the points that already have a verified record in `records`.
std::vector<std::string> completed_points(const std::vector<Record>& records);

/// The record that stands for a point that ended without one (a crash, a launcher that
/// failed, a time limit): kind error, its exit code and the log to read, and the seed the
/// point ran with (the report groups records by seed: without it the error stood apart).
Record error_record(const Point& p, const std::string& scaling, std::uint64_t seed, int exit_code,
                    const std::string& log);

/// The `pararun run` arguments of a point (without the executable and the launcher).
std::vector<std::string> run_arguments(const Point& p, const StudySpec& spec,
                                       const std::string& results_file);

/// The launcher prefix for a point (launcher.hpp: the one policy): empty for seq/omp; mpirun
/// or srun for mpi/hybrid. `launcher` is "mpirun" or "srun"; `cores` the CPUs of a node.
std::vector<std::string> launcher_prefix(const Point& p, const std::string& launcher, int cores,
                                         Placement placement = Placement::bind_cores);

}  // namespace pararun
