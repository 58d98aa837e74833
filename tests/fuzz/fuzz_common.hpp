// What every fuzz target shares: the input as a file (the readers read files, as users give
// them), and the rule. A reader may refuse the input with an InputError (one line naming the
// problem: what a user sees); anything else escaping it, or a crash, hang, leak or undefined
// behaviour (the sanitizers), is a defect the fuzzer reports.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "pararun/errors.hpp"

namespace pararun::fuzz {

/// Writes `data` to a file of this process named `name` (the name's suffix matters to some
/// readers: .npy) in /dev/shm (memory, not the disk), and returns its path. The file is in a
/// folder of this process's own (mkdtemp, mode 0700, "pararun-fuzz-PID-XXXXXX": fuzz.sh
/// removes those of fuzzers that ended): at a name anyone could guess in the shared /dev/shm,
/// a link planted there made the fuzzer write through it, as root, to any file.
inline std::string as_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  static const std::string dir = [] {
    std::string t =
        "/dev/shm/pararun-fuzz-" + std::to_string(static_cast<long>(getpid())) + "-XXXXXX";
    if (!mkdtemp(t.data())) std::abort();
    return t;
  }();
  const std::string path = dir + "/" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

/// Runs `read`; an InputError is a refusal (fine), any other exception aborts (a finding).
template <class F>
void expect_refusal_at_most(F&& read) {
  try {
    read();
  } catch (const InputError&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "not an InputError: %s\n", e.what());
    std::abort();
  }
}

}  // namespace pararun::fuzz
