// The self-registering kernel registry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pararun/kernel.hpp"

namespace pararun {

class Registry {
 public:
  /// The process-wide registry that PARARUN_REGISTER_KERNEL fills.
  static Registry& global();

  /// Adds a kernel; returns false (and keeps the first) if the name is taken.
  bool add(std::unique_ptr<Kernel> kernel);
  const Kernel* find(const std::string& name) const;
  /// All kernels, sorted by name.
  std::vector<const Kernel*> kernels() const;
  /// "matmul, reduction"
  std::string names() const;

 private:
  std::map<std::string, std::unique_ptr<Kernel>> kernels_;
};

/// Registers a kernel at static-initialisation time; aborts on a duplicate name.
struct Registrar {
  explicit Registrar(std::unique_ptr<Kernel> kernel);
};

}  // namespace pararun

/// The one registration line of a kernel: PARARUN_REGISTER_KERNEL(MyKernel);
#define PARARUN_REGISTER_KERNEL(Type)                          \
  static const ::pararun::Registrar pararun_registrar_##Type { \
    std::make_unique<Type>()                                   \
  }
