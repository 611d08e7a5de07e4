// Checks the NAS strategies and the search-on-a-proxy flow on the real NB201 tables:
// exhaustive search against a brute-force constrained optimum, zero regret with a
// perfectly monotone proxy, how often regularized evolution finds the CIFAR-10
// optimum within 1000 evaluations, batched against one-by-one runs, and the
// hypervolume, Pareto front and OFA generation arithmetic against hand calculations.
// Accuracies and latencies are table values compared exactly (the same floats flow
// through both sides), hand calculations to 1e-12.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "io/measured_csv.hpp"
#include "search/accuracy.hpp"
#include "search/nas.hpp"
#include "base/error.hpp"

using namespace proxysim;

namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

// HW-NAS-Bench's NB201 CIFAR-10 table with real accuracies, every row eligible when
// connected and measured on the column.
struct Bench {
  SearchSpace space = make_space("nb201");
  MeasuredTable lat;
  std::vector<uint8_t> codes;
  std::unique_ptr<TabularSpace> table;
  std::vector<float> acc;
  Bench() {
    lat = read_measured_csv(shared("hwnasbench_nb201_cifar10.csv"), "nb201");
    for (const auto& c : lat.codes) codes.insert(codes.end(), c.begin(), c.end());
    table = std::make_unique<TabularSpace>(space, codes, lat.rows());
    const Nb201AccuracyTable t = read_nb201_accuracy(shared("nb201_accuracy.csv"));
    for (uint64_t i = 0; i < lat.rows(); ++i) acc.push_back(t.cifar10[static_cast<size_t>(lat.arch_index[i])]);
  }
  std::vector<float> column(const std::string& name) const {
    const size_t d = std::find(lat.devices.begin(), lat.devices.end(), name) - lat.devices.begin();
    EXPECT_LT(d, lat.devices.size()) << name;
    std::vector<float> v(lat.rows());
    for (uint64_t i = 0; i < lat.rows(); ++i) v[i] = lat.latency_ms[i * lat.devices.size() + d];
    return v;
  }
  std::vector<uint8_t> eligible(const std::vector<float>& col) const {
    std::vector<uint8_t> e(lat.rows());
    for (uint64_t i = 0; i < lat.rows(); ++i) e[i] = lat.connected[i] && std::isfinite(col[i]);
    return e;
  }
};

const Bench& bench() {
  static const Bench b;
  return b;
}

// The k-th smallest eligible value, computed here by a full sort.
double kth(const std::vector<float>& v, const std::vector<uint8_t>& e, size_t k) {
  std::vector<float> s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (e[i]) s.push_back(v[i]);
  }
  std::sort(s.begin(), s.end());
  return s[k - 1];
}

TargetJudge judge_for(const std::vector<float>& target, const std::vector<uint8_t>& e, const std::vector<float>& acc,
                      double limit) {
  TargetJudge j;
  j.target_ms = target.data();
  j.constraint_ms = limit;
  j.optimum_accuracy = -1;
  j.reference_accuracy = 100;
  std::vector<std::pair<double, double>> pts;
  for (size_t i = 0; i < target.size(); ++i) {
    if (!e[i]) continue;
    j.reference_accuracy = std::min<double>(j.reference_accuracy, acc[i]);
    if (target[i] <= limit) {
      j.optimum_accuracy = std::max<double>(j.optimum_accuracy, acc[i]);
      pts.emplace_back(target[i], acc[i]);
    }
  }
  j.true_hypervolume = hypervolume_2d(pts, limit, j.reference_accuracy);
  return j;
}

}  // namespace

TEST(Nas, ExhaustiveFindsTheBruteForceConstrainedOptimum) {
  const Bench& b = bench();
  for (const char* dev : {"pixel3", "raspi4", "eyeriss", "fpga", "edgegpu"}) {
    const auto lat = b.column(dev);
    const auto e = b.eligible(lat);
    const size_t m = static_cast<size_t>(std::count(e.begin(), e.end(), 1));
    for (double q : {0.05, 0.2, 0.5, 1.0}) {
      const size_t k = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * m)));
      const double limit = kth(lat, e, k);
      EXPECT_EQ(limit, order_statistic(lat.data(), e.data(), lat.size(), k));
      // Brute force: the best accuracy among connected, measured rows within the limit.
      float best = -1;
      for (size_t i = 0; i < lat.size(); ++i) {
        if (e[i] && lat[i] <= limit) best = std::max(best, b.acc[i]);
      }
      const NasProblem p{b.table.get(), e.data(), b.acc.data()};
      SearchSpec s;
      s.strategy = StrategyKind::kExhaustive;
      s.source = lat.data();
      s.source_limit = limit;
      s.options.budget = 0;
      const auto rows = run_search(p, s);
      // Every feasible row once, nothing else.
      size_t feasible = 0;
      for (size_t i = 0; i < lat.size(); ++i) feasible += e[i] && lat[i] <= limit;
      EXPECT_EQ(rows.size(), feasible);
      EXPECT_EQ(std::set<int32_t>(rows.begin(), rows.end()).size(), feasible);
      TargetJudge j = judge_for(lat, e, b.acc, limit);
      j.source_is_target = true;
      const SearchOutcome o = judge_search(p, s, rows, j, {});
      EXPECT_EQ(o.found_accuracy, best) << dev << " q=" << q;
      EXPECT_EQ(o.regret, 0.0);
      EXPECT_FALSE(o.failed);
      EXPECT_FALSE(o.violation);
      EXPECT_EQ(o.target_measurements, static_cast<int64_t>(feasible));
      EXPECT_NEAR(o.hypervolume_ratio, 1.0, 1e-9);  // the same area summed over more segments
    }
  }
  // The unconstrained CIFAR-10 optimum of NB201 (NATS-Bench topology space): 94.37 %.
  float best = 0;
  for (float a : b.acc) best = std::max(best, a);
  EXPECT_NEAR(best, 94.37, 0.01);
}

TEST(Nas, PerfectlyMonotoneProxyHasZeroRegret) {
  const Bench& b = bench();
  for (const char* dev : {"pixel3", "eyeriss", "edgetpu"}) {
    const auto target = b.column(dev);
    const auto e = b.eligible(target);
    // A strictly increasing transform in other units: ranks identical, values not.
    std::vector<float> proxy(target.size());
    for (size_t i = 0; i < target.size(); ++i) proxy[i] = std::isfinite(target[i]) ? 3.0f * std::sqrt(target[i]) + 7.0f : NAN;
    const size_t m = static_cast<size_t>(std::count(e.begin(), e.end(), 1));
    const NasProblem p{b.table.get(), e.data(), b.acc.data()};
    for (double q : {0.1, 0.3, 0.5}) {
      const size_t k = static_cast<size_t>(std::ceil(q * m));
      const TargetJudge j = judge_for(target, e, b.acc, kth(target, e, k));
      for (StrategyKind kind : {StrategyKind::kExhaustive, StrategyKind::kRegularizedEvolution}) {
        SearchSpec s;
        s.strategy = kind;
        s.seed = 11;
        s.source = proxy.data();
        s.source_limit = order_statistic(proxy.data(), e.data(), proxy.size(), k);
        s.options.budget = kind == StrategyKind::kExhaustive ? 0 : 1000;
        s.whole_front = kind == StrategyKind::kExhaustive;  // as the nas stage runs it
        const SearchOutcome o = judge_search(p, s, run_search(p, s), j, {});
        SearchSpec on_target = s;
        on_target.source = target.data();
        on_target.source_limit = j.constraint_ms;
        const SearchOutcome ot = judge_search(p, on_target, run_search(p, on_target), j, {});
        // The same feasible set and the same order: the proxy search is the target search.
        EXPECT_EQ(o.found_accuracy, ot.found_accuracy) << dev;
        if (kind == StrategyKind::kExhaustive) {
          EXPECT_EQ(o.regret, 0.0) << dev << " q=" << q;
          EXPECT_NEAR(o.hypervolume_ratio, 1.0, 1e-9);  // the same area summed over more segments
        }
        EXPECT_FALSE(o.violation);
        EXPECT_FALSE(o.failed);
      }
    }
  }
}

TEST(Nas, RegularizedEvolutionFindsTheCifar10OptimumInMostSeeds) {
  const Bench& b = bench();
  // No constraint: every connected architecture is feasible (accuracies exist for all).
  std::vector<uint8_t> e(b.lat.rows());
  for (size_t i = 0; i < e.size(); ++i) e[i] = b.lat.connected[i];
  const std::vector<float> zero(e.size(), 0.0f);
  float best = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e[i]) best = std::max(best, b.acc[i]);
  }
  const NasProblem p{b.table.get(), e.data(), b.acc.data()};
  const int seeds = 100;
  int hits = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    SearchSpec s;
    s.strategy = StrategyKind::kRegularizedEvolution;
    s.seed = static_cast<uint64_t>(seed);
    s.source = zero.data();
    s.source_limit = 0;
    s.options.budget = 1000;
    const auto rows = run_search(p, s);
    ASSERT_EQ(rows.size(), 1000u);
    float found = 0;
    for (int32_t r : rows) found = std::max(found, b.acc[static_cast<size_t>(r)]);
    hits += found == best;
  }
  std::printf("regularized evolution (P=20, S=5, 1000 evaluations): NB201 CIFAR-10 optimum in %d of %d seeds\n", hits,
              seeds);
  // Measured: 100 of 100 (printed above and in the README); at least 95 leaves room
  // for a few seeds to change with an unrelated change to the search's draws, but a
  // real loss of search quality fails.
  EXPECT_GE(hits, 95);
}

TEST(Nas, BatchedEqualsOneByOne) {
  const Bench& b = bench();
  const auto t1 = b.column("pixel3"), t2 = b.column("eyeriss"), proxy = b.column("raspi4");
  const auto e1 = b.eligible(t1), e2 = b.eligible(t2);
  std::vector<uint8_t> both1(e1.size()), both2(e2.size());
  for (size_t i = 0; i < e1.size(); ++i) {
    both1[i] = e1[i] && std::isfinite(proxy[i]);
    both2[i] = e2[i] && std::isfinite(proxy[i]);
  }
  const std::vector<NasProblem> problems = {{b.table.get(), both1.data(), b.acc.data()},
                                            {b.table.get(), both2.data(), b.acc.data()}};
  const std::vector<TargetJudge> judges = {judge_for(t1, both1, b.acc, kth(t1, both1, 3000)),
                                           judge_for(t2, both2, b.acc, kth(t2, both2, 5000))};
  const std::vector<int64_t> checkpoints = {10, 100, 500};
  std::vector<BatchTask> tasks;
  for (StrategyKind kind : {StrategyKind::kRandom, StrategyKind::kRegularizedEvolution, StrategyKind::kOfaEvolution,
                            StrategyKind::kExhaustive, StrategyKind::kLocalSearch, StrategyKind::kLatencyAwareRandom}) {
    for (size_t pj = 0; pj < 2; ++pj) {
      for (uint64_t seed = 0; seed < 6; ++seed) {
        BatchTask t;
        t.problem = pj;
        t.judge = pj;
        t.spec.strategy = kind;
        t.spec.seed = seed;
        t.spec.source = proxy.data();
        t.spec.source_limit = kth(proxy, pj ? both2 : both1, 4000);
        t.spec.options.budget = kind == StrategyKind::kExhaustive ? 0 : 600;
        tasks.push_back(t);
      }
    }
  }
  const auto batched = run_search_batch(problems, judges, tasks, checkpoints);
  ASSERT_EQ(batched.size(), tasks.size());
  std::set<float> distinct_found;
  for (size_t i = tasks.size(); i-- > 0;) {  // in reverse, to differ from the batch's order
    const auto& t = tasks[i];
    int64_t rejected = -1;
    const SearchOutcome o = judge_search(problems[t.problem], t.spec, run_search(problems[t.problem], t.spec, &rejected),
                                         judges[t.judge], checkpoints);
    const SearchOutcome& q = batched[i];
    EXPECT_EQ(o.evaluations, q.evaluations) << i;
    EXPECT_EQ(rejected, q.rejected) << i;
    EXPECT_TRUE(o.found_accuracy == q.found_accuracy || (std::isnan(o.found_accuracy) && std::isnan(q.found_accuracy))) << i;
    EXPECT_EQ(o.failed, q.failed);
    EXPECT_EQ(o.violation, q.violation);
    EXPECT_EQ(o.target_measurements, q.target_measurements);
    EXPECT_EQ(o.front_size, q.front_size);
    EXPECT_EQ(o.hypervolume_ratio, q.hypervolume_ratio);
    ASSERT_EQ(o.best_accuracy.size(), q.best_accuracy.size());
    for (size_t c = 0; c < o.best_accuracy.size(); ++c) EXPECT_EQ(o.best_accuracy[c], q.best_accuracy[c]);
    distinct_found.insert(o.best_accuracy[0]);
  }
  // Seeds do matter: the searches are not all one trajectory.
  EXPECT_GT(distinct_found.size(), 3u);
}

// The batch on 1 and on 2 OpenMP threads: every outcome equal, local search and
// latency-aware random included (each search owns its stream and its slot).
TEST(Nas, NewStrategiesEqualOnOneAndTwoThreads) {
  const Bench& b = bench();
  const auto target = b.column("pixel3"), proxy = b.column("raspi4");
  const auto e = b.eligible(target);
  std::vector<uint8_t> both(e.size());
  for (size_t i = 0; i < e.size(); ++i) both[i] = e[i] && std::isfinite(proxy[i]);
  const std::vector<NasProblem> problems = {{b.table.get(), both.data(), b.acc.data()}};
  const std::vector<TargetJudge> judges = {judge_for(target, both, b.acc, kth(target, both, 2000))};
  const std::vector<int64_t> checkpoints = {10, 100, 400};
  std::vector<BatchTask> tasks;
  for (StrategyKind kind : {StrategyKind::kLocalSearch, StrategyKind::kLatencyAwareRandom}) {
    for (uint64_t seed = 0; seed < 16; ++seed) {
      BatchTask t;
      t.spec.strategy = kind;
      t.spec.seed = seed;
      t.spec.source = proxy.data();
      t.spec.source_limit = kth(proxy, both, 2000);
      t.spec.options.budget = 400;
      tasks.push_back(t);
    }
  }
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = run_search_batch(problems, judges, tasks, checkpoints);
  omp_set_num_threads(2);
  const auto two = run_search_batch(problems, judges, tasks, checkpoints);
  omp_set_num_threads(threads);
  ASSERT_EQ(one.size(), two.size());
  int64_t rejected = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].evaluations, two[i].evaluations) << i;
    EXPECT_EQ(one[i].rejected, two[i].rejected) << i;
    EXPECT_EQ(one[i].found_row, two[i].found_row) << i;
    EXPECT_EQ(one[i].pick_row, two[i].pick_row) << i;
    EXPECT_EQ(one[i].best_accuracy, two[i].best_accuracy) << i;
    EXPECT_EQ(one[i].hypervolume_ratio, two[i].hypervolume_ratio) << i;
    rejected += one[i].rejected;
  }
  // The proxy's constraint admits 2000 of about 15,000 rows: most draws are refused.
  EXPECT_GT(rejected, 0);
}

TEST(Nas, HypervolumeAndParetoFrontByHand) {
  // Points (latency, accuracy), box latency <= 10, accuracy >= 50.
  // Sorted: (2, 60), (4, 55), (5, 80), (12, 99). (4, 55) is dominated by (2, 60).
  // Area: [2, 5) x 10 + [5, 10) x 30 = 30 + 150 = 180; (12, 99) lies outside the box.
  EXPECT_NEAR(hypervolume_2d({{5, 80}, {2, 60}, {12, 99}, {4, 55}}, 10, 50), 180.0, 1e-12);
  EXPECT_EQ(hypervolume_2d({}, 10, 50), 0.0);
  EXPECT_EQ(hypervolume_2d({{11, 90}}, 10, 50), 0.0);
  // Rows 0..5 with cost and accuracy; front in increasing cost: row 1 (1, 70), row 2
  // (2, 75), row 4 (5, 90). Row 0 (3, 72) is dominated by row 2, row 3 duplicates row 2's
  // point (the first row by index is kept), row 5 (6, 90) is dominated by row 4.
  const float cost[] = {3, 1, 2, 2, 5, 6};
  const float acc[] = {72, 70, 75, 75, 90, 90};
  const auto f = pareto_front({0, 1, 2, 3, 4, 5}, cost, acc);
  EXPECT_EQ(f, (std::vector<int32_t>{1, 2, 4}));
}

TEST(Nas, OfaEvolutionGenerationsAndBudgets) {
  const Bench& b = bench();
  std::vector<uint8_t> e(b.lat.rows());
  for (size_t i = 0; i < e.size(); ++i) e[i] = b.lat.connected[i];
  const auto lat = b.column("pixel3");
  const NasProblem p{b.table.get(), e.data(), b.acc.data()};
  SearchSpec s;
  s.strategy = StrategyKind::kOfaEvolution;
  s.source = lat.data();
  s.source_limit = kth(lat, e, 5000);
  s.options.budget = 0;
  s.options.ofa_population = 40;
  s.options.ofa_generations = 7;
  // parents round(40 x 0.25) = 10, children 30 per generation: 40 + 7 x 30 = 250.
  const auto rows = run_search(p, s);
  EXPECT_EQ(rows.size(), 250u);
  for (int32_t r : rows) {
    EXPECT_TRUE(e[static_cast<size_t>(r)]);
    EXPECT_LE(lat[static_cast<size_t>(r)], s.source_limit);
  }
  // A budget ends any strategy early.
  s.options.budget = 123;
  EXPECT_EQ(run_search(p, s).size(), 123u);
  // A constraint nothing meets ends the search with no evaluation, not a hang.
  s.source_limit = -1;
  s.options.max_tries = 1000;
  for (StrategyKind k : {StrategyKind::kRandom, StrategyKind::kRegularizedEvolution, StrategyKind::kOfaEvolution,
                         StrategyKind::kExhaustive, StrategyKind::kLocalSearch, StrategyKind::kLatencyAwareRandom}) {
    s.strategy = k;
    EXPECT_TRUE(run_search(p, s).empty());
  }
  EXPECT_THROW(strategy_from_name("bayesian"), UserError);
}
