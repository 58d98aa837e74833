#include "yaml_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "pararun/errors.hpp"

namespace pararun::yaml {

YAML::Node load_map(const std::string& path, const std::string& what) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw InputError("'" + path + "' is not a " + what + " (a YAML file) but a " +
                     (S_ISDIR(st.st_mode) ? "folder" : "special file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read the " + what + " '" + path + "'");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  // UTF-16 and UTF-32 (which yaml-cpp reads, with their byte-order mark) hold NUL bytes.
  const bool wide = text.rfind("\xFF\xFE", 0) == 0 || text.rfind("\xFE\xFF", 0) == 0 ||
                    text.rfind(std::string("\0\0\xFE\xFF", 4), 0) == 0;
  if (const auto nul = text.find('\0'); nul != std::string::npos && !wide)
    throw InputError(path + ":" +
                     std::to_string(std::count(text.begin(), text.begin() + nul, '\n') + 1) +
                     ": holds a NUL byte: not a text file, not a " + what);
  YAML::Node root;
  try {
    // Count the documents first. yaml-cpp 0.7's LoadAll never ends on some inputs (",2":
    // HandleNextDocument reports a document forever without reading on): a document that
    // starts where the last one started is that loop, and so is (a backstop) more documents
    // than characters.
    struct Count : YAML::EventHandler {
      YAML::Mark start;
      void OnDocumentStart(const YAML::Mark& m) override { start = m; }
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
      void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
      void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    const std::string&) override {}
      void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                           YAML::EmitterStyle::value) override {}
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                      YAML::EmitterStyle::value) override {}
      void OnMapEnd() override {}
    } count;
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    std::size_t docs = 0;
    int last = -1;
    while (parser.HandleNextDocument(count)) {
      if (count.start.pos == last || ++docs > text.size() + 1)
        throw InputError(path + ":" + std::to_string(count.start.line + 1) +
                         ": not YAML (the parser gets no further than here)");
      last = count.start.pos;
    }
    if (docs > 1)
      throw InputError(path + ": holds " + std::to_string(docs) + " YAML documents; a " + what +
                       " is one");
    if (docs == 1) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InputError(path + ":" + std::to_string(e.mark.line + 1) + ": not YAML: " + e.msg);
  }
  if (!root.IsMap()) throw InputError(path + ": a " + what + " is a map of keys");
  return root;
}

std::string where(const std::string& path, const YAML::Node& node) {
  return path + ":" + std::to_string(node.Mark().line + 1) + ": ";
}

std::string scalar(const std::string& path, const std::string& key, const YAML::Node& v) {
  if (!v.IsScalar()) throw InputError(where(path, v) + "'" + key + "' must be a single value");
  return v.Scalar();
}

std::vector<std::string> items(const std::string& path, const std::string& key,
                               const YAML::Node& v) {
  if (v.IsScalar()) return {v.Scalar()};
  if (!v.IsSequence() || v.size() == 0)
    throw InputError(where(path, v) + "'" + key +
                     "' must be a value or a non-empty list of values");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.IsScalar())
      throw InputError(where(path, item) + "'" + key + "' must list plain values");
    out.push_back(item.Scalar());
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
  throw InputError(where(path, v) + "'" + key + "' must be a whole number, got '" + text + "'");
}

void check_keys(const std::string& path, const YAML::Node& m) {
  std::set<std::string> seen;
  for (const auto& kv : m) {
    if (!kv.first.IsScalar()) throw InputError(where(path, kv.first) + "keys must be plain names");
    if (!seen.insert(kv.first.Scalar()).second)
      throw InputError(where(path, kv.first) + "'" + kv.first.Scalar() + "' is given twice");
  }
}

}  // namespace pararun::yaml
