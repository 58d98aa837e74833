// Batch manifests: sweeps, zips, ranges, copies and defaults expand to the right jobs; every
// mistake is named with the file and line before anything runs; the packing backfills.
#include "pararun/batch.hpp"
#include "pararun/batch_run.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "../temp_dir.hpp"
#include "pararun/errors.hpp"
#include "pararun/parse.hpp"
#include "pararun/process.hpp"
#include "pararun/record.hpp"
#include "pararun/sha256.hpp"

using namespace pararun;

namespace {

struct Manifest {
  test::TempDir dir;
  std::string path = dir / "m.yaml";
  explicit Manifest(const std::string& text) { std::ofstream(path) << text; }
  BatchManifest load(int cores = 4, std::uint64_t memory = 0) const {
    return load_batch_manifest(path, {cores, memory});
  }
};

std::vector<std::string> ids(const BatchManifest& m) {
  std::vector<std::string> out;
  for (const auto& j : m.jobs) out.push_back(j.id);
  return out;
}

}  // namespace

// FIPS 180-4's examples, a million a's, and the padding's edges (55, 56, 63, 64, 119, 120
// bytes: one or two tail blocks), against Python's hashlib.
TEST(Sha256, MatchesTheStandardsExamplesAndPaddingEdges) {
  using pararun::sha256_hex;
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const std::map<std::size_t, std::string> edges = {
      {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
      {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
      {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
      {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
      {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
      {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"}};
  for (const auto& [n, hex] : edges) EXPECT_EQ(sha256_hex(std::string(n, 'a')), hex) << n;
}

TEST(BatchManifest, ListsAreCrossedAndRangesExpanded) {
  const Manifest m(
      "jobs:\n"
      "  - kernel: matmul\n"
      "    backend: seq\n"
      "    variant: [blocked, eigen]\n"
      "    size: 128:512:x2\n");
  EXPECT_EQ(ids(m.load()),
            (std::vector<std::string>{
                "matmul.seq.blocked.n128.t1.r1.s42", "matmul.seq.blocked.n256.t1.r1.s42",
                "matmul.seq.blocked.n512.t1.r1.s42", "matmul.seq.eigen.n128.t1.r1.s42",
                "matmul.seq.eigen.n256.t1.r1.s42", "matmul.seq.eigen.n512.t1.r1.s42"}));
}

TEST(BatchManifest, ZipTakesListsTogetherAndRepeatMakesCopies) {
  const Manifest m(
      "defaults: {reps: 4, retries: 2, time_limit: 10m}\n"
      "jobs:\n"
      "  - kernel: reduction\n"
      "    backend: omp\n"
      "    threads: [1, 2]\n"
      "    zip: {size: [1000, 2000], seed: [1, 2]}\n"
      "    repeat: 2\n"
      "    reps: 7\n"
      "    tags: [smoke, nightly]\n");
  const BatchManifest b = m.load();
  EXPECT_EQ(ids(b),
            (std::vector<std::string>{
                "reduction.omp.simd.n1000.t1.r1.s1.c1", "reduction.omp.simd.n1000.t1.r1.s1.c2",
                "reduction.omp.simd.n2000.t1.r1.s2.c1", "reduction.omp.simd.n2000.t1.r1.s2.c2",
                "reduction.omp.simd.n1000.t2.r1.s1.c1", "reduction.omp.simd.n1000.t2.r1.s1.c2",
                "reduction.omp.simd.n2000.t2.r1.s2.c1", "reduction.omp.simd.n2000.t2.r1.s2.c2"}));
  const BatchJob& j = b.jobs.back();
  EXPECT_EQ(j.reps, 7);     // the job's own key wins over defaults
  EXPECT_EQ(j.retries, 2);  // from defaults
  EXPECT_DOUBLE_EQ(j.time_limit, 600);
  EXPECT_EQ(j.cores, 2);  // ranks x threads
  EXPECT_EQ(j.tags, (std::vector<std::string>{"smoke", "nightly"}));
  EXPECT_EQ(j.origin, m.path + ":3");
  EXPECT_GT(j.memory, 2000u * 8);  // the kernel's estimate: 2000 doubles at least
}

TEST(BatchManifest, ABackendSweepLeavesOutCountsABackendHasNoUseFor) {
  const Manifest m(
      "jobs:\n"
      "  - kernel: stencil\n"
      "    backend: [seq, omp, mpi]\n"
      "    threads: 1:2:+1\n"
      "    ranks: [1, 2]\n"
      "    size: 64\n"
      "    cores: 2\n");
  EXPECT_EQ(ids(m.load()),
            (std::vector<std::string>{
                "stencil.seq.plain.n64.t1.r1.s42", "stencil.omp.plain.n64.t1.r1.s42",
                "stencil.omp.plain.n64.t2.r1.s42", "stencil.mpi.blocking.n64.t1.r1.s42",
                "stencil.mpi.blocking.n64.t1.r2.s42"}));
  EXPECT_EQ(m.load().jobs.front().cores, 2);  // cores held may exceed ranks x threads
}

TEST(BatchManifest, LabelsEnvironmentsCpuFlagsAndAllCores) {
  const Manifest m(
      "defaults: {cores: all}\n"
      "jobs:\n"
      "  - kernel: matmul\n"
      "    backend: [seq, omp]\n"
      "    threads: all\n"
      "    variant: blas\n"
      "    size: 64\n"
      "  - kernel: matmul\n"
      "    backend: seq\n"
      "    variant: blas\n"
      "    size: 64\n"
      "    label: openblas-skylakex\n"
      "    env: {OPENBLAS_CORETYPE: SkylakeX, OMP_PLACES: ~}\n"
      "    cpu_flags: [avx512f]\n"
      "    tags: gemm\n"
      "  - {kernel: stencil, backend: mpi, ranks: 3, size: 64, oversubscribe: true}\n");
  const BatchManifest b = m.load(2);
  EXPECT_EQ(ids(b), (std::vector<std::string>{"matmul.seq.blas.n64.t1.r1.s42",
                                              "matmul.omp.blas.n64.t2.r1.s42",
                                              "matmul.seq.blas.n64.t1.r1.s42.openblas-skylakex",
                                              "stencil.mpi.blocking.n64.t1.r3.s42"}));
  EXPECT_EQ(b.jobs[0].cores, 2);  // all: every core the batch has
  EXPECT_EQ(b.jobs[1].threads, 2);
  const BatchJob& lab = b.jobs[2];
  EXPECT_EQ(lab.label, "openblas-skylakex");
  ASSERT_EQ(lab.env.size(), 2u);
  EXPECT_EQ(lab.env.at("OPENBLAS_CORETYPE"), std::optional<std::string>("SkylakeX"));
  EXPECT_FALSE(lab.env.at("OMP_PLACES").has_value());  // ~: unset for the job
  EXPECT_EQ(lab.cpu_flags, (std::vector<std::string>{"avx512f"}));
  EXPECT_TRUE(b.jobs[3].oversubscribe);
  EXPECT_EQ(b.jobs[3].cores, 2);  // 3 ranks on the 2 cores there are
  // batch.json keeps all of it (resume and Slurm tasks read it back).
  for (const auto& j : b.jobs) EXPECT_EQ(batch_job_from_json(j.to_json()).to_json(), j.to_json());
  // A folder written before these keys existed still reads.
  Json old = b.jobs[0].to_json();
  for (const char* k : {"label", "env", "cpu_flags", "oversubscribe"}) old.erase(k);
  EXPECT_EQ(batch_job_from_json(old).to_json(), b.jobs[0].to_json());

  // Selection: by CPU flags, then by tags; the reasons are named.
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string> avx2 = {"avx2", "fma"}, avx512 = {"avx512f"};
  auto kept = select_batch_jobs(b.jobs, {}, &avx2, &out);
  EXPECT_EQ(kept.size(), 3u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (std::pair<std::string, std::string>{
                        "matmul.seq.blas.n64.t1.r1.s42.openblas-skylakex", "needs avx512f"}));
  out.clear();
  kept = select_batch_jobs(b.jobs, {"gemm", "npb"}, &avx512, &out);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].label, "openblas-skylakex");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].second, "not tagged gemm, npb");
}

struct BadManifest {
  const char* text;
  const char* message;  ///< what the error must say, with file and line
};

void PrintTo(const BadManifest& b, std::ostream* os) {
  *os << "'" << b.message << "'";
}

class BatchManifestErrors : public ::testing::TestWithParam<BadManifest> {};

TEST_P(BatchManifestErrors, NameTheFileAndLine) {
  const Manifest m(GetParam().text);
  try {
    m.load(2, 1ull << 30);
    FAIL() << "accepted: " << GetParam().text;
  } catch (const InputError& e) {
    const std::string what = e.what();
    const std::string expected = std::string(GetParam().message);
    const std::string prefix = expected.rfind("m.yaml", 0) == 0 ? m.dir.path() + "/" : "";
    EXPECT_NE(what.find(prefix + expected), std::string::npos) << what;
  }
}

constexpr const char* kJob = "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n";

INSTANTIATE_TEST_SUITE_P(
    Cases, BatchManifestErrors,
    ::testing::Values(
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    colour: red\n",
                    "m.yaml:5: unknown key 'colour'"},
        BadManifest{"jobs:\n  - kernel: matmull\n    backend: seq\n    size: 64\n",
                    "m.yaml:2: unknown kernel 'matmull'"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: gpu\n    size: 64\n",
                    "m.yaml:3: unknown backend 'gpu'"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    variant: fast\n    size: 64\n",
            "m.yaml:4: unknown variant 'fast' for matmul/seq"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 512:64:x2\n",
                    "m.yaml:4: 'size' '512:64:x2' is not a whole number"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64:512:x1\n",
                    "m.yaml:4: 'size' '64:512:x1'"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 0\n",
                    "m.yaml:4: 'size' '0' is not a whole number of at least 1"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 200000\n",
                    "m.yaml:4: size 200000 needs about"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: omp\n    threads: 3\n    size: 64\n",
                    "m.yaml:2: job matmul/omp needs 3 cores; the most one job can have here is 2"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    threads: 2\n    size: 64\n",
                    "m.yaml:4: 'threads' applies to omp and hybrid jobs, not seq"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: omp\n    ranks: 2\n    size: 64\n",
                    "m.yaml:4: 'ranks' applies to mpi and hybrid jobs, not omp"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: omp\n    threads: 2\n    cores: 1\n"
                    "    size: 64\n",
                    "m.yaml:5: 'cores' is 1 but the job runs 1 rank(s) x 2 thread(s)"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n  - kernel: matmul\n"
            "    backend: seq\n    size: 64\n",
            "m.yaml:5: job matmul.seq.blocked.n64.t1.r1.s42 is listed twice (first at "},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    time_limit: -5\n",
            "m.yaml:5: 'time_limit' must be a duration of a second or more"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    time_limit: "
            "0.0000001\n",
            "m.yaml:5: 'time_limit' must be a duration of a second or more (90, 90s, 10m, 2h, "
            "HH:MM:SS), got '0.0000001'"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    memory: lots\n",
                    "m.yaml:5: 'memory' must be a size of 1M or more, such as 512M or 2G"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    memory: 0.5\n",
            "m.yaml:5: 'memory' must be a size of 1M or more, such as 512M or 2G, got '0.5'"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    memory: 2G\n",
                    "m.yaml:5: the job needs 2048 MiB; at most 1024 MiB can be used here"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    retries: many\n",
            "m.yaml:5: 'retries' must be a whole number from 0 to 100, got 'many'"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    repeat: 0\n",
                    "m.yaml:5: 'repeat' must be a whole number from 1 to 10000"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    seed: -1\n",
                    "m.yaml:5: 'seed' must be a whole number of at least 0"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    tags: [a b]\n",
                    "m.yaml:5: tags are single words"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    zip: {size: [64, 128], "
                    "seed: [1]}\n",
                    "m.yaml:4: 'zip' lists must have the same length"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: seq\n    size: 64\n    zip: {size: [64]}\n",
            "m.yaml:5: 'size' is given both in 'zip' and outside it"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n    zip: {reps: [1]}\n",
                    "m.yaml:4: 'zip' takes kernel, backend"},
        BadManifest{"jobs:\n  - kernel: matmul\n    backend: seq\n",
                    "m.yaml:2: the job has no 'size'"},
        BadManifest{"jobs:\n  - kernel: matmul\n    kernel: cg\n    backend: seq\n    size: 64\n",
                    "m.yaml:3: 'kernel' is given twice"},
        BadManifest{"jobs:\n  - matmul\n", "m.yaml:2: a job is a map of keys"},
        BadManifest{"jobs: []\n", "m.yaml: a batch manifest needs 'jobs'"},
        BadManifest{"name: x\n", "m.yaml: a batch manifest needs 'jobs'"},
        BadManifest{"jobs: [{kernel: matmul, backend: seq, size: 64}]\nmore: 1\n",
                    "m.yaml:2: unknown key 'more'; keys of a batch manifest: name, defaults, jobs"},
        BadManifest{"defaults: {reps: x}\njobs: [{kernel: matmul, backend: seq, size: 64}]\n",
                    "m.yaml:1: 'reps' must be a whole number from 1 to 100000, got 'x'"},
        BadManifest{
            "defaults: {zip: {seed: [1]}}\njobs: [{kernel: matmul, backend: seq, size: 64}]\n",
            "m.yaml:1: 'zip' belongs to a job, not to 'defaults'"},
        BadManifest{"jobs: [{kernel: matmul, backend: seq, size: 64}]\n---\njobs: []\n",
                    "m.yaml: holds 2 YAML documents; a batch manifest is one"},
        BadManifest{"jobs: [{kernel: matmul, backend: seq, size: 64}\n", "m.yaml:2: not YAML"},
        // Found by fuzzing (tests/fuzz): yaml-cpp's LoadAll looped forever on both.
        BadManifest{",2\n", "m.yaml:1: not YAML (the parser gets no further than here)"},

        BadManifest{"jobs:\n  - {kernel: matmul, backend: seq, size: 64, label: a.b}\n",
                    "m.yaml:2: 'label' is one word"},
        BadManifest{"jobs:\n  - {kernel: matmul, backend: seq, size: 64, env: [A]}\n",
                    "m.yaml:2: 'env' is a map of variable names to values"},
        BadManifest{"jobs:\n  - {kernel: matmul, backend: seq, size: 64, env: {1X: a}}\n",
                    "m.yaml:2: 'env' names a variable, not '1X'"},
        BadManifest{
            "jobs:\n  - {kernel: matmul, backend: seq, size: 64, env: {OMP_NUM_THREADS: 4}}\n",
            "m.yaml:2: 'env' cannot set OMP_NUM_THREADS"},
        BadManifest{"jobs:\n  - {kernel: matmul, backend: seq, size: 64, cpu_flags: [AVX2]}\n",
                    "m.yaml:2: 'cpu_flags' are flags as /proc/cpuinfo spells them"},
        BadManifest{"jobs:\n  - {kernel: matmul, backend: seq, size: 64, oversubscribe: true}\n",
                    "m.yaml:2: 'oversubscribe' applies to mpi and hybrid jobs"},
        // Counted before they are walked: seq over 4096 x 1000 thread and rank counts ran
        // for a long while collapsing them into one job.
        BadManifest{"jobs:\n  - {kernel: matmul, backend: [seq, omp], size: 64, threads: "
                    "'1:4096:+1', ranks: '1:1000:+1'}\n",
                    "m.yaml:2: the entry's sweeps make more than 1000000 combinations"},
        // A size range counts its sizes: 1001 sizes x 1000 thread counts.
        BadManifest{"jobs:\n  - {kernel: matmul, backend: [seq, omp], size: '1:1001:+1', "
                    "threads: '1:1000:+1'}\n",
                    "m.yaml:2: the entry's sweeps make more than 1000000 combinations"},
        BadManifest{"jobs:\n  - {kernel: matmul, backend: mpi, ranks: 3, size: 64}\n",
                    "m.yaml:2: job matmul/mpi needs 3 cores"},
        BadManifest{"jobs:\n  - kernel: cg\n    backend: seq\n    size: Q\n",
                    "m.yaml:4: 'size' 'Q' is not a whole number of at least 1 nor a class of cg"},
        BadManifest{
            "jobs:\n  - kernel: matmul\n    backend: mpi\n    ranks: 1:4:y2\n    size: 64\n",
            "m.yaml:4: 'ranks' range '1:4:y2' is not FIRST:LAST:xFACTOR"}));

TEST(BatchManifest, ABinaryFileIsNamedNotParsed) {
  // Found by fuzzing (tests/fuzz): yaml-cpp's LoadAll looped forever on this one.
  const Manifest m(std::string("jobs: []\n,2\0\0\xca", 14));
  try {
    m.load();
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              m.path + ":2: holds a NUL byte: not a text file, not a batch manifest");
  }
}

TEST(BatchManifest, AFolderOrAMissingFileIsNamed) {
  const test::TempDir dir;
  EXPECT_THROW(load_batch_manifest(dir.path(), {2, 0}), InputError);
  try {
    load_batch_manifest(dir / "none.yaml", {2, 0});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read the batch manifest"), std::string::npos);
  }
}

TEST(BatchValues, SizeRanges) {
  auto expand = [](const std::string& t) { return expand_size_range(t, parse_count); };
  EXPECT_EQ(expand("512:4096:x2"), (std::vector<std::uint64_t>{512, 1024, 2048, 4096}));
  EXPECT_EQ(expand("100:350:+100"), (std::vector<std::uint64_t>{100, 200, 300}));
  EXPECT_EQ(expand("2^10:2^12:x2"), (std::vector<std::uint64_t>{1024, 2048, 4096}));
  EXPECT_EQ(expand("7"), (std::vector<std::uint64_t>{7}));
  EXPECT_EQ(expand("1:18446744073709551615:x2").size(), 64u);  // no overflow past the end
  for (const char* bad :
       {"", "1:2", "1:2:3", "4:2:x2", "1:9:x1", "1:9:+0", "1:100000:+1", "a:b:x2", "1:2:x2:3"})
    EXPECT_TRUE(expand(bad).empty()) << bad;
}

TEST(BatchValues, Durations) {
  EXPECT_EQ(parse_duration("90"), 90.0);
  EXPECT_EQ(parse_duration("90s"), 90.0);
  EXPECT_EQ(parse_duration("10m"), 600.0);
  EXPECT_EQ(parse_duration("2h"), 7200.0);
  EXPECT_EQ(parse_duration("1:30"), 90.0);
  EXPECT_EQ(parse_duration("01:00:05"), 3605.0);
  EXPECT_EQ(parse_duration("1-00:00:00"), 86400.0);
  for (const char* bad : {"", "0", "-5", "5x", "1:", ":5", "1:2:3:4", "inf", "1e400"})
    EXPECT_FALSE(parse_duration(bad)) << bad;
}

TEST(BatchValues, Bytes) {
  EXPECT_EQ(parse_bytes("1000"), 1000u);
  EXPECT_EQ(parse_bytes("512M"), 512ull << 20);
  EXPECT_EQ(parse_bytes("2G"), 2ull << 30);
  EXPECT_EQ(parse_bytes("1.5GiB"), 3ull << 29);
  for (const char* bad : {"", "lots", "-1G", "0", "5Q", "1e30"})
    EXPECT_FALSE(parse_bytes(bad)) << bad;
}

TEST(BatchManifest, InputGlobsMakeOneJobPerFileSizedByTheFile) {
  const std::string data = PARARUN_TEST_DATA;
  const Manifest m(
      "jobs:\n  - kernel: matmul\n    backend: [seq, omp]\n    threads: 2\n"
      "    input: " +
      data + "/dense_*.mtx\n");
  const BatchManifest b = m.load();
  EXPECT_EQ(ids(b), (std::vector<std::string>{"matmul.seq.blocked.idense_3x3.mtx.t1.r1.s42",
                                              "matmul.seq.blocked.idense_sym_3x3.mtx.t1.r1.s42",
                                              "matmul.omp.blocked.idense_3x3.mtx.t2.r1.s42",
                                              "matmul.omp.blocked.idense_sym_3x3.mtx.t2.r1.s42"}));
  EXPECT_EQ(b.jobs.front().size, 3u);
  EXPECT_EQ(b.jobs.front().input, data + "/dense_3x3.mtx");
  EXPECT_EQ(batch_job_from_json(b.jobs.front().to_json()).input, data + "/dense_3x3.mtx");
  // Relative patterns are relative to the manifest's folder.
  std::ofstream(m.dir / "v.f64", std::ios::binary) << std::string(80, '\0');
  const Manifest rel("jobs: [{kernel: reduction, backend: seq, input: v.f64}]\n");
  std::rename((m.dir / "v.f64").c_str(), (rel.dir / "v.f64").c_str());
  EXPECT_EQ(rel.load().jobs.at(0).size, 10u);
}

TEST(BatchManifest, InputMistakesAreNamed) {
  const std::string data = PARARUN_TEST_DATA;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"jobs: [{kernel: matmul, backend: seq, input: nothing/*.mtx}]\n",
       "m.yaml:1: 'input' 'nothing/*.mtx' matches no file"},
      {"jobs: [{kernel: matmul, backend: seq, size: 3, input: " + data + "/dense_3x3.mtx}]\n",
       "m.yaml:1: 'size' comes from the 'input' file; leave it out"},
      {"jobs: [{kernel: stencil, backend: seq, input: " + data + "/dense_3x3.mtx}]\n",
       "m.yaml:1: kernel 'stencil' reads no input files"},
      {"jobs: [{kernel: matmul, backend: seq, input: " + data + "/laplace_4.mtx}]\n",
       "m.yaml:1: input " + data + "/laplace_4.mtx:1: matmul reads dense matrices"},
  };
  for (const auto& [text, message] : cases) {
    const Manifest m(text);
    try {
      m.load();
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(m.dir.path() + "/" + message), std::string::npos)
          << e.what();
    }
  }
}

TEST(BatchManifest, DefaultsStayTheSameForEveryJob) {
  // A job's own key must not change the defaults the next job gets (yaml-cpp's Node
  // assignment shares nodes), nor a list in defaults the next entry's sweep.
  const Manifest m(
      "defaults: {retries: 1, threads: [1, 2]}\n"
      "jobs:\n"
      "  - {kernel: matmul, backend: omp, size: 64, retries: 3}\n"
      "  - {kernel: matmul, backend: omp, size: 128}\n"
      "  - {kernel: matmul, backend: omp, size: 256}\n");
  const BatchManifest b = m.load();
  ASSERT_EQ(b.jobs.size(), 6u);
  EXPECT_EQ(b.jobs[0].retries, 3);
  EXPECT_EQ(b.jobs[2].retries, 1);
  EXPECT_EQ(b.jobs[4].retries, 1);
  EXPECT_EQ(b.jobs[4].threads, 1);
  EXPECT_EQ(b.jobs[5].threads, 2);
}

TEST(BatchValues, RangeEdges) {
  auto expand = [](const std::string& t) { return expand_size_range(t, parse_count); };
  EXPECT_EQ(expand("0:3:+1"), (std::vector<std::uint64_t>{0, 1, 2, 3}));  // seeds from 0
  EXPECT_EQ(expand("1:5:+18446744073709551615"), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(parse_duration("0-01:30"), 5400.0);  // D-HH:MM with 0 days
}

TEST(BatchManifest, TwoInputsWithOneFileNameAreNamed) {
  const test::TempDir tmp;
  for (const char* sub : {"a", "b"}) {
    ::mkdir((tmp / sub).c_str(), 0755);
    std::ofstream(tmp / sub + std::string("/v.f64"), std::ios::binary) << std::string(16, '\0');
  }
  const Manifest m("jobs: [{kernel: reduction, backend: seq, input: [" + (tmp / "a/v.f64") + ", " +
                   (tmp / "b/v.f64") + "]}]\n");
  try {
    m.load();
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("have the same file name, which names them in job ids"),
              std::string::npos)
        << e.what();
  }
}

TEST(BatchPacking, BackfillReservesCoresForTheFirstJobThatDoesNotFit) {
  using V = std::vector<std::size_t>;
  // Everything fits: in order.
  EXPECT_EQ(backfill(2, 0, 100, {}, {{1, 10, 0}, {1, 10, 0}, {1, 10, 0}}, 0), (V{0, 1}));
  // A 2-core job waits for a running 1-core job (ends by t = 100): a long 1-core job may not
  // take the free core (the 2-core job would wait for it), a short one may.
  EXPECT_EQ(backfill(1, 0, 100, {{1, 100}}, {{2, 50, 0}, {1, 3600, 0}, {1, 10, 0}}, 0), (V{2}));
  // Cores the reserved job leaves over at its start are free for long jobs: 2 free, 2 more at
  // t = 100, the 3-core job leaves one.
  EXPECT_EQ(backfill(2, 0, 100, {{2, 100}}, {{3, 50, 0}, {1, 3600, 0}, {1, 3600, 0}}, 0), (V{1}));
  // A job larger than the node reserves nothing (its own refusal is the manifest check's).
  EXPECT_EQ(backfill(2, 0, 100, {}, {{4, 10, 0}, {1, 3600, 0}}, 0), (V{1}));
  // Memory that does not fit beside the running jobs holds that job only.
  EXPECT_EQ(backfill(2, 50, 100, {{1, 100}}, {{1, 10, 80}, {1, 3600, 10}}, 0), (V{1}));
  // Nothing else holds memory: the largest job runs alone.
  EXPECT_EQ(backfill(2, 0, 100, {}, {{1, 10, 500}}, 0), (V{0}));
}

TEST(BatchManifest, TheBenchmarkManifestLoads) {
  // scripts/bench.yaml is what scripts/bench.sh runs: it must stay a valid manifest.
  const std::string path = std::string(PARARUN_TEST_DATA) + "/../../scripts/bench.yaml";
  const BatchManifest m = load_batch_manifest(path, {2, 0});
  std::map<std::string, int> by_label;
  for (const auto& j : m.jobs) {
    ++by_label[j.label];
    EXPECT_EQ(j.cores, 2) << j.id;  // one job at a time on every core
    EXPECT_FALSE(j.tags.empty()) << j.id;
  }
  EXPECT_EQ(by_label["openblas-skylakex"], 8);  // 4 sizes x (seq, omp)
  EXPECT_EQ(by_label["pararun-avx2"], 8);
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string> zen3_flags = {"avx2", "fma"};
  const auto zen3 = select_batch_jobs(m.jobs, {"gemm"}, &zen3_flags, &out);
  for (const auto& j : zen3) EXPECT_TRUE(j.cpu_flags.empty()) << j.id;
  EXPECT_EQ(zen3.size(), 8u * 3 + 6);  // pararun, openblas-shipped, eigen x 8; naive 6
}

TEST(BatchMerge, KeepsWhatItCannotParseAndWhatIsAppendedWhileItRuns) {
  const test::TempDir tmp;
  const std::string dir = tmp.path(), path = tmp / "results.jsonl";
  const auto record = [](int i) {
    return Json{{"schema", "pararun.record/2"}, {"kernel", "reduction"}, {"i", i}};
  };
  {
    std::ofstream out(path);
    out << record(-1).dump() << "\n{\"problem\":\"r\xe9\"}\nnot json\n";
  }
  int kept = 0;
  EXPECT_EQ(merge_batch_results(dir, {}, &kept), 0);
  EXPECT_EQ(kept, 1);
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "{\"problem\":\"r\xe9\"}");
  EXPECT_EQ(lines[2], "not json");

  // Its lock held elsewhere past the wait: the file stays as it was, and the error says
  // where the records are.
  {
    std::string problem;
    const int holder = open_locked(path, O_RDWR, &problem);
    ASSERT_GE(holder, 0) << problem;
    const std::string before = slurp(path);
    try {
      merge_batch_results(dir, {}, nullptr, 0.2);
      ADD_FAILURE() << "merged under another's lock";
    } catch (const WriteError& e) {
      EXPECT_NE(std::string(e.what()).find("stayed locked by another process for 0.2 s"),
                std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("it is unchanged, the records stay in " + dir +
                                           "/jobs/ (pararun batch merge"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(slurp(path), before);
    close(holder);
  }

  // Records appended (as `run -o` does) while merges replace the file: none is lost. The
  // appender goes on until 20 merges have run and the merges until it is done, however the
  // two threads are scheduled.
  std::atomic<int> merges{0};
  std::atomic<bool> failed{false}, done{false};
  int appended = 0;
  std::thread appender([&] {
    try {
      for (; appended < 300 || merges < 20; ++appended) append_record(path, record(appended));
    } catch (...) {
      failed = true;
    }
    done = true;
  });
  try {
    for (; merges < 20 || !done; ++merges) {
      merge_batch_results(dir, {}, nullptr);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } catch (...) {
    failed = true;
  }
  appender.join();
  ASSERT_FALSE(failed);
  std::set<int> seen;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const Json r = Json::parse(line, nullptr, false);
    if (r.is_object() && r.contains("i")) seen.insert(r["i"].get<int>());
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(appended + 1));
}
