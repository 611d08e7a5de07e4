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
//
// Rounds are what a GPU needs (one engine call for every search's asks). Where an
// oracle evaluates one architecture at a time for about what it costs in a batch (the
// CPU engine), the rounds cost more than they save: copying every strategy before
// each trial and probing a thousand caches that no longer fit any cache each round.
// There each search runs to its end on one thread, asking the oracle as it goes (the
// direct mode). With no lookahead the rounds list exactly the architectures the
// direct mode evaluates, in the same order, so both give the same OnTheFlyResult
// (tested).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
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
  // Whether evaluate() on one architecture costs about what a batch costs per
  // architecture, so that searches may ask it directly (OnTheFlyMode::kAuto). False
  // where each call has a fixed price that rounds amortize (a GPU's launch and copies).
  virtual bool evaluates_singly() const { return false; }
  // An oracle giving the same values and accuracies, for another thread of the direct
  // mode (each copy's evaluate() is called from one thread at a time). Asked only of
  // oracles that evaluate singly; nullptr: none, the searches share one thread.
  virtual std::unique_ptr<ArchOracle> fork() const { return nullptr; }
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
  int64_t rounds = 0;           // evaluation calls (direct mode: one per architecture)
  int64_t evaluated_archs = 0;  // architectures sent to the oracle
  int64_t speculative = 0;      // of them, asked for ahead of need (lookahead)
};

// kAuto: direct where the oracle evaluates singly and the lookahead is 0, else rounds.
// kRounds: always rounds (what the tests use to check the round path on the CPU).
// kDirect: direct; a lookahead is then meaningless and refused (std::invalid_argument).
enum class OnTheFlyMode { kAuto, kRounds, kDirect };

struct OnTheFlyOptions {
  // Architectures a search lists per round beyond the first it needs, each asked
  // with a speculative "no": more means fewer rounds and more evaluations that may go
  // unused. Regularized evolution on FBNet under the proxy's median has 373 refusals
  // per 1,000 evaluations (BM_OnTheFlyFbnetBatch): most steps need one ask, so none
  // ahead.
  int lookahead = 0;
  OnTheFlyMode mode = OnTheFlyMode::kAuto;
  // Called with (searches finished, searches in all) after each round, or in the
  // direct mode after each search, from one thread at a time.
  std::function<void(int64_t, int64_t)> progress;
};

// Runs every task to its end, batched or direct as above; searches advance on OpenMP
// threads (direct: one fork() of the oracle for each thread past the first).
std::vector<OnTheFlyResult> run_on_the_fly(const SpaceShape& shape, const std::vector<OnTheFlyTask>& tasks,
                                           ArchOracle& oracle, const OnTheFlyOptions& options,
                                           OnTheFlyStats* stats = nullptr);

}  // namespace proxysim
