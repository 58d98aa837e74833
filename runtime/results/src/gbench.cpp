#include "pararun/gbench.hpp"

#include <string>

namespace pararun {

namespace {

std::string benchmark_name(const Record& r) {
  if (!r.point.empty()) return r.point;
  return r.kernel + "/" + r.backend + "/" + r.variant + "/n" + std::to_string(r.size) + "/t" +
         std::to_string(r.threads) + "/r" + std::to_string(r.ranks);
}

Json context_of(const std::vector<Record>& records) {
  Json c = {{"library_build_type", "release"}, {"executable", "pararun"}};
  for (const auto& r : records) {
    const Json meta = r.json.value("meta", Json::object());
    if (!meta.is_object() || !meta.contains("timestamp")) continue;
    c["date"] = value_or<std::string>(meta, "timestamp", "");
    const Json hosts = meta.value("hosts", Json::array());
    c["host_name"] = hosts.is_array() && !hosts.empty() ? hosts[0] : Json("");
    c["num_cpus"] = value_or(meta, "cores", 0);
    c["cpu_model"] = value_or<std::string>(meta, "cpu_model", "");
    const Json build = meta.value("build", Json::object());
    if (build.is_object()) {
      c["library_build_type"] = value_or<std::string>(build, "build_type", "release");
      c["pararun_version"] = value_or<std::string>(build, "pararun_version", "");
      c["git_commit"] = value_or<std::string>(build, "git_commit", "");
      c["build_id"] = value_or<std::string>(build, "build_id", "");
    }
    break;
  }
  return c;
}

}  // namespace

Json gbench_json(const std::vector<Record>& records) {
  Json benchmarks = Json::array();
  int family = 0;
  for (const auto& r : records) {
    if (!r.verified()) continue;
    const Json samples = r.json.value("samples", Json::array());
    if (!samples.is_array() || samples.empty()) continue;
    const std::string name = benchmark_name(r);
    const int reps = static_cast<int>(samples.size());
    auto entry = [&](const std::string& run_name, double seconds) {
      Json b = {{"name", run_name}, {"family_index", family},     {"per_family_instance_index", 0},
                {"run_name", name}, {"repetitions", reps},        {"threads", r.threads * r.ranks},
                {"iterations", 1},  {"real_time", seconds * 1e9}, {"cpu_time", seconds * 1e9},
                {"time_unit", "ns"}};
      if (r.rate && seconds > 0)
        b[r.rate->unit] = r.rate->value * r.time->median / seconds;  // this repetition's rate
      return b;
    };
    for (int i = 0; i < reps; ++i) {  // (numbers of seconds: read_record refuses others)
      Json b = entry(name, samples[i].get<double>());
      b["run_type"] = "iteration";
      b["repetition_index"] = i;
      benchmarks.push_back(std::move(b));
    }
    Json median = entry(name + "_median", r.time->median);
    median["run_type"] = "aggregate";
    median["aggregate_name"] = "median";
    median["aggregate_unit"] = "time";
    benchmarks.push_back(std::move(median));
    ++family;
  }
  return {{"context", context_of(records)}, {"benchmarks", benchmarks}};
}

}  // namespace pararun
