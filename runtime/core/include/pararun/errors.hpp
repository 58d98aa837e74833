// Errors every layer may raise, and the exit codes they end in. The CLI turns each error into
// one "pararun: error: ..." line.
#pragma once

#include <stdexcept>
#include <string>

namespace pararun {

inline constexpr int kExitOk = 0;
inline constexpr int kExitVerificationFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRuntimeError = 3;

/// Bad input (an option, a study file, a size, a folder): the message names it. Exit code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input that one rank found and every rank of the run throws together (see agree() in
/// run_request.hpp): only the rank that found it prints the line, so it is printed once.
class AgreedInputError : public InputError {
 public:
  AgreedInputError(const std::string& what, bool prints) : InputError(what), prints_(prints) {}
  bool prints() const { return prints_; }

 private:
  bool prints_;
};

}  // namespace pararun
