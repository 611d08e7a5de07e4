// The rank loops as the CUDA backend runs them (System::kSerialWorkers false: per-element
// sorts, merges and sums with CUDA's tuning constants), instantiated here on Thrust's
// sequential host system (the loops' logic, not their threads, is what differs from the
// CPU backend, and OpenMP's per-call cost on a loaded 2-core machine would dominate), so
// the code path the GPU takes is checked on every CPU run against the CPU backend's: both sum exact integer rank products and count pairs
// exactly, so they agree to rounding (1e-12). What only a GPU can check (the CUB calls,
// device memory, the kernels as nvcc compiles them) is in tests/gpu/.
#include <gtest/gtest.h>
#include <thrust/system/cpp/execution_policy.h>
#include <thrust/system/cpp/vector.h>

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/rank_impl.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"

using namespace proxysim;

namespace {

// CUDA's System (kernels/cuda/rank_cuda.cu) on the host, with a small batch budget so
// that the bootstraps run in several batches.
struct WideHostSystem {
  template <class T>
  using vector = thrust::cpp::vector<T>;
  static auto policy() { return thrust::cpp::par; }
  static auto policy_nosync() { return thrust::cpp::par; }
  using ColumnSorter = detail::ThrustColumnSorter<WideHostSystem>;
  static void* allocate(size_t bytes) { return thrust::malloc(thrust::cpp::par, bytes).get(); }
  static void deallocate(void* p) { thrust::free(thrust::cpp::par, p); }
  [[maybe_unused]] static void advise_large(void*, size_t) {}
  static constexpr bool kSerialWorkers = false;
  static constexpr int64_t kGramChunk = 256;
  static constexpr int64_t kElementMergeBelow = 4096;
  static constexpr size_t kBatchBytes = size_t{64} << 10;
};

using Wide = detail::RankLoops<WideHostSystem>;

// The CPU backend's loops (System::kSerialWorkers) with a worker count this 2-core
// machine's OpenMP would not give, the workers' items run one after another on the host.
template <int64_t kWorkers>
struct FatHostSystem {
  template <class T>
  using vector = thrust::cpp::vector<T>;
  static auto policy() { return thrust::cpp::par; }
  static auto policy_nosync() { return thrust::cpp::par; }
  static void* allocate(size_t bytes) { return thrust::malloc(thrust::cpp::par, bytes).get(); }
  static void deallocate(void* p) { thrust::free(thrust::cpp::par, p); }
  [[maybe_unused]] static void advise_large(void*, size_t) {}
  static int64_t workers() { return kWorkers; }
  static constexpr bool kSerialWorkers = true;
  static constexpr int64_t kGramChunk = 1536;
  static constexpr int64_t kElementMergeBelow = 0;
  static constexpr size_t kBatchBytes = size_t{256} << 20;
};

// n x D latencies sharing a per-architecture cost, rounded to 0.01 ms (ties), with
// about 2% missing cells in the last two devices (as tests/gpu/rank_gpu_test.cpp).
std::vector<float> make_matrix(int64_t n, int32_t D) {
  std::vector<float> m(static_cast<size_t>(n) * D);
  for (int64_t i = 0; i < n; ++i) {
    const double base = 1.0 + 10.0 * unit_open(counter_hash(7, i, 0));
    for (int32_t d = 0; d < D; ++d) {
      const double v = base * (0.7 + 0.6 * unit_open(counter_hash(8, i, d)));
      const bool missing = d >= D - 2 && unit_open(counter_hash(9, i, d)) < 0.02;
      m[i * D + d] = missing ? std::nanf("") : static_cast<float>(std::round(v * 100.0) / 100.0);
    }
  }
  return m;
}

void expect_same(const PairMatrix& a, const PairMatrix& b, double tol) {
  ASSERT_EQ(a.devices, b.devices);
  for (size_t k = 0; k < a.value.size(); ++k) {
    EXPECT_EQ(std::isnan(a.value[k]), std::isnan(b.value[k])) << k;
    if (!std::isnan(a.value[k])) {
      EXPECT_NEAR(a.value[k], b.value[k], tol) << k;
    }
    EXPECT_EQ(a.pairs[k], b.pairs[k]) << k;
  }
}

void expect_same_bootstrap(const BootstrapResult& c, const BootstrapResult& w, double tol) {
  expect_same(c.estimate, w.estimate, tol);
  ASSERT_EQ(c.resampled.size(), w.resampled.size());
  for (size_t k = 0; k < c.resampled.size(); ++k) {
    EXPECT_EQ(std::isnan(c.resampled[k]), std::isnan(w.resampled[k])) << k;
    if (!std::isnan(c.resampled[k])) {
      EXPECT_NEAR(c.resampled[k], w.resampled[k], tol) << k;
    }
  }
  ASSERT_EQ(c.lower.size(), w.lower.size());
  for (size_t k = 0; k < c.lower.size(); ++k) {
    if (std::isnan(c.lower[k])) continue;
    EXPECT_NEAR(c.lower[k], w.lower[k], tol) << k;
    EXPECT_NEAR(c.upper[k], w.upper[k], tol) << k;
  }
}

}  // namespace

// 3001 rows: 13-bit ranks, 4 to a word, the last word holding one.
TEST(RankWideLoops, SpearmanMatrix) {
  const int64_t n = 3001;
  const int32_t D = 6;
  const auto m = make_matrix(n, D);
  expect_same(spearman_matrix(Backend::kCpu, LatencyMatrix{m.data(), n, D}), Wide(m.data(), n, D).spearman(), 1e-12);
}

// 10000 rows: the first merge pass runs per block (4096 blocks and more), the others per
// element.
TEST(RankWideLoops, KendallMatrixAndPair) {
  const int64_t n = 10000;
  const int32_t D = 4;
  const auto m = make_matrix(n, D);
  expect_same(kendall_matrix(Backend::kCpu, LatencyMatrix{m.data(), n, D}), Wide(m.data(), n, D).kendall(), 1e-12);
  std::vector<float> a(n), b(n);
  for (int64_t i = 0; i < n; ++i) a[i] = m[i * D], b[i] = m[i * D + 3];
  int64_t count = 0;
  EXPECT_NEAR(kendall_tau_b(Backend::kCpu, a.data(), b.data(), n),
              Wide(a.data(), n, 1).pair_kendall(detail::Column{a.data(), 1}, detail::Column{b.data(), 1}, &count),
              1e-12);
}

// Kendall's discordant pairs counted by digits with 3 and 5 workers (uneven slices, the
// pairs across them, parts shared out and a dominant part split again) give the same
// tau-b, bit for bit, as the CPU backend: both are the same integer counts.
TEST(RankFatLoops, KendallPairWithMoreWorkers) {
  const int64_t n = 400003;
  const int32_t D = 4;
  auto m = make_matrix(n, D);
  for (int64_t i = 0; i < n; i += 3) m[i * D + 2] = 5.0f;  // a third of one column on one value
  for (const auto& [x, y] : {std::pair{0, 1}, std::pair{1, 2}, std::pair{2, 3}, std::pair{3, 0}}) {
    std::vector<float> a(n), b(n);
    for (int64_t i = 0; i < n; ++i) a[i] = m[i * D + x], b[i] = m[i * D + y];
    const double want = kendall_tau_b(Backend::kCpu, a.data(), b.data(), n);
    int64_t count = 0;
    EXPECT_EQ(want, detail::RankLoops<FatHostSystem<3>>(a.data(), n, 1)
                        .pair_kendall(detail::Column{a.data(), 1}, detail::Column{b.data(), 1}, &count)) << x << ", " << y;
    EXPECT_EQ(want, detail::RankLoops<FatHostSystem<5>>(a.data(), n, 1)
                        .pair_kendall(detail::Column{a.data(), 1}, detail::Column{b.data(), 1}, &count)) << x << ", " << y;
  }
}

TEST(RankWideLoops, TopKAndPareto) {
  const int64_t n = 5000;
  const int32_t D = 4;
  const auto m = make_matrix(n, D);
  const Wide w(m.data(), n, D);
  const detail::Column a = w.column(0), b = w.column(3), obj = w.column(1);
  std::vector<float> ha(n), hb(n), ho(n);
  for (int64_t i = 0; i < n; ++i) ha[i] = a[i], hb[i] = b[i], ho[i] = obj[i];
  for (int64_t k : {1, 10, 100, 1000})
    EXPECT_EQ(top_k_agreement(Backend::kCpu, ha.data(), hb.data(), n, k), w.top_k(a, b, k)) << k;
  EXPECT_EQ(pareto_front(Backend::kCpu, ha.data(), ho.data(), n, Objective::kMaximise), w.pareto(a, obj, Objective::kMaximise));
  const ParetoAgreement pc = pareto_agreement(Backend::kCpu, ha.data(), hb.data(), ho.data(), n, Objective::kMinimise);
  const ParetoAgreement pw = w.pareto_agreement(a, b, obj, Objective::kMinimise);
  EXPECT_EQ(pc.common, pw.common);
  EXPECT_EQ(pc.proxy_front, pw.proxy_front);
  EXPECT_EQ(pc.target_front, pw.target_front);
}

// 64 KiB batches: several batches of a few resamples each, against the CPU's one batch.
TEST(RankWideLoops, BootstrapInSeveralBatches) {
  const int64_t n = 1000;
  const int32_t D = 4;
  const auto m = make_matrix(n, D);
  BootstrapOptions o;
  o.resamples = 12;
  o.seed = 9;
  o.keep_resamples = true;
  const LatencyMatrix lm{m.data(), n, D};
  expect_same_bootstrap(bootstrap_spearman(Backend::kCpu, lm, o), Wide(m.data(), n, D).bootstrap_spearman(o), 1e-12);
  expect_same_bootstrap(bootstrap_kendall(Backend::kCpu, lm, o), Wide(m.data(), n, D).bootstrap_kendall(o), 1e-12);
}

namespace {

// n x D latencies with heavy ties (rounded to 0.1 ms: about 130 values), a NaN in
// columns 1 and 4 (column 4's with the sign bit set, which sorts first), and column 5
// constant (its SRCC NaN).
std::vector<float> make_tied_matrix(int64_t n, int32_t D) {
  std::vector<float> m(static_cast<size_t>(n) * D);
  for (int64_t i = 0; i < n; ++i) {
    const double base = 1.0 + 10.0 * unit_open(counter_hash(17, i, 0));
    for (int32_t d = 0; d < D; ++d) {
      const double v = base * (0.7 + 0.6 * unit_open(counter_hash(18, i, d)));
      m[i * D + d] = d == 5 ? 2.5f : static_cast<float>(std::round(v * 10.0) / 10.0);
    }
  }
  if (D > 1 && n > 3) m[3 * D + 1] = std::nanf("");
  if (D > 4 && n > 7) m[7 * D + 4] = std::copysign(std::nanf(""), -1.0f);
  return m;
}

}  // namespace

// The SRCC matrix with its columns ranked in batches of 1, 2, 3, 7 and 8 columns (7 of
// 8: a last batch of one) and as many as the 64 KiB budget holds: each the CPU's.
TEST(RankWideLoops, SpearmanInColumnBatches) {
  const int64_t n = 2001;
  const int32_t D = 8;
  const auto m = make_tied_matrix(n, D);
  ASSERT_TRUE(std::signbit(m[7 * D + 4]));
  const PairMatrix cpu = spearman_matrix(Backend::kCpu, LatencyMatrix{m.data(), n, D});
  for (int64_t cols : {1, 2, 3, 7, 8, 0}) {
    SCOPED_TRACE(cols);
    Wide w(m.data(), n, D);
    w.with_ranking({cols, true});
    if (cols == 0) EXPECT_EQ(w.rank_batch_columns(), 1);  // 64 KiB / (20 B x 2001)
    expect_same(cpu, w.spearman(), 1e-12);
  }
  EXPECT_TRUE(std::isnan(cpu.at(5, 0)));
  EXPECT_EQ(cpu.pairs_at(1, 4), n - 2);
}

// One column, and one or two rows, in batches of every width.
TEST(RankWideLoops, SpearmanOneColumnOrFewRows) {
  for (const auto& [n, D] : {std::pair<int64_t, int32_t>{500, 1}, {1, 1}, {1, 6}, {2, 6}, {3, 6}}) {
    const auto m = make_tied_matrix(n, D);
    const PairMatrix cpu = spearman_matrix(Backend::kCpu, LatencyMatrix{m.data(), n, D});
    for (int64_t cols : {1, 4, 0}) {
      SCOPED_TRACE(testing::Message() << n << " x " << D << ", batch " << cols);
      expect_same(cpu, Wide(m.data(), n, D).with_ranking({cols, true}).spearman(), 1e-12);
    }
  }
}

TEST(RankWideLoops, ZeroAndOneRow) {
  const int32_t D = 3;
  const std::vector<float> one = {1.5f, 2.5f, 0.5f};
  for (int64_t n : {0, 1}) {
    const float* m = one.data();
    const LatencyMatrix lm{m, n, D};
    expect_same(spearman_matrix(Backend::kCpu, lm), Wide(m, n, D).spearman(), 0);
    expect_same(kendall_matrix(Backend::kCpu, lm), Wide(m, n, D).kendall(), 0);
    BootstrapOptions o;
    o.resamples = 4;
    o.keep_resamples = true;
    expect_same_bootstrap(bootstrap_spearman(Backend::kCpu, lm, o), Wide(m, n, D).bootstrap_spearman(o), 0);
    expect_same_bootstrap(bootstrap_kendall(Backend::kCpu, lm, o), Wide(m, n, D).bootstrap_kendall(o), 0);
  }
}
