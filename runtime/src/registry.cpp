#include "pararun/registry.hpp"

#include <cstdio>
#include <cstdlib>

namespace pararun {

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
