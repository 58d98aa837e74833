#include "pararun/tuning.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <tuple>

#include "pararun/errors.hpp"
#include "pararun/stats.hpp"
#include "pararun/sysinfo.hpp"

namespace pararun {

namespace {

constexpr const char* kSchema = "pararun.tuning/1";
constexpr int kConfirmRounds = 3;

Json setting_json(const Tuning& t) {
  Json j = Json::object();
  for (const auto& [k, v] : t) j[k] = v;
  return j;
}

}  // namespace

TuningResult tune(const Kernel& kernel, const VariantInfo& variant, const RunSpec& spec,
                  const ExecContext& ctx) {
  const std::vector<Tuning> candidates = kernel.tuning_candidates(variant);
  if (candidates.empty())
    throw InputError(kernel.name() + "/" + variant.name + " has nothing to tune");
  TuningResult result;
  result.key = kernel.tuning_key(variant);
  // The default, then each candidate that runs otherwise at this size than every setting
  // before it (at n = 1024 a KC of 320 runs as 256, in 4 equal steps): timed once.
  std::vector<Tuning> settings;
  std::vector<std::string> effects;
  for (std::size_t i = 0; i <= candidates.size(); ++i) {
    const Tuning setting = i == 0 ? Tuning{} : candidates[i - 1];
    kernel.apply_tuning(variant, setting);
    const std::string effect = kernel.tuning_effect(variant, spec.problem, ctx);
    const auto same =
        effect.empty() ? effects.end() : std::find(effects.begin(), effects.end(), effect);
    if (same != effects.end()) {
      result.not_timed.emplace_back(setting, static_cast<std::size_t>(same - effects.begin()));
      continue;
    }
    settings.push_back(setting);
    effects.push_back(effect);
  }
  if (settings.size() == 1)
    throw InputError("every setting of " + result.key + " runs as its default at size " +
                     std::to_string(spec.problem.size) + "; tune at a larger size");
  const Work work = kernel.work(spec.problem, variant);
  // One warm-up first, not one per trial: the host's slow first second of work (timing.hpp)
  // would otherwise fall on the first round's first settings. The trials follow without a
  // pause, so the CPU stays warm.
  RunSpec trial_spec = spec;
  trial_spec.timing.warmup_seconds = 0;
  if (spec.timing.warmup_seconds > 0) {
    kernel.apply_tuning(variant, Tuning{});
    RunSpec warm = spec;
    warm.timing.min_reps = warm.timing.max_reps = 1;
    execute(kernel, variant, warm, ctx);
  }
  auto measure = [&](const Tuning& setting) {
    kernel.apply_tuning(variant, setting);
    const RunOutcome out = execute(kernel, variant, trial_spec, ctx);
    TuningTrial trial;
    trial.setting = setting;
    trial.median = summarize(out.timings.samples).median;
    trial.verified = out.verified();
    std::tie(trial.rate, trial.unit) = rate_of(kernel.metric(), work, trial.median);
    return trial;
  };
  // Every setting once per round, round after round: a burst from the shared host slows one
  // round of every setting instead of all repetitions of one (which then loses, or wins, by
  // luck). A trial's time is the median of its rounds' medians; it verified if every round did.
  std::vector<std::vector<double>> round_medians(settings.size());
  for (int round = 0; round < kTuneRounds; ++round)
    for (std::size_t i = 0; i < settings.size(); ++i) {
      const TuningTrial t = measure(settings[i]);
      round_medians[i].push_back(t.median);
      if (round == 0)
        result.trials.push_back(t);
      else
        result.trials[i].verified = result.trials[i].verified && t.verified;
    }
  for (std::size_t i = 0; i < settings.size(); ++i) {
    TuningTrial& t = result.trials[i];
    t.median = summarize(round_medians[i]).median;
    std::tie(t.rate, t.unit) = rate_of(kernel.metric(), work, t.median);
  }
  for (std::size_t i = 0; i < result.trials.size(); ++i) {
    const TuningTrial& t = result.trials[i];
    const TuningTrial& best = result.trials[result.best];
    if (t.verified && (!best.verified || t.median < best.median)) result.best = i;
  }
  result.fastest = result.best;
  // The winner of 30 noisy trials is partly luck: it must beat the default again, in
  // alternating rounds, by 2%, or the default stays.
  if (result.best != 0 && result.trials.front().verified) {
    std::vector<double> best_times, default_times;
    for (int round = 0; round < kConfirmRounds; ++round) {
      default_times.push_back(measure(Tuning{}).median);
      best_times.push_back(measure(result.trials[result.best].setting).median);
    }
    result.confirmed_speedup = summarize(default_times).median / summarize(best_times).median;
    if (result.confirmed_speedup < kTuneMinSpeedup) result.best = 0;
  }
  kernel.apply_tuning(variant, result.trials[result.best].setting);
  return result;
}

std::string tuning_file_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* p = std::getenv("PARARUN_TUNING"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    return std::string(x) + "/pararun/tuning.json";
  // Without $HOME (a cron job, env -i), the user's home as the password database has it,
  // not the working folder: runs elsewhere would not find what a tune stored.
  std::string home;
  if (const char* h = std::getenv("HOME"); h && *h)
    home = h;
  else if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_dir && *pw->pw_dir)
    home = pw->pw_dir;
  else
    home = ".";
  return home + "/.config/pararun/tuning.json";
}

Json read_tuning_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Json{{"schema", kSchema}, {"entries", Json::array()}};
  const std::string where = "tuning file '" + path + "'";
  if (!S_ISREG(st.st_mode)) throw InputError(where + " is not a regular file");
  std::ifstream in(path);
  if (!in) throw InputError("cannot read the " + where);
  Json j = parse_json(in);
  if (j.is_discarded()) throw InputError(where + " is not JSON");
  if (!j.is_object() || j.value("schema", Json("")) != kSchema || !j.contains("entries") ||
      !j["entries"].is_array())
    throw InputError(where + " is not a tuning file (schema " + std::string(kSchema) + ")");
  for (const Json& e : j["entries"]) {
    bool ok = e.is_object() && e.contains("key") && e["key"].is_string() && e.contains("cpu") &&
              e["cpu"].is_string() && e.contains("setting") && e["setting"].is_object();
    if (ok)
      for (const auto& [k, v] : e["setting"].items()) ok = ok && v.is_string();
    if (!ok)
      throw InputError(where +
                       ": an entry lacks key, cpu or a setting of strings: " + json_text(e));
  }
  return j;
}

std::optional<Tuning> stored_tuning(const Json& file, const std::string& key,
                                    const std::string& cpu) {
  std::optional<Tuning> found;  // the last entry wins (with_tuning appends)
  for (const Json& e : file["entries"])
    if (e["key"] == key && e["cpu"] == cpu) {
      Tuning t;
      for (const auto& [k, v] : e["setting"].items()) t.emplace_back(k, v.get<std::string>());
      found = t;
    }
  return found;
}

Json with_tuning(Json file, const TuningResult& result, const std::string& cpu,
                 const std::string& measured_on) {
  Json entries = Json::array();
  for (const Json& e : file["entries"])
    if (!(e["key"] == result.key && e["cpu"] == cpu)) entries.push_back(e);
  const TuningTrial& best = result.trials[result.best];
  entries.push_back({{"key", result.key},
                     {"cpu", cpu},
                     {"setting", setting_json(best.setting)},
                     {"rate", best.rate},
                     {"default_rate", result.trials.front().rate},
                     {"confirmed_speedup", result.confirmed_speedup},
                     {"unit", best.unit},
                     {"measured_on", measured_on},
                     {"timestamp", utc_timestamp()},
                     {"trials", result.trials.size()},
                     {"not_timed", result.not_timed.size()}});
  file["schema"] = kSchema;
  file["entries"] = entries;
  return file;
}

}  // namespace pararun
