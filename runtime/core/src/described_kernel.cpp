#include "pararun/described_kernel.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>

namespace pararun {

DescribedKernel::DescribedKernel(KernelDescription d) : d_(std::move(d)) {
  if (d_.name.empty() || !d_.work || !d_.setup || d_.variants.empty() ||
      d_.how.size() != std::size(kAllBackends)) {
    std::fprintf(stderr,
                 "pararun: kernel description '%s' lacks a name, work, setup, variants or one "
                 "'how' per backend\n",
                 d_.name.c_str());
    std::abort();
  }
  // Backend by backend, so that the first variant a backend lists is its default.
  for (Backend b : kAllBackends)
    for (const auto& v : d_.variants)
      for (Backend vb : v.backends)
        if (vb == b)
          variants_.push_back({b, v.name, v.what + "; " + d_.how[static_cast<std::size_t>(b)]});
}

Work DescribedKernel::work(const Problem& p, const VariantInfo& v) const {
  return d_.work_of_variant ? d_.work_of_variant(p, v) : d_.work(p);
}

double DescribedKernel::memory_per_rank(const Problem& p, int ranks) const {
  if (d_.memory_per_rank) return d_.memory_per_rank(p, ranks);
  return d_.bytes_per_item * std::ceil(static_cast<double>(p.size) / std::max(ranks, 1));
}

std::string DescribedKernel::check(const Problem& p, const ExecContext& ctx) const {
  if (p.size > d_.max_size)
    return d_.name + ": size " + std::to_string(p.size) + " is beyond its limit of " +
           std::to_string(d_.max_size);
  return d_.check ? d_.check(p, ctx) : std::string();
}

std::optional<std::uint64_t> DescribedKernel::weak_size(std::uint64_t base, int pes) const {
  const double n = static_cast<double>(base), p = pes;
  switch (d_.weak) {
    case WeakScaling::none:
      return std::nullopt;
    case WeakScaling::linear:
      return base * static_cast<std::uint64_t>(pes);
    case WeakScaling::square_root:
      return static_cast<std::uint64_t>(std::llround(n * std::sqrt(p)));
    case WeakScaling::cube_root:
      return static_cast<std::uint64_t>(std::llround(n * std::cbrt(p)));
  }
  return std::nullopt;
}

}  // namespace pararun
