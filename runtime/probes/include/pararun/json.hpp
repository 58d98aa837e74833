// JSON for the layers above the core (probes, results, orchestration): nlohmann's.
#pragma once

#include <istream>
#include <iterator>
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

/// How deep parse_json lets arrays and objects nest: ParaRun's own files nest 7 levels at most.
inline constexpr int kMaxJsonDepth = 100;

/// `text` parsed, or a discarded value (is_discarded()) when it is not JSON or nests arrays and
/// objects deeper than kMaxJsonDepth. Every file ParaRun reads back is parsed here, never with
/// Json::parse alone: nlohmann parses a line of a million brackets, but copying or comparing
/// the value recurses once per level, and such a line in results.jsonl overflowed the stack of
/// every reader (report, study --resume, merge) instead of being skipped as a bad line.
inline Json parse_json(const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return Json(Json::value_t::discarded);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}
/// parse_json of everything `in` holds.
inline Json parse_json(std::istream& in) {
  return parse_json(std::string(std::istreambuf_iterator<char>(in), {}));
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
