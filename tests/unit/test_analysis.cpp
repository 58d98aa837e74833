#include <gtest/gtest.h>

#include <map>

#include "pararun/analysis.hpp"
#include "pararun/compare.hpp"
#include "pararun/stats.hpp"
#include "typed_records.hpp"

using namespace pararun;
using pararun::test::typed;

namespace {

Json rec(const std::string& kernel, const std::string& backend, const std::string& variant,
         int threads, int ranks, double median, bool ok = true, std::uint64_t size = 100) {
  return {{"schema", kRecordSchema},
          {"kernel", kernel},
          {"backend", backend},
          {"variant", variant},
          {"size", size},
          {"threads", threads},
          {"ranks", ranks},
          {"pes", threads * ranks},
          {"rate", {{"value", 1.0}, {"unit", "GFLOP/s"}}},
          {"oversubscribed", threads * ranks > 2},
          {"time", {{"median", median}, {"ci", {median * 0.9, median * 1.1}}}},
          {"status", ok ? "ok" : "verification_failed"}};
}

}  // namespace

TEST(Analysis, SpeedupAgainstBestVerifiedSequential) {
  std::vector<Json> records = {
      rec("mm", "seq", "naive", 1, 1, 2.0),
      rec("mm", "seq", "fast", 1, 1, 0.1, /*ok=*/false),  // faster but unverified: not a baseline
      rec("mm", "seq", "blas", 1, 1, 1.0),
      rec("mm", "omp", "blas", 2, 1, 0.5),
      rec("mm", "mpi", "blas", 1, 4, 0.4),
      rec("mm", "mpi", "naive", 1, 2, 0.3, /*ok=*/false),
      // Verified, but a median of 0 (a clock too coarse for the run): no time, no baseline.
      rec("mm", "seq", "coarse", 1, 1, 0.0),
  };
  auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 1u);
  const auto& g = groups[0];
  ASSERT_TRUE(g.baseline.has_value());
  EXPECT_EQ(g.baseline->variant, "blas");
  ASSERT_EQ(g.rows.size(), 7u);
  EXPECT_FALSE(g.rows[6].speedup.has_value());
  EXPECT_DOUBLE_EQ(*g.rows[0].speedup, 0.5);
  EXPECT_FALSE(g.rows[1].speedup.has_value());
  EXPECT_DOUBLE_EQ(*g.rows[2].speedup, 1.0);
  EXPECT_DOUBLE_EQ(*g.rows[3].speedup, 2.0);
  EXPECT_DOUBLE_EQ(*g.rows[3].efficiency, 1.0);
  EXPECT_DOUBLE_EQ(*g.rows[4].speedup, 2.5);
  EXPECT_DOUBLE_EQ(*g.rows[4].efficiency, 0.625);
  EXPECT_FALSE(g.rows[5].speedup.has_value());

  const std::string text = format_report(groups);
  EXPECT_NE(text.find("best verified sequential variant, blas (seq), median 1.000 s"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("FAILED"), std::string::npos);
  EXPECT_NE(text.find("2.50x"), std::string::npos);
  EXPECT_NE(text.find("oversubscribed"), std::string::npos);
}

TEST(Analysis, ADisturbedBaselineIsNamedInTheGroupsHeader) {
  Json base = rec("mm", "seq", "blas", 1, 1, 1.0);
  base["meta"]["host_load"] = {{"disturbed", true}, {"why", "others used 50% of the CPUs"}};
  const std::string text =
      format_report(analyse(typed({base, rec("mm", "omp", "blas", 2, 1, 0.5)})));
  EXPECT_NE(text.find("median 1.000 s (disturbed: others used 50% of the CPUs; every speedup "
                      "below uses it)\n"),
            std::string::npos)
      << text;
  base.erase("meta");
  EXPECT_NE(format_report(analyse(typed({base}))).find("median 1.000 s\n"), std::string::npos);
}

TEST(Analysis, SpeedupsCarryAnIntervalFromBothMediansIntervals) {
  // Baseline 1.0 s in [0.9, 1.1] (95.0%), omp 0.5 s in [0.45, 0.55] (96.1%).
  Json base = rec("mm", "seq", "blas", 1, 1, 1.0), omp = rec("mm", "omp", "blas", 2, 1, 0.5);
  base["time"]["ci_coverage"] = 0.95;
  omp["time"]["ci_coverage"] = 0.961;
  const Json unknown = rec("mm", "mpi", "blas", 1, 2, 0.5);  // a version-1 record: no coverage
  auto groups = analyse(typed({base, omp, unknown}));
  ASSERT_EQ(groups.size(), 1u);
  const auto& rows = groups[0].rows;
  ASSERT_TRUE(rows[0].speedup_ci && rows[1].speedup_ci && rows[2].speedup_ci);
  EXPECT_EQ(*rows[0].speedup_ci, std::make_pair(1.0, 1.0));  // the baseline itself
  EXPECT_DOUBLE_EQ(rows[0].speedup_ci_coverage, 1.0);
  EXPECT_DOUBLE_EQ(rows[1].speedup_ci->first, 0.9 / 0.55);
  EXPECT_DOUBLE_EQ(rows[1].speedup_ci->second, 1.1 / 0.45);
  EXPECT_NEAR(rows[1].speedup_ci_coverage, 0.911, 1e-12);  // Bonferroni: 1 - 0.05 - 0.039
  EXPECT_DOUBLE_EQ(rows[2].speedup_ci_coverage, -1);
  const std::string text = format_report(groups);
  EXPECT_NE(text.find("2.00x (1.64-2.44)"), std::string::npos) << text;
  const std::string csv = csv_report(groups);
  EXPECT_NE(csv.find(",speedup_ci_low,speedup_ci_high,speedup_ci_coverage,scaling,comparable_as,"
                     "oversubscribed,provenance\n"),
            std::string::npos)
      << csv;
  const Json j = analysis_json(groups);
  EXPECT_NEAR(j["groups"][0]["rows"][1]["speedup_ci"][1].get<double>(), 1.1 / 0.45, 1e-12);
  EXPECT_TRUE(j["groups"][0]["rows"][2]["speedup_ci_coverage"].is_null());
}

TEST(Analysis, GroupsByKernelAndSizeAndNeedsASequentialRun) {
  std::vector<Json> records = {rec("a", "seq", "x", 1, 1, 1.0, true, 10),
                               rec("a", "omp", "x", 2, 1, 1.0, true, 20),
                               rec("b", "seq", "x", 1, 1, 1.0, true, 10)};
  auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_FALSE(groups[1].baseline.has_value());
  EXPECT_FALSE(groups[1].rows[0].speedup.has_value());
  EXPECT_NE(format_report(groups).find("no verified sequential run"), std::string::npos);
}

TEST(Analysis, RecordsOfAnotherBuildCpuOrSeedAreAnotherGroup) {
  auto from = [](Json r, const char* commit, const char* cpu) {
    r["meta"] = {{"build", {{"git_commit", commit}, {"flags", "-O3"}}}, {"cpu_model", cpu}};
    return r;
  };
  Json error = rec("a", "omp", "x", 2, 1, 1.0);  // an error record carries no metadata
  error["kind"] = "error";
  error["status"] = "error";
  error.erase("time");
  std::vector<Json> records = {from(rec("a", "seq", "x", 1, 1, 2.0), "c1", "h"),
                               from(rec("a", "omp", "x", 2, 1, 1.0), "c1", "h"),
                               from(rec("a", "seq", "x", 1, 1, 1.0), "c2", "h"), error,
                               from(rec("a", "omp", "x", 2, 1, 0.5), "c1", "other")};
  const auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 3u);  // c1 on h, c2 on h (with the error record), c1 on other
  // (hosts do not count: a study on a cluster spans hosts of one kind)
  EXPECT_EQ(groups[0].rows.size(), 2u);
  EXPECT_DOUBLE_EQ(*groups[0].rows[1].speedup, 2.0);  // against c1's own baseline, not c2's
  EXPECT_EQ(groups[1].rows.size(), 2u);
  EXPECT_FALSE(groups[2].baseline.has_value());  // no sequential run on that CPU
  const std::string report = format_report(groups);
  EXPECT_NE(report.find("a, size 100, build c1 -O3 on h: "), std::string::npos) << report;
  EXPECT_NE(report.find("build c1 -O3 on other"), std::string::npos);
  // The CSV names each row's group too (the last column).
  const std::string csv = csv_report(groups);
  EXPECT_NE(csv.find(",none,,no,build c1 -O3 on other\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",none,,no,build c2 -O3 on h\n"), std::string::npos) << csv;
  // One build on one host: the report does not name it.
  records.resize(2);
  EXPECT_EQ(format_report(analyse(typed(records))).find("build c1"), std::string::npos);
  // Another seed is other input data: its own group, named.
  records[1]["seed"] = 7;
  records[0]["seed"] = 42;
  const auto by_seed = analyse(typed(records));
  ASSERT_EQ(by_seed.size(), 2u);
  EXPECT_FALSE(by_seed[1].baseline.has_value());  // the omp record has no seq run of seed 7
  EXPECT_NE(format_report(by_seed).find("build c1 -O3 on h, seed 7: "), std::string::npos);
}

TEST(Analysis, ARebuiltDirtyCommitIsAnotherBuild) {
  // One "-dirty" commit built twice with other edits: its records name two build IDs, and the
  // second build's omp run is not measured against the first build's seq run.
  auto built = [](Json r, const char* id) {
    r["meta"] = {{"build", {{"git_commit", "c1-dirty"}, {"flags", "-O3"}, {"build_id", id}}},
                 {"cpu_model", "h"}};
    return r;
  };
  const std::vector<Json> records = {
      built(rec("a", "seq", "x", 1, 1, 2.0), "0123456789abcdef0123"),
      built(rec("a", "omp", "x", 2, 1, 0.5), "fedcba98765432100123")};
  const auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_FALSE(groups[1].baseline.has_value());
  EXPECT_FALSE(groups[1].rows[0].speedup.has_value());
  const std::string report = format_report(groups);
  EXPECT_NE(report.find("build c1-dirty (id 0123456789ab) -O3 on h: "), std::string::npos)
      << report;
  EXPECT_NE(report.find("build c1-dirty (id fedcba987654) -O3 on h: "), std::string::npos);
}

TEST(Analysis, ReportNamesTheProblemWhenTheKernelDoes) {
  Json seq = rec("cg", "seq", "csr", 1, 1, 1.0, true, 1400);
  seq["problem"] = "NPB CG class S (na = 1400)";
  Json omp = rec("cg", "omp", "csr", 2, 1, 0.5, true, 1400);
  omp["problem"] = seq["problem"];
  for (auto* r : {&seq, &omp}) (*r)["scaling"] = "strong";
  const std::string text = format_report(analyse(typed({seq, omp})));
  EXPECT_NE(text.find("cg, size 1400 [NPB CG class S (na = 1400)] (strong scaling): speedup"),
            std::string::npos)
      << text;
  // A plain "size N (meaning)" adds nothing to the heading and is left out.
  Json plain = rec("mm", "seq", "naive", 1, 1, 1.0);
  plain["problem"] = "size 100 (n: the rows)";
  EXPECT_EQ(format_report(analyse(typed({plain}))).find("["), std::string::npos);
}

TEST(Analysis, VariantsThatComputeDifferentThingsAreNeverEachOthersBaseline) {
  // STREAM: sequential copy is faster than omp triad, but a triad is compared with a triad.
  Json copy = rec("stream", "seq", "copy", 1, 1, 1.0);
  copy["comparable_as"] = "copy";
  Json triad = rec("stream", "seq", "triad", 1, 1, 1.5);
  triad["comparable_as"] = "triad";
  Json omp_triad = rec("stream", "omp", "triad", 2, 1, 1.0);
  omp_triad["comparable_as"] = "triad";
  const auto groups = analyse(typed({copy, triad, omp_triad}));
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].comparable_as, "triad");
  EXPECT_EQ(groups[1].baseline->variant, "triad");
  EXPECT_DOUBLE_EQ(*groups[1].rows[1].speedup, 1.5);  // 1.5 / 1.0, not copy's 1.0 / 1.0
  EXPECT_NE(format_report(groups).find("stream triad, size 100"), std::string::npos);
}

TEST(Analysis, NoKarpFlattForOversubscribedPoints) {
  Json seq = rec("mm", "seq", "x", 1, 1, 1.0);
  Json one = rec("mm", "mpi", "x", 1, 1, 1.0);
  Json four = rec("mm", "mpi", "x", 1, 4, 1.2);  // 4 PEs > 2: oversubscribed (rec marks it)
  for (auto* r : {&seq, &one, &four}) (*r)["scaling"] = "strong";
  const auto groups = analyse(typed({seq, one, four}));
  ASSERT_TRUE(groups[0].rows[2].record.oversubscribed);
  EXPECT_TRUE(groups[0].rows[2].relative.has_value());
  EXPECT_FALSE(groups[0].rows[2].karp_flatt.has_value());
}

TEST(Analysis, NoKarpFlattForASlowdownAndNoProbabilityFromTwoSamples) {
  // Slower on 2 PEs than on 1: e = (1/0.5 - 1/2) / (1 - 1/2) = 3, a "serial fraction" of 300%.
  Json seq = rec("mm", "seq", "x", 1, 1, 1.0), one = rec("mm", "omp", "x", 1, 1, 1.0);
  Json two = rec("mm", "omp", "x", 2, 1, 2.0), fast = rec("mm", "mpi", "x", 1, 1, 1.0);
  Json fast2 = rec("mm", "mpi", "x", 1, 2, 0.6);
  for (auto* r : {&seq, &one, &two, &fast, &fast2}) (*r)["time"]["ci_coverage"] = 0.5;
  const auto groups = analyse(typed({seq, one, two, fast, fast2}));
  ASSERT_EQ(groups[0].rows.size(), 5u);
  EXPECT_DOUBLE_EQ(*groups[0].rows[2].relative, 0.5);
  EXPECT_FALSE(groups[0].rows[2].karp_flatt.has_value());
  ASSERT_TRUE(groups[0].rows[4].karp_flatt.has_value());  // a speedup keeps its figure
  EXPECT_NEAR(*groups[0].rows[4].karp_flatt, (1 / (1 / 0.6) - 0.5) / 0.5, 1e-12);
  // Two 50% intervals (2 samples each): Bonferroni bounds nothing; said, not "at least 0%".
  const std::string text = format_report(groups);
  EXPECT_EQ(text.find("at least 0%"), std::string::npos) << text;
  EXPECT_NE(text.find("no probability that they hold the speedup can be stated"), std::string::npos)
      << text;
}

TEST(Compare, VerdictsFromTheTestAndTheThreshold) {
  auto with = [](const std::string& variant, std::vector<double> samples) {
    Json j = rec("a", "seq", variant, 1, 1, pararun::median(samples));
    j["samples"] = samples;
    return j;
  };
  const std::vector<double> base = {1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01, 0.99};
  auto scaled = [&](double f) {
    std::vector<double> v;
    for (double x : base) v.push_back(x * f);
    return v;
  };
  const std::vector<Json> before = {with("same", base), with("slow", base), with("fast", base),
                                    with("tiny", base), with("gone", base)};
  const std::vector<Json> after = {with("same", base), with("slow", scaled(1.2)),
                                   with("fast", scaled(0.8)), with("tiny", scaled(1.01)),
                                   with("new", base)};
  const auto rows = compare_records(typed(before), typed(after), {});
  std::map<std::string, std::string> verdict;
  for (const auto& c : rows) verdict[c.variant] = c.verdict;
  EXPECT_EQ(verdict["same"], "no change");
  EXPECT_EQ(verdict["slow"], "slower");
  EXPECT_EQ(verdict["fast"], "faster");
  EXPECT_EQ(verdict["tiny"], "no change");  // significant, but within the 2% threshold
  EXPECT_EQ(verdict["gone"], "only before");
  EXPECT_EQ(verdict["new"], "only after");
  const std::string text = format_comparison(rows, {});
  EXPECT_NE(text.find("1 slower, 1 faster"), std::string::npos) << text;

  // Verified before, failed after: a regression of its own. A median of 0 (a clock too
  // coarse) is no time to divide by: from it to a time is slower, and two of them no time. A
  // disturbed side is said beside the verdict.
  const Json failed = rec("a", "seq", "broke", 1, 1, 1.0, /*ok=*/false);
  Json disturbed = with("busy", scaled(1.2));
  disturbed["meta"]["host_load"] = {{"disturbed", true}, {"why", "others used 50% of the CPUs"}};
  const auto more =
      compare_records(typed({with("broke", base), with("zero", {0, 0, 0}), with("busy", base),
                             with("nil", {0, 0})}),
                      typed({failed, with("zero", base), disturbed, with("nil", {0, 0})}), {});
  std::map<std::string, Comparison> by;
  for (const auto& c : more) by[c.variant] = c;
  EXPECT_EQ(by["broke"].verdict, "failed after");
  EXPECT_EQ(by["zero"].verdict, "slower");
  EXPECT_EQ(by["nil"].verdict, "no time");
  EXPECT_EQ(by["busy"].verdict, "slower");
  EXPECT_EQ(by["busy"].note, "after disturbed");
  const std::string more_text = format_comparison(more, {});
  EXPECT_NE(more_text.find("slower (after disturbed)"), std::string::npos) << more_text;
  EXPECT_NE(more_text.find("2 slower, 0 faster, 1 verified before and failed after"),
            std::string::npos)
      << more_text;
}

TEST(Analysis, CsvQuotesFieldsThatHoldCommasQuotesOrLineBreaks) {
  std::vector<Json> records = {rec("k,1", "seq", "plain,fast", 1, 1, 1.0, true, 10),
                               rec("k,1", "omp", "q\"uote", 2, 1, 0.5, true, 10),
                               rec("k,1", "omp", "x\ny", 2, 1, 0.5, true, 10)};
  const std::string csv = csv_report(analyse(typed(records)));
  // RFC 4180: split the text into rows of fields, quotes and all.
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (std::size_t i = 0; i < csv.size(); ++i) {
    const char c = csv[i];
    if (quoted && c == '"' && i + 1 < csv.size() && csv[i + 1] == '"') {
      rows.back().back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == ',') {
      rows.back().emplace_back();
    } else if (!quoted && c == '\n') {
      rows.emplace_back(1);
    } else {
      rows.back().back() += c;
    }
  }
  rows.pop_back();  // (after the last line break)
  ASSERT_EQ(rows.size(), 4u) << csv;
  for (const auto& row : rows) EXPECT_EQ(row.size(), 22u) << csv;
  EXPECT_EQ(rows[1][0], "k,1");
  EXPECT_EQ(rows[1][3], "plain,fast");
  std::set<std::string> variants = {rows[2][3], rows[3][3]};
  EXPECT_EQ(variants, (std::set<std::string>{"q\"uote", "x\ny"}));
  EXPECT_EQ(rows[2][13], "plain,fast");  // the baseline's variant
}
