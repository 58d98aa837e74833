#include "pararun/batch.hpp"

#include <glob.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "pararun/errors.hpp"
#include "pararun/parse.hpp"
#include "pararun/process.hpp"
#include "pararun/registry.hpp"
#include "pararun/runner.hpp"
#include "pararun/sha256.hpp"
#include "pararun/sysinfo.hpp"
#include "yaml_file.hpp"

namespace pararun {

std::string BatchJob::digest() const {
  return sha256_hex(json_text(to_json()));
}

Json BatchJob::to_json() const {
  return {{"id", id},
          {"kernel", kernel},
          {"backend", to_string(backend)},
          {"variant", variant},
          {"size", size},
          {"input", input},
          {"threads", threads},
          {"ranks", ranks},
          {"seed", seed},
          {"copy", copy},
          {"reps", reps},
          {"max_reps", max_reps},
          {"warmup", warmup},
          {"cores", cores},
          {"memory", memory},
          {"time_limit", time_limit},
          {"retries", retries},
          {"tags", tags},
          {"label", label},
          {"env", env_json()},
          {"cpu_flags", cpu_flags},
          {"oversubscribe", oversubscribe}};
}

Json BatchJob::env_json() const {
  Json e = Json::object();
  for (const auto& [name, value] : env) e[name] = value ? Json(*value) : Json(nullptr);
  return e;
}

BatchJob batch_job_from_json(const Json& j) {
  try {
    BatchJob b;
    b.id = j.at("id").get<std::string>();
    b.kernel = j.at("kernel").get<std::string>();
    const auto backend = parse_backend(j.at("backend").get<std::string>());
    if (!backend) throw std::invalid_argument("unknown backend");
    b.backend = *backend;
    b.variant = j.at("variant").get<std::string>();
    b.size = j.at("size").get<std::uint64_t>();
    b.input = j.at("input").get<std::string>();
    b.threads = j.at("threads").get<int>();
    b.ranks = j.at("ranks").get<int>();
    b.seed = j.at("seed").get<std::uint64_t>();
    b.copy = j.at("copy").get<int>();
    b.reps = j.at("reps").get<int>();
    b.max_reps = j.at("max_reps").get<int>();
    b.warmup = j.at("warmup").get<int>();
    b.cores = j.at("cores").get<int>();
    b.memory = j.at("memory").get<std::uint64_t>();
    b.time_limit = j.at("time_limit").get<double>();
    b.retries = j.at("retries").get<int>();
    b.tags = j.at("tags").get<std::vector<std::string>>();
    // Folders from before labels, environments and CPU flags have none of them.
    Json full = j;
    for (const auto& [key, none] : {std::pair<const char*, Json>{"label", ""},
                                    {"env", Json::object()},
                                    {"cpu_flags", Json::array()},
                                    {"oversubscribe", false}})
      if (!full.contains(key)) full[key] = none;
    b.label = full.at("label").get<std::string>();
    for (const auto& [name, value] : full.at("env").items())
      b.env[name] =
          value.is_null() ? std::nullopt : std::optional<std::string>(value.get<std::string>());
    b.cpu_flags = full.at("cpu_flags").get<std::vector<std::string>>();
    b.oversubscribe = full.at("oversubscribe").get<bool>();
    if (b.to_json() != full) throw std::invalid_argument("other fields");
    return b;
  } catch (const Json::exception& e) {
    throw std::invalid_argument(std::string("not a batch job: ") + e.what());
  }
}

std::string batch_job_id(const BatchJob& job) {
  // An input file is named by its file name (characters a file name may not hold replaced).
  std::string what = "n" + std::to_string(job.size);
  if (!job.input.empty()) {
    what = "i" + job.input.substr(job.input.find_last_of('/') + 1);
    for (char& c : what)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  std::string id = job.kernel + "." + to_string(job.backend) + "." + job.variant + "." + what +
                   ".t" + std::to_string(job.threads) + ".r" + std::to_string(job.ranks) + ".s" +
                   std::to_string(job.seed);
  if (!job.label.empty()) id += "." + job.label;
  return job.copy ? id + ".c" + std::to_string(job.copy) : id;
}

std::vector<std::uint64_t> expand_size_range(
    const std::string& text,
    const std::function<std::optional<std::uint64_t>(const std::string&)>& parse) {
  const auto parts = split(text, ':');
  if (parts.size() == 1 && text.find(':') == std::string::npos) {
    const auto n = parse(text);
    return n ? std::vector<std::uint64_t>{*n} : std::vector<std::uint64_t>{};
  }
  if (parts.size() != 3 || parts[2].size() < 2) return {};
  const auto first = parse(parts[0]), last = parse(parts[1]);
  const auto step = parse_count(parts[2].substr(1));
  const char how = parts[2][0];
  if (!first || !last || !step || *first > *last) return {};  // callers refuse a size of 0
  if ((how != 'x' && how != '+') || (how == 'x' && *step < 2) || (how == '+' && *step < 1))
    return {};
  std::vector<std::uint64_t> out;
  for (std::uint64_t n = *first; n <= *last; n = how == 'x' ? n * *step : n + *step) {
    if (out.size() == 10000) return {};
    out.push_back(n);
    if (how == 'x' ? n > *last / *step : *step > *last - n) break;  // the next would pass LAST
  }
  return out;
}

std::optional<double> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto number = [](const std::string& t) -> std::optional<double> {
    if (t.empty() || t.find_first_not_of("0123456789.") != std::string::npos) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (*end != '\0' || !std::isfinite(v)) return std::nullopt;
    return v;
  };
  double seconds = 0;
  const char unit = text.back();
  if (text.find(':') == std::string::npos && text.find('-') == std::string::npos) {
    const double scale = unit == 's'   ? 1
                         : unit == 'm' ? 60
                         : unit == 'h' ? 3600
                         : unit == 'd' ? 86400
                                       : 0;
    const auto v = number(scale ? text.substr(0, text.size() - 1) : text);
    if (!v) return std::nullopt;
    seconds = *v * (scale ? scale : 1);
  } else {  // [D-]HH:MM:SS or MM:SS (Slurm's forms with colons)
    std::string rest = text;
    double days = 0;
    bool with_days = false;
    if (const auto dash = rest.find('-'); dash != std::string::npos) {
      const auto d = number(rest.substr(0, dash));
      if (!d) return std::nullopt;
      days = *d;
      with_days = true;
      rest = rest.substr(dash + 1);
    }
    const auto fields = split(rest, ':');
    if (fields.size() < 2 || fields.size() > 3 || rest.back() == ':') return std::nullopt;
    for (const auto& f : fields) {
      const auto v = number(f);
      if (!v) return std::nullopt;
      seconds = seconds * 60 + *v;
    }
    if (fields.size() == 2 && with_days) seconds *= 60;  // D-HH:MM
    seconds += days * 86400;
  }
  if (!(seconds > 0) || seconds > 365.0 * 86400) return std::nullopt;
  return seconds;
}

std::optional<std::uint64_t> parse_bytes(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && unit.back() == 'B') unit.pop_back();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // GiB -> G: binary either way
  const std::string units = "KMGT";
  double scale = 1;
  if (unit.size() == 1 && units.find(unit[0]) != std::string::npos)
    scale = std::pow(1024.0, static_cast<double>(units.find(unit[0]) + 1));
  else if (!unit.empty())
    return std::nullopt;
  if (!(v > 0) || v * scale > 1e18) return std::nullopt;
  return static_cast<std::uint64_t>(v * scale);
}

namespace {

using yaml::where;

const std::vector<std::string> kSweepKeys = {"kernel", "backend", "variant", "size",
                                             "input",  "threads", "ranks",   "seed"};
const std::vector<std::string> kJobKeys = {
    "kernel", "backend", "variant",   "size",         "input",   "threads",
    "ranks",  "seed",    "zip",       "repeat",       "reps",    "max_reps",
    "warmup", "cores",   "memory",    "time_limit",   "retries", "tags",
    "label",  "env",     "cpu_flags", "oversubscribe"};

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

/// One value of a job's key, with the node it comes from (for its line).
struct Value {
  std::string text;
  YAML::Node node;
};

/// m[key] = v without YAML::Node's assignment, which does not replace a handle but redirects
/// the node it shares (a job's key would overwrite `defaults` for every later job).
template <class Map, class V>
void put(Map& m, const std::string& key, V v) {
  m.erase(key);
  m.emplace(key, std::move(v));
}

struct Reader {
  const std::string& path;
  const BatchLimits& limits;
  std::vector<BatchJob> jobs;
  std::map<std::string, std::string> origin_of;  ///< job id -> file:line

  [[noreturn]] void fail(const YAML::Node& n, const std::string& what) const {
    throw InputError(where(path, n) + what);
  }

  int count(const Value& v, const std::string& key, int least, int most) const {
    const auto n = parse_count(v.text);
    if (!n || *n < static_cast<std::uint64_t>(least) || *n > static_cast<std::uint64_t>(most))
      fail(v.node, "'" + key + "' must be a whole number from " + std::to_string(least) + " to " +
                       std::to_string(most) + ", got '" + v.text + "'");
    return static_cast<int>(*n);
  }

  /// One job from one combination of the sweep keys (`one`) and the entry's other keys.
  void add(const std::map<std::string, Value>& one, const std::map<std::string, YAML::Node>& keys,
           const YAML::Node& entry) {
    // Several backends in one entry: threads or ranks that one of them has no use for are
    // left out for it (seq x threads [1, 2] is one seq job), not an error.
    const bool backend_swept = (keys.count("backend") && keys.at("backend").IsSequence() &&
                                keys.at("backend").size() > 1) ||
                               (keys.count("zip") && keys.at("zip")["backend"]);
    auto get = [&](const std::string& k) -> const Value* {
      auto it = one.find(k);
      return it == one.end() ? nullptr : &it->second;
    };
    auto node = [&](const std::string& k) -> const YAML::Node* {
      auto it = keys.find(k);
      return it == keys.end() ? nullptr : &it->second;
    };
    for (const char* required : {"kernel", "backend", "size"})
      if (!get(required)) fail(entry, std::string("the job has no '") + required + "'");
    BatchJob job;
    const Value& kv = *get("kernel");
    const Kernel* k = Registry::global().find(kv.text);
    if (!k)
      fail(kv.node, "unknown kernel '" + kv.text + "'; kernels: " + Registry::global().names());
    job.kernel = kv.text;
    const Value& bv = *get("backend");
    const auto b = parse_backend(bv.text);
    if (!b) fail(bv.node, "unknown backend '" + bv.text + "'; backends: " + backend_names());
    if (const std::string why = backend_unavailable(*b); !why.empty()) fail(bv.node, why);
    if (!k->supports(*b))
      fail(bv.node, "kernel '" + job.kernel + "' does not support backend '" + bv.text + "'");
    job.backend = *b;
    const auto variants = k->variants_of(*b);
    if (const Value* v = get("variant")) {
      std::vector<std::string> names;
      for (const auto& info : variants) names.push_back(info.name);
      if (std::find(names.begin(), names.end(), v->text) == names.end())
        fail(v->node, "unknown variant '" + v->text + "' for " + job.kernel + "/" + bv.text +
                          "; variants: " + joined(names));
      job.variant = v->text;
    } else {
      job.variant = variants.front().name;
    }
    const Value& sv = *get("size");
    job.size = std::strtoull(sv.text.c_str(), nullptr, 10);  // expanded before: digits only
    if (const Value* in = get("input")) job.input = in->text;
    if (const Value* t = get("threads")) {
      job.threads = t->text == "all" ? std::min(limits.cores, kMaxThreads)  // (one process)
                                     : count(*t, "threads", 1, kMaxThreads);
      if (!uses_threads(*b) && job.threads != 1) {
        if (!backend_swept)
          fail(t->node, "'threads' applies to omp and hybrid jobs, not " + bv.text);
        job.threads = 1;  // a sweep over backends: the backend's job, on its 1 thread
      }
    }
    if (const Value* r = get("ranks")) {
      job.ranks = count(*r, "ranks", 1, 100000);
      if (!uses_mpi(*b) && job.ranks != 1) {
        if (!backend_swept) fail(r->node, "'ranks' applies to mpi and hybrid jobs, not " + bv.text);
        job.ranks = 1;  // a sweep over backends: the backend's job, on its 1 rank
      }
    }
    if (const Value* s = get("seed")) {
      const auto n = parse_count(s->text);
      if (!n) fail(s->node, "'seed' must be a whole number of at least 0, got '" + s->text + "'");
      job.seed = *n;
    }
    auto whole_key = [&](const char* key, int least, int most, int& field) {
      if (const YAML::Node* n = node(key))
        field = count({yaml::scalar(path, key, *n), *n}, key, least, most);
    };
    whole_key("reps", 1, 100000, job.reps);
    whole_key("max_reps", 0, 100000, job.max_reps);
    whole_key("warmup", 0, 100000, job.warmup);
    whole_key("retries", 0, 100, job.retries);
    if (const YAML::Node* n = node("oversubscribe")) {
      const std::string text = yaml::scalar(path, "oversubscribe", *n);
      if (text != "true" && text != "false")
        fail(*n, "'oversubscribe' is true or false, got '" + text + "'");
      job.oversubscribe = text == "true";
      if (job.oversubscribe && !uses_mpi(*b))
        fail(*n, "'oversubscribe' applies to mpi and hybrid jobs (more ranks than cores)");
    }
    // An oversubscribed job runs its ranks on fewer cores on purpose (its records say so).
    job.cores = job.oversubscribe ? std::min(job.ranks * job.threads, limits.cores)
                                  : job.ranks * job.threads;
    if (const YAML::Node* n = node("cores")) {
      const std::string text = yaml::scalar(path, "cores", *n);
      const int cores = text == "all" ? limits.cores : count({text, *n}, "cores", 1, 1000000);
      if (cores < job.cores && !job.oversubscribe)
        fail(*n, "'cores' is " + std::to_string(cores) + " but the job runs " +
                     std::to_string(job.ranks) + " rank(s) x " + std::to_string(job.threads) +
                     " thread(s)");
      job.cores = cores;
    }
    if (job.cores > limits.cores)
      fail(entry, "job " + job.kernel + "/" + bv.text + " needs " + std::to_string(job.cores) +
                      " cores; the most one job can have here is " + std::to_string(limits.cores));
    if (const YAML::Node* n = node("time_limit")) {
      const std::string text = yaml::scalar(path, "time_limit", *n);
      const auto d = parse_duration(text);
      // Below a second no run starts (Slurm counts whole minutes).
      if (!d || *d < 1)
        fail(*n,
             "'time_limit' must be a duration of a second or more (90, 90s, 10m, 2h, "
             "HH:MM:SS), got '" +
                 text + "'");
      job.time_limit = *d;
    }
    if (const YAML::Node* n = node("tags")) {
      job.tags = yaml::items(path, "tags", *n);
      for (const auto& tag : job.tags)
        if (tag.empty() || tag.find_first_of(" \t\n\r,") != std::string::npos)
          fail(*n, "tags are single words, got '" + tag + "'");
    }
    if (const YAML::Node* n = node("label")) {
      job.label = yaml::scalar(path, "label", *n);
      if (job.label.empty() || job.label.size() > 64 ||
          !std::all_of(job.label.begin(), job.label.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
          }))
        fail(*n, "'label' is one word of letters, digits, - and _ (at most 64), got '" + job.label +
                     "'");
    }
    if (const YAML::Node* n = node("env")) {
      if (!n->IsMap() || n->size() == 0)
        fail(*n, "'env' is a map of variable names to values (~ to unset one)");
      yaml::check_keys(path, *n);
      for (const auto& kv : *n) {
        const std::string name = kv.first.Scalar();
        const bool valid_name = !name.empty() &&
                                !std::isdigit(static_cast<unsigned char>(name[0])) &&
                                std::all_of(name.begin(), name.end(), [](char c) {
                                  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                                });
        if (!valid_name) fail(kv.first, "'env' names a variable, not '" + name + "'");
        if (name == "OMP_NUM_THREADS" || name.rfind("PARARUN_", 0) == 0)
          fail(kv.first, "'env' cannot set " + name +
                             ": ParaRun sets it from the job's keys (threads, label)");
        if (kv.second.IsNull()) {
          job.env[name] = std::nullopt;
          continue;
        }
        const std::string value = yaml::scalar(path, "env." + name, kv.second);
        if (value.find('\0') != std::string::npos)
          fail(kv.second, "'env." + name + "' holds a NUL character");
        job.env[name] = value;
      }
    }
    if (const YAML::Node* n = node("cpu_flags")) {
      job.cpu_flags = yaml::items(path, "cpu_flags", *n);
      for (const auto& f : job.cpu_flags)
        if (f.empty() || !std::all_of(f.begin(), f.end(), [](char c) {
              return std::islower(static_cast<unsigned char>(c)) ||
                     std::isdigit(static_cast<unsigned char>(c)) || c == '_';
            }))
          fail(*n, "'cpu_flags' are flags as /proc/cpuinfo spells them (avx2, avx512f), got '" + f +
                       "'");
    }
    // What every process of the job would refuse (the kernel's own check, a rank's memory
    // beyond this node's) is refused now.
    RunSpec run;
    run.problem = {job.size, job.seed, job.input};
    ExecContext ctx;
    ctx.backend = job.backend;
    ctx.threads = job.threads;
    ctx.ranks = job.ranks;
    if (const std::string why = run_problem(*k, run, ctx); !why.empty()) fail(sv.node, why);
    job.memory = static_cast<std::uint64_t>(k->memory_per_rank(run.problem, job.ranks) * job.ranks);
    if (const YAML::Node* n = node("memory")) {
      const std::string text = yaml::scalar(path, "memory", *n);
      const auto bytes = parse_bytes(text);
      // Slurm's --mem counts MiB; less than one is not a job's memory.
      if (!bytes || *bytes < (1u << 20))
        fail(*n, "'memory' must be a size of 1M or more, such as 512M or 2G, got '" + text + "'");
      job.memory = *bytes;
    }
    if (limits.memory && job.memory > limits.memory)
      fail(node("memory") ? *node("memory") : sv.node,
           "the job needs " + std::to_string(job.memory >> 20) + " MiB; at most " +
               std::to_string(limits.memory >> 20) + " MiB can be used here");

    int repeat = 1;
    if (const YAML::Node* n = node("repeat"))
      repeat = count({yaml::scalar(path, "repeat", *n), *n}, "repeat", 1, 10000);
    job.origin = path + ":" + std::to_string(entry.Mark().line + 1);
    for (int c = 1; c <= repeat; ++c) {
      job.copy = repeat > 1 ? c : 0;
      job.id = batch_job_id(job);
      if (const auto it = origin_of.find(job.id); it != origin_of.end()) {
        const auto same = std::find_if(jobs.begin(), jobs.end(),
                                       [&](const BatchJob& j) { return j.id == job.id; });
        // The same job again from one sweep over backends (seq x threads [1, 2]): once.
        if (backend_swept && it->second == job.origin && same->to_json() == job.to_json()) continue;
        if (same->input != job.input)
          fail(entry, "inputs " + same->input + " and " + job.input +
                          " have the same file name, which names them in job ids; rename one");
        fail(entry, "job " + job.id + " is listed twice (first at " + it->second +
                        "); use 'repeat' for copies or another seed");
      }
      origin_of[job.id] = job.origin;
      jobs.push_back(job);
      if (jobs.size() > 100000) fail(entry, "more than 100000 jobs in one batch");
    }
  }

  /// The values of sweep key `key` (a value or a list); sizes expanded for `kernel`.
  std::vector<Value> values(const std::string& key, const YAML::Node& n) const {
    std::vector<Value> out;
    if (n.IsSequence()) {
      if (n.size() == 0) fail(n, "'" + key + "' is an empty list");
      for (const auto& item : n) {
        if (!item.IsScalar()) fail(item, "'" + key + "' must list plain values");
        out.push_back({item.Scalar(), item});
      }
    } else {
      out.push_back({yaml::scalar(path, key, n), n});
    }
    if (key == "input") return files(out);
    if (key != "threads" && key != "ranks" && key != "seed") return out;
    // Ranges of counts and seeds ("1:8:x2", "1:10:+1"); sizes are expanded per kernel.
    std::vector<Value> expanded;
    for (const auto& v : out) {
      if (v.text.find(':') == std::string::npos) {
        expanded.push_back(v);
        continue;
      }
      const auto range = expand_size_range(v.text, parse_count);
      if (range.empty())
        fail(v.node, "'" + key + "' range '" + v.text +
                         "' is not FIRST:LAST:xFACTOR or FIRST:LAST:+STEP (at most 10000 values)");
      for (const auto x : range) expanded.push_back({std::to_string(x), v.node});
    }
    return expanded;
  }

  /// The files of `patterns` (paths or globs, relative to the manifest's folder), in order.
  std::vector<Value> files(const std::vector<Value>& patterns) const {
    const auto slash = path.find_last_of('/');
    const std::string base = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::vector<Value> out;
    for (const auto& v : patterns) {
      const std::string pattern = !v.text.empty() && v.text[0] == '/' ? v.text : base + v.text;
      glob_t g{};
      const int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
      if (rc != 0) {
        globfree(&g);
        fail(v.node, "'input' '" + v.text + "' matches no file (looked for " + pattern + ")");
      }
      for (std::size_t i = 0; i < g.gl_pathc; ++i)
        out.push_back({absolute_path(g.gl_pathv[i]), v.node});
      globfree(&g);
    }
    return out;
  }

  /// Every combination of the entry: the product of its sweep keys, times its zip.
  void entry(const YAML::Node& e, const YAML::Node& defaults) {
    if (!e.IsMap()) fail(e, "a job is a map of keys (kernel, backend, size, ...)");
    yaml::check_keys(path, e);
    std::map<std::string, YAML::Node> keys;
    for (const auto* m : {&defaults, &e})
      for (const auto& kv : *m) {
        const std::string key = kv.first.Scalar();
        if (std::find(kJobKeys.begin(), kJobKeys.end(), key) == kJobKeys.end())
          fail(kv.first, "unknown key '" + key + "'; keys of a job: " + joined(kJobKeys));
        put(keys, key, kv.second);
      }
    // Sweep keys: crossed, except those of zip, which are taken together.
    std::vector<std::pair<std::string, std::vector<Value>>> crossed;
    std::vector<std::pair<std::string, std::vector<Value>>> zipped;
    if (keys.count("zip")) {
      const YAML::Node& z = keys["zip"];
      if (!z.IsMap() || z.size() == 0) fail(z, "'zip' is a map of keys to lists of equal length");
      yaml::check_keys(path, z);
      for (const auto& kv : z) {
        const std::string key = kv.first.Scalar();
        if (std::find(kSweepKeys.begin(), kSweepKeys.end(), key) == kSweepKeys.end())
          fail(kv.first, "'zip' takes " + joined(kSweepKeys) + ", not '" + key + "'");
        if (e[key]) fail(kv.first, "'" + key + "' is given both in 'zip' and outside it");
        if (!kv.second.IsSequence()) fail(kv.second, "'zip." + key + "' must be a list");
        zipped.emplace_back(key, values(key, kv.second));
        if (zipped.back().second.size() != zipped.front().second.size())
          fail(kv.second, "'zip' lists must have the same length: '" + key + "' has " +
                              std::to_string(zipped.back().second.size()) + ", '" +
                              zipped.front().first + "' " +
                              std::to_string(zipped.front().second.size()));
      }
    }
    for (const auto& key : kSweepKeys)
      if (keys.count(key) &&
          std::none_of(zipped.begin(), zipped.end(), [&](const auto& z) { return z.first == key; }))
        crossed.emplace_back(key, values(key, keys[key]));
    const std::size_t zip_n = zipped.empty() ? 1 : zipped.front().second.size();
    // Counted before they are walked: combinations that collapse into one job (seq over a
    // threads sweep) count for nothing below, and a product of long ranges ran for hours.
    std::uint64_t combinations = zip_n;
    for (const auto& [key, vals] : crossed) {
      std::uint64_t n = vals.size();
      if (key == "size") {  // a range counts its sizes (a kernel's own size names aside)
        n = 0;
        for (const auto& v : vals)
          n += v.text.find(':') == std::string::npos
                   ? 1
                   : std::max<std::size_t>(1, expand_size_range(v.text, parse_count).size());
      }
      combinations *= n;
      if (combinations > 1000000)
        fail(e,
             "the entry's sweeps make more than 1000000 combinations; a batch holds at most "
             "100000 jobs");
    }

    std::map<std::string, Value> one;
    // Depth-first over the crossed keys; sizes are expanded once the kernel is known.
    std::function<void(std::size_t)> walk = [&](std::size_t i) {
      if (i == crossed.size()) {
        for (std::size_t z = 0; z < zip_n; ++z) {
          auto combo = one;
          for (const auto& [key, vals] : zipped) put(combo, key, vals[z]);
          expand_sizes(combo, keys, e);
        }
        return;
      }
      for (const auto& v : crossed[i].second) {
        put(one, crossed[i].first, v);
        walk(i + 1);
      }
      one.erase(crossed[i].first);
    };
    walk(0);
  }

  void expand_sizes(std::map<std::string, Value> combo,
                    const std::map<std::string, YAML::Node>& keys, const YAML::Node& e) {
    const auto size = combo.find("size");
    const auto kernel = combo.find("kernel");
    const auto input = combo.find("input");
    if (kernel == combo.end() || (size == combo.end() && input == combo.end()))
      return add(combo, keys, e);
    const Kernel* k = Registry::global().find(kernel->second.text);
    if (!k) return add(combo, keys, e);  // add() names the unknown kernel
    if (input != combo.end()) {          // the size is the file's
      if (size != combo.end())
        fail(size->second.node, "'size' comes from the 'input' file; leave it out");
      if (k->input_kind().empty())
        fail(input->second.node, "kernel '" + k->name() + "' reads no input files");
      try {
        put(combo, "size",
            Value{std::to_string(k->input_size(input->second.text)), input->second.node});
      } catch (const InputError& err) {
        fail(input->second.node, std::string("input ") + err.what());
      }
      return add(combo, keys, e);
    }
    const Value s = size->second;
    const auto sizes =
        expand_size_range(s.text, [k](const std::string& t) { return k->parse_size(t); });
    if (sizes.empty() || std::find(sizes.begin(), sizes.end(), 0) != sizes.end())
      fail(s.node, "'size' '" + s.text + "' is not a whole number of at least 1" +
                       k->size_name_hint() +
                       ", nor a range FIRST:LAST:xFACTOR or FIRST:LAST:+STEP of at most 10000 "
                       "sizes");
    for (const auto n : sizes) {
      put(combo, "size", Value{std::to_string(n), s.node});
      add(combo, keys, e);
    }
  }
};

}  // namespace

std::vector<BatchJob> select_batch_jobs(
    const std::vector<BatchJob>& jobs, const std::vector<std::string>& tags,
    const std::vector<std::string>* cpu_flags,
    std::vector<std::pair<std::string, std::string>>* left_out) {
  const std::set<std::string> have =
      cpu_flags ? std::set<std::string>(cpu_flags->begin(), cpu_flags->end())
                : std::set<std::string>();
  std::vector<BatchJob> out;
  for (const auto& job : jobs) {
    std::string why;
    if (cpu_flags)
      for (const auto& f : job.cpu_flags)
        if (!have.count(f)) why += (why.empty() ? "needs " : ", ") + f;
    if (why.empty() && !tags.empty() &&
        std::none_of(tags.begin(), tags.end(), [&](const std::string& t) {
          return std::find(job.tags.begin(), job.tags.end(), t) != job.tags.end();
        }))
      why = "not tagged " + joined(tags);
    if (why.empty())
      out.push_back(job);
    else if (left_out)
      left_out->emplace_back(job.id, why);
  }
  return out;
}

BatchManifest load_batch_manifest(const std::string& path, const BatchLimits& limits) {
  const YAML::Node root = yaml::load_map(path, "batch manifest");
  yaml::check_keys(path, root);
  BatchManifest m;
  m.path = path;
  YAML::Node defaults = YAML::Node(YAML::NodeType::Map), jobs;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "name")
      m.name = yaml::scalar(path, key, kv.second);
    else if (key == "defaults")
      defaults = kv.second;
    else if (key == "jobs")
      jobs = kv.second;
    else
      throw InputError(where(path, kv.first) + "unknown key '" + key +
                       "'; keys of a batch manifest: name, defaults, jobs");
  }
  if (!defaults.IsMap())
    throw InputError(where(path, defaults) + "'defaults' must be a map of job keys");
  yaml::check_keys(path, defaults);
  if (defaults["zip"])
    throw InputError(where(path, defaults["zip"]) + "'zip' belongs to a job, not to 'defaults'");
  if (!jobs || !jobs.IsSequence() || jobs.size() == 0)
    throw InputError(path + ": a batch manifest needs 'jobs', a non-empty list of jobs");
  Reader r{path, limits, {}, {}};
  for (const auto& e : jobs) r.entry(e, defaults);
  m.jobs = std::move(r.jobs);
  // batch.json keeps every job as JSON text, and the batch's resume and Slurm array tasks read
  // it back: a file name or value that is not UTF-8 (a Latin-1 name an input glob found) would
  // come back changed (as U+FFFD), another input or environment than the one measured.
  for (const auto& job : m.jobs) {
    const Json fields = job.to_json();
    for (const auto& [key, value] : fields.items()) {
      try {
        (void)value.dump();  // (strict: throws on bytes that are not UTF-8)
      } catch (const Json::exception&) {
        throw InputError(job.origin + ": job " + json_text(Json(job.id)) + ": its " + key +
                         " is not UTF-8 text, which batch.json cannot keep as it is; rename "
                         "the file or change the value");
      }
    }
  }
  return m;
}

}  // namespace pararun
