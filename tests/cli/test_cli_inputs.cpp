// pararun run --input: kernels on the user's data (Matrix Market, .npy, raw), verified, the
// file named in the record; bad files are one line and exit 2.
#include <gtest/gtest.h>

#include "cli_helpers.hpp"

namespace {

const std::string kData = PARARUN_TEST_DATA;

/// A raw float64 file of n values 1/(i+1): the sum is the harmonic number H_n.
std::string harmonic_file(const pararun::test::TempDir& tmp, int n) {
  std::string bytes;
  for (int i = 0; i < n; ++i) {
    const double v = 1.0 / (i + 1);
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  const std::string path = tmp / "h.f64";
  write_file(path, bytes);
  return path;
}

}  // namespace

TEST(CliInput, MatmulReadsAMatrixMarketFileAndVerifiesEveryElement) {
  const pararun::test::TempDir tmp;
  for (const std::string backend : {"seq", "omp"}) {
    Result r = run_cli("run matmul -b " + backend + " -i " + kData + "/dense_3x3.mtx -r 3 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const Json j = Json::parse(r.out);
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["size"], 3);
    EXPECT_EQ(j["input"], kData + "/dense_3x3.mtx");
    EXPECT_NE(j["verification"]["reference"].get<std::string>().find(
                  "eigen, every element: |C - R| / (2 gamma_n |A| |B|)"),
              std::string::npos);
    EXPECT_LE(j["verification"]["error"].get<double>(), 1.0);
  }
  Result r = run_cli("run matmul -b omp -t 2 -i " + kData + "/generated_dense_5x5.mtx -r 3 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["size"], 5);
  r = run_cli("run matmul -b mpi -i " + kData + "/dense_sym_3x3.mtx -r 3 --json", 2);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["status"], "ok");
  // A corrupted result fails against the file's reference.
  r = run_cli("run matmul -b seq -i " + kData + "/dense_3x3.mtx -r 1 --inject-fault --json");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(Json::parse(r.out)["status"], "verification_failed");
}

TEST(CliInput, ReductionSumsAFileOnEveryBackend) {
  const pararun::test::TempDir tmp;
  const std::string file = harmonic_file(tmp, 100000);
  for (const auto& [args, np] :
       std::vector<std::pair<std::string, int>>{{"-b seq", 0},
                                                {"-b omp -t 2 -v plain", 0},
                                                {"-b mpi", 3},
                                                {"-b mpi -v reproducible", 2}}) {
    Result r = run_cli("run reduction " + args + " -i " + file + " -r 3 --json", np);
    ASSERT_EQ(r.code, 0) << args << ": " << r.err;
    const Json j = Json::parse(r.out);
    EXPECT_EQ(j["size"], 100000);
    // H_100000 = 12.090146129863428 (ln n + gamma + 1/2n - ...).
    EXPECT_NEAR(j["results"]["sum"].get<double>(), 12.090146129863428, 1e-12) << args;
  }
}

TEST(CliInput, TheRecordFileCannotBeTheInput) {
  // --out appends a record: onto the input it destroyed the data (the next run refused it).
  const pararun::test::TempDir tmp;
  const std::string file = harmonic_file(tmp, 64), before = slurp(file);
  ASSERT_EQ(link(file.c_str(), (tmp / "alias.f64").c_str()), 0);
  for (const std::string& out : {file, tmp / "alias.f64"}) {
    Result r = run_cli("run reduction -b seq -i " + file + " -r 1 -o " + out);
    EXPECT_EQ(r.code, 2) << out;
    ASSERT_EQ(lines(r.err).size(), 1u) << r.err;
    EXPECT_NE(r.err.find("is also an input"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(file), before) << out;
  }
}

TEST(CliInput, BadInputFilesAreOneLineAndExitTwo) {
  const pararun::test::TempDir tmp;
  write_file(tmp / "odd.f64", std::string(12, '\0'));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"run matmul -b seq -i " + kData + "/truncated_3x3.mtx",
       "truncated_3x3.mtx:7: expected 9 values for a 3 x 3 general matrix"},
      {"run matmul -b seq -i " + kData + "/laplace_4.mtx",
       "laplace_4.mtx:1: matmul reads dense matrices (Matrix Market array format)"},
      {"run matmul -b seq -n 4 -i " + kData + "/dense_3x3.mtx",
       "--size 4 but '" + kData + "/dense_3x3.mtx' holds size 3; leave --size out with --input"},
      {"run stencil -b seq -i " + kData + "/dense_3x3.mtx",
       "kernel 'stencil' reads no input files"},
      {"run reduction -b seq -i " + (tmp / "odd.f64"), "odd.f64: a raw float64 file holds a whole"},
      {"run reduction -b seq -i /dev/zero", "input '/dev/zero' is not a regular file"},
      {"run reduction -b seq -i " + (tmp / "none.npy"), "cannot read input file"},
      {"run matmul -b seq", "--size is required (or --input for a kernel that reads files)"},
  };
  const auto before = plant_results(tmp.path());
  for (const auto& [args, message] : cases) {
    Result r = run_command("cd " + tmp.path() + " && " + PARARUN_EXE + " " + args + " -o " +
                           (tmp / "results.jsonl"));
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(lines(r.err).size(), 1u) << args << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(snapshot(tmp.path()), before) << args;  // the results file it would append to
  }
}

namespace {

/// The 5-point Laplacian of a k x k grid written in Matrix Market coordinate format, both
/// triangles ("general", so the reader's symmetry check runs): an SPD matrix of order k^2.
std::string laplacian_file(const pararun::test::TempDir& tmp, int k) {
  std::string entries;
  int nnz = 0;
  auto add = [&](int i, int j, int v) {
    entries += std::to_string(i + 1) + " " + std::to_string(j + 1) + " " + std::to_string(v) + "\n";
    ++nnz;
  };
  for (int i = 0; i < k * k; ++i) {
    if (i >= k) add(i, i - k, -1);
    if (i % k) add(i, i - 1, -1);
    add(i, i, 4);
    if ((i + 1) % k) add(i, i + 1, -1);
    if (i + k < k * k) add(i, i + k, -1);
  }
  const std::string path = tmp / "laplace.mtx";
  write_file(path, "%%MatrixMarket matrix coordinate real general\n% written by the test\n" +
                       std::to_string(k * k) + " " + std::to_string(k * k) + " " +
                       std::to_string(nnz) + "\n" + entries);
  return path;
}

}  // namespace

TEST(CliInput, CgSolveSolvesAMatrixMarketSystemByTheTrueResidual) {
  const pararun::test::TempDir tmp;
  const std::string file = laplacian_file(tmp, 20);
  for (const auto& [args, np] : std::vector<std::pair<std::string, int>>{
           {"-b seq", 0}, {"-b omp -t 2", 0}, {"-b mpi", 3}, {"-b hybrid -t 2", 2}}) {
    Result r = run_cli("run cgsolve " + args + " -i " + file + " -r 3 --json", np);
    ASSERT_EQ(r.code, 0) << args << ": " << r.err;
    const Json j = Json::parse(r.out);
    EXPECT_EQ(j["size"], 400);
    EXPECT_LE(j["results"]["relative_residual"].get<double>(), 1e-8) << args;
    EXPECT_LE(j["results"]["max_error_vs_x_true"].get<double>(), 1e-6) << args;
    EXPECT_EQ(j["results"]["nonzeros"], 1920);
    // The rate counts the iterations the solve took (2 nnz + 12 n flops each).
    const double iterations = j["results"]["iterations"].get<double>();
    EXPECT_GT(iterations, 10);
    EXPECT_NEAR(j["flops"].get<double>(), iterations * (2 * 1920 + 12 * 400), 1e-6) << args;
  }
  // The order-4 Laplacian: CG ends in at most 4 iterations (exact arithmetic: exactly n);
  // the generated 2-D one (tests/data/generate.py, 16 unknowns) in at most 16.
  Result r = run_cli("run cgsolve -b seq -i " + kData + "/laplace_4.mtx -r 1 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LE(Json::parse(r.out)["results"]["iterations"].get<double>(), 4);
  r = run_cli("run cgsolve -b omp -t 2 -i " + kData + "/generated_laplace2d_4x4.mtx -r 1 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_LE(Json::parse(r.out)["results"]["iterations"].get<double>(), 16);
  EXPECT_LE(Json::parse(r.out)["results"]["relative_residual"].get<double>(), 1e-8);
  r = run_cli("run cgsolve -b seq -i " + file + " -r 1 --inject-fault --json");
  EXPECT_EQ(r.code, 1);
}

// Each rank reads the entries of its rows (and their transposes) and checks its rows: a
// problem in the last rank's rows alone ends every rank with one line, exit 2, no hang.
TEST(CliInput, CgSolveOnRanksAProblemInOneRanksRowsEndsEveryRank) {
  const pararun::test::TempDir tmp;
  // 4 x 4 tridiagonal, general storage; row 4 without its diagonal entry, or (4, 3) twice.
  const std::string head = "%%MatrixMarket matrix coordinate real general\n4 4 ";
  const std::string upper = "1 1 4\n1 2 -1\n2 1 -1\n2 2 4\n2 3 -1\n3 2 -1\n3 3 4\n3 4 -1\n";
  write_file(tmp / "nodiag.mtx", head + "9\n" + upper + "4 3 -1\n");
  write_file(tmp / "twice.mtx", head + "11\n" + upper + "4 3 -1\n4 4 4\n4 3 -1\n");
  for (int np : {2, 3}) {
    for (const auto& [name, message] : std::vector<std::pair<std::string, std::string>>{
             {"nodiag.mtx", "nodiag.mtx: row 4 has no diagonal entry"},
             {"twice.mtx", "twice.mtx: entry (4, 3) is given twice"}}) {
      const Result r = run_cli("run cgsolve -b mpi -i " + (tmp / name) + " -r 1", np);
      EXPECT_EQ(r.code, 2) << np << " ranks, " << name << ": " << r.err;
      int ours = 0;  // (mpirun adds its own lines about a rank's non-zero exit)
      for (const auto& line : lines(r.err)) ours += line.rfind("pararun: error: ", 0) == 0;
      EXPECT_EQ(ours, 1) << np << " ranks, " << name << ": " << r.err;
      EXPECT_NE(r.err.find(message), std::string::npos) << np << " ranks: " << r.err;
    }
  }
}

TEST(CliInput, CgSolveRefusesMatricesThatAreNotSpd) {
  const pararun::test::TempDir tmp;
  write_file(tmp / "indefinite.mtx",
             "%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n1 1 1\n2 1 2\n2 2 1\n");
  write_file(tmp / "nonsym.mtx",
             "%%MatrixMarket matrix coordinate real general\n2 2 3\n1 1 1\n2 1 2\n2 2 1\n");
  write_file(tmp / "negdiag.mtx",
             "%%MatrixMarket matrix coordinate real symmetric\n2 2 2\n1 1 1\n2 2 -1\n");
  write_file(tmp / "rect.mtx", "%%MatrixMarket matrix coordinate real general\n2 3 1\n1 1 1\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"indefinite.mtx", "indefinite.mtx: the matrix is not positive definite (p'Ap = "},
      {"nonsym.mtx",
       "nonsym.mtx: entry (2, 1) has no equal entry (1, 2): the matrix is not symmetric"},
      {"negdiag.mtx", "negdiag.mtx: row 2 has a diagonal entry that is not positive"},
      {"rect.mtx", "rect.mtx:2: cgsolve needs a square matrix, this one is 2 x 3"},
  };
  for (const auto& [name, message] : cases) {
    Result r = run_cli("run cgsolve -b seq -i " + (tmp / name));
    EXPECT_EQ(r.code, 2) << name;
    EXPECT_EQ(lines(r.err).size(), 1u) << name << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << name << ": " << r.err;
  }
  Result r = run_cli("run cgsolve -b seq -i " + kData + "/pattern_3x3.mtx");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("pattern_3x3.mtx: row 2 has no diagonal entry"), std::string::npos) << r.err;
}
