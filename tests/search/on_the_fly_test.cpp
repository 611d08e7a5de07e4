// The on-the-fly driver (search/on_the_fly.hpp) against the plain loop: every
// strategy, run with a feasibility test that computes each architecture's latency
// directly and one search at a time, must make the same proposals in the same order,
// with the same refusals, as the driver makes them, in rounds whatever the lookahead
// and in the direct mode; and the direct mode's whole result must be the rounds'
// (the same architectures in the same slots), on a toy oracle and on the engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/rng.hpp"
#include "search/accuracy.hpp"
#include "search/engine_oracle.hpp"
#include "search/on_the_fly.hpp"
#include "sim/device_yaml.hpp"

using namespace proxysim;

namespace {

SpaceShape shape_of(int decisions, int choices) {
  SpaceShape s;
  s.decisions = decisions;
  for (int k = 0; k < decisions; ++k) s.choices[static_cast<size_t>(k)] = static_cast<uint8_t>(choices);
  return s;
}

// The one channel: a "latency" in [0, 1), a hash of the architecture; the "accuracy"
// is additive over decisions so the climbing strategies have something to climb.
double latency_of(const SpaceShape& s, const Arch& a) {
  uint64_t h = 17;
  for (int k = 0; k < s.decisions; ++k) h = mix64(h ^ (uint64_t{a[static_cast<size_t>(k)]} + (uint64_t(k) << 8)));
  return unit_open(h);
}
double accuracy_of(const SpaceShape& s, const Arch& a) {
  double f = 0;
  for (int k = 0; k < s.decisions; ++k) f += unit_open(counter_hash(5, static_cast<uint64_t>(k), a[static_cast<size_t>(k)]));
  return f;
}

class ToyOracle final : public ArchOracle {
 public:
  // singly: offers the direct mode, with forks that count their calls here too.
  explicit ToyOracle(SpaceShape s, bool singly = false, const ToyOracle* parent = nullptr)
      : s_(s), singly_(singly), parent_(parent) {}
  int channels() const override { return 1; }
  void evaluate(const std::vector<Arch>& archs, std::vector<float>& values) override {
    ++calls;
    if (parent_ != nullptr) ++parent_->fork_calls;
    for (size_t i = 0; i < archs.size(); ++i) values[i] = static_cast<float>(latency_of(s_, archs[i]));
  }
  double accuracy(const Arch& a) const override {
    ++(parent_ != nullptr ? parent_ : this)->accuracy_calls;
    return accuracy_of(s_, a);
  }
  bool evaluates_singly() const override { return singly_; }
  std::unique_ptr<ArchOracle> fork() const override {
    ++forks;
    return std::make_unique<ToyOracle>(s_, singly_, this);
  }
  int64_t calls = 0;
  // Counted on the parent from its forks' threads.
  mutable std::atomic<int64_t> fork_calls{0}, accuracy_calls{0}, forks{0};

 private:
  SpaceShape s_;
  bool singly_;
  const ToyOracle* parent_;
};

struct Direct final : Feasibility {
  Direct(SpaceShape shape, double l) : s(shape), limit(l) {}
  SpaceShape s;
  double limit;
  bool feasible(const Arch& a) const override { return static_cast<float>(latency_of(s, a)) <= limit; }
};

struct Trace {
  std::vector<Arch> proposals;
  int64_t rejected = 0;
};

Trace direct_run(const SpaceShape& s, const OnTheFlyTask& t) {
  const Direct f(s, t.source_limit);
  auto strategy = make_strategy(t.strategy, s, f, t.seed, t.options);
  Trace tr;
  Arch a{};
  while (strategy->next(a)) {
    tr.proposals.push_back(a);
    strategy->report(static_cast<float>(accuracy_of(s, a)));
  }
  tr.rejected = strategy->rejected();
  return tr;
}

std::vector<OnTheFlyTask> tasks_for(bool with_exhaustive) {
  std::vector<OnTheFlyTask> tasks;
  for (StrategyKind k : {StrategyKind::kRandom, StrategyKind::kRegularizedEvolution, StrategyKind::kOfaEvolution,
                         StrategyKind::kLocalSearch, StrategyKind::kLatencyAwareRandom, StrategyKind::kExhaustive}) {
    if (k == StrategyKind::kExhaustive && !with_exhaustive) continue;
    for (double limit : {0.05, 0.3, 1.0}) {
      for (uint64_t seed : {1u, 2u, 3u}) {
        OnTheFlyTask t;
        t.strategy = k;
        t.seed = seed;
        t.options.budget = 150;
        t.options.ofa_population = 20;
        t.options.ofa_generations = 10;
        t.options.max_tries = 2000;
        t.source_channel = 0;
        t.source_limit = limit;
        tasks.push_back(t);
      }
    }
  }
  return tasks;
}

void expect_same_as_direct(const SpaceShape& s, const std::vector<OnTheFlyTask>& tasks, int lookahead,
                           OnTheFlyMode mode = OnTheFlyMode::kRounds) {
  ToyOracle oracle(s);
  OnTheFlyOptions o;
  o.lookahead = lookahead;
  o.mode = mode;
  OnTheFlyStats st;
  const std::vector<OnTheFlyResult> got = run_on_the_fly(s, tasks, oracle, o, &st);
  ASSERT_EQ(got.size(), tasks.size());
  int64_t proposals = 0, distinct = 0;
  for (size_t i = 0; i < tasks.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "task " << i << " strategy " << static_cast<int>(tasks[i].strategy)
                                    << " limit " << tasks[i].source_limit << " lookahead " << lookahead);
    const Trace want = direct_run(s, tasks[i]);
    ASSERT_EQ(got[i].evaluated.size(), want.proposals.size());
    for (size_t j = 0; j < want.proposals.size(); ++j) {
      const auto slot = static_cast<size_t>(got[i].evaluated[j]);
      ASSERT_TRUE(got[i].archs[slot] == want.proposals[j]) << "proposal " << j;
      // The values kept are the oracle's for that architecture.
      EXPECT_EQ(got[i].values[slot], static_cast<float>(latency_of(s, want.proposals[j])));
      EXPECT_LE(got[i].values[slot], tasks[i].source_limit);
      EXPECT_EQ(got[i].accuracy[slot], static_cast<float>(accuracy_of(s, want.proposals[j])));
    }
    EXPECT_EQ(got[i].rejected, want.rejected);
    proposals += static_cast<int64_t>(want.proposals.size());
    // Accuracy only for what was proposed, once per architecture.
    for (size_t slot = 0; slot < got[i].archs.size(); ++slot) {
      const bool proposed = std::find(got[i].evaluated.begin(), got[i].evaluated.end(), static_cast<int32_t>(slot)) !=
                            got[i].evaluated.end();
      EXPECT_EQ(std::isnan(got[i].accuracy[slot]), !proposed) << "slot " << slot;
    }
    distinct += static_cast<int64_t>(std::count_if(got[i].accuracy.begin(), got[i].accuracy.end(),
                                                   [](float a) { return !std::isnan(a); }));
  }
  EXPECT_EQ(oracle.accuracy_calls.load(), distinct);
  EXPECT_EQ(oracle.calls + oracle.fork_calls.load(), st.rounds);
  EXPECT_GT(proposals, 0);
  if (mode == OnTheFlyMode::kRounds) {
    // Batched: far fewer oracle calls than architectures evaluated.
    EXPECT_LT(st.rounds * 10, st.evaluated_archs) << "rounds " << st.rounds << " archs " << st.evaluated_archs;
  } else {
    // Direct: one call per architecture, none ahead of need.
    EXPECT_EQ(st.rounds, st.evaluated_archs);
    EXPECT_EQ(st.speculative, 0);
  }
}

// The whole results, bit for bit (NaN accuracy where not proposed on both sides).
void expect_same_results(const std::vector<OnTheFlyResult>& a, const std::vector<OnTheFlyResult>& b, int channels) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "search " << i);
    ASSERT_EQ(a[i].archs.size(), b[i].archs.size());
    for (size_t k = 0; k < a[i].archs.size(); ++k) ASSERT_TRUE(a[i].archs[k] == b[i].archs[k]) << "slot " << k;
    ASSERT_EQ(a[i].values.size(), a[i].archs.size() * static_cast<size_t>(channels));
    ASSERT_EQ(a[i].values.size(), b[i].values.size());
    for (size_t k = 0; k < a[i].values.size(); ++k) {
      EXPECT_TRUE(a[i].values[k] == b[i].values[k] || (std::isnan(a[i].values[k]) && std::isnan(b[i].values[k])))
          << "value " << k;
    }
    ASSERT_EQ(a[i].accuracy.size(), b[i].accuracy.size());
    for (size_t k = 0; k < a[i].accuracy.size(); ++k) {
      EXPECT_TRUE(a[i].accuracy[k] == b[i].accuracy[k] || (std::isnan(a[i].accuracy[k]) && std::isnan(b[i].accuracy[k])))
          << "accuracy " << k;
    }
    EXPECT_EQ(a[i].evaluated, b[i].evaluated);
    EXPECT_EQ(a[i].rejected, b[i].rejected);
  }
}

}  // namespace

TEST(OnTheFly, EveryStrategyProposesAsWithDirectEvaluationOnALargeSpace) {
  const SpaceShape s = shape_of(22, 9);  // FBNet's shape: 9^22 architectures
  for (int lookahead : {0, 2, 7}) expect_same_as_direct(s, tasks_for(false), lookahead);
}

TEST(OnTheFly, EveryStrategyProposesAsWithDirectEvaluationOnASpaceItExhausts) {
  // 3^4 = 81 architectures: exhaustive ends, local search and latency-aware random use
  // the feasible space up, evolution repeats architectures.
  const SpaceShape s = shape_of(4, 3);
  for (int lookahead : {0, 3}) expect_same_as_direct(s, tasks_for(true), lookahead);
}

TEST(OnTheFly, DirectModeProposesAsWithDirectEvaluation) {
  expect_same_as_direct(shape_of(22, 9), tasks_for(false), 0, OnTheFlyMode::kDirect);
  expect_same_as_direct(shape_of(4, 3), tasks_for(true), 0, OnTheFlyMode::kDirect);
}

TEST(OnTheFly, DirectModeGivesTheRoundsResultsOnAnyNumberOfThreads) {
  // Every strategy, OFA's evolution included: it asks about a whole generation in one
  // next(), which the rounds once listed past the first unknown answer.
  for (const SpaceShape& s : {shape_of(22, 9), shape_of(4, 3)}) {
    const auto tasks = tasks_for(s.decisions == 4);
    ToyOracle rounds_oracle(s);
    OnTheFlyOptions o;
    o.mode = OnTheFlyMode::kRounds;
    OnTheFlyStats rounds_stats;
    const auto rounds = run_on_the_fly(s, tasks, rounds_oracle, o, &rounds_stats);
    EXPECT_EQ(rounds_stats.speculative, 0);
    for (int threads : {1, 3}) {
      SCOPED_TRACE(testing::Message() << s.decisions << " decisions, " << threads << " threads");
      ToyOracle oracle(s, true);
      OnTheFlyOptions d;  // kAuto: direct, as the oracle evaluates singly
      OnTheFlyStats st;
#ifdef _OPENMP
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
#endif
      const auto direct = run_on_the_fly(s, tasks, oracle, d, &st);
#ifdef _OPENMP
      omp_set_num_threads(before);
      EXPECT_EQ(oracle.forks.load(), threads - 1);
      if (threads > 1) EXPECT_GT(oracle.fork_calls.load(), 0);  // the forks did evaluate
#endif
      expect_same_results(direct, rounds, 1);
      // The same architectures were evaluated, one at a time.
      EXPECT_EQ(st.evaluated_archs, rounds_stats.evaluated_archs);
      EXPECT_EQ(st.rounds, st.evaluated_archs);
      EXPECT_EQ(oracle.calls + oracle.fork_calls.load(), st.rounds);
    }
  }
}

TEST(OnTheFly, TheModeIsChosenByTheOracleAndTheLookahead) {
  const SpaceShape s = shape_of(22, 9);
  const auto tasks = tasks_for(false);
  auto stats_of = [&](bool singly, int lookahead, OnTheFlyMode mode) {
    ToyOracle oracle(s, singly);
    OnTheFlyOptions o;
    o.lookahead = lookahead;
    o.mode = mode;
    OnTheFlyStats st;
    run_on_the_fly(s, tasks, oracle, o, &st);
    return st;
  };
  auto direct = [](const OnTheFlyStats& st) { return st.rounds == st.evaluated_archs; };
  EXPECT_TRUE(direct(stats_of(true, 0, OnTheFlyMode::kAuto)));
  EXPECT_FALSE(direct(stats_of(true, 2, OnTheFlyMode::kAuto)));  // a lookahead needs rounds
  EXPECT_FALSE(direct(stats_of(false, 0, OnTheFlyMode::kAuto)));
  EXPECT_FALSE(direct(stats_of(true, 0, OnTheFlyMode::kRounds)));
  EXPECT_TRUE(direct(stats_of(false, 0, OnTheFlyMode::kDirect)));
  EXPECT_THROW(stats_of(true, 1, OnTheFlyMode::kDirect), std::invalid_argument);
}

TEST(OnTheFly, EngineDirectModeGivesTheRoundsResults) {
  // FBNet and OFA on three simulated devices, limits near each proxy's median: the
  // engine's latencies, MACs and the tabulated surrogate's accuracies, direct against
  // rounds, and the accuracies against the lowering's surrogate.
  for (const char* name : {"fbnet", "ofa_mbv3"}) {
    SCOPED_TRACE(name);
    const SearchSpace space = make_space(name);
    std::vector<EvalDevice> devices;
    for (const char* d : {"pixel3_cpu", "raspi4", "edgetpu"}) devices.push_back({d, builtin_device(d).params});
    EngineOracle oracle(space, Backend::kCpu, devices, {}, 11);
    ASSERT_TRUE(oracle.evaluates_singly());
    // The medians of the proxy and of raspi4 over 201 samples: the limits.
    std::vector<Arch> sample(201);
    for (size_t i = 0; i < sample.size(); ++i) {
      const ArchCode c = space.sample(5, i);
      std::copy(c.begin(), c.end(), sample[i].begin());
    }
    const auto C = static_cast<size_t>(oracle.channels());
    std::vector<float> v(sample.size() * C);
    oracle.evaluate(sample, v);
    double median[2];
    for (size_t c = 0; c < 2; ++c) {
      std::vector<float> col;
      for (size_t i = 0; i < sample.size(); ++i) col.push_back(v[i * C + c]);
      std::nth_element(col.begin(), col.begin() + 100, col.end());
      median[c] = col[100];
    }
    std::vector<OnTheFlyTask> tasks;
    for (StrategyKind k : {StrategyKind::kRegularizedEvolution, StrategyKind::kOfaEvolution, StrategyKind::kLocalSearch,
                           StrategyKind::kRandom}) {
      for (uint64_t seed : {1u, 2u}) {
        OnTheFlyTask t;
        t.strategy = k;
        t.seed = seed;
        t.options.budget = 120;
        t.options.ofa_population = 20;
        t.options.ofa_generations = 6;
        t.options.max_tries = 2000;
        t.source_channel = static_cast<int>(seed) - 1;  // the proxy or raspi4
        t.source_limit = median[seed - 1];
        tasks.push_back(t);
      }
    }
    OnTheFlyOptions o;
    o.mode = OnTheFlyMode::kRounds;
    const auto rounds = run_on_the_fly(SpaceShape::of(space), tasks, oracle, o);
    OnTheFlyStats st;
    const auto direct = run_on_the_fly(SpaceShape::of(space), tasks, oracle, {}, &st);
    EXPECT_EQ(st.rounds, st.evaluated_archs);  // it ran direct
    expect_same_results(direct, rounds, oracle.channels());
    int64_t checked = 0;
    for (const auto& r : direct) {
      for (int32_t slot : r.evaluated) {
        const Arch& a = r.archs[static_cast<size_t>(slot)];
        const ArchCode c(a.begin(), a.begin() + space.decisions());
        ASSERT_EQ(r.accuracy[static_cast<size_t>(slot)], static_cast<float>(synthetic_accuracy(space, c, 11)));
        ++checked;
      }
    }
    EXPECT_GT(checked, 500);
  }
}

TEST(OnTheFly, ADirectModeFailureReachesTheCaller) {
  struct Failing final : ArchOracle {
    int channels() const override { return 1; }
    void evaluate(const std::vector<Arch>&, std::vector<float>&) override { throw std::runtime_error("device lost"); }
    double accuracy(const Arch&) const override { return 0; }
    bool evaluates_singly() const override { return true; }
    std::unique_ptr<ArchOracle> fork() const override { return std::make_unique<Failing>(); }
  } oracle;
  EXPECT_THROW(run_on_the_fly(shape_of(22, 9), tasks_for(false), oracle, {}), std::runtime_error);
}

TEST(OnTheFly, AProgressFailureReachesTheCallerInBothModes) {
  for (bool singly : {false, true}) {
    const SpaceShape s = shape_of(22, 9);
    ToyOracle oracle(s, singly);
    OnTheFlyOptions o;
    o.progress = [](int64_t done, int64_t) {
      if (done >= 3) throw std::runtime_error("display lost");
    };
    EXPECT_THROW(run_on_the_fly(s, tasks_for(false), oracle, o), std::runtime_error) << (singly ? "direct" : "rounds");
  }
}

TEST(OnTheFly, AnOracleFailureReachesTheCaller) {
  struct Failing final : ArchOracle {
    int channels() const override { return 1; }
    void evaluate(const std::vector<Arch>&, std::vector<float>&) override { throw std::runtime_error("device lost"); }
    double accuracy(const Arch&) const override { return 0; }
  } oracle;
  OnTheFlyOptions o;
  EXPECT_THROW(run_on_the_fly(shape_of(22, 9), tasks_for(false), oracle, o), std::runtime_error);
}

TEST(OnTheFly, ProgressCountsFinishedSearches) {
  for (bool singly : {false, true}) {
    SCOPED_TRACE(singly ? "direct" : "rounds");
    const SpaceShape s = shape_of(22, 9);
    ToyOracle oracle(s, singly);
    OnTheFlyOptions o;
    int64_t last = -1, total = 0, calls = 0;
    o.progress = [&](int64_t done, int64_t all) {
      EXPECT_GE(done, last);
      last = done;
      total = all;
      ++calls;
    };
    const auto tasks = tasks_for(false);
    run_on_the_fly(s, tasks, oracle, o);
    EXPECT_EQ(total, static_cast<int64_t>(tasks.size()));
    EXPECT_EQ(last, total);
    EXPECT_GT(calls, 1);
  }
}
