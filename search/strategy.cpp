#include "search/strategy.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <deque>
#include <memory>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

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
  static const std::vector<std::string> names = {"exhaustive",    "random",       "regularized_evolution",
                                                 "ofa_evolution", "local_search", "latency_aware_random"};
  return names;
}

StrategyKind strategy_from_name(std::string_view name) {
  const auto& names = strategy_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    throw UserError("unknown search strategy '" + std::string(name) +
                    "' (expected exhaustive, random, regularized_evolution, ofa_evolution, local_search or "
                    "latency_aware_random)");
  }
  return static_cast<StrategyKind>(it - names.begin());
}

namespace {

// A container shared by a strategy and its clones, copied before the first write by
// one that does not hold it alone.
template <class T>
T& writable(std::shared_ptr<T>& p) {
  if (p.use_count() > 1) p = std::make_shared<T>(*p);
  return *p;
}

// The shared machinery: the search's own random stream, the budget and the
// one-outstanding-proposal invariant.
class Base : public SearchStrategy {
 public:
  Base(const SpaceShape& shape, const Feasibility& f, uint64_t seed, const StrategyOptions& o)
      : shape_(shape), feasible_(f), seed_(seed), options_(o), keyed_(shape.size() != UINT64_MAX) {}

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

  int64_t rejected() const final { return rejected_; }

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

  // The latency source's verdict, each refusal counted.
  bool admits(const Arch& a) {
    if (feasible_.feasible(a)) return true;
    ++rejected_;
    return false;
  }

  // Draws from `make` until the result is feasible; false after max_tries draws.
  template <class Make>
  bool feasible_draw(Arch& out, Make&& make) {
    for (int32_t t = 0; t < options_.max_tries; ++t) {
      out = make();
      if (admits(out)) return true;
    }
    return false;
  }

  // An architecture's identity: its mixed-radix key where that fits 64 bits (NB201,
  // exact), else a hash of its bytes (FBNet, OFA, MBv2; a collision among a search's
  // few thousand architectures has odds of about 1e-12).
  uint64_t identity(const Arch& a) const {
    if (keyed_) return shape_.key(a);
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < shape_.decisions; ++k) h = mix64(h ^ (uint64_t{a[static_cast<size_t>(k)]} + (uint64_t(k) << 8)));
    return h;
  }

  const SpaceShape shape_;
  const Feasibility& feasible_;
  const uint64_t seed_;
  const StrategyOptions options_;
  const bool keyed_;  // the space's keys fit 64 bits

 private:
  uint64_t draw_ = 0;
  int64_t evaluations_ = 0;
  int64_t rejected_ = 0;
  bool outstanding_ = false;
  Arch last_{};
};

// Every architecture in mixed-radix order, the infeasible ones skipped unevaluated.
class Exhaustive final : public Base {
 public:
  std::unique_ptr<SearchStrategy> clone() const override { return std::make_unique<Exhaustive>(*this); }
  using Base::Base;

 protected:
  bool propose(Arch& out) override {
    const uint64_t size = shape_.size();
    if (size == UINT64_MAX) throw UserError("exhaustive search needs an enumerable space");
    while (key_ < size) {
      out = shape_.from_key(key_++);
      if (admits(out)) return true;
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
  std::unique_ptr<SearchStrategy> clone() const override { return std::make_unique<RandomSearch>(*this); }
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
  std::unique_ptr<SearchStrategy> clone() const override { return std::make_unique<RegularizedEvolution>(*this); }
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
  std::unique_ptr<SearchStrategy> clone() const override { return std::make_unique<OfaEvolution>(*this); }
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

// First-improvement local search with random restarts: from a random feasible start,
// the single-decision neighbours (every other choice of every decision) are tried in
// a random order; the first feasible neighbour more accurate than the current
// architecture becomes current and its own neighbourhood is tried afresh. A whole
// neighbourhood without an improvement is a local optimum, and the search restarts
// from a new random feasible architecture. Accuracies already evaluated are
// remembered, so no architecture costs two evaluations: a neighbour seen before is
// compared without one. It ends at the budget, or when max_tries draws and neighbours
// in a row bring no new evaluation (the feasible space used up).
class LocalSearch final : public Base {
 public:
  std::unique_ptr<SearchStrategy> clone() const override { return std::make_unique<LocalSearch>(*this); }
  LocalSearch(const SpaceShape& shape, const Feasibility& f, uint64_t seed, const StrategyOptions& o)
      : Base(shape, f, seed, o) {
    for (int k = 0; k < shape_.decisions; ++k) {
      first_neighbour_.push_back(neighbours_);
      neighbours_ += shape_.choices[static_cast<size_t>(k)] - 1u;
    }
    order_.resize(neighbours_);
  }

 protected:
  bool propose(Arch& out) override {
    while (idle_ < options_.max_tries) {
      ++idle_;
      if (!have_current_) {
        const Arch a = random_arch();
        if (!admits(a)) continue;
        const auto seen = known_->find(identity(a));
        if (seen != known_->end()) {
          move_to(a, seen->second);  // a start evaluated before: climb on from it
          continue;
        }
        out = a;
        start_ = true;
        idle_ = 0;
        return true;
      }
      if (next_ == neighbours_) {  // a local optimum
        have_current_ = false;
        continue;
      }
      const Arch n = neighbour(order_[next_++]);
      if (!admits(n)) continue;
      const auto seen = known_->find(identity(n));
      if (seen != known_->end()) {
        if (seen->second > current_accuracy_) move_to(n, seen->second);
        continue;
      }
      out = n;
      start_ = false;
      idle_ = 0;
      return true;
    }
    return false;
  }

  void receive(const Arch& a, double accuracy) override {
    writable(known_).emplace(identity(a), accuracy);
    if (start_ || accuracy > current_accuracy_) move_to(a, accuracy);
  }

 private:
  // Neighbour i: decision k with the j-th of its other choices, i = first_neighbour_[k] + j.
  Arch neighbour(uint32_t i) const {
    const auto k = static_cast<size_t>(std::upper_bound(first_neighbour_.begin(), first_neighbour_.end(), i) -
                                       first_neighbour_.begin() - 1);
    const auto j = static_cast<uint8_t>(i - first_neighbour_[k]);
    Arch n = current_;
    n[k] = static_cast<uint8_t>(j >= current_[k] ? j + 1 : j);
    return n;
  }

  // Makes `a` current, with a fresh random order of its neighbours (Fisher-Yates).
  void move_to(const Arch& a, double accuracy) {
    current_ = a;
    current_accuracy_ = accuracy;
    have_current_ = true;
    std::iota(order_.begin(), order_.end(), 0u);
    for (uint32_t i = neighbours_; i > 1; --i) std::swap(order_[i - 1], order_[uniform(i)]);
    next_ = 0;
  }

  std::vector<uint32_t> first_neighbour_;
  uint32_t neighbours_ = 0;
  std::vector<uint32_t> order_;
  uint32_t next_ = 0;
  Arch current_{};
  double current_accuracy_ = 0;
  bool have_current_ = false;
  bool start_ = false;  // the outstanding proposal is a (re)start, not a neighbour
  int32_t idle_ = 0;
  // Shared with clones until one of them records an evaluation (copy on write): a
  // batched driver copies the strategy before every proposal (search/on_the_fly.hpp).
  std::shared_ptr<std::unordered_map<uint64_t, double>> known_ = std::make_shared<std::unordered_map<uint64_t, double>>();
};

// Random search that spends accuracy evaluations only where the latency source says
// the architecture is feasible, and never twice on one architecture: each uniform
// draw is first checked against the architectures already evaluated (a repeat is
// redrawn, uncounted), then against the source (a refusal is redrawn and counted in
// rejected()). Unlike `random`, which repeats architectures as NAS-benchmark random
// search usually does, its evaluations are all distinct. It ends at the budget, or
// when max_tries draws in a row bring no new feasible architecture.
class LatencyAwareRandom final : public Base {
 public:
  std::unique_ptr<SearchStrategy> clone() const override { return std::make_unique<LatencyAwareRandom>(*this); }
  using Base::Base;

 protected:
  bool propose(Arch& out) override {
    for (int32_t t = 0; t < options_.max_tries; ++t) {
      out = random_arch();
      if (evaluated_->count(identity(out)) != 0) continue;
      if (!admits(out)) continue;
      return true;
    }
    return false;
  }
  // Recorded here rather than in propose(): every proposal is reported before the next.
  void receive(const Arch& a, double) override { writable(evaluated_).insert(identity(a)); }

 private:
  std::shared_ptr<std::unordered_set<uint64_t>> evaluated_ = std::make_shared<std::unordered_set<uint64_t>>();  // copy on write, as LocalSearch's
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
    case StrategyKind::kLocalSearch: return std::make_unique<LocalSearch>(shape, feasibility, seed, options);
    case StrategyKind::kLatencyAwareRandom:
      return std::make_unique<LatencyAwareRandom>(shape, feasibility, seed, options);
  }
  throw std::logic_error("unknown strategy kind");
}

}  // namespace proxysim
