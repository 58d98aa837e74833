// Aligned arrays for kernel data: 64-byte aligned (whole cache lines, full-width SIMD loads),
// and large ones 2 MiB aligned with transparent huge pages requested (fewer TLB misses when
// streaming; measured +18% read bandwidth on this machine kind, BENCHMARKS.md).
#pragma once

#include <cstddef>
#include <memory>

namespace pararun {

class Buffer {
 public:
  Buffer() = default;
  /// count doubles, uninitialised (the kernel's parallel first touch initialises them).
  explicit Buffer(std::size_t count);
  /// count doubles set to `value` by `threads` OpenMP threads with a static schedule: each
  /// thread first touches the share a static loop over [0, count) gives it, so the pages sit
  /// near the threads that use them (NUMA first touch).
  Buffer(std::size_t count, double value, int threads);
  double* data() { return data_.get(); }
  const double* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  double& operator[](std::size_t i) { return data_.get()[i]; }
  const double& operator[](std::size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(double* p) const;
  };
  std::unique_ptr<double, Free> data_;
  std::size_t size_ = 0;
};

}  // namespace pararun
