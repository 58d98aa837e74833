// The JSON Lines record reader (pararun report FILE, --resume): never refuses a file it can
// read, names bad lines; then the analysis of what it read, as `pararun report` does.
#include "fuzz_common.hpp"
#include "pararun/analysis.hpp"
#include "pararun/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = pararun::fuzz::as_file(data, size, "results.jsonl");
  pararun::fuzz::expect_refusal_at_most([&] {
    const pararun::RecordFile rf = pararun::read_records(path);
    const auto groups = pararun::analyse(rf.records);
    pararun::format_report(groups);
    pararun::csv_report(groups);
  });
  return 0;
}
