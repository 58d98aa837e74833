#include "pararun/registry.hpp"

#include <strings.h>

#include <cstdio>
#include <cstdlib>

#include "pararun/parse.hpp"

namespace pararun {

std::pair<double, std::string> rate_of(Metric metric, const Work& work, double seconds) {
  const double per_s = seconds > 0 ? 1 / seconds : 0;
  switch (metric) {
    case Metric::gflops:
      return {work.flops * per_s * 1e-9, "GFLOP/s"};
    case Metric::gbytes:
      return {work.bytes * per_s * 1e-9, "GB/s"};
    case Metric::mops:
      return {work.flops * per_s * 1e-6, "Mop/s"};
  }
  return {0, ""};
}

std::vector<VariantInfo> Kernel::variants_of(Backend b) const {
  std::vector<VariantInfo> out;
  for (auto& v : variants())
    if (v.backend == b) out.push_back(v);
  return out;
}

std::optional<VariantInfo> Kernel::find_variant(Backend b, const std::string& name) const {
  for (auto& v : variants_of(b))
    if (v.name == name) return v;
  return std::nullopt;
}

std::optional<std::uint64_t> Kernel::parse_size(const std::string& text) const {
  for (const auto& n : named_sizes())
    if (strcasecmp(n.name.c_str(), text.c_str()) == 0) return n.size;
  return parse_count(text);
}

std::string Kernel::size_name_hint() const {
  std::string names;
  for (const auto& n : named_sizes()) names += (names.empty() ? "" : ", ") + n.name;
  return names.empty() ? "" : " nor a class of " + name() + " (" + names + ")";
}

std::string Kernel::describe(const Problem& p) const {
  if (!p.input.empty())
    return "input " + p.input + " (size " + std::to_string(p.size) + ": " + size_meaning() + ")";
  for (const auto& n : named_sizes())
    if (n.size == p.size) return "class " + n.name + " (size " + std::to_string(p.size) + ")";
  return "size " + std::to_string(p.size) + " (" + size_meaning() + ")";
}

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

bool Registry::add(std::unique_ptr<Kernel> kernel) {
  std::string name = kernel->name();
  return kernels_.emplace(name, std::move(kernel)).second;
}

const Kernel* Registry::find(const std::string& name) const {
  auto it = kernels_.find(name);
  return it == kernels_.end() ? nullptr : it->second.get();
}

std::vector<const Kernel*> Registry::kernels() const {
  std::vector<const Kernel*> out;
  for (auto& [name, k] : kernels_) out.push_back(k.get());
  return out;
}

std::string Registry::names() const {
  std::string out;
  for (auto& [name, k] : kernels_) out += (out.empty() ? "" : ", ") + name;
  return out;
}

Registrar::Registrar(std::unique_ptr<Kernel> kernel) {
  std::string name = kernel->name();
  if (!Registry::global().add(std::move(kernel))) {
    std::fprintf(stderr, "pararun: kernel '%s' is registered twice\n", name.c_str());
    std::abort();
  }
}

}  // namespace pararun
