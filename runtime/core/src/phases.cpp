#include "pararun/phases.hpp"

namespace pararun {

namespace {
std::array<double, kPhases> g_phase_seconds{};
}  // namespace

std::array<double, kPhases> phase_seconds() {
  return g_phase_seconds;
}
void reset_phases() {
  g_phase_seconds = {};
}
void add_phase_seconds(Phase phase, double seconds) {
  g_phase_seconds[static_cast<int>(phase)] += seconds;
}

}  // namespace pararun
