// CPU-vs-CUDA equality of the rank statistics on the same random latency matrix with
// ties and missing values: both backends rank with the same tie rule and sum in
// double, so SRCC and Kendall agree to 1e-9 and top-k / Pareto results exactly.
// Skipped, visibly, without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "kernels/engine.hpp"
#include "kernels/rank_impl.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"

using namespace proxysim;

namespace {

#define REQUIRE_GPU() \
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA rank statistics skipped"

// n x D latencies sharing a per-architecture cost, rounded to 0.01 ms (ties), with
// about 2% missing cells in the last two devices.
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

std::vector<float> column(const std::vector<float>& m, int64_t n, int32_t D, int32_t d) {
  std::vector<float> c(n);
  for (int64_t i = 0; i < n; ++i) c[i] = m[i * D + d];
  return c;
}

void expect_same(const PairMatrix& a, const PairMatrix& b, double tol) {
  ASSERT_EQ(a.devices, b.devices);
  for (size_t k = 0; k < a.value.size(); ++k) {
    if (std::isnan(a.value[k])) {
      EXPECT_TRUE(std::isnan(b.value[k])) << k;
    } else {
      EXPECT_NEAR(a.value[k], b.value[k], tol) << k;
    }
    EXPECT_EQ(a.pairs[k], b.pairs[k]) << k;
  }
}

}  // namespace

TEST(GpuRank, SpearmanMatrix) {
  REQUIRE_GPU();
  const int64_t n = 200000;
  const int32_t D = 12;
  const auto m = make_matrix(n, D);
  const LatencyMatrix lm{m.data(), n, D};
  expect_same(spearman_matrix(Backend::kCpu, lm), spearman_matrix(Backend::kCuda, lm), 1e-9);
}

TEST(GpuRank, KendallMatrix) {
  REQUIRE_GPU();
  const int64_t n = 50000;
  const int32_t D = 6;
  const auto m = make_matrix(n, D);
  const LatencyMatrix lm{m.data(), n, D};
  expect_same(kendall_matrix(Backend::kCpu, lm), kendall_matrix(Backend::kCuda, lm), 1e-9);
}

TEST(GpuRank, TopKAndPareto) {
  REQUIRE_GPU();
  const int64_t n = 100000;
  const int32_t D = 4;
  const auto m = make_matrix(n, D);
  const auto a = column(m, n, D, 0), b = column(m, n, D, 3), obj = column(m, n, D, 1);
  for (int64_t k : {1, 10, 100, 1000}) {
    EXPECT_EQ(top_k_agreement(Backend::kCpu, a.data(), b.data(), n, k),
              top_k_agreement(Backend::kCuda, a.data(), b.data(), n, k))
        << k;
  }
  EXPECT_EQ(pareto_front(Backend::kCpu, a.data(), obj.data(), n, Objective::kMaximise),
            pareto_front(Backend::kCuda, a.data(), obj.data(), n, Objective::kMaximise));
  const ParetoAgreement pc = pareto_agreement(Backend::kCpu, a.data(), b.data(), obj.data(), n, Objective::kMinimise);
  const ParetoAgreement pg = pareto_agreement(Backend::kCuda, a.data(), b.data(), obj.data(), n, Objective::kMinimise);
  EXPECT_EQ(pc.common, pg.common);
  EXPECT_EQ(pc.proxy_front, pg.proxy_front);
  EXPECT_EQ(pc.target_front, pg.target_front);
}

TEST(GpuRank, BootstrapSpearman) {
  REQUIRE_GPU();
  const int64_t n = 20000;
  const int32_t D = 5;
  const auto m = make_matrix(n, D);
  const LatencyMatrix lm{m.data(), n, D};
  BootstrapOptions o;
  o.resamples = 200;
  o.seed = 3;
  const BootstrapResult c = bootstrap_spearman(Backend::kCpu, lm, o);
  const BootstrapResult g = bootstrap_spearman(Backend::kCuda, lm, o);
  expect_same(c.estimate, g.estimate, 1e-9);
  ASSERT_EQ(c.lower.size(), g.lower.size());
  for (size_t k = 0; k < c.lower.size(); ++k) {
    if (std::isnan(c.lower[k])) continue;
    EXPECT_NEAR(c.lower[k], g.lower[k], 1e-9);
    EXPECT_NEAR(c.upper[k], g.upper[k], 1e-9);
  }
}

namespace {

// Every resample's value, and the intervals, of two bootstrap results (NaN where both are NaN).
void expect_same_bootstrap(const BootstrapResult& c, const BootstrapResult& g, double tol) {
  expect_same(c.estimate, g.estimate, tol);
  ASSERT_EQ(c.lower.size(), g.lower.size());
  ASSERT_EQ(c.resampled.size(), g.resampled.size());
  for (size_t k = 0; k < c.lower.size(); ++k) {
    EXPECT_EQ(std::isnan(c.lower[k]), std::isnan(g.lower[k])) << k;
    if (std::isnan(c.lower[k])) continue;
    EXPECT_NEAR(c.lower[k], g.lower[k], tol) << k;
    EXPECT_NEAR(c.upper[k], g.upper[k], tol) << k;
  }
  int failures = 0;
  for (size_t k = 0; k < c.resampled.size() && failures < 10; ++k) {
    const bool both_nan = std::isnan(c.resampled[k]) && std::isnan(g.resampled[k]);
    if (both_nan || std::abs(c.resampled[k] - g.resampled[k]) <= tol) continue;
    ADD_FAILURE() << "resample value " << k << ": cpu " << c.resampled[k] << ", cuda " << g.resampled[k];
    ++failures;
  }
}

}  // namespace

// kendall_tau_b's own CUDA path (one pair), with ties and missing values, against the CPU.
TEST(GpuRank, KendallTauBPair) {
  REQUIRE_GPU();
  const int64_t n = 100000;
  const int32_t D = 4;
  const auto m = make_matrix(n, D);
  for (int32_t b : {1, 3}) {  // column 3 has missing values
    const auto x = column(m, n, D, 0), y = column(m, n, D, b);
    const double cpu = kendall_tau_b(Backend::kCpu, x.data(), y.data(), n);
    const double gpu = kendall_tau_b(Backend::kCuda, x.data(), y.data(), n);
    ASSERT_FALSE(std::isnan(cpu));
    EXPECT_NEAR(cpu, gpu, 1e-9) << "devices 0 and " << b;
  }
}

// Bootstrap of Kendall tau-b: every resample (columns with and without missing values)
// equal on both backends.
TEST(GpuRank, BootstrapKendall) {
  REQUIRE_GPU();
  const int64_t n = 3000;
  const int32_t D = 4;
  const auto m = make_matrix(n, D);
  const LatencyMatrix lm{m.data(), n, D};
  BootstrapOptions o;
  o.resamples = 40;
  o.seed = 5;
  o.keep_resamples = true;
  expect_same_bootstrap(bootstrap_kendall(Backend::kCpu, lm, o), bootstrap_kendall(Backend::kCuda, lm, o), 1e-9);
}

// Resamples computed in several batches (max_batch) give what one batch gives: the
// rows of resample r come from (seed, r) alone, and every batch starts at its own r.
TEST(GpuRank, BootstrapInSeveralBatches) {
  REQUIRE_GPU();
  const int64_t n = 5000;
  const int32_t D = 5;
  const auto m = make_matrix(n, D);
  const LatencyMatrix lm{m.data(), n, D};
  BootstrapOptions whole;
  whole.resamples = 30;
  whole.seed = 11;
  whole.keep_resamples = true;
  BootstrapOptions pieces = whole;
  pieces.max_batch = 7;  // 7 + 7 + 7 + 7 + 2
  expect_same_bootstrap(bootstrap_spearman(Backend::kCpu, lm, whole), bootstrap_spearman(Backend::kCuda, lm, pieces),
                        1e-9);
  expect_same_bootstrap(bootstrap_kendall(Backend::kCpu, lm, whole), bootstrap_kendall(Backend::kCuda, lm, pieces),
                        1e-9);
}

// Zero and one architecture: every statistic is undefined (NaN, no pairs, empty fronts)
// on both backends alike, and nothing fails.
TEST(GpuRank, ZeroAndOneRow) {
  REQUIRE_GPU();
  const int32_t D = 3;
  const std::vector<float> one = {1.5f, 2.5f, 0.5f};
  for (int64_t n : {0, 1}) {
    const LatencyMatrix lm{one.data(), n, D};
    expect_same(spearman_matrix(Backend::kCpu, lm), spearman_matrix(Backend::kCuda, lm), 0);
    expect_same(kendall_matrix(Backend::kCpu, lm), kendall_matrix(Backend::kCuda, lm), 0);
    const float* a = one.data();
    const float* b = one.data() + 1;
    EXPECT_EQ(std::isnan(top_k_agreement(Backend::kCpu, a, b, n, 1)),
              std::isnan(top_k_agreement(Backend::kCuda, a, b, n, 1))) << n;
    EXPECT_EQ(std::isnan(kendall_tau_b(Backend::kCpu, a, b, n)), std::isnan(kendall_tau_b(Backend::kCuda, a, b, n)))
        << n;
    EXPECT_EQ(pareto_front(Backend::kCpu, a, b, n, Objective::kMaximise),
              pareto_front(Backend::kCuda, a, b, n, Objective::kMaximise)) << n;
    const ParetoAgreement pc = pareto_agreement(Backend::kCpu, a, b, a, n, Objective::kMinimise);
    const ParetoAgreement pg = pareto_agreement(Backend::kCuda, a, b, a, n, Objective::kMinimise);
    EXPECT_EQ(pc.common, pg.common) << n;
    EXPECT_EQ(pc.proxy_front, pg.proxy_front) << n;
    EXPECT_EQ(pc.target_front, pg.target_front) << n;
    BootstrapOptions o;
    o.resamples = 5;
    o.keep_resamples = true;
    expect_same_bootstrap(bootstrap_spearman(Backend::kCpu, lm, o), bootstrap_spearman(Backend::kCuda, lm, o), 0);
    expect_same_bootstrap(bootstrap_kendall(Backend::kCpu, lm, o), bootstrap_kendall(Backend::kCuda, lm, o), 0);
  }
}

namespace {

// n x D latencies with heavy ties (rounded to 0.1 ms: about 130 values), a NaN in
// columns 1 and 4 (column 4's with the sign bit set, which sorts first), and column 5
// constant (its SRCC NaN); as tests/kernels/rank_wide_test.cpp.
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

// The SRCC matrix with its columns ranked by CUB's segmented radix sort in batches of
// 1, 2, 4 and 9 columns of 9 (a last batch of one or of fewer) and as many as the 1 GiB
// budget holds (all 9), and by one DeviceRadixSort per column: each the CPU's.
TEST(GpuRank, SegmentedSpearmanInColumnBatches) {
  REQUIRE_GPU();
  const int64_t n = 100000;
  const int32_t D = 9;
  const auto m = make_tied_matrix(n, D);
  const LatencyMatrix lm{m.data(), n, D};
  const PairMatrix cpu = spearman_matrix(Backend::kCpu, lm);
  for (const bool segmented : {true, false}) {
    for (int64_t cols : {1, 2, 4, 9, 0}) {
      SCOPED_TRACE(testing::Message() << (segmented ? "segmented" : "per column") << ", batch " << cols);
      expect_same(cpu, detail::cuda_spearman_matrix(lm, {cols, segmented}), 1e-9);
    }
  }
  expect_same(cpu, spearman_matrix(Backend::kCuda, lm), 1e-9);
  EXPECT_TRUE(std::isnan(cpu.at(5, 0)));
}

// One column, and one to three rows, in batches of every width (n = 1: one-entry
// segments).
TEST(GpuRank, SegmentedSpearmanOneColumnOrFewRows) {
  REQUIRE_GPU();
  for (const auto& [n, D] : {std::pair<int64_t, int32_t>{50000, 1}, {1, 1}, {1, 6}, {2, 6}, {3, 6}}) {
    const auto m = make_tied_matrix(n, D);
    const LatencyMatrix lm{m.data(), n, D};
    const PairMatrix cpu = spearman_matrix(Backend::kCpu, lm);
    for (const bool segmented : {true, false}) {
      for (int64_t cols : {1, 4, 0}) {
        SCOPED_TRACE(testing::Message() << n << " x " << D << (segmented ? ", segmented" : ", per column")
                                        << ", batch " << cols);
        expect_same(cpu, detail::cuda_spearman_matrix(lm, {cols, segmented}), 1e-9);
      }
    }
  }
}
