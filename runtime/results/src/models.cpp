#include "pararun/models.hpp"

#include <cmath>
#include <set>

namespace pararun {

std::optional<double> karp_flatt(double speedup, double p) {
  if (p <= 1 || speedup <= 0) return std::nullopt;
  return (1.0 / speedup - 1.0 / p) / (1.0 - 1.0 / p);
}

std::optional<AmdahlFit> fit_amdahl(const std::vector<double>& p, const std::vector<double>& t) {
  const std::size_t n = std::min(p.size(), t.size());
  if (n < 2) return std::nullopt;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = 1.0 / p[i];
    sx += x, sy += t[i], sxx += x * x, sxy += x * t[i];
  }
  const double denom = n * sxx - sx * sx;
  if (std::fabs(denom) < 1e-300) return std::nullopt;  // all p equal
  AmdahlFit f;
  f.points = static_cast<int>(n);
  f.distinct_p =
      static_cast<int>(std::set<double>(p.begin(), p.begin() + static_cast<long>(n)).size());
  f.b = (n * sxy - sx * sy) / denom;
  f.a = (sy - f.b * sx) / n;
  const double t1 = f.a + f.b;
  f.serial_fraction = t1 > 0 ? f.a / t1 : 0;
  f.max_speedup = f.a > 0 ? t1 / f.a : 0;
  const double mean = sy / n;
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double model = f.a + f.b / p[i];
    ss_res += (t[i] - model) * (t[i] - model);
    ss_tot += (t[i] - mean) * (t[i] - mean);
  }
  f.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : 1.0;
  return f;
}

double gustafson_scaled_speedup(double p, double t1, double tp) {
  return tp > 0 ? p * t1 / tp : 0;
}

std::optional<double> gustafson_serial_fraction(double scaled_speedup, double p) {
  if (p <= 1) return std::nullopt;
  return (p - scaled_speedup) / (p - 1.0);
}

}  // namespace pararun
