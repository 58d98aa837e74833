#include "pararun/study.hpp"
#include "typed_records.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "fake_kernel.hpp"
#include "pararun/analysis.hpp"
#include "pararun/stats.hpp"

using namespace pararun;
using pararun::test::typed;

namespace {

StudySpec spec_for(std::vector<Backend> backends) {
  StudySpec s;
  s.kernels = {"matmul"};
  s.backends = std::move(backends);
  s.threads = {1, 2};
  s.ranks = {1, 2};
  s.sizes = {{"", 100}};
  return s;
}

std::vector<std::string> ids(const std::vector<Point>& points) {
  std::vector<std::string> out;
  for (const auto& p : points) out.push_back(p.id);
  return out;
}

}  // namespace

TEST(Study, SeveralSizesOfOneKernelEachGetTheirPoints) {
  StudySpec s = spec_for({Backend::omp});
  s.sizes = {{"matmul", 64}, {"matmul", 128}};
  const auto list = ids(plan_points(s, Registry::global()));
  EXPECT_EQ(list, (std::vector<std::string>{
                      "matmul/omp/blocked/n64/t1/r1", "matmul/omp/blocked/n64/t2/r1",
                      "matmul/omp/blocked/n128/t1/r1", "matmul/omp/blocked/n128/t2/r1"}));
}

TEST(Study, APointKeptAsJsonReadsBackTheSame) {
  // What slurm/submitted.json keeps of each array task's point, for the error record of a
  // point whose node was lost.
  StudySpec s = spec_for({Backend::hybrid});
  s.scaling = "weak";
  s.rounds = 2;
  for (const Point& p : plan_points(s, Registry::global())) {
    const auto back = point_from_json(Json::parse(point_json(p).dump()));
    ASSERT_TRUE(back.has_value()) << p.id;
    EXPECT_EQ(point_json(*back), point_json(p));
    EXPECT_EQ(back->base_size, 100u);
    EXPECT_GT(back->round, 0);
  }
  Json broken = point_json(plan_points(s, Registry::global()).front());
  broken["backend"] = "gpu";
  EXPECT_FALSE(point_from_json(broken).has_value());
  broken.erase("backend");
  EXPECT_FALSE(point_from_json(broken).has_value());
}

TEST(Study, ACoreBudgetPlansEveryShapeOfIt) {
  StudySpec s = spec_for({Backend::omp, Backend::mpi, Backend::hybrid});
  s.cores = 6;
  s.threads = {1, 2};  // replaced by the budget
  EXPECT_EQ(ids(plan_points(s, Registry::global())),
            (std::vector<std::string>{
                "matmul/omp/blocked/n100/t6/r1", "matmul/mpi/blocked/n100/t1/r6",
                "matmul/hybrid/blocked/n100/t6/r1", "matmul/hybrid/blocked/n100/t3/r2",
                "matmul/hybrid/blocked/n100/t2/r3", "matmul/hybrid/blocked/n100/t1/r6"}));
}

TEST(Study, VariantsOfParallelBackendsEachRunWhereTheBackendHasThem) {
  StudySpec s = spec_for({Backend::omp, Backend::mpi});
  s.threads = {2};
  s.ranks = {2};
  s.variants = {"eigen", "blocked"};
  const auto list = ids(plan_points(s, Registry::global()));
  // In the kernel's order of variants, for each backend.
  EXPECT_EQ(list, (std::vector<std::string>{
                      "matmul/omp/blocked/n100/t2/r1", "matmul/omp/eigen/n100/t2/r1",
                      "matmul/mpi/blocked/n100/t1/r2", "matmul/mpi/eigen/n100/t1/r2"}));
  s.variants = {"nosuch"};
  try {
    plan_points(s, Registry::global());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--variants nosuch: no parallel backend of the study has "
                                         "one of them for 'matmul'; its parallel variants: "
                                         "omp/blocked"),
              std::string::npos)
        << e.what();
  }
}

TEST(Study, PlansEverySequentialVariantAndEachCount) {
  StudySpec s = spec_for({Backend::seq, Backend::omp, Backend::mpi, Backend::hybrid});
  s.oversubscribed_ranks = 4;
  const auto points = plan_points(s, Registry::global());
  const auto list = ids(points);
  // Every sequential variant a study runs: all but the forced micro-kernels (blocked-*).
  std::size_t seq = 0, forced = 0;
  for (const auto& v : Registry::global().find("matmul")->variants_of(Backend::seq)) {
    seq += v.in_studies ? 1 : 0;
    forced += v.name.rfind("blocked-", 0) == 0 ? 1 : 0;
  }
  EXPECT_GE(forced, 1u);  // blocked-portable at least
  EXPECT_EQ(seq + forced, Registry::global().find("matmul")->variants_of(Backend::seq).size());
  EXPECT_EQ(points.size(), seq + 2 + 3 + 4);
  EXPECT_NE(std::find(list.begin(), list.end(), "matmul/seq/naive/n100/t1/r1"), list.end());
  EXPECT_EQ(std::find(list.begin(), list.end(), "matmul/seq/blocked-portable/n100/t1/r1"),
            list.end());
  EXPECT_NE(std::find(list.begin(), list.end(), "matmul/omp/blocked/n100/t2/r1"), list.end());
  EXPECT_NE(std::find(list.begin(), list.end(), "matmul/mpi/blocked/n100/t1/r4"), list.end());
  EXPECT_NE(std::find(list.begin(), list.end(), "matmul/hybrid/blocked/n100/t2/r2"), list.end());
}

TEST(Study, OversubscribedPointAlreadyListedRunsOnce) {
  StudySpec s = spec_for({Backend::mpi});
  s.oversubscribed_ranks = 2;
  EXPECT_EQ(plan_points(s, Registry::global()).size(), 2u);
}

TEST(Study, WeakScalingKeepsWorkPerPeConstant) {
  StudySpec s = spec_for({Backend::omp, Backend::mpi});
  s.kernels = {"matmul", "reduction"};
  s.sizes = {{"matmul", 1000}, {"reduction", 1000}};
  s.scaling = "weak";
  s.ranks = {1, 8};
  for (const auto& p : plan_points(s, Registry::global())) {
    EXPECT_EQ(p.base_size, 1000u);
    const std::uint64_t expected = p.kernel == "reduction" ? 1000u * p.pes()
                                   : p.pes() == 8          ? 2000u  // 1000 * 8^(1/3)
                                   : p.pes() == 2          ? 1260u  // 1000 * 2^(1/3)
                                                           : 1000u;
    EXPECT_EQ(p.size, expected) << p.id;
  }
}

TEST(Study, BadStudiesNameTheProblem) {
  auto message = [](StudySpec s, const Registry& r = Registry::global()) {
    try {
      plan_points(s, r);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  StudySpec s = spec_for({Backend::seq});
  s.kernels = {"nosuch"};
  EXPECT_EQ(message(s).rfind("unknown kernel 'nosuch'", 0), 0u);
  s = spec_for({Backend::omp});
  s.threads = {0};
  EXPECT_EQ(message(s), "thread counts must be at least 1, got 0");
  s = spec_for({});
  EXPECT_EQ(message(s), "the study has no backends");
  s = spec_for({Backend::seq});
  s.scaling = "diagonal";
  EXPECT_EQ(message(s), "scaling must be strong or weak, got 'diagonal'");
  s = spec_for({Backend::seq});
  s.sizes = {{"reduction", 10}};
  EXPECT_EQ(message(s), "no size given for kernel 'matmul'");
  Registry fakes;
  fakes.add(std::make_unique<test::FakeKernel>());
  s = spec_for({Backend::seq});
  s.kernels = {"fake"};
  s.scaling = "weak";
  EXPECT_EQ(message(s, fakes), "weak scaling is not defined for kernel 'fake'");
  s.scaling = "strong";
  s.backends = {Backend::mpi};
  EXPECT_EQ(message(s, fakes), "kernel 'fake' does not support backend 'mpi'");
}

TEST(Study, LaunchersFollowTheConventions) {
  Point p;
  p.backend = Backend::omp;
  EXPECT_TRUE(launcher_prefix(p, "mpirun", 2).empty());
  p.backend = Backend::mpi;
  p.ranks = 2;
  EXPECT_EQ(launcher_prefix(p, "mpirun", 2),
            (std::vector<std::string>{"mpirun", "-n", "2", "--bind-to", "core"}));
  p.ranks = 4;
  EXPECT_EQ(
      launcher_prefix(p, "mpirun", 2),
      (std::vector<std::string>{"mpirun", "-n", "4", "--oversubscribe", "--bind-to", "none"}));
  p.backend = Backend::hybrid;
  p.ranks = 1;
  p.threads = 2;
  EXPECT_EQ(launcher_prefix(p, "mpirun", 2),
            (std::vector<std::string>{"mpirun", "-n", "1", "--map-by", "slot:PE=2", "--bind-to",
                                      "core"}));
  EXPECT_EQ(launcher_prefix(p, "srun", 2),
            (std::vector<std::string>{"srun", "-n", "1", "--cpus-per-task", "2",
                                      "--kill-on-bad-exit=1", "--cpu-bind=cores"}));
  // A batch job's launcher is pinned to the job's CPUs already: the ranks stay where it is.
  const LaunchShape job{Backend::hybrid, 2, 2};
  EXPECT_EQ(launcher_prefix(job, "mpirun", 4, Placement::inherit),
            (std::vector<std::string>{"mpirun", "-n", "2", "--bind-to", "none"}));
  EXPECT_EQ(launcher_prefix(job, "srun", 4, Placement::inherit),
            (std::vector<std::string>{"srun", "-n", "2", "--cpus-per-task", "2",
                                      "--kill-on-bad-exit=1", "--cpu-bind=none"}));
  EXPECT_EQ(launcher_prefix(job, "srun", 2).back(), "--overcommit");
}

TEST(Study, RunArgumentsCarryThePointAndOnlyVerifiedPointsAreDone) {
  StudySpec s = spec_for({Backend::omp});
  const auto points = plan_points(s, Registry::global());
  const auto args = run_arguments(points[1], s, "r.jsonl");
  auto has = [&](const std::string& a, const std::string& b) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == a && args[i + 1] == b) return true;
    return false;
  };
  EXPECT_TRUE(has("--point", points[1].id));
  EXPECT_TRUE(has("--threads", "2"));
  EXPECT_TRUE(has("--out", "r.jsonl"));
  EXPECT_TRUE(has("--scaling", "strong"));
  std::vector<Record> records(4);
  for (auto& r : records) r.time = TimeStats{};
  records[0].point = "a";
  records[0].status = "ok";
  records[1].point = "b";
  records[1].status = "verification_failed";
  records[2].point = "c";
  records[2].status = "error";
  records[2].time.reset();
  records[3].status = "ok";  // no point: not of a study
  EXPECT_EQ(completed_points(records), std::vector<std::string>{"a"});
}

namespace {

Json rec(const std::string& backend, int threads, int ranks, double median,
         const std::string& scaling = "strong", std::uint64_t size = 100) {
  return {{"schema", kRecordSchema},
          {"kernel", "k"},
          {"backend", backend},
          {"variant", "v"},
          {"size", size},
          {"base_size", 100},
          {"scaling", scaling},
          {"threads", threads},
          {"ranks", ranks},
          {"pes", threads * ranks},
          {"rate", {{"value", 1.0}, {"unit", "GFLOP/s"}}},
          {"status", "ok"},
          {"time", {{"median", median}, {"ci", {median, median}}}}};
}

}  // namespace

TEST(StudyAnalysis, RelativeSpeedupKarpFlattAndAmdahlFit) {
  // T(p) = 2 + 18 / p for the omp series: serial fraction 0.1.
  std::vector<Json> records = {rec("seq", 1, 1, 20.0)};
  for (int p : {1, 2, 4, 8}) records.push_back(rec("omp", p, 1, 2 + 18.0 / p));
  records.push_back({{"schema", kRecordSchema},
                     {"kernel", "k"},
                     {"backend", "mpi"},
                     {"variant", "v"},
                     {"size", 100},
                     {"scaling", "strong"},
                     {"threads", 1},
                     {"ranks", 2},
                     {"pes", 2},
                     {"kind", "error"},
                     {"status", "error"},
                     {"exit_code", 139}});
  const auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 1u);
  const auto& g = groups[0];
  ASSERT_EQ(g.rows.size(), 6u);
  EXPECT_DOUBLE_EQ(*g.rows[4].relative, 20.0 / 4.25);
  EXPECT_NEAR(*g.rows[4].karp_flatt, 0.1, 1e-12);
  EXPECT_FALSE(g.rows[5].speedup.has_value());
  ASSERT_EQ(g.fits.size(), 1u);
  EXPECT_EQ(g.fits[0].series, "omp/v");
  EXPECT_NEAR(g.fits[0].fit.serial_fraction, 0.1, 1e-9);
  const std::string text = format_report(groups);
  EXPECT_NE(text.find("model, Amdahl fit of omp/v"), std::string::npos) << text;
  EXPECT_NE(text.find("serial fraction 0.100"), std::string::npos) << text;
  EXPECT_NE(text.find("R^2 1.000 over 4 distinct PE counts (4 points)"), std::string::npos) << text;
  EXPECT_NE(text.find("no result (exit 139)"), std::string::npos) << text;
}

TEST(StudyAnalysis, HybridShapesAreSeriesOfTheirOwnAndTwoPeCountsAreNoFit) {
  // 1x1, 2x1 and 1x2 are three points but only two PE counts (2x1 and 1x2 are both p = 2).
  std::vector<Json> records = {rec("seq", 1, 1, 10.0), rec("hybrid", 1, 1, 10.0),
                               rec("hybrid", 2, 1, 5.5), rec("hybrid", 1, 2, 5.2),
                               rec("hybrid", 2, 2, 2.9)};
  const auto groups = analyse(typed(records));
  ASSERT_EQ(groups[0].fits.size(), 2u);  // 1 thread per rank over 1, 2 ranks; 2 threads too
  EXPECT_EQ(groups[0].fits[0].series, "hybrid/v 1t/rank");
  EXPECT_EQ(groups[0].fits[0].fit.distinct_p, 2);
  EXPECT_FALSE(groups[0].fits[0].fit.tested());
  const std::string text = format_report(groups);
  EXPECT_EQ(text.find("predicted maximum speedup"), std::string::npos) << text;
  EXPECT_EQ(text.find("R^2"), std::string::npos) << text;
  EXPECT_NE(text.find("only 2 distinct PE counts, so the model passes through them"),
            std::string::npos)
      << text;
  const Json a = analysis_json(groups);
  EXPECT_TRUE(a["groups"][0]["fits"][0]["r2"].is_null());
  EXPECT_TRUE(a["groups"][0]["fits"][0]["max_speedup"].is_null());
  EXPECT_EQ(a["groups"][0]["fits"][0]["tested"], false);
}

TEST(StudyAnalysis, WeakScalingGivesGustafsonScaledSpeedup) {
  // Twice the work on 2 PEs in 1.25x the time: scaled speedup 2 / 1.25 = 1.6.
  const std::vector<Json> records = {rec("omp", 1, 1, 1.0, "weak", 100),
                                     rec("omp", 2, 1, 1.25, "weak", 200)};
  const auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 1u);  // grouped by the size at 1 PE
  EXPECT_DOUBLE_EQ(*groups[0].rows[1].relative, 1.6);
  EXPECT_FALSE(groups[0].rows[1].speedup.has_value());
  EXPECT_NE(format_report(groups).find("scaled speedup (Gustafson)"), std::string::npos);
}

TEST(Study, RoundsRepeatEveryPointEachRoundShuffled) {
  StudySpec s = spec_for({Backend::seq, Backend::omp, Backend::mpi});
  const auto base = ids(plan_points(s, Registry::global()));
  s.rounds = 3;
  s.shuffled = true;
  s.order_seed = 7;
  const auto points = plan_points(s, Registry::global());
  ASSERT_EQ(points.size(), 3 * base.size());
  for (int round = 1; round <= 3; ++round) {
    // Each round is every point once, under its round's id, in an order of its own.
    std::vector<std::string> these;
    for (std::size_t i = 0; i < base.size(); ++i) {
      const Point& p = points[(round - 1) * base.size() + i];
      EXPECT_EQ(p.round, round);
      const std::string suffix = "/round" + std::to_string(round);
      ASSERT_EQ(p.id.substr(p.id.size() - suffix.size()), suffix);
      these.push_back(p.id.substr(0, p.id.size() - suffix.size()));
    }
    auto sorted = these, want = base;
    std::sort(sorted.begin(), sorted.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(sorted, want);
    EXPECT_NE(these, base) << "round " << round << " kept the planned order";
  }
  // The order is the seed's: the same again, another for another seed.
  EXPECT_EQ(ids(plan_points(s, Registry::global())), ids(points));
  s.order_seed = 8;
  EXPECT_NE(ids(plan_points(s, Registry::global())), ids(points));
  // One round, fixed order: the points as they always were (ids without a round).
  s.rounds = 1;
  s.shuffled = false;
  EXPECT_EQ(ids(plan_points(s, Registry::global())), base);
  // The manifest says how they are ordered.
  s.rounds = 2;
  s.shuffled = true;
  const Json m = study_manifest(s, plan_points(s, Registry::global()));
  EXPECT_EQ(m["rounds"], 2);
  EXPECT_EQ(m["order"], "shuffled");
  EXPECT_EQ(m["order_seed"], 8);
  const auto args = run_arguments(plan_points(s, Registry::global()).back(), s, "r.jsonl");
  EXPECT_EQ(std::vector<std::string>(args.end() - 2, args.end()),
            (std::vector<std::string>{"--round", "2"}));
}

TEST(StudyAnalysis, RoundsOfAPointArePooledAndTheirSpeedupIsBootstrapped) {
  // The baseline and an omp point, three rounds each; the omp point's third round was slow (a
  // neighbour): pooled, its median moves little, but the interval widens with the spread.
  auto round = [](const std::string& backend, int threads, int r, std::vector<double> samples) {
    Json j = rec(backend, threads, 1, 0);
    const Summary s = summarize(samples);
    j["time"] = {
        {"median", s.median}, {"ci", {s.ci_low, s.ci_high}}, {"ci_coverage", s.ci_coverage}};
    j["samples"] = samples;
    j["round"] = r;
    j["point"] = "k/" + backend + "/t" + std::to_string(threads) + "/round" + std::to_string(r);
    return j;
  };
  std::vector<Json> records;
  for (int r = 1; r <= 3; ++r) {
    records.push_back(round("seq", 1, r, {10.0, 10.1, 9.9, 10.0, 10.2, 9.8}));
    const double slow = r == 3 ? 1.5 : 1.0;
    records.push_back(
        round("omp", 2, r, {5 * slow, 5.1 * slow, 4.9 * slow, 5 * slow, 5.05 * slow, 4.95 * slow}));
    if (r == 3)  // and its record says others used the host then: so does the pooled row
      records.back()["meta"]["host_load"] = {{"disturbed", true}, {"why", "a neighbour"}};
  }
  const auto groups = analyse(typed(records));
  ASSERT_EQ(groups.size(), 1u);
  ASSERT_EQ(groups[0].rows.size(), 2u);  // one row per point, not per round
  const ReportRow& omp = groups[0].rows[1];
  EXPECT_EQ(omp.record.point, "k/omp/t2");
  EXPECT_EQ(omp.record.json["rounds_pooled"], 3);
  EXPECT_EQ(omp.record.json["samples"].size(), 18u);
  EXPECT_EQ(omp.record.json["round_medians"].size(), 3u);
  EXPECT_DOUBLE_EQ(omp.record.time->median, 5.05);  // of all 18 samples
  EXPECT_EQ(omp.speedup_ci_method, "bootstrap");
  EXPECT_DOUBLE_EQ(omp.speedup_ci_coverage, 0.95);
  ASSERT_TRUE(omp.speedup_ci.has_value());
  EXPECT_LE(omp.speedup_ci->first, *omp.speedup);
  EXPECT_GE(omp.speedup_ci->second, *omp.speedup);
  // A slow round can be drawn twice or not at all: the interval reaches down towards 10/7.5.
  EXPECT_LT(omp.speedup_ci->first, 1.6);
  EXPECT_GT(omp.speedup_ci->second, 1.95);
  const std::string text = format_report(groups);
  EXPECT_NE(text.find("3 rounds pooled"), std::string::npos) << text;
  EXPECT_NE(text.find("95% percentile bootstrap, two stages"), std::string::npos) << text;
  EXPECT_EQ(analysis_json(groups)["groups"][0]["rows"][1]["speedup_ci_method"], "bootstrap");
  EXPECT_EQ(disturbance(omp.record), "a neighbour");
  EXPECT_EQ(disturbance(groups[0].rows[0].record), "");
}
