// The tuning file (pararun tune writes it, every run reads it): read_tuning_file, then the
// stored setting a run would pick.
#include "fuzz_common.hpp"
#include "pararun/tuning.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = pararun::fuzz::as_file(data, size, "tuning.json");
  pararun::fuzz::expect_refusal_at_most([&] {
    const pararun::Json file = pararun::read_tuning_file(path);
    pararun::stored_tuning(file, "matmul/blocked", "x86_64");
  });
  return 0;
}
