// NAS search throughput in accuracy evaluations per second: 1,000 independent
// regularized-evolution runs (Real et al. 2019; P = 20, S = 5) of 1,000 evaluations
// each on NAS-Bench-201 with its real CIFAR-10 accuracies, batched on every CPU
// thread, and one run alone for the per-run figure. bench/peer_evolution.py is the
// peer: the same strategy written plainly in Python, timed on the same machine.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "search/accuracy.hpp"
#include "search/nas.hpp"

using namespace proxysim;

namespace {

constexpr int kRuns = 1000;
constexpr int64_t kEvaluations = 1000;

struct Setup {
  SearchSpace space = make_space("nb201");
  std::vector<uint8_t> codes, eligible;
  std::vector<float> accuracy, source;
  std::unique_ptr<TabularSpace> table;
  Setup() {
    const Nb201AccuracyTable t = read_nb201_accuracy(std::string(PROXYSIM_SHARED_DATA) + "/nb201_accuracy.csv");
    for (uint64_t i = 0; i < 15625; ++i) {
      const ArchCode c = space.code_at(i);
      codes.insert(codes.end(), c.begin(), c.end());
    }
    table = std::make_unique<TabularSpace>(space, codes, 15625);
    accuracy = t.cifar10;
    eligible = t.connected;         // disconnected cells are not proposed
    source.assign(15625, 0.0f);     // no latency constraint
  }
};

const Setup& setup() {
  static const Setup s;
  return s;
}

SearchSpec spec(uint64_t seed) {
  SearchSpec s;
  s.strategy = StrategyKind::kRegularizedEvolution;
  s.seed = seed;
  s.source = setup().source.data();
  s.source_limit = 0;
  s.options.budget = kEvaluations;
  return s;
}

void BM_RegularizedEvolutionBatch(benchmark::State& state) {
  const Setup& s = setup();
  const std::vector<NasProblem> problems = {{s.table.get(), s.eligible.data(), s.accuracy.data()}};
  TargetJudge judge;
  judge.target_ms = s.source.data();
  judge.constraint_ms = 0;
  judge.optimum_accuracy = 94.37;
  const std::vector<TargetJudge> judges = {judge};
  std::vector<BatchTask> tasks(kRuns);
  for (int i = 0; i < kRuns; ++i) tasks[static_cast<size_t>(i)].spec = spec(static_cast<uint64_t>(i));
  int64_t evaluations = 0;
  double found = 0;
  for (auto _ : state) {
    const auto out = run_search_batch(problems, judges, tasks, {kEvaluations});
    evaluations += kRuns * kEvaluations;
    found = 0;
    for (const auto& o : out) found += o.best_accuracy[0] >= 94.37f - 1e-3f;
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(evaluations);
  state.counters["runs"] = kRuns;
  state.counters["evaluations_per_run"] = static_cast<double>(kEvaluations);
  state.counters["runs_at_optimum"] = found;  // a check that the runs searched, not a speed figure
}
BENCHMARK(BM_RegularizedEvolutionBatch)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(3);

void BM_RegularizedEvolutionOneRun(benchmark::State& state) {
  const Setup& s = setup();
  const NasProblem problem{s.table.get(), s.eligible.data(), s.accuracy.data()};
  uint64_t seed = 0;
  for (auto _ : state) {
    const auto rows = run_search(problem, spec(seed++));
    benchmark::DoNotOptimize(rows.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kEvaluations);
}
BENCHMARK(BM_RegularizedEvolutionOneRun)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
