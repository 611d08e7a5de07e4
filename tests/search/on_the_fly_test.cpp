// The batched on-the-fly driver (search/on_the_fly.hpp) against the plain loop: every
// strategy, run with a feasibility test that computes each architecture's latency
// directly and one search at a time, must make the same proposals in the same order,
// with the same refusals, as the batched driver makes them, whatever its lookahead.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "base/rng.hpp"
#include "search/on_the_fly.hpp"

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
  explicit ToyOracle(SpaceShape s) : s_(s) {}
  int channels() const override { return 1; }
  void evaluate(const std::vector<Arch>& archs, std::vector<float>& values) override {
    ++calls;
    for (size_t i = 0; i < archs.size(); ++i) values[i] = static_cast<float>(latency_of(s_, archs[i]));
  }
  double accuracy(const Arch& a) const override {
    ++accuracy_calls;
    return accuracy_of(s_, a);
  }
  int64_t calls = 0;
  mutable std::atomic<int64_t> accuracy_calls{0};

 private:
  SpaceShape s_;
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

void expect_same_as_direct(const SpaceShape& s, const std::vector<OnTheFlyTask>& tasks, int lookahead) {
  ToyOracle oracle(s);
  OnTheFlyOptions o;
  o.lookahead = lookahead;
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
  // Batched: far fewer oracle calls than architectures evaluated.
  EXPECT_EQ(oracle.calls, st.rounds);
  EXPECT_GT(proposals, 0);
  EXPECT_LT(st.rounds * 10, st.evaluated_archs) << "rounds " << st.rounds << " archs " << st.evaluated_archs;
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
  const SpaceShape s = shape_of(22, 9);
  ToyOracle oracle(s);
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
