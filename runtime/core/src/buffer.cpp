#include "pararun/buffer.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace pararun {

void Buffer::Free::operator()(double* p) const {
  std::free(p);
}

Buffer::Buffer(std::size_t count) : size_(count) {
  if (count == 0) return;
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  const std::size_t bytes = count * sizeof(double);
  const std::size_t align = bytes >= kHuge ? kHuge : 64;
  const std::size_t rounded = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (!p) throw std::bad_alloc();
  if (align == kHuge) madvise(p, rounded, MADV_HUGEPAGE);  // a hint; ignored where unsupported
  data_.reset(static_cast<double*>(p));
}

Buffer::Buffer(std::size_t count, double value, int threads) : Buffer(count) {
  double* d = data();
  const auto n = static_cast<std::int64_t>(count);
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (std::int64_t i = 0; i < n; ++i) d[i] = value;
}

}  // namespace pararun
