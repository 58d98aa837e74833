// Phases of a repetition: a kernel marks what in its run() is local computation and what is
// communication, and the runtime (which alone owns the timer) measures each rank's phases.
// Without marks a rank's whole run() is one span, and a fast rank's wait in the closing
// collective counts as work: "imbalance" then reads ~1.0 by construction.
//
//   void run() override {
//     { ScopedPhase p(Phase::compute); local = rows_sum(...); }
//     { ScopedPhase p(Phase::communicate); MPI_Allreduce(...); }
//   }
//
// Mark from the rank's own thread (outside OpenMP parallel regions); phases do not nest.
// ExecContext's sum/max/sum_in_place mark their collectives as communication themselves, and
// a kernel that marks only communication has the rest of run() counted as compute.
#pragma once

#include <array>
#include <chrono>

namespace pararun {

enum class Phase { compute = 0, communicate = 1 };
inline constexpr int kPhases = 2;

/// Seconds this process spent in each phase since the last reset_phases().
std::array<double, kPhases> phase_seconds();
/// Starts a new repetition's phase counts (the runtime calls it; kernels do not).
void reset_phases();
void add_phase_seconds(Phase phase, double seconds);

class ScopedPhase {
 public:
  explicit ScopedPhase(Phase phase) : phase_(phase), t0_(std::chrono::steady_clock::now()) {}
  ~ScopedPhase() {
    add_phase_seconds(
        phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
  }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  Phase phase_;
  std::chrono::steady_clock::time_point t0_;
};

}  // namespace pararun
