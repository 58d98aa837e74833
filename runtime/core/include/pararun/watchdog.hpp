// A per-run time limit: a rank that stops (SIGSTOP) or hangs would keep the others, and
// mpirun, waiting forever; every rank arms one, so the run ends with a clear line instead.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

namespace pararun {

/// Ends the process (exit 3, one line naming the rank and the limit) when it is still alive
/// `seconds` after it was made; destroying it first disarms it. 0 seconds: no limit.
class Watchdog {
 public:
  Watchdog(double seconds, int rank);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace pararun
