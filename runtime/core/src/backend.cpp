#include "pararun/backend.hpp"

namespace pararun {

std::string to_string(Backend b) {
  switch (b) {
    case Backend::seq:
      return "seq";
    case Backend::omp:
      return "omp";
    case Backend::mpi:
      return "mpi";
    case Backend::hybrid:
      return "hybrid";
  }
  return "?";
}

std::optional<Backend> parse_backend(std::string_view name) {
  for (Backend b : kAllBackends)
    if (to_string(b) == name) return b;
  return std::nullopt;
}

std::string backend_names() {
  std::string out;
  for (Backend b : kAllBackends) out += (out.empty() ? "" : ", ") + to_string(b);
  return out;
}

bool built_with_mpi() {
  return PARARUN_HAVE_MPI;
}
bool built_with_openmp() {
  return PARARUN_HAVE_OPENMP;
}

std::string backend_unavailable(Backend b) {
  const std::string name =
      "backend '" + to_string(b) + "' is not in this build: ParaRun was built ";
  if (uses_mpi(b) && !built_with_mpi()) return name + "without MPI (PARARUN_MPI=OFF)";
  if (uses_threads(b) && !built_with_openmp()) return name + "without OpenMP (PARARUN_OPENMP=OFF)";
  return "";
}

std::vector<Backend> built_backends() {
  std::vector<Backend> out;
  for (Backend b : kAllBackends)
    if (backend_unavailable(b).empty()) out.push_back(b);
  return out;
}

std::string default_study_backends() {
  std::string out;
  for (Backend b : built_backends())
    if (b != Backend::hybrid) out += (out.empty() ? "" : ",") + to_string(b);
  return out;
}

}  // namespace pararun
