// The YAML batch manifest (pararun batch run MANIFEST): every job it expands to.
#include "fuzz_common.hpp"
#include "pararun/batch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = pararun::fuzz::as_file(data, size, "batch.yaml");
  pararun::fuzz::expect_refusal_at_most([&] {
    pararun::BatchLimits limits;
    limits.cores = 2;
    limits.memory = std::uint64_t{1} << 33;
    pararun::load_batch_manifest(path, limits);
  });
  return 0;
}
