// The small parsers of command-line and manifest values: counts ("2^26"), size ranges
// ("512:4096:x2"), durations ("1:30:00", "10m") and byte amounts ("4G").
#include "fuzz_common.hpp"
#include "pararun/batch.hpp"
#include "pararun/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  pararun::parse_count(text);
  pararun::parse_duration(text);
  pararun::parse_bytes(text);
  pararun::fuzz::expect_refusal_at_most(
      [&] { pararun::expand_size_range(text, pararun::parse_count); });
  return 0;
}
