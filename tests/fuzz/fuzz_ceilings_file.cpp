// The ceilings file (pararun run --ceilings FILE): read_ceilings_file, then the share of a
// ceiling a record would carry, for both units and a few PE counts.
#include "fuzz_common.hpp"
#include "pararun/ceilings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = pararun::fuzz::as_file(data, size, "ceilings.json");
  pararun::fuzz::expect_refusal_at_most([&] {
    std::string problem;
    const pararun::Json c = pararun::read_ceilings_file(path, &problem);
    if (!problem.empty()) return;
    for (int pes : {1, 2, 64})
      for (const char* unit : {"GFLOP/s", "GB/s", "Mop/s"})
        pararun::ceiling_fraction(c, pes, unit, 1.5);
  });
  return 0;
}
