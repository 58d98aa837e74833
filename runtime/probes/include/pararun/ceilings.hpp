// This machine's ceilings, measured: floating-point peak and read bandwidth for 1..N threads.
// They are the yardsticks kernels are compared with ("% of ceiling").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pararun/json.hpp"

namespace pararun {

struct Ceiling {
  int threads = 1;
  double fma_gflops = 0;          ///< best of several: 16 independent FMA chains per thread
  double read_gbytes = 0;         ///< best of 20: aligned vector loads (read_buffer_bytes)
  double read_gbytes_median = 0;  ///< median of the same 20 (like for like with run medians)
  /// Best of 20 over the same size on 4 KiB pages (no huge pages), as likwid-bench reads.
  double read_gbytes_small_pages = 0;
  std::size_t read_buffer_bytes = 0;  ///< the size read (read_buffer_bytes() or as asked)
};

/// Measures the ceilings for 1..max_threads threads (a few seconds in all), reading
/// `read_bytes` (rounded down to whole 2 MiB pages, at least one), or read_buffer_bytes() when 0.
std::vector<Ceiling> measure_ceilings(int max_threads, std::size_t read_bytes = 0);
/// The size of the buffer the read bandwidth is measured over: at least 512 MiB and 4 times
/// the last-level cache, within what memory allows.
std::size_t read_buffer_bytes();
/// What measure_ceilings reads when asked for `asked` bytes: whole 2 MiB pages, at least one;
/// read_buffer_bytes() when 0.
std::size_t read_bytes_for(std::size_t asked);
/// 4 times the last-level cache (STREAM's rule: no pass finds its data there); 0 when the
/// cache's size is not known.
std::size_t uncached_read_bytes();
Json to_json(const std::vector<Ceiling>& ceilings);

/// The ceilings file `path` (what `pararun ceilings --json` writes), or "" and `*problem`
/// set to one line naming what is wrong (unreadable, not a regular file, not that output,
/// measured on another CPU: its entries' "cpu" is not cpu_identity()).
Json read_ceilings_file(const std::string& path, std::string* problem);

/// The share of the matching ceiling that a rate reached: the FMA peak for GFLOP/s, the
/// median read bandwidth for GB/s (null for other units), measured with `pes` threads.
/// `ceilings` is what to_json gives; null when no entry has `pes` threads.
Json ceiling_fraction(const Json& ceilings, int pes, const std::string& unit, double rate);

}  // namespace pararun
