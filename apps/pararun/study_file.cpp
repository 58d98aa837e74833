// Study files: the options of `pararun study` as YAML, checked key by key.
//
//   kernels: [matmul, reduction]       # or one name
//   backends: [seq, omp, mpi]
//   threads: [1, 2]                    # or one number
//   ranks: [1, 2]
//   sizes: {matmul: 1024, reduction: 2^26}   # or one size for all kernels
//   scaling: strong                    # or weak
//   reps: 5
//   max_reps: 20
//   oversubscribed_ranks: 4
//   launcher: auto                     # auto, mpirun or srun
//   out: results/my-study
#include <yaml-cpp/yaml.h>

#include <string>

#include "commands.hpp"

namespace pararun::app {

namespace {

std::string where(const std::string& path, const YAML::Node& node) {
  return path + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

std::string scalar(const std::string& path, const std::string& key, const YAML::Node& v) {
  if (!v.IsScalar()) usage(where(path, v) + "'" + key + "' must be a single value");
  return v.Scalar();
}

/// A scalar or a list of scalars, as the comma-separated text the flags take.
std::string list(const std::string& path, const std::string& key, const YAML::Node& v) {
  if (v.IsScalar()) return v.Scalar();
  if (!v.IsSequence() || v.size() == 0)
    usage(where(path, v) + "'" + key + "' must be a value or a non-empty list of values");
  std::string out;
  for (const auto& item : v) {
    if (!item.IsScalar()) usage(where(path, item) + "'" + key + "' must list plain values");
    out += (out.empty() ? "" : ",") + item.Scalar();
  }
  return out;
}

int whole(const std::string& path, const std::string& key, const YAML::Node& v) {
  const std::string text = scalar(path, key, v);
  try {
    std::size_t used = 0;
    const long n = std::stol(text, &used);
    if (used == text.size() && n >= -1000000 && n <= 1000000) return static_cast<int>(n);
  } catch (const std::exception&) {
  }
  usage(where(path, v) + "'" + key + "' must be a whole number, got '" + text + "'");
}

}  // namespace

StudyOptions load_study_file(const std::string& path, StudyOptions o) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    usage("cannot read the study file '" + path + "'");
  } catch (const YAML::Exception& e) {
    usage(path + ":" + std::to_string(e.mark.line + 1) + ": not YAML: " + e.msg);
  }
  if (!root.IsMap()) usage(path + ": a study file is a map of keys (kernels, backends, ...)");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "kernels")
      o.kernels = list(path, key, v);
    else if (key == "backends")
      o.backends = list(path, key, v);
    else if (key == "threads")
      o.threads = list(path, key, v);
    else if (key == "ranks")
      o.ranks = list(path, key, v);
    else if (key == "scaling")
      o.scaling = scalar(path, key, v);
    else if (key == "launcher")
      o.launcher = scalar(path, key, v);
    else if (key == "out")
      o.out = scalar(path, key, v);
    else if (key == "reps")
      o.reps = whole(path, key, v);
    else if (key == "max_reps")
      o.max_reps = whole(path, key, v);
    else if (key == "oversubscribed_ranks")
      o.oversubscribed_ranks = whole(path, key, v);
    else if (key == "sizes") {
      if (v.IsScalar()) {
        o.sizes = v.Scalar();
      } else if (v.IsMap() && v.size() > 0) {
        o.sizes.clear();
        for (const auto& s : v)
          o.sizes += (o.sizes.empty() ? "" : ",") + s.first.as<std::string>() + "=" +
                     scalar(path, "sizes." + s.first.as<std::string>(), s.second);
      } else {
        usage(where(path, v) + "'sizes' must be one size or a map of kernel: size");
      }
    } else {
      usage(where(path, kv.first) + "unknown key '" + key +
            "'; keys: kernels, backends, threads, ranks, sizes, scaling, reps, max_reps, "
            "oversubscribed_ranks, launcher, out");
    }
  }
  return o;
}

}  // namespace pararun::app
