// Searches on spaces too large to tabulate (FBNet, OFA, MBv2): an architecture's
// latency and accuracy are computed when a search first asks for them, and many
// searches advance together so that what they ask for goes to one evaluation call.
//
// How the searches are batched without changing what any of them does: each search
// keeps a cache of the architectures it has seen (every channel of each: latencies,
// MACs, accuracy). A round tries next() on a copy of every search's strategy against
// its cache; a search whose proposal needed only cached architectures keeps the copy
// and goes on, one whose strategy asked about an architecture not yet cached throws
// the copy away and lists that architecture (and, speculatively answering "no", up to
// `lookahead` of the ones it would ask about next). The listed architectures of every
// search are evaluated in one call, the caches filled, and the next round retries. A
// strategy only ever sees answers that are true, so every search makes exactly the
// proposals it would make evaluated one architecture at a time (tests/search/
// on_the_fly_test.cpp checks this against direct evaluation).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "search/strategy.hpp"

namespace proxysim {

// Values of architectures, pure functions of the architecture: `channels()` numbers
// that feasibility is judged on (for instance the latency on each device, MACs),
// evaluated in batches, and the accuracy, evaluated only for what a search proposes.
class ArchOracle {
 public:
  virtual ~ArchOracle() = default;
  virtual int channels() const = 0;
  // values[i * channels() + c]: channel c of archs[i]. Called from one thread at a time.
  virtual void evaluate(const std::vector<Arch>& archs, std::vector<float>& values) = 0;
  // Called from many threads at once.
  virtual double accuracy(const Arch& a) const = 0;
};

struct OnTheFlyTask {
  StrategyKind strategy = StrategyKind::kRegularizedEvolution;
  uint64_t seed = 0;
  StrategyOptions options;
  int source_channel = 0;  // feasible: value on this channel <= source_limit
  double source_limit = 0;
};

// What one search evaluated: its distinct architectures and their channel values, and
// the order in which it evaluated them (indices into `archs`, repeats kept).
struct OnTheFlyResult {
  std::vector<Arch> archs;     // every architecture the search asked about, evaluated or not
  std::vector<float> values;   // archs.size() x channels
  std::vector<float> accuracy; // archs.size(); NaN where not evaluated
  std::vector<int32_t> evaluated;
  int64_t rejected = 0;        // proposals the source refused (SearchStrategy::rejected)
};

struct OnTheFlyStats {
  int64_t rounds = 0;           // evaluation calls
  int64_t evaluated_archs = 0;  // architectures sent to the oracle
  int64_t speculative = 0;      // of them, asked for ahead of need (lookahead)
};

struct OnTheFlyOptions {
  // Architectures a search lists per round beyond the first it needs: more means
  // fewer rounds and more evaluations that may go unused. Regularized evolution on
  // FBNet under the proxy's median has 373 refusals per 1,000 evaluations
  // (BM_OnTheFlyFbnetBatch): most steps need one ask, so none ahead.
  int lookahead = 0;
  // Called after each round with (searches finished, searches in all).
  std::function<void(int64_t, int64_t)> progress;
};

// Runs every task to its end, batched as above; searches advance on OpenMP threads.
std::vector<OnTheFlyResult> run_on_the_fly(const SpaceShape& shape, const std::vector<OnTheFlyTask>& tasks,
                                           ArchOracle& oracle, const OnTheFlyOptions& options,
                                           OnTheFlyStats* stats = nullptr);

}  // namespace proxysim
