// Batches: many independent jobs (kernel, backend, variant, size, threads, ranks, seed) read
// from a YAML manifest, with their resources (cores, memory, time limit), retries and tags.
//
//   name: nightly                       # optional
//   defaults: {reps: 3, retries: 1, time_limit: 10m}
//   jobs:
//     - kernel: matmul                  # a list in any of kernel, backend, variant, size,
//       backend: seq                    # threads, ranks, seed makes a sweep: every
//       variant: [blocked, eigen]       # combination (the cartesian product)
//       size: 256:1024:x2               # a range: 256, 512, 1024 (also a:b:+step)
//     - kernel: reduction
//       backend: omp
//       threads: 2
//       zip: {size: [2^20, 2^22], seed: [1, 2]}   # lists taken together, not crossed
//       repeat: 3                       # three copies of each job
//       tags: [smoke]
//     - kernel: matmul
//       backend: omp
//       input: matrices/*.mtx               # files or globs, relative to the manifest: one
//                                          # job per file, its size the file's
//     - kernel: matmul                  # the same kernel under another environment:
//       backend: seq
//       variant: blas
//       size: 1024
//       label: openblas-skylakex        # names the job (in its id and record's batch.label)
//       env: {OPENBLAS_CORETYPE: SkylakeX, OMP_PLACES: ~}   # set, or (~) unset, for the job
//       cpu_flags: [avx512f]            # only on a CPU with these /proc/cpuinfo flags
//       cores: all                      # every core the batch has: it runs alone
//     - {kernel: stencil, backend: mpi, ranks: 4, size: 4096, oversubscribe: true}
//                                       # 4 ranks on fewer cores: concurrency, labelled so
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pararun/backend.hpp"
#include "pararun/record.hpp"
#include "pararun/run_request.hpp"

namespace pararun {

struct BatchJob {
  std::string id;  ///< stable and unique, e.g. "matmul.seq.blocked.n512.t1.r1.s42"
  std::string kernel, variant;
  Backend backend = Backend::seq;
  int threads = 1, ranks = 1;
  std::uint64_t size = 0, seed = kDefaultSeed;
  std::string input;  ///< a file the kernel reads (absolute path), or empty
  int copy = 0;       ///< 1..repeat when the entry asks for copies, else 0
  int reps = 3, max_reps = 0, warmup = 1;
  int cores = 1;             ///< cores it holds while it runs (ranks x threads at least)
  std::uint64_t memory = 0;  ///< bytes it may use (the kernel's estimate unless given)
  double time_limit = 3600;  ///< seconds before it is ended and counted as failed
  int retries = 0;           ///< further attempts after a failed one
  std::vector<std::string> tags;
  std::string label;  ///< one word naming the job beside its parameters ("" when none)
  /// Variables set (a value) or unset (none) in the job's environment, after ParaRun's own.
  std::map<std::string, std::optional<std::string>> env;
  std::vector<std::string> cpu_flags;  ///< /proc/cpuinfo flags the job needs ("avx512f")
  bool oversubscribe = false;          ///< more ranks x threads than `cores`, on purpose
  std::string origin;                  ///< "manifest.yaml:LINE" of the entry it comes from

  /// What identifies the job and how it runs (batch.json); `origin` is left out.
  Json to_json() const;
  /// The SHA-256 of to_json() (64 hex digits): a Slurm array task of `batch submit` runs its
  /// job only while batch.json still says what was submitted. (A cryptographic hash: with
  /// FNV-1a, whose 64 bits anyone can match, a job of one's own, an env of LD_PRELOAD, could
  /// be given the submitted job's digest.)
  std::string digest() const;
  /// `env` as a JSON object (null for a variable it unsets).
  Json env_json() const;
};

/// The job of a batch.json entry (to_json's inverse); std::invalid_argument when it is not one.
BatchJob batch_job_from_json(const Json& j);

struct BatchManifest {
  std::string path, name;
  std::vector<BatchJob> jobs;
  /// Jobs of the manifest this run leaves out (--tags, CPU flags): a batch folder resumed with
  /// another selection keeps them, and checks them against what it holds.
  std::vector<BatchJob> left_out;
};

/// The limits jobs are checked against while the manifest is read.
struct BatchLimits {
  int cores = 1;             ///< the most cores one job may hold
  std::uint64_t memory = 0;  ///< the most bytes one job may use (0: no check)
};

/// The job's id from what it runs: "KERNEL.BACKEND.VARIANT.nSIZE.tTHREADS.rRANKS.sSEED", with
/// ".LABEL" for a labelled job and ".cCOPY" for copies.
std::string batch_job_id(const BatchJob& job);

/// Reads and expands the manifest at `path`. Every problem is an InputError naming the file
/// and line: unknown keys, wrong types, unknown kernels, backends or variants, bad sizes and
/// ranges, a job listed twice, resources beyond `limits`. Nothing runs before it returns.
BatchManifest load_batch_manifest(const std::string& path, const BatchLimits& limits);

/// The jobs of `jobs` a CPU with `cpu_flags` (the flags of /proc/cpuinfo; null: not known,
/// no job is left out for its flags) can run, carrying one of `tags` (every job when `tags`
/// is empty); the others go to `left_out` with the reason ("needs avx512f", "not tagged gemm").
std::vector<BatchJob> select_batch_jobs(const std::vector<BatchJob>& jobs,
                                        const std::vector<std::string>& tags,
                                        const std::vector<std::string>* cpu_flags,
                                        std::vector<std::pair<std::string, std::string>>* left_out);

/// The sizes of a range "FIRST:LAST:xFACTOR" or "FIRST:LAST:+STEP" (both ends included when
/// the steps reach them), or of one size; `parse` reads one size (e.g. a kernel's parse_size).
/// Empty on a malformed range or more than 10,000 sizes.
std::vector<std::uint64_t> expand_size_range(
    const std::string& text,
    const std::function<std::optional<std::uint64_t>(const std::string&)>& parse);

/// A time limit in seconds: "90", "90s", "10m", "2h", "MM:SS", "HH:MM:SS" or "D-HH:MM:SS".
/// Empty on anything else or a limit not above zero.
std::optional<double> parse_duration(const std::string& text);

/// Bytes: "512M", "2G", "1.5GiB", "1000000" (plain bytes). Empty on anything else.
std::optional<std::uint64_t> parse_bytes(const std::string& text);

}  // namespace pararun
