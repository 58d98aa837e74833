// NPB CG's classes and matrix generator, shared by the kernel (cg.cpp) and its tests.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace pararun::cg {

struct ClassInfo {
  const char* name;
  std::uint64_t na;  ///< rows
  int nonzer, niter;
  double shift, zeta;  ///< zeta: NPB's published value
  std::uint64_t nnz;   ///< nonzeros make_matrix generates (a test checks S and W)
};

// NPB 3.3 parameters and published zeta values (cg.f / cg.c); rcond = 0.1 for all.
inline constexpr std::array<ClassInfo, 5> kClasses = {{
    {"S", 1400, 7, 15, 10, 8.5971775078648, 78148},
    {"W", 7000, 8, 15, 12, 10.362595087124, 508402},
    {"A", 14000, 11, 15, 20, 17.130235054029, 1853104},
    {"B", 75000, 13, 75, 60, 22.712745482631, 13708072},
    {"C", 150000, 15, 75, 110, 28.973605592845, 36121058},
}};

/// The class with na rows, or null.
const ClassInfo* find_class(std::uint64_t na);

/// The rows [first, first + count) of A in compressed sparse rows, global column indices,
/// columns ascending within a row.
struct Csr {
  std::uint64_t first = 0, count = 0;
  std::vector<std::uint64_t> row_start;  ///< count + 1 offsets
  std::vector<int> col;
  std::vector<double> val;
};

/// NPB's makea + sparse for the rows [first, first + count) of the class's matrix.
Csr make_matrix(const ClassInfo& c, std::uint64_t first, std::uint64_t count);

}  // namespace pararun::cg
