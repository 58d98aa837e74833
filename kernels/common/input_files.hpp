// Input files kernels read (`pararun run --input FILE`): dense matrices in Matrix Market array
// format, sparse matrices in Matrix Market coordinate format (the SuiteSparse collection's
// format), and arrays of doubles as NumPy .npy or raw little-endian float64. Every problem is
// an InputError (pararun/errors.hpp) naming the file and, for text files, the line.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pararun::common {

/// The header of a Matrix Market file: "%%MatrixMarket matrix FORMAT FIELD SYMMETRY".
struct MatrixMarketHeader {
  std::string format;                             ///< "array" or "coordinate"
  std::string field;                              ///< "real", "integer" or "pattern"
  std::string symmetry;                           ///< "general" or "symmetric"
  std::uint64_t rows = 0, cols = 0, entries = 0;  ///< entries: coordinate only
  int size_line = 2;  ///< the line of "ROWS COLS [ENTRIES]" (comments come before it)
};

/// The header and size line, without the values.
MatrixMarketHeader read_matrix_market_header(const std::string& path);

/// The order of the square matrix in `path`, which must be in `format` ("array" or
/// "coordinate"), from its header; InputError naming the file and line for the other format
/// or a matrix that is not square. `kernel` names the reader in the messages.
std::uint64_t square_matrix_order(const std::string& path, const std::string& format,
                                  const std::string& kernel);

/// A dense matrix, row-major (the file is column-major; symmetric files hold the lower
/// triangle, which is mirrored).
struct DenseMatrix {
  std::uint64_t rows = 0, cols = 0;
  std::vector<double> values;  ///< rows x cols, row-major
  double at(std::uint64_t i, std::uint64_t j) const { return values[i * cols + j]; }
};

/// A dense matrix from a Matrix Market array file (real or integer, general or symmetric).
DenseMatrix read_matrix_market_array(const std::string& path);

/// A sparse matrix in compressed rows (0-based), both triangles of a symmetric file stored.
struct SparseMatrix {
  std::uint64_t rows = 0, cols = 0;
  std::vector<std::uint64_t> row_start;  ///< rows + 1 offsets into col and val
  std::vector<std::uint64_t> col;
  std::vector<double> val;
  bool symmetric = false;      ///< the file said symmetric
  std::uint64_t nonzeros = 0;  ///< of the whole matrix (a symmetric file's mirrored too)
};

/// Which entries (row i, column j, 0-based; a symmetric file's mirrored ones too) a reader
/// keeps: all when empty.
using EntryFilter = std::function<bool(std::uint64_t i, std::uint64_t j)>;

/// A sparse matrix from a Matrix Market coordinate file (real, integer or pattern: 1.0), of
/// the entries `keep` takes (a rank its rows': the memory of its part, not the whole file's).
/// Duplicate entries among those are refused, as are indices out of range anywhere.
SparseMatrix read_matrix_market_coordinate(const std::string& path, const EntryFilter& keep = {});

/// The number of doubles in a .npy file ('<f8', any shape) or a raw float64 file (any other
/// name: little-endian, the file's size a multiple of 8).
std::uint64_t count_doubles(const std::string& path);

/// Doubles [begin, begin + count) of such a file, read with pread (each rank reads its part).
std::vector<double> read_doubles(const std::string& path, std::uint64_t begin, std::uint64_t count);

}  // namespace pararun::common
