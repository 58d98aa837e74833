// Backends: the small closed set of ways a kernel can be executed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pararun {

enum class Backend { seq, omp, mpi, hybrid };

inline constexpr Backend kAllBackends[] = {Backend::seq, Backend::omp, Backend::mpi,
                                           Backend::hybrid};

std::string to_string(Backend b);
std::optional<Backend> parse_backend(std::string_view name);
/// "seq, omp, mpi, hybrid"
std::string backend_names();

/// True for the backends that run on several MPI ranks.
inline bool uses_mpi(Backend b) {
  return b == Backend::mpi || b == Backend::hybrid;
}
/// True for the backends that run several OpenMP threads per process.
inline bool uses_threads(Backend b) {
  return b == Backend::omp || b == Backend::hybrid;
}

}  // namespace pararun
