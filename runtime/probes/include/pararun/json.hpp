// JSON for the layers above the core (probes, results, orchestration): nlohmann's.
#pragma once

#include <nlohmann/json.hpp>

namespace pararun {

using Json = nlohmann::json;

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
