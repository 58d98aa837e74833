// The user's data files (pararun run --input FILE): Matrix Market array and coordinate
// files, .npy and raw float64 arrays. The first byte picks the reader.
#include "fuzz_common.hpp"
#include "input_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  namespace c = pararun::common;
  const int which = data[0] % 4;
  const std::string path = pararun::fuzz::as_file(data + 1, size - 1,
                                                  which == 2   ? "a.npy"
                                                  : which == 3 ? "a.f64"
                                                               : "a.mtx");
  pararun::fuzz::expect_refusal_at_most([&] {
    if (which == 0) {
      c::read_matrix_market_array(path);
    } else if (which == 1) {
      c::read_matrix_market_coordinate(path);
    } else {
      const std::uint64_t n = c::count_doubles(path);
      c::read_doubles(path, n / 3, n - n / 3);
    }
  });
  return 0;
}
