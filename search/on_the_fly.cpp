#include "search/on_the_fly.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

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

// What one search has seen: each architecture's channel values, and its accuracy
// once it was proposed.
class SeenArchs {
 public:
  explicit SeenArchs(int channels) : channels_(channels) {}

  int32_t find(const Arch& a) const { return slot_.find(arch_key(a)); }
  // Adds an evaluated architecture (its channel values at `v`); returns its slot.
  int32_t add(const Arch& a, const float* v) {
    const auto fresh = static_cast<int32_t>(archs_.size());
    const int32_t slot = slot_.insert(arch_key(a), fresh);
    if (slot != fresh) {
      if (archs_[static_cast<size_t>(slot)] != a) throw std::logic_error("on-the-fly cache: two architectures share a 64-bit key");
      return slot;
    }
    archs_.push_back(a);
    values_.insert(values_.end(), v, v + channels_);
    accuracy_.push_back(std::numeric_limits<float>::quiet_NaN());
    return slot;
  }
  float value(int32_t slot, int channel) const {
    return values_[static_cast<size_t>(slot) * static_cast<size_t>(channels_) + static_cast<size_t>(channel)];
  }
  const Arch& arch(int32_t slot) const { return archs_[static_cast<size_t>(slot)]; }
  // The accuracy of a seen architecture, asked of the oracle the first time.
  float accuracy(int32_t slot, const ArchOracle& oracle) {
    float& a = accuracy_[static_cast<size_t>(slot)];
    if (std::isnan(a)) a = static_cast<float>(oracle.accuracy(archs_[static_cast<size_t>(slot)]));
    return a;
  }
  void reserve(size_t n) { slot_.reserve(n); }
  // Hands over what was seen; the search keeps nothing.
  void move_to(OnTheFlyResult& r) {
    r.archs = std::move(archs_);
    r.values = std::move(values_);
    r.accuracy = std::move(accuracy_);
  }

 private:
  int channels_;
  SlotTable slot_;
  std::vector<Arch> archs_;
  std::vector<float> values_, accuracy_;
};

// One search's view of the oracle in the rounds: what it has seen, and during a
// trial, what it asked for that is not known yet.
class CachedFeasibility final : public Feasibility {
 public:
  CachedFeasibility(int channels, int source_channel, double limit, int lookahead)
      : seen(channels), source_(source_channel), limit_(limit), lookahead_(lookahead) {}

  bool feasible(const Arch& a) const override {
    const int32_t slot = seen.find(a);
    if (slot >= 0) return seen.value(slot, source_) <= limit_;
    // Speculate "no" so the strategy shows what it would ask next; past the lookahead,
    // say "yes" so the trial ends (its proposal is thrown away either way) and list
    // nothing more: a strategy may go on asking after a "yes" (OFA's evolution breeds
    // a whole generation in one next()), and what it asks after an answer that may be
    // false is not what it would ask. So with no lookahead a round lists exactly the
    // next architecture the search would ask about evaluated one at a time, which the
    // direct mode's equality with the rounds rests on.
    if (static_cast<int>(pending_.size()) <= lookahead_ &&
        std::find(pending_.begin(), pending_.end(), a) == pending_.end()) {
      pending_.push_back(a);
    }
    return static_cast<int>(pending_.size()) > lookahead_;
  }

  bool missed() const { return !pending_.empty(); }
  const std::vector<Arch>& pending() const { return pending_; }
  void clear_pending() { pending_.clear(); }

  SeenArchs seen;

 private:
  int source_;
  double limit_;
  int lookahead_;
  mutable std::vector<Arch> pending_;  // filled by feasible(), a const query for the strategy
};

struct Search {
  Search(const OnTheFlyTask& t, int channels, int lookahead, const SpaceShape& shape)
      : cache(channels, t.source_channel, t.source_limit, lookahead),
        strategy(make_strategy(t.strategy, shape, cache, t.seed, t.options)) {
    if (t.options.budget > 0) cache.seen.reserve(static_cast<size_t>(2 * t.options.budget));
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
    const int32_t slot = s.cache.seen.find(a);
    s.evaluated.push_back(slot);
    s.strategy->report(s.cache.seen.accuracy(slot, oracle));
  }
}

// One search's view of the oracle in the direct mode: an architecture not seen yet is
// evaluated when asked about.
class DirectFeasibility final : public Feasibility {
 public:
  DirectFeasibility(int channels, int source_channel, double limit, ArchOracle& oracle)
      : seen(channels), source_(source_channel), limit_(limit), oracle_(oracle), one_(1),
        values_(static_cast<size_t>(channels)) {}

  bool feasible(const Arch& a) const override {
    int32_t slot = seen.find(a);
    if (slot < 0) {
      one_[0] = a;
      oracle_.evaluate(one_, values_);
      ++sent;
      slot = seen.add(a, values_.data());
    }
    last_ = slot;
    return seen.value(slot, source_) <= limit_;
  }
  // The slot of a proposal: every strategy asks about what it proposes, most often
  // last, which saves the proposal a second probe.
  int32_t slot_of(const Arch& a) const {
    if (last_ >= 0 && seen.arch(last_) == a) return last_;
    const int32_t slot = seen.find(a);
    if (slot < 0) throw std::logic_error("on-the-fly search proposed an architecture it never asked about");
    return slot;
  }

  // Mutable: filled by feasible(), a const query for the strategy.
  mutable SeenArchs seen;
  mutable int64_t sent = 0;  // architectures sent to the oracle

 private:
  int source_;
  double limit_;
  ArchOracle& oracle_;
  mutable std::vector<Arch> one_;
  mutable std::vector<float> values_;
  mutable int32_t last_ = -1;
};

// Runs one search to its end, each architecture evaluated when first asked about.
OnTheFlyResult run_direct(const SpaceShape& shape, const OnTheFlyTask& t, ArchOracle& oracle, int channels,
                          int64_t& sent) {
  DirectFeasibility f(channels, t.source_channel, t.source_limit, oracle);
  if (t.options.budget > 0) f.seen.reserve(static_cast<size_t>(2 * t.options.budget));
  const std::unique_ptr<SearchStrategy> strategy = make_strategy(t.strategy, shape, f, t.seed, t.options);
  OnTheFlyResult r;
  Arch a{};
  while (strategy->next(a)) {
    const int32_t slot = f.slot_of(a);
    r.evaluated.push_back(slot);
    strategy->report(f.seen.accuracy(slot, oracle));
  }
  r.rejected = strategy->rejected();
  f.seen.move_to(r);
  sent += f.sent;
  return r;
}

std::vector<OnTheFlyResult> run_all_direct(const SpaceShape& shape, const std::vector<OnTheFlyTask>& tasks,
                                           ArchOracle& oracle, const OnTheFlyOptions& options, OnTheFlyStats* stats) {
  const int C = oracle.channels();
  const auto n = static_cast<int64_t>(tasks.size());
#ifdef _OPENMP
  int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), n));
#else
  int threads = 1;
#endif
  std::vector<std::unique_ptr<ArchOracle>> forks;
  for (int i = 1; i < threads; ++i) {
    std::unique_ptr<ArchOracle> f = oracle.fork();
    if (!f) {
      threads = i;
      break;
    }
    forks.push_back(std::move(f));
  }
  std::vector<OnTheFlyResult> out(tasks.size());
  std::vector<std::exception_ptr> errors(tasks.size());
  std::atomic<bool> failed{false};
  int64_t finished = 0, sent = 0;
#pragma omp parallel num_threads(threads) if (threads > 1) reduction(+ : sent)
  {
#ifdef _OPENMP
    const int me = omp_get_thread_num();
#else
    const int me = 0;
#endif
    ArchOracle& mine = me == 0 ? oracle : *forks[static_cast<size_t>(me - 1)];
#pragma omp for schedule(dynamic, 1)
    for (int64_t i = 0; i < n; ++i) {
      if (failed.load(std::memory_order_relaxed)) continue;
      const auto u = static_cast<size_t>(i);
      try {
        out[u] = run_direct(shape, tasks[u], mine, C, sent);
        if (options.progress) {
          // An exception may not leave a critical section: it is caught inside.
#pragma omp critical(proxysim_on_the_fly_progress)
          try {
            options.progress(++finished, n);
          } catch (...) {
            errors[u] = std::current_exception();
            failed.store(true, std::memory_order_relaxed);
          }
        }
      } catch (...) {
        errors[u] = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  if (stats != nullptr) *stats = OnTheFlyStats{sent, sent, 0};
  return out;
}

}  // namespace

std::vector<OnTheFlyResult> run_on_the_fly(const SpaceShape& shape, const std::vector<OnTheFlyTask>& tasks,
                                           ArchOracle& oracle, const OnTheFlyOptions& options, OnTheFlyStats* stats) {
  if (options.mode == OnTheFlyMode::kDirect && options.lookahead > 0) {
    throw std::invalid_argument("run_on_the_fly: the direct mode has no lookahead (asked for " +
                                std::to_string(options.lookahead) + ")");
  }
  if (options.mode == OnTheFlyMode::kDirect ||
      (options.mode == OnTheFlyMode::kAuto && options.lookahead <= 0 && oracle.evaluates_singly())) {
    return run_all_direct(shape, tasks, oracle, options, stats);
  }
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
        s.cache.seen.add(batch[b], values.data() + b * static_cast<size_t>(C));
      }
      s.cache.clear_pending();
    }
  }
  std::vector<OnTheFlyResult> out(searches.size());
  for (size_t i = 0; i < searches.size(); ++i) {
    Search& s = *searches[i];
    s.cache.seen.move_to(out[i]);
    out[i].evaluated = std::move(s.evaluated);
    out[i].rejected = s.strategy->rejected();
  }
  if (stats != nullptr) *stats = st;
  return out;
}

}  // namespace proxysim
