// Rank statistics throughput in architectures per second: the SRCC matrix of a
// 1,000,000 x 32 latency matrix and Kendall tau-b of one 1,000,000-row pair, on every
// backend the build has, beside scipy.stats (bench/peer_scipy_rank.py) timed in the same
// run on the same data shape. bm_top_k_matrix/cpu is the monotonicity stage's top-k
// agreement (k = 100) for every pair of the same matrix, run right after the SRCC matrix
// so that what top-k adds to it is measured back to back (bench/rank_floor.py).
//
// --scaling_rows=N registers bm_spearman_rows/N alone (the CPU SRCC matrix of N x 32),
// one size per process so that the process's peak memory is that size's
// (bench/scaling.py runs it under /usr/bin/time -v for each N).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/rank_impl.hpp"
#include "kernels/rank_stats.hpp"
#include "kernels/top_k_matrix.hpp"
#include "base/rng.hpp"

using namespace proxysim;

namespace {

constexpr int64_t kRows = 1000000;
constexpr int64_t kLargeRows = 10000000;  // the GPU comparison's size (10^7 x 32)
constexpr int32_t kDevices = 32;

// Correlated devices: a shared architecture cost times per-device noise, rounded to
// 1e-3 ms so ties occur as in measured data.
std::vector<float> make_matrix(int64_t rows) {
  std::vector<float> v(static_cast<size_t>(rows) * kDevices);
  for (int64_t i = 0; i < rows; ++i) {
      const double base = 1 + 20 * unit_open(counter_hash(1, i, 0));
      for (int32_t d = 0; d < kDevices; ++d) {
        const double noise = 0.6 + 0.8 * unit_open(counter_hash(2, i, d));
        v[i * kDevices + d] = static_cast<float>(static_cast<int64_t>(base * noise * 1000) / 1000.0);
      }
  }
  return v;
}

const std::vector<float>& matrix() {
  static const std::vector<float> m = make_matrix(kRows);
  return m;
}

const std::vector<float>& large_matrix() {
  static const std::vector<float> m = make_matrix(kLargeRows);
  return m;
}

// SRCC matrix of 10^7 x 32 on a backend: registered only where a GPU is, so the GPU
// figure and the CPU path it is compared with come from the same machine and run.
void bm_spearman_large(benchmark::State& state, Backend backend) {
  const auto& m = large_matrix();
  for (auto _ : state) {
    PairMatrix r = spearman_matrix(backend, LatencyMatrix{m.data(), kLargeRows, kDevices});
    benchmark::DoNotOptimize(r.value.data());
  }
  state.SetItemsProcessed(state.iterations() * kLargeRows * kDevices);
  state.counters["rows"] = kLargeRows;
  state.counters["devices"] = kDevices;
}

// The CUDA SRCC matrix with its columns ranked by one DeviceRadixSort per column
// (detail::ColumnRanking), beside bm_spearman_matrix/cuda and bm_spearman_large/cuda,
// which sort each batch of columns in one segmented sort (CUB sorts a segment with one
// thread block per pass): which is faster at 32 long columns is what this measures.
void bm_spearman_cuda_per_column(benchmark::State& state, int64_t rows) {
  const auto& m = rows == kLargeRows ? large_matrix() : matrix();
  for (auto _ : state) {
    PairMatrix r = detail::cuda_spearman_matrix(LatencyMatrix{m.data(), rows, kDevices}, {0, false});
    benchmark::DoNotOptimize(r.value.data());
  }
  state.SetItemsProcessed(state.iterations() * rows * kDevices);
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["devices"] = kDevices;
}

// SRCC matrix of rows x 32 on the CPU, the matrix made once before timing.
void bm_spearman_rows(benchmark::State& state, int64_t rows) {
  const std::vector<float> m = make_matrix(rows);
  for (auto _ : state) {
    PairMatrix r = spearman_matrix(Backend::kCpu, LatencyMatrix{m.data(), rows, kDevices});
    benchmark::DoNotOptimize(r.value.data());
  }
  state.SetItemsProcessed(state.iterations() * rows * kDevices);
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["devices"] = kDevices;
  state.counters["matrix_bytes"] = static_cast<double>(m.size() * sizeof(float));
}

void bm_spearman_matrix(benchmark::State& state, Backend backend) {
  const auto& m = matrix();
  for (auto _ : state) {
    PairMatrix r = spearman_matrix(backend, LatencyMatrix{m.data(), kRows, kDevices});
    benchmark::DoNotOptimize(r.value.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * kDevices);
  state.counters["rows"] = kRows;
  state.counters["devices"] = kDevices;
}

// The monotonicity stage's default k.
constexpr int64_t kTopK = 100;

void bm_top_k_matrix(benchmark::State& state, Backend backend) {
  const auto& m = matrix();
  for (auto _ : state) {
    std::vector<double> r = top_k_matrix(backend, LatencyMatrix{m.data(), kRows, kDevices}, kTopK);
    benchmark::DoNotOptimize(r.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * kDevices);
  state.counters["k"] = kTopK;
}

void bm_kendall_pair(benchmark::State& state, Backend backend) {
  const auto& m = matrix();
  std::vector<float> a(kRows), b(kRows);
  for (int64_t i = 0; i < kRows; ++i) a[i] = m[i * kDevices], b[i] = m[i * kDevices + 1];
  for (auto _ : state) benchmark::DoNotOptimize(kendall_tau_b(backend, a.data(), b.data(), kRows));
  state.SetItemsProcessed(state.iterations() * kRows);
}

// scipy on the same shapes, run once: the peer prints items/s per statistic.
void bm_scipy_peer(benchmark::State& state, const char* stat) {
  const std::string cmd = std::string("/usr/bin/python3 ") + PROXYSIM_SOURCE_DIR + "/bench/peer_scipy_rank.py --stat " +
                          stat + " --rows " + std::to_string(kRows) + " --devices " + std::to_string(kDevices);
  double seconds = 0;
  for (auto _ : state) {
    FILE* p = popen(cmd.c_str(), "r");
    if (!p || std::fscanf(p, "%lf", &seconds) != 1) {
      if (p) pclose(p);
      state.SkipWithError("peer_scipy_rank.py failed (needs numpy and scipy)");
      return;
    }
    pclose(p);
    state.SetIterationTime(seconds);
  }
  const int64_t items = std::string(stat) == "spearman" ? kRows * kDevices : kRows;
  state.SetItemsProcessed(state.iterations() * items);
}

}  // namespace

namespace {
bool scaling_only = false;  // --scaling_rows given: no other benchmark
}  // namespace

BENCHMARK_CAPTURE(bm_spearman_matrix, cpu, Backend::kCpu)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(bm_top_k_matrix, cpu, Backend::kCpu)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(bm_kendall_pair, cpu, Backend::kCpu)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK_CAPTURE(bm_scipy_peer, spearman, "spearman")->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(bm_scipy_peer, kendall, "kendall")->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

static void register_cuda() {
  if (scaling_only || cuda_device_count() == 0) return;
  benchmark::RegisterBenchmark("bm_spearman_matrix/cuda", bm_spearman_matrix, Backend::kCuda)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("bm_spearman_matrix/cuda_per_column", bm_spearman_cuda_per_column, kRows)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("bm_kendall_pair/cuda", bm_kendall_pair, Backend::kCuda)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("bm_spearman_large/cuda", bm_spearman_large, Backend::kCuda)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("bm_spearman_large/cuda_per_column", bm_spearman_cuda_per_column, kLargeRows)
      ->Unit(benchmark::kMillisecond)->UseRealTime();
  benchmark::RegisterBenchmark("bm_spearman_large/cpu", bm_spearman_large, Backend::kCpu)
      ->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
}

int main(int argc, char** argv) {
  // --scaling_rows=N: only the SRCC matrix of N rows (Google Benchmark's own flags pass on).
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--scaling_rows=", 0) == 0) {
      const int64_t rows = std::stoll(arg.substr(15));
      scaling_only = true;
      benchmark::ClearRegisteredBenchmarks();
      benchmark::RegisterBenchmark(("bm_spearman_rows/" + std::to_string(rows)).c_str(), bm_spearman_rows, rows)
          ->Unit(benchmark::kMillisecond)->MinTime(1.0)->UseRealTime();
    } else {
      rest.push_back(argv[i]);
    }
  }
  argc = static_cast<int>(rest.size());
  argv = rest.data();
  register_cuda();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
