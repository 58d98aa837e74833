// The YAML study file (pararun study STUDY.yaml): load_study_file, then the spec and points
// it makes, as `pararun study` does.
#include "fuzz_common.hpp"
#include "pararun/study_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = pararun::fuzz::as_file(data, size, "study.yaml");
  pararun::fuzz::expect_refusal_at_most([&] {
    const pararun::StudyOptions o = pararun::load_study_file(path, pararun::StudyOptions{});
    pararun::study_points(pararun::study_spec(o));
  });
  return 0;
}
