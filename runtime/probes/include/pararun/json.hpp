// JSON for the layers above the core (probes, results, orchestration): nlohmann's.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace pararun {

using Json = nlohmann::json;

/// `j` as text (indented by `indent` spaces per level; -1: one line). Every JSON file and line
/// ParaRun writes goes through here, never through Json::dump alone: a string that is not
/// UTF-8 (a Latin-1 file name in the command line, an environment variable's bytes) would make
/// dump throw after the work was done, and the result would be lost. Such bytes are written as
/// U+FFFD instead.
inline std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

/// j[key] when `j` is an object holding `key` as a T, else `otherwise`: for files that people
/// or other programs may have edited (records, a batch's state), where nlohmann's value()
/// throws on a wrong type.
template <class T>
T value_or(const Json& j, const char* key, T otherwise) {
  if (!j.is_object()) return otherwise;
  const auto it = j.find(key);
  if (it == j.end()) return otherwise;
  try {
    return it->template get<T>();
  } catch (const Json::exception&) {
    return otherwise;
  }
}

}  // namespace pararun
