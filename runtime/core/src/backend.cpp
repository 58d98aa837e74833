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

}  // namespace pararun
