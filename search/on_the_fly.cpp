#include "search/on_the_fly.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <unordered_map>

#include "base/rng.hpp"

namespace proxysim {

namespace {

struct ArchHash {
  size_t operator()(const Arch& a) const {
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < a.size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, a.data() + i, std::min<size_t>(8, a.size() - i));
      h = mix64(h ^ w);
    }
    return static_cast<size_t>(h);
  }
};

// One search's view of the oracle: what it has seen, and during a trial, what it
// asked for that is not known yet.
class CachedFeasibility final : public Feasibility {
 public:
  CachedFeasibility(int channels, int source_channel, double limit, int lookahead)
      : channels_(channels), source_(source_channel), limit_(limit), lookahead_(lookahead) {}

  bool feasible(const Arch& a) const override {
    const auto it = slot_.find(a);
    if (it != slot_.end()) {
      return values_[static_cast<size_t>(it->second) * static_cast<size_t>(channels_) + static_cast<size_t>(source_)] <=
             limit_;
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
    if (slot_.count(a) != 0) return;
    slot_.emplace(a, static_cast<int32_t>(archs_.size()));
    archs_.push_back(a);
    values_.insert(values_.end(), v, v + channels_);
  }
  int32_t slot(const Arch& a) const { return slot_.at(a); }
  float value(int32_t slot, int channel) const {
    return values_[static_cast<size_t>(slot) * static_cast<size_t>(channels_) + static_cast<size_t>(channel)];
  }
  std::vector<Arch>& archs() { return archs_; }
  std::vector<float>& values() { return values_; }

 private:
  int channels_, source_;
  double limit_;
  int lookahead_;
  std::unordered_map<Arch, int32_t, ArchHash> slot_;
  std::vector<Arch> archs_;
  std::vector<float> values_;
  mutable std::vector<Arch> pending_;  // filled by feasible(), a const query for the strategy
};

struct Search {
  Search(const OnTheFlyTask& t, int channels, int lookahead, const SpaceShape& shape)
      : cache(channels, t.source_channel, t.source_limit, lookahead),
        strategy(make_strategy(t.strategy, shape, cache, t.seed, t.options)) {}
  CachedFeasibility cache;
  std::unique_ptr<SearchStrategy> strategy;
  std::vector<int32_t> evaluated;
  bool done = false;
};

// Advances a search until it ends or needs an architecture its cache lacks.
void advance(Search& s, int accuracy_channel) {
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
    s.strategy->report(s.cache.value(slot, accuracy_channel));
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
  for (;;) {
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < n; ++i) {
      try {
        advance(*searches[static_cast<size_t>(i)], options.accuracy_channel);
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
#pragma omp parallel for schedule(static)
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
    out[i].evaluated = std::move(s.evaluated);
    out[i].rejected = s.strategy->rejected();
  }
  if (stats != nullptr) *stats = st;
  return out;
}

}  // namespace proxysim
