#include "pararun/analysis.hpp"

#include <map>
#include <set>
#include <sstream>

#include "pararun/files.hpp"
#include "pararun/stats.hpp"
#include "pararun/table.hpp"

namespace pararun {

namespace {

/// " (93.8%)" when an interval's coverage is below 95% (or " (?)" when unknown), else "".
std::string coverage_note(double coverage) {
  if (coverage < 0) return " (?)";
  return coverage < kCiConfidence ? format(" (%.1f%%)", 100 * coverage) : "";
}

double median_of(const Record& r) {
  return r.time ? r.time->median : 0.0;
}
std::string series_of(const Record& r) {
  return r.backend + "/" + r.variant;
}
/// The series a record's Amdahl fit (and its plotted line) belongs to: hybrid points mix
/// ranks x threads (2x1 and 1x2 are both p = 2), so each thread count is a series of its own,
/// over its rank counts.
std::string fit_series_of(const Record& r) {
  return series_of(r) + (r.backend == "hybrid" ? " " + std::to_string(r.threads) + "t/rank" : "");
}

}  // namespace

namespace {

/// "build COMMIT (id BUILD ID) FLAGS on CPU MODEL, seed S", or "" for a record without metadata
/// (the ID's first 12 hex digits, where the record has one: a rebuilt "-dirty" commit is another
/// build). The CPU model,
/// not the host: a study on a cluster spans hosts of one kind (its baseline on one node, a 4-rank
/// point on two), while records of another kind of CPU are not comparable. (Not meta.cpu:
/// its cache sizes can differ between the cores of one hybrid CPU.)
std::string provenance_of(const Record& r) {
  const Json meta = r.json.value("meta", Json::object());
  if (!meta.is_object() || !meta.contains("build") || !meta["build"].is_object()) return "";
  const Json& b = meta["build"];
  const auto text = [](const Json& j, const char* key) {
    return j.value(key, Json()).is_string() ? j[key].get<std::string>() : std::string("?");
  };
  std::string from = "build " + text(b, "git_commit");
  if (b.value("build_id", Json()).is_string())
    from += " (id " + b["build_id"].get<std::string>().substr(0, 12) + ")";
  from += " " + text(b, "flags") + " on " + text(meta, "cpu_model");
  // Another seed is other input data: its times are not the same problem's.
  if (const auto seed = r.json.find("seed"); seed != r.json.end() && seed->is_number_integer())
    from += ", seed " + seed->dump();
  return from;
}

}  // namespace

namespace {

/// A record's timing samples, each round's own: "round_samples" of a pooled record, else its
/// "samples" as one round (empty when it has none).
std::vector<std::vector<double>> rounds_of(const Record& r) {
  std::vector<std::vector<double>> out;
  const auto samples = [](const Json& j) {
    std::vector<double> v;
    if (j.is_array())
      for (const auto& x : j)
        if (x.is_number()) v.push_back(x.get<double>());
    return v;
  };
  if (auto it = r.json.find("round_samples"); it != r.json.end() && it->is_array()) {
    for (const auto& round : *it) out.push_back(samples(round));
  } else if (auto s = r.json.find("samples"); s != r.json.end()) {
    out.push_back(samples(*s));
  }
  return out;
}

/// The point a record of a round belongs to: its id without "/roundR".
std::string base_point(const std::string& id) {
  const auto at = id.rfind("/round");
  return at == std::string::npos ? id : id.substr(0, at);
}

/// Verified records of one point measured in several rounds (study --rounds) become one:
/// their samples pooled (median, interval and rate from all of them), each round's kept as
/// round_samples and round_medians. Everything else stays as it is, in order.
std::vector<Record> pool_rounds(const std::vector<Record>& records) {
  std::vector<Record> out;
  std::map<std::string, std::size_t> pooled;  // point and provenance -> its index in out
  for (const Record& r : records) {
    const auto round = r.json.find("round");
    const auto samples = rounds_of(r);
    if (!r.verified() || r.point.empty() || round == r.json.end() || !round->is_number() ||
        samples.empty() || samples.front().empty()) {
      out.push_back(r);
      continue;
    }
    const std::string key = base_point(r.point) + "\n" + provenance_of(r);
    const auto [it, first] = pooled.emplace(key, out.size());
    if (first) {
      Record p = r;
      p.point = base_point(r.point);
      p.json["round_samples"] = Json::array({samples.front()});
      p.json["round_medians"] = Json::array({r.time->median});
      p.json["rounds_pooled"] = 1;
      out.push_back(std::move(p));
      continue;
    }
    Record& p = out[it->second];
    p.json["round_samples"].push_back(samples.front());
    p.json["round_medians"].push_back(r.time->median);
    p.json["rounds_pooled"] = p.json["rounds_pooled"].get<int>() + 1;
    // A round others disturbed disturbs the pooled point: the report says so beside it.
    if (disturbance(p).empty() && !disturbance(r).empty())
      p.json["meta"]["host_load"] = r.json["meta"]["host_load"];
  }
  for (auto& [key, index] : pooled) {
    Record& p = out[index];
    std::vector<double> all;
    for (const auto& round : rounds_of(p)) all.insert(all.end(), round.begin(), round.end());
    const Summary s = summarize(all);
    // The rate is work / median for one configuration: it scales with the median.
    if (p.rate && s.median > 0) p.rate->value *= p.time->median / s.median;
    p.time =
        TimeStats{s.median, s.min, s.max, s.mean, s.stddev, s.ci_low, s.ci_high, s.ci_coverage};
    p.json["samples"] = all;
    p.json["reps"] = all.size();
    p.json.erase("round");
  }
  return out;
}

}  // namespace

std::vector<ReportGroup> analyse(const std::vector<Record>& all_records) {
  const std::vector<Record> records = pool_rounds(all_records);
  std::vector<ReportGroup> groups;
  std::set<std::string> provenances;
  for (const Record& r : records) {
    const std::string& kernel = r.kernel;
    const std::string& scaling = r.scaling;
    const std::uint64_t size = scaling == "weak" ? r.base_size : r.size;
    // Variants that compute different things (STREAM's copy and triad) are never each
    // other's baseline: each is a group of its own.
    const std::string& only = r.comparable_as;
    const std::string from = provenance_of(r);
    if (!from.empty()) provenances.insert(from);
    ReportGroup* g = nullptr;
    for (auto& candidate : groups)
      if (candidate.kernel == kernel && candidate.size == size && candidate.scaling == scaling &&
          candidate.comparable_as == only &&
          (from.empty() || candidate.provenance.empty() || candidate.provenance == from))
        g = &candidate;  // the last: a record without metadata joins the latest such group
    if (!g) {
      groups.push_back({kernel, size, scaling, only, from, false, std::nullopt, {}, {}});
      g = &groups.back();
    }
    if (g->provenance.empty()) g->provenance = from;  // a group an error record began
    ReportRow row;
    row.record = r;
    g->rows.push_back(std::move(row));
    // (A median of 0, from a clock too coarse for the run, is no time to divide by.)
    if (r.backend == "seq" && r.verified() && median_of(r) > 0 && std::isfinite(median_of(r)) &&
        (!g->baseline || median_of(r) < median_of(*g->baseline)))
      g->baseline = r;
  }
  for (auto& g : groups) {
    g.show_provenance = provenances.size() > 1;
    // The time at 1 PE of every backend/variant series, for relative speedups.
    std::map<std::string, double> one_pe;
    for (const auto& row : g.rows)
      if (row.record.verified() && row.record.pes == 1 && median_of(row.record) > 0)
        one_pe.emplace(series_of(row.record), median_of(row.record));
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> series;
    for (auto& row : g.rows) {
      if (!row.record.verified() || median_of(row.record) <= 0) continue;
      const double t = median_of(row.record), pes = row.record.pes;
      if (g.baseline && g.scaling != "weak") {
        row.speedup = median_of(*g.baseline) / t;
        row.efficiency = *row.speedup / pes;
        const TimeStats& b = *g.baseline->time;
        const TimeStats& mine = *row.record.time;
        const auto base_rounds = rounds_of(*g.baseline), my_rounds = rounds_of(row.record);
        if (row.record.point == g.baseline->point && row.record.json == g.baseline->json) {
          row.speedup_ci = std::make_pair(1.0, 1.0);  // the baseline against itself
          row.speedup_ci_coverage = 1;
        } else if (base_rounds.size() > 1 || my_rounds.size() > 1) {
          // Measured in rounds: the two-stage bootstrap keeps the spread between rounds.
          row.speedup_ci = bootstrap_ratio_ci(base_rounds, my_rounds);
          if (row.speedup_ci) {
            row.speedup_ci_coverage = kCiConfidence;
            row.speedup_ci_method = "bootstrap";
          }
        } else if (mine.ci_low > 0 && b.ci_low > 0) {
          row.speedup_ci = std::make_pair(b.ci_low / mine.ci_high, b.ci_high / mine.ci_low);
          if (b.ci_coverage >= 0 && mine.ci_coverage >= 0)
            row.speedup_ci_coverage = std::max(0.0, b.ci_coverage + mine.ci_coverage - 1);
        }
      }
      if (auto it = one_pe.find(series_of(row.record)); it != one_pe.end()) {
        row.relative =
            g.scaling == "weak" ? gustafson_scaled_speedup(pes, it->second, t) : it->second / t;
        // Karp-Flatt's serial fraction assumes p PEs that run at once: not for oversubscribed
        // points, whose PEs take turns; and a slowdown (relative speedup below 1) gives a
        // "serial fraction" above 1 (22609.8 was printed), which says nothing.
        if (g.scaling != "weak" && !row.record.oversubscribed && *row.relative >= 1)
          row.karp_flatt = karp_flatt(*row.relative, pes);
      }
      if (g.scaling == "strong" && !row.record.oversubscribed) {
        const std::string name = fit_series_of(row.record);
        series[name].first.push_back(pes);
        series[name].second.push_back(t);
      }
    }
    for (auto& [name, pt] : series) {
      if (std::set<double>(pt.first.begin(), pt.first.end()).size() < 2) continue;
      if (auto fit = fit_amdahl(pt.first, pt.second)) g.fits.push_back({name, *fit});
    }
  }
  return groups;
}

namespace {

/// A CSV field as RFC 4180 writes one: quoted, its quotes doubled, when it holds a comma, a
/// quote or a line break (a variant or kernel named so in a hand-made record shifted the
/// columns).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string csv_report(const std::vector<ReportGroup>& groups) {
  std::ostringstream out;
  out << "kernel,size,backend,variant,threads,ranks,median_s,ci_low_s,ci_high_s,ci_coverage,"
         "verified,speedup,efficiency,baseline_variant,baseline_median_s,speedup_ci_low,"
         "speedup_ci_high,speedup_ci_coverage,scaling,comparable_as,oversubscribed,provenance\n";
  for (const auto& g : groups)
    for (const auto& row : g.rows) {
      const Record& r = row.record;
      out << csv_field(g.kernel) << ',' << g.size << ',' << csv_field(r.backend) << ','
          << csv_field(r.variant) << ',' << r.threads << ',' << r.ranks << ',';
      // Records without a time (error records of failed points) keep their row, empty cells.
      if (r.time)
        out << r.time->median << ',' << r.time->ci_low << ',' << r.time->ci_high << ','
            << (r.time->ci_coverage >= 0 ? std::to_string(r.time->ci_coverage) : "");
      else
        out << ",,,";
      out << ',' << (r.status == "ok" ? "yes" : "no") << ',';
      if (row.speedup) out << *row.speedup;
      out << ',';
      if (row.efficiency) out << *row.efficiency;
      out << ',';
      if (g.baseline)
        out << csv_field(g.baseline->variant) << ',' << median_of(*g.baseline);
      else
        out << ',';
      out << ',';
      if (row.speedup_ci)
        out << row.speedup_ci->first << ',' << row.speedup_ci->second;
      else
        out << ',';
      out << ',';
      if (row.speedup_ci_coverage >= 0) out << row.speedup_ci_coverage;
      // Which group the row belongs to: two CPUs' or builds' rows of one kernel and size are
      // told apart by their provenance, as in the text report.
      const Json over = r.json.value("oversubscribed", Json());
      out << ',' << csv_field(g.scaling) << ',' << csv_field(g.comparable_as) << ','
          << (over.is_boolean() ? (over.get<bool>() ? "yes" : "no") : "") << ','
          << csv_field(g.provenance) << '\n';
    }
  return out.str();
}

Json analysis_json(const std::vector<ReportGroup>& groups) {
  auto opt = [](const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); };
  Json out = {{"schema", "pararun.analysis/1"}, {"groups", Json::array()}};
  for (const auto& g : groups) {
    Json jg = {{"kernel", g.kernel},
               {"comparable_as", g.comparable_as},
               {"size", g.size},
               {"scaling", g.scaling},
               {"provenance", g.provenance},
               {"baseline", nullptr},
               {"rows", Json::array()},
               {"fits", Json::array()}};
    if (g.baseline)
      jg["baseline"] = {{"variant", g.baseline->variant}, {"median_s", median_of(*g.baseline)}};
    for (const auto& row : g.rows) {
      const Record& r = row.record;
      Json jr = {{"kind", to_string(r.kind)},
                 {"series", fit_series_of(r)},
                 {"backend", r.backend},
                 {"variant", r.variant},
                 {"threads", r.threads},
                 {"ranks", r.ranks},
                 {"pes", r.pes},
                 {"size", r.size},
                 {"status", r.status},
                 {"verified", r.verified()},
                 {"oversubscribed", r.oversubscribed},
                 {"disturbed", disturbance(r)},
                 {"median_s", nullptr},
                 {"ci_s", nullptr},
                 {"rate", nullptr},
                 {"speedup", opt(row.speedup)},
                 {"efficiency", opt(row.efficiency)},
                 {"speedup_ci", row.speedup_ci
                                    ? Json::array({row.speedup_ci->first, row.speedup_ci->second})
                                    : Json(nullptr)},
                 {"speedup_ci_coverage",
                  row.speedup_ci_coverage >= 0 ? Json(row.speedup_ci_coverage) : Json(nullptr)},
                 {"speedup_ci_method", row.speedup_ci_method},
                 {"rounds", r.json.value("rounds_pooled", 1)},
                 {"relative", opt(row.relative)},
                 {"karp_flatt", opt(row.karp_flatt)}};
      if (!r.point.empty()) jr["point"] = r.point;
      if (r.time) {
        jr["median_s"] = r.time->median;
        jr["ci_s"] = {r.time->ci_low, r.time->ci_high};
        jr["ci_coverage"] = r.time->ci_coverage >= 0 ? Json(r.time->ci_coverage) : Json(nullptr);
      }
      if (r.rate) jr["rate"] = {{"value", r.rate->value}, {"unit", r.rate->unit}};
      jg["rows"].push_back(std::move(jr));
    }
    for (const auto& f : g.fits)
      jg["fits"].push_back(
          {{"series", f.series},
           {"model", "amdahl: T(p) = a + b / p"},
           {"a_s", f.fit.a},
           {"b_s", f.fit.b},
           {"serial_fraction", f.fit.applies() ? Json(f.fit.serial_fraction) : Json(nullptr)},
           {"max_speedup", f.fit.applies() && f.fit.tested() && f.fit.max_speedup > 0
                               ? Json(f.fit.max_speedup)
                               : Json(nullptr)},
           {"r2", f.fit.tested() ? Json(f.fit.r2) : Json(nullptr)},
           {"points", f.fit.points},
           {"distinct_p", f.fit.distinct_p},
           {"tested", f.fit.tested()},
           {"applies", f.fit.applies()}});
    out["groups"].push_back(std::move(jg));
  }
  return out;
}

std::string format_report(const std::vector<ReportGroup>& groups) {
  std::string out;
  for (const auto& g : groups) {
    if (!out.empty()) out += "\n";
    out += g.kernel + (g.comparable_as.empty() ? "" : " " + g.comparable_as) +
           (g.scaling == "weak" ? ", weak scaling from size " : ", size ") + std::to_string(g.size);
    // The kernel's own name for the problem (an NPB class), when it says more than the size.
    const std::string problem = g.rows.empty() ? "" : g.rows.front().record.problem;
    if (g.scaling != "weak" && !problem.empty() && problem.rfind("size ", 0) != 0)
      out += " [" + problem + "]";
    out += std::string(g.scaling == "strong" ? " (strong scaling)" : "");
    if (g.show_provenance && !g.provenance.empty()) out += ", " + g.provenance;
    out += ": ";
    if (g.scaling == "weak")
      out += "scaled speedup (Gustafson) p * T(1 PE) / T(p) per backend\n";
    else if (g.baseline)
      out += "speedup against the best verified sequential variant, " + g.baseline->variant +
             " (seq), median " + format_seconds(median_of(*g.baseline)) +
             // Every speedup of the group divides by it: a disturbed baseline is said here.
             (disturbance(*g.baseline).empty()
                  ? std::string()
                  : " (disturbed: " + printable(disturbance(*g.baseline)) +
                        "; every speedup below uses it)") +
             "\n";
    else
      out += "no verified sequential run, so no speedup\n";
    const bool weak = g.scaling == "weak";
    std::vector<std::string> header = {"backend", "variant", "threads", "ranks"};
    if (weak) header.push_back("size");
    for (const char* h : {"median", "CI of median (95% unless noted)", "rate", "verified"})
      header.push_back(h);
    if (!weak) header.insert(header.end(), {"speedup (interval)", "efficiency"});
    header.insert(header.end(), {weak ? "scaled" : "relative", "Karp-Flatt", "note"});
    Table t(header);
    std::set<std::string> rerun;  // points with a verified record: their errors are history
    for (const auto& row : g.rows)
      if (row.record.verified() && !row.record.point.empty()) rerun.insert(row.record.point);
    for (const auto& row : g.rows) {
      const Record& r = row.record;
      std::string note;
      if (r.oversubscribed) note = "oversubscribed: concurrency, not parallelism";
      if (const std::string why = disturbance(r); !why.empty())
        note += (note.empty() ? "disturbed: " : "; disturbed: ") + why;
      if (const int rounds = r.json.value("rounds_pooled", 1); rounds > 1)
        note += (note.empty() ? "" : "; ") + std::to_string(rounds) + " rounds pooled";
      if (r.kind == RecordKind::error) {
        const Json state = r.json.value("slurm_state", Json());  // a task Slurm ended
        note = "no result (" +
               (state.is_string() ? "Slurm " + state.get<std::string>()
                                  : "exit " + std::to_string(r.exit_code)) +
               ")" + (rerun.count(r.point) ? "; verified when run again" : "");
      }
      std::vector<std::string> cells = {r.backend, r.variant, std::to_string(r.threads),
                                        std::to_string(r.ranks)};
      if (weak) cells.push_back(std::to_string(r.size));
      cells.push_back(r.time ? format_seconds(r.time->median) : "-");
      cells.push_back(r.time
                          ? format_seconds(r.time->ci_low) + " .. " +
                                format_seconds(r.time->ci_high) + coverage_note(r.time->ci_coverage)
                          : "-");
      cells.push_back(r.rate ? format("%.2f %s", r.rate->value, r.rate->unit.c_str()) : "-");
      // An error record is a point that never ran to a result, not a failed verification.
      cells.push_back(r.verified() ? "yes" : r.kind == RecordKind::error ? "no run" : "FAILED");
      if (!weak) {
        std::string speedup = row.speedup ? format("%.2fx", *row.speedup) : "-";
        if (row.speedup && row.speedup_ci && row.speedup_ci_coverage < 1)
          speedup += format(" (%.2f-%.2f)", row.speedup_ci->first, row.speedup_ci->second);
        cells.push_back(speedup);
        cells.push_back(row.efficiency ? format("%.2f", *row.efficiency) : "-");
      }
      cells.push_back(row.relative ? format("%.2fx", *row.relative) : "-");
      cells.push_back(row.karp_flatt ? format("%.3f", *row.karp_flatt) : "-");
      cells.push_back(note);
      t.add(cells);
    }
    out += t.str();
    double coverage = 1;  // the least coverage of this group's order-statistics intervals
    bool bootstrapped = false;
    for (const auto& row : g.rows) {
      bootstrapped |= row.speedup_ci && row.speedup_ci_method == "bootstrap";
      if (row.speedup_ci && row.speedup_ci_method != "bootstrap" && row.speedup_ci_coverage >= 0 &&
          row.speedup_ci_coverage < 1)
        coverage = std::min(coverage, row.speedup_ci_coverage);
    }
    if (bootstrapped)
      out +=
          "speedup intervals of points measured in rounds: 95% percentile bootstrap, two "
          "stages (the rounds, then the repetitions within each), 2000 resamples\n";
    if (coverage <= 0)  // (two 50% intervals of 2 samples: Bonferroni's bound is 0)
      out +=
          "speedup intervals: [baseline CI low / CI high, baseline CI high / CI low]; with so "
          "few repetitions no probability that they hold the speedup can be stated (--reps 6 "
          "or more gives at least 90%)\n";
    else if (coverage < 1)
      out += format(
          "speedup intervals: [baseline CI low / CI high, baseline CI high / CI low], which "
          "holds the speedup with at least %.0f%% probability (both medians in their "
          "intervals at once)\n",
          100 * coverage);
    for (const auto& f : g.fits) {
      if (!f.fit.applies())
        out += format(
            "model, Amdahl's law does not describe %s: the best T(p) = a + b / p has a = %.4g s "
            "and b = %.4g s (%s), so no serial fraction and no prediction\n",
            f.series.c_str(), f.fit.a, f.fit.b,
            f.fit.b <= 0 ? "the time does not fall as p grows" : "faster than 1/p: superlinear");
      else if (f.fit.tested())
        out += format(
            "model, Amdahl fit of %s: T(p) = %.4g s + %.4g s / p, serial fraction %.3f, "
            "predicted maximum speedup %s, R^2 %.3f over %d distinct PE counts (%d points)\n",
            f.series.c_str(), f.fit.a, f.fit.b, f.fit.serial_fraction,
            f.fit.max_speedup > 0 ? format("%.1fx", f.fit.max_speedup).c_str() : "unbounded",
            f.fit.r2, f.fit.distinct_p, f.fit.points);
      else
        out += format(
            "model, Amdahl curve through %s: T(p) = %.4g s + %.4g s / p, serial fraction %.3f; "
            "only %d distinct PE counts, so the model passes through them: no test of it, no "
            "prediction (at least %d are needed)\n",
            f.series.c_str(), f.fit.a, f.fit.b, f.fit.serial_fraction, f.fit.distinct_p,
            AmdahlFit::kMinDistinctP);
    }
  }
  return out;
}

}  // namespace pararun
