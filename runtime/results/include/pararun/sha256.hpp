// SHA-256 (FIPS 180-4), for digests that guard what runs: a job a Slurm task reads from a
// file others may be able to write is run only when its digest is the submitted one.
#pragma once

#include <string>
#include <string_view>

namespace pararun {

/// The SHA-256 of `data` as 64 lower-case hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace pararun
