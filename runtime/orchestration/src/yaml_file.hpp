// Reading the YAML files users write (study files, batch manifests): one document, every
// problem an InputError naming the file and line.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace pararun::yaml {

/// The one document of `path`, a map; `what` names the kind of file in messages ("study
/// file"). InputError for a folder or device, an unreadable file, bad YAML, several documents
/// or a document that is not a map of keys.
YAML::Node load_map(const std::string& path, const std::string& what);

/// "path:LINE: " of `node`.
std::string where(const std::string& path, const YAML::Node& node);

/// The text of a single value.
std::string scalar(const std::string& path, const std::string& key, const YAML::Node& v);

/// A value or a non-empty list of plain values, each as text.
std::vector<std::string> items(const std::string& path, const std::string& key,
                               const YAML::Node& v);

/// A whole number within +-1,000,000.
int whole(const std::string& path, const std::string& key, const YAML::Node& v);

/// The keys of map `m` as plain names, each once (InputError naming the line of a complex or
/// repeated key).
void check_keys(const std::string& path, const YAML::Node& m);

}  // namespace pararun::yaml
