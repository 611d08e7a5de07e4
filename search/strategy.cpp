#include "search/strategy.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <deque>
#include <numeric>

#include "base/rng.hpp"
#include "base/error.hpp"

namespace proxysim {

SpaceShape SpaceShape::of(const SearchSpace& space) {
  SpaceShape s;
  s.decisions = space.decisions();
  assert(s.decisions <= kMaxDecisions);
  for (int k = 0; k < s.decisions; ++k) s.choices[static_cast<size_t>(k)] = static_cast<uint8_t>(space.choices(k));
  return s;
}

uint64_t SpaceShape::key(const Arch& a) const {
  uint64_t key = 0;
  for (int k = decisions - 1; k >= 0; --k) key = key * choices[static_cast<size_t>(k)] + a[static_cast<size_t>(k)];
  return key;
}

Arch SpaceShape::from_key(uint64_t key) const {
  Arch a{};
  for (int k = 0; k < decisions; ++k) {
    a[static_cast<size_t>(k)] = static_cast<uint8_t>(key % choices[static_cast<size_t>(k)]);
    key /= choices[static_cast<size_t>(k)];
  }
  return a;
}

uint64_t SpaceShape::size() const {
  uint64_t n = 1;
  for (int k = 0; k < decisions; ++k) {
    const uint64_t c = choices[static_cast<size_t>(k)];
    if (n > UINT64_MAX / c) return UINT64_MAX;
    n *= c;
  }
  return n;
}

const std::vector<std::string>& strategy_names() {
  static const std::vector<std::string> names = {"exhaustive", "random", "regularized_evolution", "ofa_evolution"};
  return names;
}

StrategyKind strategy_from_name(std::string_view name) {
  const auto& names = strategy_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    throw UserError("unknown search strategy '" + std::string(name) +
                    "' (expected exhaustive, random, regularized_evolution or ofa_evolution)");
  }
  return static_cast<StrategyKind>(it - names.begin());
}

namespace {

// The shared machinery: the search's own random stream, the budget and the
// one-outstanding-proposal invariant.
class Base : public SearchStrategy {
 public:
  Base(const SpaceShape& shape, const Feasibility& f, uint64_t seed, const StrategyOptions& o)
      : shape_(shape), feasible_(f), seed_(seed), options_(o) {}

  bool next(Arch& out) final {
    assert(!outstanding_ && "next() called twice without report()");
    if (options_.budget > 0 && evaluations_ >= options_.budget) return false;
    if (!propose(out)) return false;
    outstanding_ = true;
    ++evaluations_;
    last_ = out;
    return true;
  }

  void report(double accuracy) final {
    assert(outstanding_ && "report() without next()");
    outstanding_ = false;
    receive(last_, accuracy);
  }

 protected:
  virtual bool propose(Arch& out) = 0;
  virtual void receive(const Arch& a, double accuracy) = 0;

  uint64_t bits() { return counter_hash(seed_, draw_++, 0x5ea7c4ull); }
  uint32_t uniform(uint32_t n) { return bounded(bits(), n); }
  double unit() { return unit_open(bits()); }

  Arch random_arch() {
    Arch a{};
    for (int k = 0; k < shape_.decisions; ++k) a[static_cast<size_t>(k)] = static_cast<uint8_t>(uniform(shape_.choices[static_cast<size_t>(k)]));
    return a;
  }

  // Draws from `make` until the result is feasible; false after max_tries draws.
  template <class Make>
  bool feasible_draw(Arch& out, Make&& make) {
    for (int32_t t = 0; t < options_.max_tries; ++t) {
      out = make();
      if (feasible_.feasible(out)) return true;
    }
    return false;
  }

  const SpaceShape shape_;
  const Feasibility& feasible_;
  const uint64_t seed_;
  const StrategyOptions options_;

 private:
  uint64_t draw_ = 0;
  int64_t evaluations_ = 0;
  bool outstanding_ = false;
  Arch last_{};
};

// Every architecture in mixed-radix order, the infeasible ones skipped unevaluated.
class Exhaustive final : public Base {
 public:
  using Base::Base;

 protected:
  bool propose(Arch& out) override {
    const uint64_t size = shape_.size();
    if (size == UINT64_MAX) throw UserError("exhaustive search needs an enumerable space");
    while (key_ < size) {
      out = shape_.from_key(key_++);
      if (feasible_.feasible(out)) return true;
    }
    return false;
  }
  void receive(const Arch&, double) override {}

 private:
  uint64_t key_ = 0;
};

// Uniform over the feasible architectures (rejection), with repeats, as random
// search is usually run on NAS benchmarks.
class RandomSearch final : public Base {
 public:
  using Base::Base;

 protected:
  bool propose(Arch& out) override {
    return feasible_draw(out, [&] { return random_arch(); });
  }
  void receive(const Arch&, double) override {}
};

// Real et al. 2019, Algorithm 1: P random architectures, then repeatedly the best of
// S drawn (with replacement) from the population is mutated in one decision to a
// different choice, the child joins and the oldest member dies.
class RegularizedEvolution final : public Base {
 public:
  RegularizedEvolution(const SpaceShape& shape, const Feasibility& f, uint64_t seed, const StrategyOptions& o)
      : Base(shape, f, seed, o) {
    if (o.population < 1 || o.sample < 1) throw UserError("regularized evolution needs population and sample >= 1");
  }

 protected:
  bool propose(Arch& out) override {
    if (static_cast<int32_t>(population_.size()) < options_.population && !filled_) {
      return feasible_draw(out, [&] { return random_arch(); });
    }
    filled_ = true;
    size_t best = uniform(static_cast<uint32_t>(population_.size()));
    for (int32_t j = 1; j < options_.sample; ++j) {
      const size_t c = uniform(static_cast<uint32_t>(population_.size()));
      if (population_[c].second > population_[best].second) best = c;
    }
    const Arch parent = population_[best].first;
    return feasible_draw(out, [&] {
      Arch child = parent;
      const auto k = static_cast<size_t>(uniform(static_cast<uint32_t>(shape_.decisions)));
      // A different choice at decision k, uniform among the other choices-1 values.
      const uint8_t alt = static_cast<uint8_t>(uniform(shape_.choices[k] - 1u));
      child[k] = static_cast<uint8_t>(alt >= child[k] ? alt + 1 : alt);
      return child;
    });
  }
  void receive(const Arch& a, double accuracy) override {
    population_.emplace_back(a, accuracy);
    if (static_cast<int32_t>(population_.size()) > options_.population) population_.pop_front();
  }

 private:
  std::deque<std::pair<Arch, double>> population_;
  bool filled_ = false;
};

// Once-for-All's evolution finder (Cai et al. 2020, ofa/nas/search_algorithm): a
// population of N feasible random architectures; each generation keeps the best
// N * parent_ratio as parents and adds N * mutation_ratio mutants of random parents
// (each decision resampled with probability mutation_prob) and crossovers of two
// random parents (each decision from either) for the rest, every child feasible.
class OfaEvolution final : public Base {
 public:
  OfaEvolution(const SpaceShape& shape, const Feasibility& f, uint64_t seed, const StrategyOptions& o)
      : Base(shape, f, seed, o) {
    const int32_t n = o.ofa_population;
    parents_ = static_cast<int32_t>(std::round(n * o.ofa_parent_ratio));
    mutants_ = static_cast<int32_t>(std::round(n * o.ofa_mutation_ratio));
    if (n < 2 || parents_ < 1 || parents_ + mutants_ > n) {
      throw UserError("ofa_evolution needs population >= 2 and 1 <= parents, parents + mutants <= population");
    }
  }

 protected:
  bool propose(Arch& out) override {
    if (!started_) {
      if (static_cast<int32_t>(population_.size()) < options_.ofa_population) {
        return feasible_draw(out, [&] { return random_arch(); });
      }
      started_ = true;
    }
    if (next_child_ == children_.size()) {
      if (!children_.empty()) finish_generation();
      if (generation_ == options_.ofa_generations) return false;
      if (!breed()) return false;
    }
    out = children_[next_child_++];
    return true;
  }

  void receive(const Arch& a, double accuracy) override {
    if (!started_) {
      population_.emplace_back(a, accuracy);
    } else {
      child_accuracy_.push_back(accuracy);
    }
  }

 private:
  // Sorts by accuracy (stable, so equal accuracies keep their order and a run
  // reproduces exactly) and keeps the parents.
  void keep_parents() {
    std::stable_sort(population_.begin(), population_.end(),
                     [](const auto& x, const auto& y) { return x.second > y.second; });
    population_.resize(static_cast<size_t>(parents_));
  }

  bool breed() {
    keep_parents();
    children_.clear();
    child_accuracy_.clear();
    next_child_ = 0;
    const int32_t n = options_.ofa_population;
    for (int32_t i = 0; i < n - parents_; ++i) {
      Arch child{};
      bool ok;
      if (i < mutants_) {
        ok = feasible_draw(child, [&] {
          Arch c = population_[uniform(static_cast<uint32_t>(parents_))].first;
          for (int k = 0; k < shape_.decisions; ++k) {
            if (unit() < options_.ofa_mutation_prob) c[static_cast<size_t>(k)] = static_cast<uint8_t>(uniform(shape_.choices[static_cast<size_t>(k)]));
          }
          return c;
        });
      } else {
        ok = feasible_draw(child, [&] {
          const Arch& p1 = population_[uniform(static_cast<uint32_t>(parents_))].first;
          const Arch& p2 = population_[uniform(static_cast<uint32_t>(parents_))].first;
          Arch c{};
          for (int k = 0; k < shape_.decisions; ++k) c[static_cast<size_t>(k)] = (bits() >> 63) ? p1[static_cast<size_t>(k)] : p2[static_cast<size_t>(k)];
          return c;
        });
      }
      if (!ok) return false;
      children_.push_back(child);
    }
    return true;
  }

  void finish_generation() {
    // Only children that were reported join: a budget may end a generation early.
    for (size_t i = 0; i < child_accuracy_.size(); ++i) population_.emplace_back(children_[i], child_accuracy_[i]);
    ++generation_;
  }

  int32_t parents_ = 0, mutants_ = 0, generation_ = 0;
  bool started_ = false;
  std::vector<std::pair<Arch, double>> population_;
  std::vector<Arch> children_;
  std::vector<double> child_accuracy_;
  size_t next_child_ = 0;
};

}  // namespace

std::unique_ptr<SearchStrategy> make_strategy(StrategyKind kind, const SpaceShape& shape,
                                              const Feasibility& feasibility, uint64_t seed,
                                              const StrategyOptions& options) {
  switch (kind) {
    case StrategyKind::kExhaustive: return std::make_unique<Exhaustive>(shape, feasibility, seed, options);
    case StrategyKind::kRandom: return std::make_unique<RandomSearch>(shape, feasibility, seed, options);
    case StrategyKind::kRegularizedEvolution:
      return std::make_unique<RegularizedEvolution>(shape, feasibility, seed, options);
    case StrategyKind::kOfaEvolution: return std::make_unique<OfaEvolution>(shape, feasibility, seed, options);
  }
  throw std::logic_error("unknown strategy kind");
}

}  // namespace proxysim
