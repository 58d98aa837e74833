#include "pararun/compare.hpp"

#include <map>
#include <set>
#include <tuple>

#include "pararun/table.hpp"

namespace pararun {

namespace {

using Key = std::tuple<std::string, std::string, std::string, std::string, int, int, std::uint64_t>;

Key key_of(const Record& r) {
  return {r.kernel, r.comparable_as, r.backend, r.variant, r.threads, r.ranks, r.size};
}

/// Every verified sample of each configuration, in order of first appearance.
std::vector<std::pair<Key, std::vector<double>>> samples_by_key(const std::vector<Record>& rs) {
  std::vector<std::pair<Key, std::vector<double>>> out;
  std::map<Key, std::size_t> index;
  for (const Record& r : rs) {
    if (!r.verified()) continue;
    const auto s = r.json.find("samples");
    if (s == r.json.end() || !s->is_array()) continue;
    const auto [it, fresh] = index.emplace(key_of(r), out.size());
    if (fresh) out.push_back({key_of(r), {}});
    for (const auto& x : *s)
      if (x.is_number()) out[it->second].second.push_back(x.get<double>());
  }
  return out;
}

Comparison row_of(const Key& k) {
  Comparison c;
  std::tie(c.kernel, c.comparable_as, c.backend, c.variant, c.threads, c.ranks, c.size) = k;
  return c;
}

/// The configurations of `rs` with a record that was not verified (a failed run, an error
/// record), and those with a disturbed one.
std::pair<std::set<Key>, std::set<Key>> failed_and_disturbed(const std::vector<Record>& rs) {
  std::set<Key> failed, disturbed;
  for (const Record& r : rs) {
    if (!r.verified()) failed.insert(key_of(r));
    if (!disturbance(r).empty()) disturbed.insert(key_of(r));
  }
  return {failed, disturbed};
}

std::set<std::string> cpu_models(const std::vector<Record>& rs) {
  std::set<std::string> out;
  for (const Record& r : rs)
    if (const auto m = r.json.find("meta"); m != r.json.end() && m->is_object())
      if (const auto c = m->find("cpu_model"); c != m->end() && c->is_string())
        out.insert(c->get<std::string>());
  return out;
}

}  // namespace

std::string compared_machines_problem(const std::vector<Record>& before,
                                      const std::vector<Record>& after) {
  const auto a = cpu_models(before), b = cpu_models(after);
  if (a.empty() || b.empty() || a == b) return "";
  const auto list = [](const std::set<std::string>& s) {
    std::string out;
    for (const auto& x : s) out += (out.empty() ? "" : " and ") + x;
    return out;
  };
  return "before ran on " + list(a) + ", after on " + list(b) +
         ": the times are of different CPUs, not of the change";
}

std::vector<Comparison> compare_records(const std::vector<Record>& before,
                                        const std::vector<Record>& after, const CompareOptions& o) {
  const auto a = samples_by_key(before), b = samples_by_key(after);
  // (Not a structured binding: clang 14, the fuzz and tsan presets' compiler, cannot capture
  // one in a lambda.)
  const auto failed_and_disturbed_after = failed_and_disturbed(after);
  const auto& failed_after = failed_and_disturbed_after.first;
  const auto& disturbed_after = failed_and_disturbed_after.second;
  const auto disturbed_before = failed_and_disturbed(before).second;
  const auto note_of = [&](const Key& k) {
    const bool first = disturbed_before.count(k), second = disturbed_after.count(k);
    return first && second ? "both disturbed"
           : first         ? "before disturbed"
           : second        ? "after disturbed"
                           : "";
  };
  std::map<Key, const std::vector<double>*> later;
  for (const auto& [k, s] : b) later[k] = &s;
  std::vector<Comparison> out;
  for (const auto& [k, s] : a) {
    Comparison c = row_of(k);
    c.samples_before = s.size();
    c.median_before = median(s);
    c.note = note_of(k);
    const auto it = later.find(k);
    // (An error record has no comparable_as: STREAM's operations name theirs in runs only.)
    Key any_operation = k;
    std::get<1>(any_operation).clear();
    if (it == later.end()) {
      c.verdict = failed_after.count(k) || failed_after.count(any_operation) ? "failed after"
                                                                             : "only before";
      out.push_back(c);
      continue;
    }
    const std::vector<double>& t = *it->second;
    later.erase(it);
    c.samples_after = t.size();
    c.median_after = median(t);
    if (!(c.median_before > 0) || !(c.median_after > 0)) {
      // 0 is below the clock's resolution: from 0 to a time is slower, the other way faster.
      c.verdict = c.median_after > 0 ? "slower" : c.median_before > 0 ? "faster" : "no time";
      out.push_back(c);
      continue;
    }
    c.ratio = c.median_after / c.median_before;
    c.test = mann_whitney_u(t, s);  // U of "after": large when after is slower
    const bool significant = c.test.p < o.alpha;
    c.verdict = !significant || std::fabs(c.ratio - 1) <= o.threshold ? "no change"
                : c.ratio > 1                                         ? "slower"
                                                                      : "faster";
    out.push_back(c);
  }
  for (const auto& [k, s] : b)
    if (later.count(k)) {
      Comparison c = row_of(k);
      c.samples_after = s.size();
      c.median_after = median(s);
      c.note = note_of(k);
      c.verdict = "only after";
      out.push_back(c);
    }
  return out;
}

std::string format_comparison(const std::vector<Comparison>& rows, const CompareOptions& o) {
  Table t({"kernel", "backend", "variant", "threads", "ranks", "size", "before", "after",
           "after/before", "p (Mann-Whitney)", "Cliff's delta", "verdict"});
  int slower = 0, faster = 0, failed = 0;
  for (const auto& c : rows) {
    const bool both = c.samples_before && c.samples_after && c.ratio > 0;
    t.add({c.kernel + (c.comparable_as.empty() ? "" : " " + c.comparable_as), c.backend, c.variant,
           std::to_string(c.threads), std::to_string(c.ranks), std::to_string(c.size),
           c.samples_before ? format_seconds(c.median_before) : "-",
           c.samples_after ? format_seconds(c.median_after) : "-",
           both ? format("%.3f", c.ratio) : "-",
           both ? format("%.3g%s", c.test.p, c.test.exact ? " (exact)" : "") : "-",
           both ? format("%+.2f", c.test.cliffs_delta) : "-",
           c.verdict + (c.note.empty() ? "" : " (" + c.note + ")")});
    slower += c.verdict == "slower";
    faster += c.verdict == "faster";
    failed += c.verdict == "failed after";
  }
  return t.str() +
         format(
             "%d slower, %d faster%s (two-sided p < %g and the median changed by more than "
             "%g%%); medians of every verified sample of each configuration; Cliff's delta of "
             "after against before (+1: every sample after is slower)\n",
             slower, faster,
             failed ? format(", %d verified before and failed after", failed).c_str() : "", o.alpha,
             100 * o.threshold);
}

}  // namespace pararun
