// Hardware-aware NAS on a proxy, the paper's flow (Lu et al. 2022, Sec. 6): search
// with a latency source (the target itself, a raw proxy, an adapted proxy, FLOPs)
// under a latency constraint, take the accuracy-latency Pareto front of what the
// search evaluated as the source sees it, measure the front's architectures on the
// target (each measurement counted), keep those that meet the target's constraint
// and report the best. The outcome is judged against the target-optimal
// architecture under the same constraint.
//
// The problem is tabulated: every architecture the search may evaluate is a row of
// the run's matrix, with an accuracy and, per source, a latency value.
#pragma once
#include <cstdint>
#include <vector>

#include "search/strategy.hpp"

namespace proxysim {

// Whether `space` is small enough to tabulate (at most 2^26 architectures); the
// other throws the nas stage's UserError unless it is.
bool is_tabulable(const SearchSpace& space);
void require_tabulable(const SearchSpace& space);

// Rows of a run's architecture table, addressed by architecture.
class TabularSpace {
 public:
  // `codes` is rows x space.decisions(). Throws UserError when the space has more
  // than 2^26 architectures (a dense row index would not fit in memory) or a code
  // appears twice.
  TabularSpace(const SearchSpace& space, const std::vector<uint8_t>& codes, uint64_t rows);
  const SpaceShape& shape() const { return shape_; }
  // The row of an architecture, -1 when the table lacks it.
  int64_t row(const Arch& a) const { return row_of_key_[shape_.key(a)]; }
  uint64_t rows() const { return rows_; }

 private:
  SpaceShape shape_;
  std::vector<int32_t> row_of_key_;
  uint64_t rows_ = 0;
};

// What one search may look at. `eligible` rows are those every column involved has
// (connected, accuracy known, measured on the target); `accuracy` and `source` are
// per row, `source` in whatever unit the source has.
struct NasProblem {
  const TabularSpace* space = nullptr;
  const uint8_t* eligible = nullptr;
  const float* accuracy = nullptr;
};

struct SearchSpec {
  StrategyKind strategy = StrategyKind::kRegularizedEvolution;
  uint64_t seed = 0;
  const float* source = nullptr;  // per row
  double source_limit = 0;        // feasible on the source: source[row] <= source_limit
  // The paper's exhaustive flow: evaluate regardless of the constraint, so the front
  // measured on the target is the source's whole Pareto front; source_limit then only
  // defines the search's own pick (SearchOutcome::violation).
  bool whole_front = false;
  StrategyOptions options;
};

// The rows a search evaluated, in order (repeats kept: each is one evaluation).
// `rejected`, when given, receives how many proposals the source refused.
std::vector<int32_t> run_search(const NasProblem& problem, const SearchSpec& spec, int64_t* rejected = nullptr);

// How a search's outcome fares on the target.
struct TargetJudge {
  const float* target_ms = nullptr;  // per row
  double constraint_ms = 0;          // the target's constraint
  double optimum_accuracy = 0;       // best accuracy of an eligible row with target_ms <= constraint_ms
  double reference_accuracy = 0;     // the hypervolume's accuracy floor (lowest eligible accuracy)
  double true_hypervolume = 0;       // of every eligible row within the constraint, on the target
  bool source_is_target = false;     // every evaluation was itself a target measurement
};

struct SearchOutcome {
  double found_accuracy = 0;   // NaN when no front architecture meets the target constraint
  double regret = 0;           // optimum_accuracy - found_accuracy; NaN when nothing was found
  bool failed = false;         // no measured front architecture meets the target constraint
  // The search's own pick (its most accurate evaluated architecture within
  // source_limit, what one would deploy without measuring on the target) exceeds the
  // target constraint.
  bool violation = false;
  int64_t found_row = -1;           // the architecture behind found_accuracy; -1 when failed
  int64_t pick_row = -1;            // the search's own pick; -1 when nothing was within source_limit
  int64_t evaluations = 0;          // accuracy evaluations (with repeats)
  int64_t target_measurements = 0;  // distinct architectures measured on the target
  int64_t front_size = 0;           // the source-side Pareto front
  int64_t rejected = 0;             // proposals the source refused before any evaluation (run_search_batch)
  double hypervolume_ratio = 0;     // of the measured front within the constraint, vs the target's true front
  std::vector<float> best_accuracy; // per checkpoint: best accuracy among the first c evaluations (NaN before any)
};

// Judges a finished search. `checkpoints` are evaluation counts, increasing.
SearchOutcome judge_search(const NasProblem& problem, const SearchSpec& spec, const std::vector<int32_t>& evaluated,
                           const TargetJudge& judge, const std::vector<int64_t>& checkpoints);

// Area dominated by (latency, accuracy) points, latency minimised and accuracy
// maximised, inside the box latency <= limit_ms, accuracy >= reference; points outside
// the box add nothing.
double hypervolume_2d(std::vector<std::pair<double, double>> points, double limit_ms, double reference_accuracy);

// Indices of the Pareto front of (cost minimised, accuracy maximised) among `rows`:
// no other row is at most as costly and at least as accurate with one strict. Equal
// (cost, accuracy) pairs keep their first row only. In increasing cost.
std::vector<int32_t> pareto_front(const std::vector<int32_t>& rows, const float* cost, const float* accuracy);

// The k-th smallest value (1-based) of `values` over the eligible rows: a latency
// constraint as an order statistic, so a strictly increasing transform of the values
// gives a constraint admitting exactly the same rows.
double order_statistic(const float* values, const uint8_t* eligible, uint64_t rows, uint64_t k);

// Many independent searches at once: task i is (problems[problem_of[i]], specs[i],
// judges[judge_of[i]]), run on OpenMP threads. Each search draws only from its own
// counter-based stream and writes only its own slot, so the result equals running
// the tasks one by one in any order.
struct BatchTask {
  size_t problem = 0, judge = 0;
  SearchSpec spec;
};
std::vector<SearchOutcome> run_search_batch(const std::vector<NasProblem>& problems,
                                            const std::vector<TargetJudge>& judges,
                                            const std::vector<BatchTask>& tasks,
                                            const std::vector<int64_t>& checkpoints);

}  // namespace proxysim
