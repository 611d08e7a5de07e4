// Adaptation fit throughput in fits per second: one predict() of a scheme (AdaProxy's
// group-lasso path over its lambda grid, its squared-norm ridge path, `anchored`,
// `multi_proxy`) on HELP's measured NB201 (31 features, 15,284 connected
// architectures) and FBNet (199 features, 5,000 architectures) tables, against the
// number of training samples n (+ 10 validation samples). Each iteration fits one of
// ten fixed splits (seeds 0..9, cycled), so a figure is a mean over splits, not one
// lucky draw. Proxies include devices whose latencies are exactly linear in the
// one-hot features (NB201's eyeriss and fpga, FBNet's pixel3: HW-NAS-Bench's
// block-sum measurements; the counter proxy_linear_residual shows it), the case the
// old FISTA solver crawled on: they must cost what any other proxy does.
//
// Fits run on one thread (Eigen::setNbThreads(1), omp_set_num_threads(1)), as inside
// a sweep, where each OpenMP thread of the adapt stage runs its own fits and the rank
// kernel's parallel regions inside a fit are nested, so one thread each. (Left at two
// threads on a loaded machine, the validation SRCCs' parallel regions on 10 samples
// made an NB201 fit 4x slower in wall time.) Beside them, in the same run, the floors every
// fit pays: BM_ProxyWeights, the proxy's least-squares operator weights over every
// architecture (each scheme's first step, independent of n), and BM_PredictionFloor,
// one prediction X w over every architecture (the least any scheme returns).
#include <benchmark/benchmark.h>

#include <omp.h>

#include <Eigen/Dense>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/measured_csv.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"

using namespace proxysim;

namespace {

constexpr int64_t kValidation = 10;
constexpr uint64_t kSplits = 10;
const std::vector<int64_t> kN = {10, 20, 50, 100};
// multi_proxy's candidates: HELP's NB201 meta-training devices (as in
// experiments/paper/help_nb201_pixel3.yaml; FBNet has batch 64 where NB201 has 256).
const std::vector<std::string> kCandidatesNb201 = {"1080ti_1",     "1080ti_32",   "1080ti_256",     "silver_4114",
                                                   "silver_4210r", "samsung_a50", "essential_ph_1", "samsung_s7"};
const std::vector<std::string> kCandidatesFbnet = {"1080ti_1",     "1080ti_32",   "1080ti_64",      "silver_4114",
                                                   "silver_4210r", "samsung_a50", "essential_ph_1", "samsung_s7"};

// One measured table: features and latency columns of its usable rows (NB201: the
// connected architectures, as the adapt stage keeps them).
struct Table {
  Eigen::MatrixXd features;
  std::map<std::string, Eigen::VectorXd> column;
  std::vector<std::string> candidates;
};

Table load(const std::string& file, const std::vector<std::string>& candidates) {
  const MeasuredTable t = read_measured_csv(std::string(PROXYSIM_SHARED_DATA) + "/" + file);
  const SearchSpace space = make_space(t.space);
  std::vector<int64_t> rows;
  for (uint64_t i = 0; i < t.rows(); ++i) {
    bool complete = t.connected[i] != 0;
    for (size_t d = 0; d < t.devices.size() && complete; ++d) complete = std::isfinite(t.latency_ms[i * t.devices.size() + d]);
    if (complete) rows.push_back(static_cast<int64_t>(i));
  }
  std::vector<ArchCode> codes;
  for (int64_t i : rows) codes.push_back(t.codes[static_cast<size_t>(i)]);
  Table out;
  out.features = one_hot_features(space.id(), codes);
  for (size_t d = 0; d < t.devices.size(); ++d) {
    Eigen::VectorXd v(static_cast<Eigen::Index>(rows.size()));
    for (size_t j = 0; j < rows.size(); ++j) v[static_cast<Eigen::Index>(j)] = t.latency_ms[static_cast<size_t>(rows[j]) * t.devices.size() + d];
    out.column[t.devices[d]] = std::move(v);
  }
  out.candidates = candidates;
  return out;
}

const Table& table(const std::string& space) {
  static const Table nb201 = load("help_nb201_latency.csv", kCandidatesNb201);
  static const Table fbnet = load("help_fbnet_latency.csv", kCandidatesFbnet);
  return space == "nb201" ? nb201 : fbnet;
}

const Eigen::VectorXd& column(const Table& t, const std::string& device) {
  const auto it = t.column.find(device);
  if (it == t.column.end()) throw std::runtime_error("adapt_bench: no device column '" + device + "'");
  return it->second;
}

// ||X w_P - proxy|| / ||proxy||, w_P the least-squares operator weights: about 3e-8
// (float32 rounding of the CSV's values) for a proxy exactly linear in the features,
// about 0.1 for an end-to-end measurement.
double linear_residual(const Table& t, const Eigen::VectorXd& proxy) {
  const Eigen::VectorXd w = t.features.completeOrthogonalDecomposition().solve(proxy);
  return (t.features * w - proxy).norm() / proxy.norm();
}

void one_thread() {
  Eigen::setNbThreads(1);
  omp_set_num_threads(1);
}

// One fit per iteration, cycling over kSplits fixed random splits.
// `cached`: w_P computed once before the loop and handed to every fit, as the adapt
// stage does for all fits of one (proxy, target).
// `features` > 0: only the table's first that many feature columns (the scaling curve's
// feature axis); 0: all of them.
void fit(benchmark::State& state, const std::string& space, const std::string& scheme_name, const std::string& proxy,
         const std::string& target, int64_t n, bool cached, int64_t features) {
  one_thread();
  const Table& whole = table(space);
  Table cut;
  if (features > 0) {
    cut.features = whole.features.leftCols(static_cast<Eigen::Index>(features));
    cut.column = whole.column;
    cut.candidates = whole.candidates;
  }
  const Table& t = features > 0 ? cut : whole;
  const Eigen::VectorXd& proxy_ms = column(t, proxy);
  const Eigen::VectorXd& target_ms = column(t, target);
  std::vector<std::string> cands;
  for (const auto& c : t.candidates)
    if (c != proxy && c != target) cands.push_back(c);
  Eigen::MatrixXd candidates_ms(t.features.rows(), static_cast<Eigen::Index>(cands.size()));
  for (size_t c = 0; c < cands.size(); ++c) candidates_ms.col(static_cast<Eigen::Index>(c)) = column(t, cands[c]);
  const std::vector<double> key(proxy_ms.data(), proxy_ms.data() + proxy_ms.size());
  const std::vector<float> target_f(target_ms.data(), target_ms.data() + target_ms.size());
  std::vector<SampleSplit> splits;
  for (uint64_t s = 0; s < kSplits; ++s) splits.push_back(draw_adaptation_samples(Sampling::kRandom, s, key, n, kValidation));
  const bool mixes = scheme_name == "multi_proxy";
  const auto scheme = make_adaptation_scheme(scheme_name);
  const Eigen::MatrixXd& mixed = mixes ? candidates_ms : no_candidate_proxies();
  const Eigen::VectorXd weights = proxy_operator_weights(t.features, proxy_ms);
  size_t i = 0;
  for (auto _ : state) {
    const SampleSplit& split = splits[i++ % kSplits];
    const AdaptationInput in{t.features, proxy_ms, gather_target_samples(split.train, target_f.data()),
                             gather_target_samples(split.validation, target_f.data()), mixed, nullptr, nullptr,
                             cached ? &weights : nullptr};
    const Eigen::VectorXd p = scheme->predict(in);
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["features"] = static_cast<double>(t.features.cols());
  state.counters["archs"] = static_cast<double>(t.features.rows());
  state.counters["proxy_linear_residual"] = linear_residual(t, proxy_ms);
}

void proxy_weights(benchmark::State& state, const std::string& space, const std::string& proxy) {
  one_thread();
  const Table& t = table(space);
  const Eigen::VectorXd& proxy_ms = column(t, proxy);
  for (auto _ : state) {
    const Eigen::VectorXd w = t.features.completeOrthogonalDecomposition().solve(proxy_ms);
    benchmark::DoNotOptimize(w.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["features"] = static_cast<double>(t.features.cols());
}

void prediction_floor(benchmark::State& state, const std::string& space) {
  one_thread();
  const Table& t = table(space);
  const Eigen::VectorXd w = Eigen::VectorXd::LinSpaced(t.features.cols(), 0.1, 1.0);
  for (auto _ : state) {
    const Eigen::VectorXd p = t.features * w;
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["features"] = static_cast<double>(t.features.cols());
}

// Space, proxy, target. NB201: pixel3 (end to end) beside eyeriss and fpga (exactly
// linear); FBNet: samsung_a50 (end to end) beside pixel3 (exactly linear).
struct Case {
  const char* space;
  const char* proxy;
  const char* target;
};
const Case kCases[] = {{"nb201", "pixel3", "gold_6226"},
                       {"nb201", "eyeriss", "gold_6226"},
                       {"nb201", "fpga", "gold_6226"},
                       {"fbnet", "samsung_a50", "gold_6226"},
                       {"fbnet", "pixel3", "gold_6226"}};
const char* const kSchemes[] = {"adaproxy", "adaproxy_sq", "anchored", "multi_proxy"};

int register_all() {
  for (const char* space : {"nb201", "fbnet"}) {
    benchmark::RegisterBenchmark((std::string("BM_PredictionFloor/") + space).c_str(), prediction_floor, std::string(space))
        ->Unit(benchmark::kMicrosecond);
  }
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string("BM_ProxyWeights/") + c.space + "/" + c.proxy).c_str(), proxy_weights,
                                 std::string(c.space), std::string(c.proxy))
        ->Unit(benchmark::kMillisecond);
  }
  for (const char* scheme : kSchemes) {
    for (const Case& c : kCases) {
      for (int64_t n : kN) {
        const std::string name = std::string("BM_Fit/") + scheme + "/" + c.space + "/" + c.proxy + "/n:" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), fit, std::string(c.space), std::string(scheme), std::string(c.proxy),
                                     std::string(c.target), n, false, int64_t{0})
            ->Unit(benchmark::kMillisecond);
        if (std::string(scheme) == "multi_proxy") continue;  // mixes its own weights; the cache is w_P's
        benchmark::RegisterBenchmark((name + "/cached_weights").c_str(), fit, std::string(c.space), std::string(scheme),
                                     std::string(c.proxy), std::string(c.target), n, true, int64_t{0})
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  // Scaling curve (bench/scaling.py): adaproxy with w_P cached, as in a sweep, against
  // n and the number of features (FBNet's first F one-hot columns; NB201's 31); the
  // uncached fit at n = 100 against F adds the proxy weights' QR.
  for (int64_t n : {10, 30, 100, 300, 1000, 3000}) {
    benchmark::RegisterBenchmark(("BM_FitScaling/nb201/features:31/n:" + std::to_string(n) + "/cached_weights").c_str(), fit,
                                 std::string("nb201"), std::string("adaproxy"), std::string("pixel3"),
                                 std::string("gold_6226"), n, true, int64_t{0})
        ->Unit(benchmark::kMillisecond);
    for (int64_t f : {25, 50, 100, 199}) {
      benchmark::RegisterBenchmark(
          ("BM_FitScaling/fbnet/features:" + std::to_string(f) + "/n:" + std::to_string(n) + "/cached_weights").c_str(), fit,
          std::string("fbnet"), std::string("adaproxy"), std::string("samsung_a50"), std::string("gold_6226"), n, true, f)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (int64_t f : {25, 50, 100, 199}) {
    benchmark::RegisterBenchmark(("BM_FitScaling/fbnet/features:" + std::to_string(f) + "/n:100").c_str(), fit,
                                 std::string("fbnet"), std::string("adaproxy"), std::string("samsung_a50"),
                                 std::string("gold_6226"), int64_t{100}, false, f)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}
[[maybe_unused]] const int kRegistered = register_all();

}  // namespace

BENCHMARK_MAIN();
