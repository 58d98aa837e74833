#include "pararun/watchdog.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "pararun/errors.hpp"

namespace pararun {

Watchdog::Watchdog(double seconds, int rank) {
  if (seconds <= 0) return;
  thread_ = std::thread([this, seconds, rank] {
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return done_; }))
      return;
    std::fprintf(stderr,
                 "pararun: error on rank %d: the run took longer than --time-limit %g s (a "
                 "rank stopped or hung?); ending it\n",
                 rank, seconds);
    std::fflush(stderr);
    _exit(kExitRuntimeError);
  });
}

Watchdog::~Watchdog() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  done_cv_.notify_all();
  thread_.join();
}

}  // namespace pararun
