// NAS search strategies behind one small ask/tell interface (Timeloop's mapper
// style): next() proposes an architecture, report() returns its accuracy. The
// latency constraint reaches a strategy as a feasibility test that it applies
// before proposing, as a cheap latency source (a proxy, a predictor, FLOPs) is
// consulted before the expensive accuracy evaluation in hardware-aware NAS; only
// accuracy evaluations count against the budget.
//
// Every random draw is counter based (base/rng.hpp): draw j of a search with seed
// s is a pure function of (s, j), so a search gives the same trajectory whichever
// thread runs it and whatever other searches run beside it.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/space.hpp"

namespace proxysim {

// One byte per decision, as many as the largest space has (sim/space_kernels.hpp).
using Arch = std::array<uint8_t, kMaxDecisions>;

struct SpaceShape {
  int decisions = 0;
  std::array<uint8_t, kMaxDecisions> choices{};
  static SpaceShape of(const SearchSpace& space);
  // Mixed-radix key of an architecture (decision 0 least significant); fits 64 bits
  // only for spaces of at most 2^64 architectures, which callers check with size().
  uint64_t key(const Arch& a) const;
  Arch from_key(uint64_t key) const;
  // Number of architectures, saturated at UINT64_MAX.
  uint64_t size() const;
};

// Whether an architecture may be proposed: the search's latency source says it meets
// the constraint (and it is an architecture the search may evaluate at all).
class Feasibility {
 public:
  virtual ~Feasibility() = default;
  virtual bool feasible(const Arch& a) const = 0;
};

enum class StrategyKind { kExhaustive, kRandom, kRegularizedEvolution, kOfaEvolution, kLocalSearch, kLatencyAwareRandom };
// exhaustive, random, regularized_evolution, ofa_evolution, local_search, latency_aware_random
const std::vector<std::string>& strategy_names();
StrategyKind strategy_from_name(std::string_view name);  // throws UserError otherwise

struct StrategyOptions {
  int64_t budget = 1000;  // most accuracy evaluations; 0 = no limit (exhaustive's natural end)
  // Regularized (aging) evolution, Real et al. 2019: population P, tournament sample S.
  // P = 20 and S = 5 are the settings of the NAS-Bench-201 benchmarks' REA runs scaled
  // to a 1000-evaluation budget; tests/search/strategy_test.cpp states what they reach.
  int32_t population = 20;
  int32_t sample = 5;
  // Once-for-All's evolutionary search (Cai et al. 2020, its released defaults).
  int32_t ofa_population = 100;
  int32_t ofa_generations = 500;
  double ofa_mutation_prob = 0.1;
  double ofa_parent_ratio = 0.25;
  double ofa_mutation_ratio = 0.5;
  // Draws tried for one feasible architecture before the search gives up (next()
  // returns false): a constraint nothing meets would otherwise loop forever. Local
  // search and latency-aware random count every draw or neighbour that brought no
  // new evaluation, so they also end when the feasible space is used up.
  int32_t max_tries = 100000;
};

class SearchStrategy {
 public:
  virtual ~SearchStrategy() = default;
  // The next architecture to evaluate; false when the budget is spent, the space is
  // exhausted or no feasible architecture could be drawn.
  virtual bool next(Arch& out) = 0;
  // The accuracy of the architecture the last next() returned. Calling next() twice
  // without a report() in between is a broken invariant (asserted).
  virtual void report(double accuracy) = 0;
  // Proposals refused so far: each one a feasibility test that said no (over the
  // latency source's constraint, or not an architecture the search may evaluate)
  // before any accuracy evaluation was spent on it. A refused architecture met again
  // is counted again.
  virtual int64_t rejected() const = 0;
  // A copy in the same state, answering to the same Feasibility: a batched driver
  // (search/on_the_fly.hpp) tries next() on a copy and keeps it or throws it away.
  virtual std::unique_ptr<SearchStrategy> clone() const = 0;
};

// `feasibility` must outlive the strategy.
std::unique_ptr<SearchStrategy> make_strategy(StrategyKind kind, const SpaceShape& shape,
                                              const Feasibility& feasibility, uint64_t seed,
                                              const StrategyOptions& options = {});

}  // namespace proxysim
