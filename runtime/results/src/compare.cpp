#include "pararun/compare.hpp"

#include <map>
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

}  // namespace

std::vector<Comparison> compare_records(const std::vector<Record>& before,
                                        const std::vector<Record>& after, const CompareOptions& o) {
  const auto a = samples_by_key(before), b = samples_by_key(after);
  std::map<Key, const std::vector<double>*> later;
  for (const auto& [k, s] : b) later[k] = &s;
  std::vector<Comparison> out;
  for (const auto& [k, s] : a) {
    Comparison c = row_of(k);
    c.samples_before = s.size();
    c.median_before = median(s);
    const auto it = later.find(k);
    if (it == later.end()) {
      c.verdict = "only before";
      out.push_back(c);
      continue;
    }
    const std::vector<double>& t = *it->second;
    later.erase(it);
    c.samples_after = t.size();
    c.median_after = median(t);
    c.ratio = c.median_before > 0 ? c.median_after / c.median_before : 0;
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
      c.verdict = "only after";
      out.push_back(c);
    }
  return out;
}

std::string format_comparison(const std::vector<Comparison>& rows, const CompareOptions& o) {
  Table t({"kernel", "backend", "variant", "threads", "ranks", "size", "before", "after",
           "after/before", "p (Mann-Whitney)", "Cliff's delta", "verdict"});
  int slower = 0, faster = 0;
  for (const auto& c : rows) {
    const bool both = c.samples_before && c.samples_after;
    t.add({c.kernel + (c.comparable_as.empty() ? "" : " " + c.comparable_as), c.backend, c.variant,
           std::to_string(c.threads), std::to_string(c.ranks), std::to_string(c.size),
           c.samples_before ? format_seconds(c.median_before) : "-",
           c.samples_after ? format_seconds(c.median_after) : "-",
           both ? format("%.3f", c.ratio) : "-",
           both ? format("%.3g%s", c.test.p, c.test.exact ? " (exact)" : "") : "-",
           both ? format("%+.2f", c.test.cliffs_delta) : "-", c.verdict});
    slower += c.verdict == "slower";
    faster += c.verdict == "faster";
  }
  return t.str() +
         format(
             "%d slower, %d faster (two-sided p < %g and the median changed by more than "
             "%g%%); medians of every verified sample of each configuration; Cliff's delta of "
             "after against before (+1: every sample after is slower)\n",
             slower, faster, o.alpha, 100 * o.threshold);
}

}  // namespace pararun
