// Local search and latency-aware random search on toy problems whose answers are known
// without running them: a separable objective (a single-decision local optimum is the
// global one, so first-improvement climbing must reach it), feasibility tests that
// count their own refusals, and spaces small enough to exhaust.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "search/strategy.hpp"

using namespace proxysim;

namespace {

SpaceShape toy_shape(int decisions, int choices) {
  SpaceShape s;
  s.decisions = decisions;
  for (int k = 0; k < decisions; ++k) s.choices[static_cast<size_t>(k)] = static_cast<uint8_t>(choices);
  return s;
}

// f(a) = sum_k w[k][a_k], with weights drawn from a fixed stream.
struct Separable {
  SpaceShape shape;
  std::vector<std::vector<double>> w;
  Separable(int decisions, int choices, uint64_t seed) : shape(toy_shape(decisions, choices)) {
    w.assign(decisions, std::vector<double>(choices));
    for (int k = 0; k < decisions; ++k)
      for (int c = 0; c < choices; ++c) w[k][c] = unit_open(counter_hash(seed, k, c));
  }
  double operator()(const Arch& a) const {
    double f = 0;
    for (int k = 0; k < shape.decisions; ++k) f += w[k][a[static_cast<size_t>(k)]];
    return f;
  }
};

// Feasible unless decision 0 takes `banned`; counts its calls and refusals.
struct Ban : Feasibility {
  int banned = -1;
  mutable int64_t calls = 0, refused = 0;
  bool feasible(const Arch& a) const override {
    ++calls;
    const bool ok = a[0] != banned;
    refused += !ok;
    return ok;
  }
};

struct Trace {
  std::vector<Arch> proposals;
  std::vector<double> values;
  int64_t rejected = 0;
};

Trace trace(StrategyKind kind, const SpaceShape& shape, const Feasibility& f, uint64_t seed, int64_t budget,
        const Separable& objective) {
  StrategyOptions o;
  o.budget = budget;
  o.max_tries = 2000;
  auto s = make_strategy(kind, shape, f, seed, o);
  Trace r;
  Arch a{};
  while (s->next(a)) {
    r.proposals.push_back(a);
    r.values.push_back(objective(a));
    s->report(r.values.back());
  }
  r.rejected = s->rejected();
  return r;
}

}  // namespace

TEST(Strategy, NamesRoundTrip) {
  for (const std::string& n : strategy_names()) EXPECT_EQ(strategy_names()[static_cast<size_t>(strategy_from_name(n))], n);
  EXPECT_EQ(strategy_from_name("local_search"), StrategyKind::kLocalSearch);
  EXPECT_EQ(strategy_from_name("latency_aware_random"), StrategyKind::kLatencyAwareRandom);
}

// On a separable objective an architecture no single-decision change improves has
// every decision at its best choice, so it is the global optimum, and first-improvement
// climbing reaches it in at most decisions x (choices - 1) moves of at most
// decisions x (choices - 1) evaluations each (8 x 4 = 32: 1,024 evaluations at worst).
// With decision 0 banned from its best choice the feasible optimum has decision 0 at
// its second best, and the search must never propose a banned architecture.
TEST(Strategy, LocalSearchFindsTheSeparableOptimum) {
  for (uint64_t seed = 0; seed < 10; ++seed) {
    const Separable f(8, 5, 100 + seed);  // 5^8 = 390,625 architectures
    double optimum = 0;
    std::vector<int> best(8);
    for (int k = 0; k < 8; ++k) {
      best[k] = static_cast<int>(std::max_element(f.w[k].begin(), f.w[k].end()) - f.w[k].begin());
      optimum += f.w[k][best[k]];
    }
    Ban open;
    const Trace r = trace(StrategyKind::kLocalSearch, f.shape, open, seed, 1100, f);
    ASSERT_EQ(r.proposals.size(), 1100u);  // restarts continue after the optimum
    const auto at = std::find(r.values.begin(), r.values.end(), *std::max_element(r.values.begin(), r.values.end()));
    EXPECT_DOUBLE_EQ(*at, optimum) << "seed " << seed;
    std::printf("seed %llu: separable optimum after %td of 1100 evaluations\n", static_cast<unsigned long long>(seed),
                at - r.values.begin() + 1);
    // No architecture is evaluated twice.
    std::set<Arch> distinct(r.proposals.begin(), r.proposals.end());
    EXPECT_EQ(distinct.size(), r.proposals.size());

    Ban ban;
    ban.banned = best[0];
    double second = -1;
    for (int c = 0; c < 5; ++c) {
      if (c != best[0]) second = std::max(second, f.w[0][c]);
    }
    const double constrained = optimum - f.w[0][best[0]] + second;
    const Trace c = trace(StrategyKind::kLocalSearch, f.shape, ban, seed, 1100, f);
    for (const Arch& a : c.proposals) ASSERT_NE(a[0], best[0]);
    EXPECT_DOUBLE_EQ(*std::max_element(c.values.begin(), c.values.end()), constrained) << "seed " << seed;
    // Every refusal of the feasibility test is counted, and there were some: each
    // climb meets a banned neighbour of decision 0 in its neighbourhood.
    EXPECT_EQ(c.rejected, ban.refused);
    EXPECT_GT(c.rejected, 0);
  }
}

// A space of 3^3 = 27 architectures, 18 of them feasible (decision 0 != 1): local
// search evaluates each feasible one at most once and stops when none is left.
TEST(Strategy, LocalSearchEndsWhenTheSpaceIsUsedUp) {
  const Separable f(3, 3, 7);
  Ban ban;
  ban.banned = 1;
  const Trace r = trace(StrategyKind::kLocalSearch, f.shape, ban, 3, 1000, f);
  std::set<Arch> distinct(r.proposals.begin(), r.proposals.end());
  EXPECT_EQ(distinct.size(), r.proposals.size());
  EXPECT_EQ(r.proposals.size(), 18u);
  for (const Arch& a : r.proposals) EXPECT_NE(a[0], 1);
}

// Latency-aware random: only feasible, only distinct; on the 27-architecture space it
// evaluates all 18 feasible ones and stops. Its rejections are the feasibility test's
// refusals; with one of 5 choices of decision 0 banned, about a quarter as many
// draws are refused as accepted (negative binomial, 1,000 accepted at p = 0.8:
// mean 250, sd sqrt(1000 x 0.2) / 0.8 = 17.7, so 170..330 is 4.5 standard deviations).
TEST(Strategy, LatencyAwareRandomSpendsOnlyOnNewFeasibleArchitectures) {
  const Separable small(3, 3, 7);
  Ban ban;
  ban.banned = 1;
  const Trace r = trace(StrategyKind::kLatencyAwareRandom, small.shape, ban, 5, 1000, small);
  EXPECT_EQ(r.proposals.size(), 18u);
  std::set<Arch> distinct(r.proposals.begin(), r.proposals.end());
  EXPECT_EQ(distinct.size(), 18u);
  for (const Arch& a : r.proposals) EXPECT_NE(a[0], 1);
  EXPECT_EQ(r.rejected, ban.refused);

  const Separable big(8, 5, 1);
  Ban ban0;
  ban0.banned = 0;
  const Trace b = trace(StrategyKind::kLatencyAwareRandom, big.shape, ban0, 9, 1000, big);
  ASSERT_EQ(b.proposals.size(), 1000u);
  EXPECT_EQ(b.rejected, ban0.refused);
  EXPECT_GT(b.rejected, 170);
  EXPECT_LT(b.rejected, 330);
  // Plain random search counts its refusals the same way.
  Ban ban1;
  ban1.banned = 0;
  EXPECT_EQ(trace(StrategyKind::kRandom, big.shape, ban1, 9, 1000, big).rejected, ban1.refused);
}

// The same seed gives the same trajectory; another seed another one.
TEST(Strategy, NewStrategiesAreReproducible) {
  const Separable f(8, 5, 42);
  for (StrategyKind kind : {StrategyKind::kLocalSearch, StrategyKind::kLatencyAwareRandom}) {
    Ban b1, b2, b3;
    b1.banned = b2.banned = b3.banned = 2;
    const Trace x = trace(kind, f.shape, b1, 17, 500, f);
    const Trace y = trace(kind, f.shape, b2, 17, 500, f);
    const Trace z = trace(kind, f.shape, b3, 18, 500, f);
    EXPECT_EQ(x.proposals, y.proposals);
    EXPECT_EQ(x.rejected, y.rejected);
    EXPECT_NE(x.proposals, z.proposals);
  }
}
