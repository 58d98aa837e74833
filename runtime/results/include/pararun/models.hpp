// Performance models for scaling studies. They are models: each says how well it fits.
#pragma once

#include <optional>
#include <vector>

namespace pararun {

/// Karp–Flatt experimentally determined serial fraction e = (1/S - 1/p) / (1 - 1/p), p > 1.
std::optional<double> karp_flatt(double speedup, double p);

/// Amdahl's law fitted by least squares to measured times: T(p) = a + b / p.
struct AmdahlFit {
  double a = 0, b = 0;         ///< serial and parallelisable seconds
  double serial_fraction = 0;  ///< a / (a + b), the serial share of T(1)
  double max_speedup = 0;      ///< (a + b) / a, infinite (0 here) when a <= 0
  double r2 = 0;               ///< coefficient of determination of the fit
  int points = 0;
  int distinct_p = 0;  ///< distinct PE counts among the points: below 3 the fit is exact and
                       ///< tests nothing, so its R^2 and maximum speedup mean nothing
  static constexpr int kMinDistinctP = 3;
  bool tested() const { return distinct_p >= kMinDistinctP; }
  /// Whether Amdahl's law describes the times at all: a part that shrinks with p (b > 0) and
  /// a serial part that is not below zero beyond noise (5% of T(1)). Times that grow with p
  /// (oversubscription, communication) or fall faster than 1/p (caches) give a "serial
  /// fraction" outside [0, 1] that means nothing.
  bool applies() const { return b > 0 && a >= -0.05 * (a + b); }
};
/// Needs at least two distinct p; empty otherwise.
std::optional<AmdahlFit> fit_amdahl(const std::vector<double>& p, const std::vector<double>& t);

/// Gustafson: with the work grown p-fold (weak scaling) and T(p) measured, the scaled speedup
/// is p * T(1) / T(p); the serial fraction it implies is s = (p - S) / (p - 1), p > 1.
double gustafson_scaled_speedup(double p, double t1, double tp);
std::optional<double> gustafson_serial_fraction(double scaled_speedup, double p);

}  // namespace pararun
