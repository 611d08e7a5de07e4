// Rank statistics of latency monotonicity between devices (Lu et al. 2022): Spearman's
// rho and Kendall's tau-b for every pair of devices, top-k and Pareto-front agreement
// of a proxy with a target, and seeded bootstrap intervals, on the CPU (OpenMP) or
// CUDA backend. CUDA-free header.
//
// Input is an n x D latency matrix in host memory, float32, row-major (row =
// architecture, column = device); NaN means "not measured". Every pair statistic
// drops the rows where either device is NaN and re-ranks the rest, exactly as
// scipy.stats.spearmanr / kendalltau(a, b, nan_policy='omit') do per pair.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/engine.hpp"
#include "base/hd.hpp"
#include "base/rng.hpp"

namespace proxysim {

struct LatencyMatrix {
  const float* latency_ms = nullptr;  // rows x devices, row-major, host memory
  int64_t rows = 0;
  int32_t devices = 0;
};

// A symmetric devices x devices statistic with the number of architectures measured
// on both devices of each pair. NaN where the statistic is undefined (fewer than two
// rows, or a constant column), as scipy returns it.
struct PairMatrix {
  int32_t devices = 0;
  std::vector<double> value;   // devices x devices, row-major
  std::vector<int64_t> pairs;  // devices x devices, row-major
  double at(int32_t a, int32_t b) const { return value[static_cast<size_t>(a) * devices + b]; }
  int64_t pairs_at(int32_t a, int32_t b) const { return pairs[static_cast<size_t>(a) * devices + b]; }
};

// Spearman's rho: Pearson correlation of tie-averaged ranks, accumulated in double.
PairMatrix spearman_matrix(Backend backend, const LatencyMatrix& m);
double spearman_pair(Backend backend, const float* a, const float* b, int64_t n);

// Kendall's tau-b with scipy's tie corrections, O(n log n) per pair: sorted by (a, b),
// the discordant pairs are the strict inversions of b (Knight 1966), counted by merge
// passes on CUDA and by b's digits on the CPU (kernels/rank_impl.hpp, count_inversions).
PairMatrix kendall_matrix(Backend backend, const LatencyMatrix& m);
double kendall_tau_b(Backend backend, const float* a, const float* b, int64_t n);

// Fraction of the proxy's k fastest architectures that are among the target's k
// fastest, over the rows measured on both. Latency ties are broken by row index (the
// earlier row counts as faster), so the two top-k sets are always exactly k rows and
// the result is deterministic; k is clipped to the number of rows measured on both.
double top_k_agreement(Backend backend, const float* proxy_ms, const float* target_ms, int64_t n, int64_t k);

// Second objective of the Pareto front: accuracy is maximised, MACs minimised.
enum class Objective { kMaximise, kMinimise };

// Rows on the Pareto front of (minimum latency, best objective), ascending; rows with
// a NaN latency or objective take no part. A row is on the front when no other row is
// at least as good in both and strictly better in one, so identical rows are all kept.
std::vector<int64_t> pareto_front(Backend backend, const float* latency_ms, const float* objective, int64_t n,
                                  Objective sense);

struct ParetoAgreement {
  double precision = 0;      // |proxy front ∩ target front| / |proxy front|
  double recall = 0;         // |proxy front ∩ target front| / |target front|
  int64_t proxy_front = 0;
  int64_t target_front = 0;
  int64_t common = 0;
};
// Fronts over the rows where proxy, target and objective are all measured.
ParetoAgreement pareto_agreement(Backend backend, const float* proxy_ms, const float* target_ms,
                                 const float* objective, int64_t n, Objective sense);

struct BootstrapOptions {
  int32_t resamples = 1000;
  uint64_t seed = 0;
  double confidence = 0.95;      // percentile interval [(1-c)/2, (1+c)/2]
  bool keep_resamples = false;   // return every resample's value too
  // Resamples computed together at most; 0: as many as the backend's batch memory
  // holds. The result does not depend on it (tests set it to run several batches).
  int32_t max_batch = 0;
};

struct BootstrapResult {
  PairMatrix estimate;           // the statistic on the data itself
  std::vector<double> lower;     // devices x devices
  std::vector<double> upper;     // devices x devices
  // devices x devices x resamples ([a][b][r]) when keep_resamples, else empty.
  std::vector<double> resampled;
};

// Row drawn as the i-th architecture of bootstrap resample r of seed s: a pure
// function of (s, r, i), so every backend and every batching draws the same rows.
PROXYSIM_HD inline uint32_t bootstrap_row(uint64_t seed, uint64_t resample, uint64_t i, uint32_t rows) {
  return bounded(counter_hash(seed ^ 0x243f6a8885a308d3ull, resample, i), rows);
}

// Resamples architectures with replacement (n of n rows), re-ranks each resample
// with duplicates tie-averaged, and takes percentile intervals of the resampled
// statistic; pairs with NaN rows drop them inside each resample as on the data.
BootstrapResult bootstrap_spearman(Backend backend, const LatencyMatrix& m, const BootstrapOptions& options);
// As bootstrap_spearman for tau-b: O(resamples x D^2 x n log n), so meant for a
// handful of devices or modest n.
BootstrapResult bootstrap_kendall(Backend backend, const LatencyMatrix& m, const BootstrapOptions& options);

}  // namespace proxysim
