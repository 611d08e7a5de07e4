#include "search/nas.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>
#include <string>

#include "base/error.hpp"

namespace proxysim {

namespace {

constexpr uint64_t kMaxDenseSpace = uint64_t{1} << 26;

class SourceFeasibility final : public Feasibility {
 public:
  SourceFeasibility(const NasProblem& p, const SearchSpec& s) : p_(p), s_(s) {}
  bool feasible(const Arch& a) const override {
    const int64_t r = p_.space->row(a);
    return r >= 0 && p_.eligible[r] && (s_.whole_front || s_.source[r] <= s_.source_limit);
  }

 private:
  const NasProblem& p_;
  const SearchSpec& s_;
};

}  // namespace

bool is_tabulable(const SearchSpace& space) { return SpaceShape::of(space).size() <= kMaxDenseSpace; }

void require_tabulable(const SearchSpace& space) {
  const uint64_t size = SpaceShape::of(space).size();
  if (size > kMaxDenseSpace) {
    throw UserError("nas: space '" + space.name() + "' has " +
                    (size == UINT64_MAX ? std::string("more than 2^64") : std::to_string(size)) +
                    " architectures; the nas stage needs a tabulated space of at most 2^26 (nb201)");
  }
}

TabularSpace::TabularSpace(const SearchSpace& space, const std::vector<uint8_t>& codes, uint64_t rows)
    : shape_(SpaceShape::of(space)), rows_(rows) {
  require_tabulable(space);
  const uint64_t size = shape_.size();
  row_of_key_.assign(size, -1);
  const int K = shape_.decisions;
  for (uint64_t i = 0; i < rows; ++i) {
    Arch a{};
    std::copy(codes.begin() + static_cast<int64_t>(i * K), codes.begin() + static_cast<int64_t>((i + 1) * K), a.begin());
    int32_t& slot = row_of_key_[shape_.key(a)];
    if (slot >= 0) {
      throw UserError("nas: architecture '" + space.to_string(ArchCode(a.begin(), a.begin() + K)) +
                      "' is rows " + std::to_string(slot) + " and " + std::to_string(i) + " of the run");
    }
    slot = static_cast<int32_t>(i);
  }
}

std::vector<int32_t> run_search(const NasProblem& problem, const SearchSpec& spec, int64_t* rejected) {
  const SourceFeasibility feasible(problem, spec);
  auto strategy = make_strategy(spec.strategy, problem.space->shape(), feasible, spec.seed, spec.options);
  std::vector<int32_t> rows;
  if (spec.options.budget > 0) rows.reserve(static_cast<size_t>(spec.options.budget));
  Arch a{};
  while (strategy->next(a)) {
    const auto r = static_cast<int32_t>(problem.space->row(a));
    assert(r >= 0);
    rows.push_back(r);
    strategy->report(problem.accuracy[r]);
  }
  if (rejected != nullptr) *rejected = strategy->rejected();
  return rows;
}

double hypervolume_2d(std::vector<std::pair<double, double>> points, double limit_ms, double reference_accuracy) {
  std::sort(points.begin(), points.end());
  double area = 0, best = reference_accuracy;
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].first > limit_ms) break;
    best = std::max(best, points[i].second);
    const double right = i + 1 < points.size() ? std::min(points[i + 1].first, limit_ms) : limit_ms;
    area += (right - points[i].first) * (best - reference_accuracy);
  }
  return area;
}

std::vector<int32_t> pareto_front(const std::vector<int32_t>& rows, const float* cost, const float* accuracy) {
  std::vector<int32_t> sorted = rows;
  // Cheapest first; among equal costs the most accurate first, so one sweep keeping
  // each row strictly more accurate than every cheaper-or-equal one is the front.
  std::sort(sorted.begin(), sorted.end(), [&](int32_t x, int32_t y) {
    if (cost[x] != cost[y]) return cost[x] < cost[y];
    if (accuracy[x] != accuracy[y]) return accuracy[x] > accuracy[y];
    return x < y;
  });
  std::vector<int32_t> front;
  float best = -std::numeric_limits<float>::infinity();
  for (int32_t r : sorted) {
    if (accuracy[r] > best) {
      front.push_back(r);
      best = accuracy[r];
    }
  }
  return front;
}

double order_statistic(const float* values, const uint8_t* eligible, uint64_t rows, uint64_t k) {
  std::vector<float> v;
  for (uint64_t i = 0; i < rows; ++i) {
    if (eligible[i]) v.push_back(values[i]);
  }
  if (v.empty() || k < 1 || k > v.size()) throw std::logic_error("order_statistic: k out of range");
  std::nth_element(v.begin(), v.begin() + static_cast<int64_t>(k - 1), v.end());
  return v[k - 1];
}

SearchOutcome judge_search(const NasProblem& problem, const SearchSpec& spec, const std::vector<int32_t>& evaluated,
                           const TargetJudge& judge, const std::vector<int64_t>& checkpoints) {
  SearchOutcome o;
  o.evaluations = static_cast<int64_t>(evaluated.size());
  const float* acc = problem.accuracy;
  o.best_accuracy.assign(checkpoints.size(), std::nanf(""));
  {
    float best = -std::numeric_limits<float>::infinity();
    size_t c = 0, i = 0;
    for (; c < checkpoints.size(); ++c) {
      for (; i < evaluated.size() && static_cast<int64_t>(i) < checkpoints[c]; ++i) best = std::max(best, acc[evaluated[i]]);
      if (i > 0) o.best_accuracy[c] = best;
    }
  }
  std::vector<int32_t> distinct = evaluated;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const std::vector<int32_t> front = pareto_front(distinct, spec.source, acc);
  o.front_size = static_cast<int64_t>(front.size());
  // When the source is the target, every evaluation was a target measurement and the
  // front costs nothing more; otherwise the front is what gets measured.
  o.target_measurements = judge.source_is_target ? static_cast<int64_t>(distinct.size()) : o.front_size;

  std::vector<std::pair<double, double>> measured;
  double found = -std::numeric_limits<double>::infinity();
  for (int32_t r : front) {
    const double t = judge.target_ms[r];
    measured.emplace_back(t, acc[r]);
    if (t <= judge.constraint_ms && acc[r] > found) {
      found = acc[r];
      o.found_row = r;
    }
  }
  o.failed = !std::isfinite(found);
  o.found_accuracy = o.failed ? std::nan("") : found;
  o.regret = o.failed ? std::nan("") : judge.optimum_accuracy - found;
  int32_t pick = -1;
  for (int32_t r : distinct) {
    if (spec.source[r] <= spec.source_limit && (pick < 0 || acc[r] > acc[pick])) pick = r;
  }
  o.pick_row = pick;
  o.violation = pick >= 0 && judge.target_ms[pick] > judge.constraint_ms;
  o.hypervolume_ratio = judge.true_hypervolume > 0
                            ? hypervolume_2d(std::move(measured), judge.constraint_ms, judge.reference_accuracy) /
                                  judge.true_hypervolume
                            : std::nan("");
  return o;
}

std::vector<SearchOutcome> run_search_batch(const std::vector<NasProblem>& problems,
                                            const std::vector<TargetJudge>& judges,
                                            const std::vector<BatchTask>& tasks,
                                            const std::vector<int64_t>& checkpoints) {
  std::vector<SearchOutcome> out(tasks.size());
  std::vector<std::exception_ptr> errors(tasks.size());
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < static_cast<int64_t>(tasks.size()); ++i) {
    try {
      const BatchTask& t = tasks[static_cast<size_t>(i)];
      const NasProblem& p = problems[t.problem];
      int64_t rejected = 0;
      const std::vector<int32_t> rows = run_search(p, t.spec, &rejected);
      out[static_cast<size_t>(i)] = judge_search(p, t.spec, rows, judges[t.judge], checkpoints);
      out[static_cast<size_t>(i)].rejected = rejected;
    } catch (...) {
      errors[static_cast<size_t>(i)] = std::current_exception();
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

}  // namespace proxysim
