// Backends: the small closed set of ways a kernel can be executed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pararun {

enum class Backend { seq, omp, mpi, hybrid };

inline constexpr Backend kAllBackends[] = {Backend::seq, Backend::omp, Backend::mpi,
                                           Backend::hybrid};

std::string to_string(Backend b);
std::optional<Backend> parse_backend(std::string_view name);
/// "seq, omp, mpi, hybrid"
std::string backend_names();

/// Why this build cannot run backend b ("" when it can): ParaRun built without MPI
/// (PARARUN_MPI=OFF) has no mpi or hybrid backend, without OpenMP (PARARUN_OPENMP=OFF) no omp
/// or hybrid backend.
std::string backend_unavailable(Backend b);
/// True when this build has MPI (PARARUN_MPI), and OpenMP (PARARUN_OPENMP).
bool built_with_mpi();
bool built_with_openmp();
/// The backends this build runs, in kAllBackends order (all four in a full build).
std::vector<Backend> built_backends();
/// The backends of a default study this build can run: "seq,omp,mpi" in a full build.
std::string default_study_backends();

/// True for the backends that run on several MPI ranks.
inline bool uses_mpi(Backend b) {
  return b == Backend::mpi || b == Backend::hybrid;
}
/// True for the backends that run several OpenMP threads per process.
inline bool uses_threads(Backend b) {
  return b == Backend::omp || b == Backend::hybrid;
}

}  // namespace pararun
