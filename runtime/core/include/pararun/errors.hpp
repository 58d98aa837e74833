// Errors every layer may raise. The CLI turns each into one "pararun: error: ..." line.
#pragma once

#include <stdexcept>

namespace pararun {

/// Bad input (an option, a study file, a size, a folder): the message names it. Exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pararun
