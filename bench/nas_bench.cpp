// NAS search throughput in accuracy evaluations per second: 1,000 independent
// regularized-evolution runs (Real et al. 2019; P = 20, S = 5) of 1,000 evaluations
// each on NAS-Bench-201 with its real CIFAR-10 accuracies, batched on every CPU
// thread, and one run alone for the per-run figure. bench/peer_evolution.py is the
// peer: the same strategy written plainly in Python, timed on the same machine.
//
// BM_OnTheFlyFbnet*: the same 1,000 x 1,000 on FBNet (9^22 architectures), each
// proposal lowered and evaluated on 4 simulated devices when first asked for, under
// the proxy's median latency, the searches' asks batched into one engine call per
// round (search/on_the_fly.hpp); bench/peer_evolution_fbnet.py is its Python peer.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "search/accuracy.hpp"
#include "search/engine_oracle.hpp"
#include "search/nas.hpp"
#include "search/on_the_fly.hpp"
#include "sim/device_yaml.hpp"

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

// FBNet on the fly: the proxy (pixel3_cpu) and three targets, the limit the proxy's
// median over 10,000 sampled architectures.
struct FbnetSetup {
  SearchSpace space = make_space("fbnet");
  std::vector<EvalDevice> devices;
  double limit = 0;
  FbnetSetup() {
    for (const char* d : {"pixel3_cpu", "raspi4", "edgetpu", "gtx1080ti_b1"}) devices.push_back({d, builtin_device(d).params});
    constexpr uint64_t kSample = 10000;
    const auto engine = make_engine(Backend::kCpu, space, devices);
    std::vector<uint8_t> codes(kSample * static_cast<uint64_t>(space.decisions()));
    std::vector<float> ms(kSample * devices.size()), macs(kSample), params(kSample), proxy(kSample);
    ArchBatch b;
    b.kind = ArchBatch::Kind::kSample;
    b.count = kSample;
    b.seed = 1;
    engine->evaluate(b, codes.data(), ms.data(), macs.data(), params.data());
    for (uint64_t i = 0; i < kSample; ++i) proxy[i] = ms[i * devices.size()];
    std::nth_element(proxy.begin(), proxy.begin() + kSample / 2, proxy.end());
    limit = proxy[kSample / 2];
  }
};

void on_the_fly_fbnet(benchmark::State& state, int runs, OnTheFlyMode mode = OnTheFlyMode::kAuto) {
  static const FbnetSetup s;
  std::vector<OnTheFlyTask> tasks(static_cast<size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    OnTheFlyTask& t = tasks[static_cast<size_t>(i)];
    t.seed = static_cast<uint64_t>(i);
    t.options.budget = kEvaluations;
    t.source_channel = 0;
    t.source_limit = s.limit;
  }
  OnTheFlyStats stats;
  int64_t evaluations = 0, refused = 0;
  // Built once, as the peer builds its table once: compiling the chain tables takes
  // about 5 ms, several searches' time. The direct mode's fork for a second thread
  // compiles its own inside the timed loop (once per run_on_the_fly).
  EngineOracle oracle(s.space, Backend::kCpu, s.devices, {}, 0);
  for (auto _ : state) {
    OnTheFlyOptions options;
    options.mode = mode;
    const auto out = run_on_the_fly(SpaceShape::of(s.space), tasks, oracle, options, &stats);
    refused = 0;
    for (const auto& o : out) {
      evaluations += static_cast<int64_t>(o.evaluated.size());
      refused += o.rejected;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(evaluations);
  state.counters["runs"] = runs;
  state.counters["rounds"] = static_cast<double>(stats.rounds);
  state.counters["oracle_archs"] = static_cast<double>(stats.evaluated_archs);
  state.counters["refused_per_run"] = static_cast<double>(refused) / runs;
}

void BM_OnTheFlyFbnetBatch(benchmark::State& state) { on_the_fly_fbnet(state, kRuns); }
BENCHMARK(BM_OnTheFlyFbnetBatch)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// The same 1,000 searches in rounds, as the CUDA backend runs them (one engine call a
// round), here on the CPU engine: what the direct mode saves. (Not named "Batch":
// bench/peer_evolution_fbnet.py takes its ratio from the benchmark so named.)
void BM_OnTheFlyFbnetRounds(benchmark::State& state) { on_the_fly_fbnet(state, kRuns, OnTheFlyMode::kRounds); }
BENCHMARK(BM_OnTheFlyFbnetRounds)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_OnTheFlyFbnetOneRun(benchmark::State& state) { on_the_fly_fbnet(state, 1); }
BENCHMARK(BM_OnTheFlyFbnetOneRun)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
