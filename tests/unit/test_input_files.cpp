// The input readers: Matrix Market array and coordinate files (tests/data, hand-written, and
// files the tests write), NumPy .npy and raw float64; every broken file named with its line.
#include "common/input_files.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <tuple>

#include "../temp_dir.hpp"
#include "pararun/errors.hpp"
#include "pararun/registry.hpp"

using namespace pararun;
using namespace pararun::common;

namespace {

const std::string kData = PARARUN_TEST_DATA;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// A .npy file of `values` (version 1, '<f8', 1-D), as NumPy writes it.
std::string npy(const std::vector<double>& values, const std::string& descr = "<f8",
                std::size_t shape = 0) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(shape ? shape : values.size()) + ",), }";
  header += std::string(64 - (10 + header.size() + 1) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
  return out;
}

}  // namespace

TEST(MatrixMarket, ReadsADenseArrayColumnByColumn) {
  const DenseMatrix a = read_matrix_market_array(kData + "/dense_3x3.mtx");
  ASSERT_EQ(a.rows, 3u);
  ASSERT_EQ(a.cols, 3u);
  EXPECT_EQ(a.values, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 10}));  // row-major
}

TEST(MatrixMarket, MirrorsASymmetricArray) {
  const DenseMatrix s = read_matrix_market_array(kData + "/dense_sym_3x3.mtx");
  EXPECT_EQ(s.values, (std::vector<double>{4, 1, 2, 1, 5, 3, 2, 3, 6}));
}

TEST(MatrixMarket, ReadsCoordinateIntoCompressedRowsWithBothTriangles) {
  const SparseMatrix l = read_matrix_market_coordinate(kData + "/laplace_4.mtx");
  EXPECT_TRUE(l.symmetric);
  EXPECT_EQ(l.row_start, (std::vector<std::uint64_t>{0, 2, 5, 8, 10}));
  EXPECT_EQ(l.col, (std::vector<std::uint64_t>{0, 1, 0, 1, 2, 1, 2, 3, 2, 3}));
  EXPECT_EQ(l.val, (std::vector<double>{2, -1, -1, 2, -1, -1, 2, -1, -1, 2}));
  EXPECT_EQ(l.nonzeros, 10u);
  const SparseMatrix p = read_matrix_market_coordinate(kData + "/pattern_3x3.mtx");
  EXPECT_EQ(p.val, (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(p.col, (std::vector<std::uint64_t>{0, 2, 1}));
  // A rank's rows (here 2 and 3, 0-based): their entries alone are kept, mirrored ones of a
  // symmetric file included; nonzeros still counts the whole matrix's.
  const SparseMatrix mine = read_matrix_market_coordinate(
      kData + "/laplace_4.mtx", [](std::uint64_t i, std::uint64_t) { return i >= 2; });
  EXPECT_EQ(mine.row_start, (std::vector<std::uint64_t>{0, 0, 0, 3, 5}));
  EXPECT_EQ(mine.col, (std::vector<std::uint64_t>{1, 2, 3, 2, 3}));
  EXPECT_EQ(mine.val, (std::vector<double>{-1, 2, -1, -1, 2}));
  EXPECT_EQ(mine.nonzeros, 10u);
}

// cgsolve's memory estimate (the run's memory check, a batch job's memory request) follows
// what a rank keeps of a file: its rows, not the whole matrix.
TEST(MatrixMarket, CgSolvesMemoryPerRankFallsWithTheRanksForAFile) {
  const pararun::Kernel* cg = pararun::Registry::global().find("cgsolve");
  ASSERT_NE(cg, nullptr);
  const pararun::Problem p(16, 42, kData + "/generated_laplace2d_4x4.mtx");
  EXPECT_LT(cg->memory_per_rank(p, 4), cg->memory_per_rank(p, 1) / 2);
  EXPECT_GT(cg->memory_per_rank(p, 4), 0);
}

TEST(MatrixMarket, ReadsTheGeneratedFilesAsGenerateDotPyDescribesThem) {
  // tests/data/generate.py: the 5-point Laplacian of a 4 x 4 grid, lower triangle stored.
  const SparseMatrix l = read_matrix_market_coordinate(kData + "/generated_laplace2d_4x4.mtx");
  ASSERT_EQ(l.row_start.size(), 17u);
  EXPECT_EQ(l.row_start.back(), 64u);  // 16 diagonal + 2 x 24 neighbour entries
  std::vector<double> row_sums(16, 0);
  for (std::size_t i = 0; i < 16; ++i)
    for (auto k = l.row_start[i]; k < l.row_start[i + 1]; ++k) row_sums[i] += l.val[k];
  for (std::size_t i = 0; i < 16; ++i) {
    const bool edge_x = i % 4 == 0 || i % 4 == 3, edge_y = i / 4 == 0 || i / 4 == 3;
    EXPECT_EQ(row_sums[i], edge_x + edge_y) << "row " << i;  // corners 2, edges 1, inside 0
  }
  // a(i, j) = (4 i + j) mod 7 + 5 [i == j], stored column by column, read row-major.
  const DenseMatrix d = read_matrix_market_array(kData + "/generated_dense_5x5.mtx");
  ASSERT_EQ(d.values.size(), 25u);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j)
      EXPECT_EQ(d.values[static_cast<std::size_t>(i * 5 + j)], (4 * i + j) % 7 + (i == j ? 5 : 0));
}

TEST(MatrixMarket, BrokenFilesAreNamedWithTheirLine) {
  const test::TempDir tmp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {kData + "/truncated_3x3.mtx",
       "truncated_3x3.mtx:7: expected 9 values for a 3 x 3 general matrix, the file ends after 4"},
      {kData + "/no_banner.mtx", "no_banner.mtx:1: not a Matrix Market file"},
      {kData + "/laplace_4.mtx",
       "laplace_4.mtx:1: a dense matrix is read from Matrix Market array format"},
  };
  for (const auto& [file, message] : cases)
    EXPECT_NE(error_of([&, file = file] { read_matrix_market_array(file); }).find(message),
              std::string::npos)
        << file << ": " << error_of([&, file = file] { read_matrix_market_array(file); });
  const std::vector<std::pair<std::string, std::string>> sparse = {
      {kData + "/upper_in_symmetric.mtx",
       "upper_in_symmetric.mtx:4: entry (1, 3) is above the diagonal"},
      {kData + "/duplicate_entry.mtx", "duplicate_entry.mtx: entry (1, 1) is given twice"},
      {kData + "/dense_3x3.mtx",
       "dense_3x3.mtx:1: a sparse matrix is read from Matrix Market "
       "coordinate format"},
  };
  for (const auto& [file, message] : sparse)
    EXPECT_NE(error_of([&, file = file] { read_matrix_market_coordinate(file); }).find(message),
              std::string::npos)
        << error_of([&, file = file] { read_matrix_market_coordinate(file); });
  // Files the test writes: one problem each.
  const std::vector<std::tuple<std::string, std::string, std::string>> written = {
      {"empty.mtx", "", "empty.mtx:1: the file is empty"},
      {"object.mtx", "%%MatrixMarket vector array real general\n", "the object is 'vector'"},
      {"complex.mtx", "%%MatrixMarket matrix array complex general\n2 2\n",
       "complex.mtx:1: the field is 'complex'"},
      {"hermitian.mtx", "%%MatrixMarket matrix array real hermitian\n",
       "the symmetry is 'hermitian'"},
      {"nosize.mtx", "%%MatrixMarket matrix array real general\n% only a comment\n",
       "nosize.mtx:2: the size line is missing"},
      {"badsize.mtx", "%%MatrixMarket matrix array real general\n% c\n2 x\n",
       "badsize.mtx:3: bad size line '2 x': expected ROWS COLS"},
      {"zero.mtx", "%%MatrixMarket matrix array real general\n0 2\n", "zero.mtx:2: bad size line"},
      {"nan.mtx", "%%MatrixMarket matrix array real general\n1 2\n1\nnan\n",
       "nan.mtx:4: 'nan' is not a finite number"},
      {"word.mtx", "%%MatrixMarket matrix array real general\n1 2\n1\n2x\n",
       "word.mtx:4: '2x' is not a finite number"},
      {"extra.mtx", "%%MatrixMarket matrix array real general\n1 1\n1\n2\n",
       "extra.mtx:4: more values than a 1 x 1 matrix holds"},
      {"symrect.mtx", "%%MatrixMarket matrix array real symmetric\n2 3\n",
       "symrect.mtx:2: a symmetric matrix must be square, this one is 2 x 3"},
      // Found by fuzzing: a size line that would allocate 21 GB for five values.
      {"huge.mtx", "%%MatrixMarket matrix array real general\n3 888888885\n8\n3\n6\n10\n",
       "huge.mtx:2: the size line says 3 x 888888885 (2666666655 values), more than the file's"},
  };
  for (const auto& [name, text, message] : written) {
    write(tmp / name, text);
    const std::string got = error_of([&, name = name] { read_matrix_market_array(tmp / name); });
    EXPECT_NE(got.find(message), std::string::npos) << name << ": " << got;
  }
  // A subnormal value is a number (strtod's ERANGE for it was taken for "not finite"); one
  // past the largest double is not.
  write(tmp / "tiny.mtx", "%%MatrixMarket matrix array real general\n1 2\n1e-310\n-4e-320\n");
  EXPECT_EQ(read_matrix_market_array(tmp / "tiny.mtx").values,
            (std::vector<double>{1e-310, -4e-320}));
  write(tmp / "huge_value.mtx", "%%MatrixMarket matrix array real general\n1 1\n1e309\n");
  EXPECT_NE(error_of([&] {
              read_matrix_market_array(tmp / "huge_value.mtx");
            }).find("huge_value.mtx:3: '1e309' is not a finite number"),
            std::string::npos);
  const std::vector<std::tuple<std::string, std::string, std::string>> written_sparse = {
      {"outside.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n3 1 1.0\n",
       "outside.mtx:3: entry (3, 1) is outside the 2 x 2 matrix (indices start at 1)"},
      {"zeroindex.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n0 1 1.0\n",
       "zeroindex.mtx:3: entry (0, 1) is outside"},
      {"short.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1.0\n",
       "short.mtx:3: expected 2 entries, the file ends after 1 (truncated?)"},
      {"novalue.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1\n",
       "novalue.mtx:3: expected ROW COL VALUE, got '1 1'"},
      {"noentries.mtx", "%%MatrixMarket matrix coordinate real general\n2 2\n",
       "noentries.mtx:2: bad size line '2 2': expected ROWS COLS ENTRIES"},
      {"hugerows.mtx", "%%MatrixMarket matrix coordinate real general\n3000000000 3000000000 0\n",
       "hugerows.mtx:2: the size line says 3000000000 rows, more than the file's"},
  };
  for (const auto& [name, text, message] : written_sparse) {
    write(tmp / name, text);
    const std::string got =
        error_of([&, name = name] { read_matrix_market_coordinate(tmp / name); });
    EXPECT_NE(got.find(message), std::string::npos) << name << ": " << got;
  }
  EXPECT_NE(error_of([&] {
              read_matrix_market_array(tmp.path());
            }).find("is not a regular file but a folder"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_matrix_market_array("/dev/zero"); }).find("is not a regular file"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { read_matrix_market_array(tmp / "none.mtx"); }).find("cannot read input file"),
      std::string::npos);
}

TEST(Doubles, NpyAndRawFilesReadWholeOrInParts) {
  const test::TempDir tmp;
  std::vector<double> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * static_cast<double>(i) - 7;
  write(tmp / "v.npy", npy(v));
  write(tmp / "v.raw", std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
  for (const char* name : {"v.npy", "v.raw"}) {
    EXPECT_EQ(count_doubles(tmp / name), 1000u) << name;
    EXPECT_EQ(read_doubles(tmp / name, 0, 1000), v) << name;
    EXPECT_EQ(read_doubles(tmp / name, 990, 10), std::vector<double>(v.begin() + 990, v.end()));
  }
}

TEST(Doubles, BrokenFilesAreNamed) {
  const test::TempDir tmp;
  const std::vector<double> v = {1, 2, 3, 4};
  std::string truncated = npy(v);
  truncated.resize(truncated.size() - 4);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"f4.npy", npy(v, "<f4"), "f4.npy: the .npy array is not little-endian float64"},
      {"big.npy", npy(v, ">f8"), "not little-endian float64"},
      {"trunc.npy", truncated,
       "trunc.npy: the .npy shape holds 4 doubles (32 bytes) but the file has 28"},
      {"shape.npy", npy(v, "<f8", 5), "shape holds 5 doubles"},
      {"magic.npy", "not numpy at all", "magic.npy: not a .npy file"},
      {"odd.raw", std::string(12, '\0'),
       "odd.raw: a raw float64 file holds a whole number of 8-byte doubles; 12 bytes"},
      {"empty.raw", "", "empty.raw: the file holds no doubles"},
  };
  for (const auto& [name, bytes, message] : cases) {
    write(tmp / name, bytes);
    const std::string got = error_of([&, name = name] { count_doubles(tmp / name); });
    EXPECT_NE(got.find(message), std::string::npos) << name << ": " << got;
  }
  const double nan = std::nan("");
  write(tmp / "nan.raw", std::string(reinterpret_cast<const char*>(&nan), 8));
  EXPECT_NE(error_of([&] { read_doubles(tmp / "nan.raw", 0, 1); }).find("not finite"),
            std::string::npos);
  write(tmp / "v.raw", std::string(32, '\0'));
  EXPECT_NE(error_of([&] { read_doubles(tmp / "v.raw", 2, 3); }).find("holds 4 doubles, not 5"),
            std::string::npos);
}
