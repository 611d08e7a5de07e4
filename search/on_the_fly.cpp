#include "search/on_the_fly.hpp"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>

#include "base/rng.hpp"

namespace proxysim {

namespace {

// A 64-bit hash of an architecture's bytes: the cache's key. Two architectures of one
// search sharing a key (odds about n^2 / 2^65, 1e-13 for a search's 2,000) would
// share a cache slot; add() checks the bytes and throws rather than mix them up.
uint64_t arch_key(const Arch& a) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < a.size(); i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, a.data() + i, std::min<size_t>(8, a.size() - i));
    h = mix64(h ^ w);
  }
  return h;
}

// Key -> slot, open addressing with linear probing in one array (a search's cache is
// probed several times per proposal, by a thousand searches at once: one cache line a
// probe instead of a node chase). Key 0 marks an empty entry; a real key of 0 is
// stored as 1 (the bytes are compared on insert either way).
class SlotTable {
 public:
  int32_t find(uint64_t key) const {
    if (keys_.empty()) return -1;
    key = key == 0 ? 1 : key;
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return slots_[i];
      if (keys_[i] == 0) return -1;
    }
  }
  // The slot already under `key`, or `slot` newly stored there.
  int32_t insert(uint64_t key, int32_t slot) {
    if (2 * (size_ + 1) > keys_.size()) grow();
    key = key == 0 ? 1 : key;
    for (size_t i = key & mask_;; i = (i + 1) & mask_) {
      if (keys_[i] == key) return slots_[i];
      if (keys_[i] == 0) {
        keys_[i] = key;
        slots_[i] = slot;
        ++size_;
        return slot;
      }
    }
  }
  void reserve(size_t n) {
    while (keys_.size() < 2 * n) grow();
  }

 private:
  void grow() {
    std::vector<uint64_t> keys = std::move(keys_);
    std::vector<int32_t> slots = std::move(slots_);
    const size_t cap = std::max<size_t>(64, 2 * keys.size());
    keys_.assign(cap, 0);
    slots_.assign(cap, -1);
    mask_ = cap - 1;
    size_ = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i] != 0) insert(keys[i], slots[i]);
    }
  }
  std::vector<uint64_t> keys_;
  std::vector<int32_t> slots_;
  size_t mask_ = 0, size_ = 0;
};

// One search's view of the oracle: what it has seen, and during a trial, what it
// asked for that is not known yet.
class CachedFeasibility final : public Feasibility {
 public:
  CachedFeasibility(int channels, int source_channel, double limit, int lookahead)
      : channels_(channels), source_(source_channel), limit_(limit), lookahead_(lookahead) {}

  bool feasible(const Arch& a) const override {
    const int32_t slot = slot_.find(arch_key(a));
    if (slot >= 0) {
      return values_[static_cast<size_t>(slot) * static_cast<size_t>(channels_) + static_cast<size_t>(source_)] <= limit_;
    }
    if (std::find(pending_.begin(), pending_.end(), a) == pending_.end()) pending_.push_back(a);
    // Speculate "no" so the strategy shows what it would ask next; past the lookahead,
    // say "yes" so the trial ends at once (its proposal is thrown away either way).
    return static_cast<int>(pending_.size()) > lookahead_;
  }

  bool missed() const { return !pending_.empty(); }
  const std::vector<Arch>& pending() const { return pending_; }
  void clear_pending() { pending_.clear(); }

  // Adds an evaluated architecture (its channel values at `v`).
  void add(const Arch& a, const float* v) {
    const auto fresh = static_cast<int32_t>(archs_.size());
    const int32_t slot = slot_.insert(arch_key(a), fresh);
    if (slot != fresh) {
      if (archs_[static_cast<size_t>(slot)] != a) throw std::logic_error("on-the-fly cache: two architectures share a 64-bit key");
      return;
    }
    archs_.push_back(a);
    values_.insert(values_.end(), v, v + channels_);
    accuracy_.push_back(std::numeric_limits<float>::quiet_NaN());
  }
  // The accuracy of a cached architecture, asked of the oracle the first time.
  float accuracy(int32_t slot, const ArchOracle& oracle) {
    float& a = accuracy_[static_cast<size_t>(slot)];
    if (std::isnan(a)) a = static_cast<float>(oracle.accuracy(archs_[static_cast<size_t>(slot)]));
    return a;
  }
  int32_t slot(const Arch& a) const { return slot_.find(arch_key(a)); }
  void reserve(size_t n) { slot_.reserve(n); }
  std::vector<Arch>& archs() { return archs_; }
  std::vector<float>& values() { return values_; }
  std::vector<float>& accuracies() { return accuracy_; }

 private:
  int channels_, source_;
  double limit_;
  int lookahead_;
  SlotTable slot_;
  std::vector<Arch> archs_;
  std::vector<float> values_, accuracy_;
  mutable std::vector<Arch> pending_;  // filled by feasible(), a const query for the strategy
};

struct Search {
  Search(const OnTheFlyTask& t, int channels, int lookahead, const SpaceShape& shape)
      : cache(channels, t.source_channel, t.source_limit, lookahead),
        strategy(make_strategy(t.strategy, shape, cache, t.seed, t.options)) {
    if (t.options.budget > 0) cache.reserve(static_cast<size_t>(2 * t.options.budget));
  }
  CachedFeasibility cache;
  std::unique_ptr<SearchStrategy> strategy;
  std::vector<int32_t> evaluated;
  bool done = false;
};

// Advances a search until it ends or needs an architecture its cache lacks.
void advance(Search& s, const ArchOracle& oracle) {
  while (!s.done) {
    std::unique_ptr<SearchStrategy> trial = s.strategy->clone();
    Arch a{};
    const bool proposed = trial->next(a);
    if (s.cache.missed()) return;  // thrown away: its answers were not all known
    s.strategy = std::move(trial);
    if (!proposed) {
      s.done = true;
      return;
    }
    const int32_t slot = s.cache.slot(a);
    s.evaluated.push_back(slot);
    s.strategy->report(s.cache.accuracy(slot, oracle));
  }
}

}  // namespace

std::vector<OnTheFlyResult> run_on_the_fly(const SpaceShape& shape, const std::vector<OnTheFlyTask>& tasks,
                                           ArchOracle& oracle, const OnTheFlyOptions& options, OnTheFlyStats* stats) {
  const int C = oracle.channels();
  OnTheFlyStats st;
  std::vector<std::unique_ptr<Search>> searches;
  searches.reserve(tasks.size());
  for (const auto& t : tasks) {
    // The strategy holds a reference to the cache: each Search stays where it was made.
    searches.push_back(std::make_unique<Search>(t, C, std::max(0, options.lookahead), shape));
  }
  const auto n = static_cast<int64_t>(searches.size());
  std::vector<Arch> batch;
  std::vector<float> values;
  std::vector<size_t> first(searches.size() + 1);
  std::vector<std::exception_ptr> errors(searches.size());
  // A round's work is small (a step or a few per search): threads only where there
  // are enough searches or architectures to cover waking them, as threads that wait
  // at a barrier each round spin on cores other processes may want.
  constexpr int64_t kParallelSearches = 128, kParallelArchs = 512;
  for (;;) {
#pragma omp parallel for schedule(dynamic, 8) if (n >= kParallelSearches)
    for (int64_t i = 0; i < n; ++i) {
      try {
        advance(*searches[static_cast<size_t>(i)], oracle);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
        searches[static_cast<size_t>(i)]->done = true;
      }
    }
    for (const auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    batch.clear();
    int64_t finished = 0;
    for (size_t i = 0; i < searches.size(); ++i) {
      first[i] = batch.size();
      const Search& s = *searches[i];
      if (s.done) ++finished;
      const auto& p = s.cache.pending();
      batch.insert(batch.end(), p.begin(), p.end());
      if (!p.empty()) st.speculative += static_cast<int64_t>(p.size()) - 1;
    }
    first[searches.size()] = batch.size();
    if (options.progress) options.progress(finished, n);
    if (batch.empty()) break;
    values.assign(batch.size() * static_cast<size_t>(C), 0.0f);
    oracle.evaluate(batch, values);
    ++st.rounds;
    st.evaluated_archs += static_cast<int64_t>(batch.size());
#pragma omp parallel for schedule(static) if (n >= kParallelSearches && static_cast<int64_t>(batch.size()) >= kParallelArchs)
    for (int64_t i = 0; i < n; ++i) {
      Search& s = *searches[static_cast<size_t>(i)];
      for (size_t b = first[static_cast<size_t>(i)]; b < first[static_cast<size_t>(i) + 1]; ++b) {
        s.cache.add(batch[b], values.data() + b * static_cast<size_t>(C));
      }
      s.cache.clear_pending();
    }
  }
  std::vector<OnTheFlyResult> out(searches.size());
  for (size_t i = 0; i < searches.size(); ++i) {
    Search& s = *searches[i];
    out[i].archs = std::move(s.cache.archs());
    out[i].values = std::move(s.cache.values());
    out[i].accuracy = std::move(s.cache.accuracies());
    out[i].evaluated = std::move(s.evaluated);
    out[i].rejected = s.strategy->rejected();
  }
  if (stats != nullptr) *stats = st;
  return out;
}

}  // namespace proxysim
