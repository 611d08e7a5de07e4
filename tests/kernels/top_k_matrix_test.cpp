// The all-pairs top-k matrix (one selection per column) against the pairwise
// statistic (two stable sorts per pair) and a hand-worked case.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/rank_stats.hpp"
#include "kernels/top_k_matrix.hpp"
#include "base/error.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace proxysim {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Every entry of the matrix at each k against the pairwise statistic on the columns.
void expect_pairwise(const std::vector<float>& m, int64_t n, int32_t D, const std::vector<int64_t>& ks,
                     const std::string& label) {
  std::vector<std::vector<float>> cols(D, std::vector<float>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int32_t d = 0; d < D; ++d) cols[d][i] = m[static_cast<size_t>(i) * D + d];
  for (int64_t k : ks) {
    const std::vector<double> got = top_k_matrix(Backend::kCpu, LatencyMatrix{m.data(), n, D}, k);
    for (int32_t a = 0; a < D; ++a) {
      for (int32_t b = 0; b < D; ++b) {
        const double want = top_k_agreement(Backend::kCpu, cols[a].data(), cols[b].data(), n, k);
        EXPECT_DOUBLE_EQ(got[static_cast<size_t>(a) * D + b], want) << label << "k " << k << " pair " << a << "," << b;
      }
    }
  }
}

TEST(TopKMatrix, HandWorked) {
  // Rows x devices: device 0 = {5, 1, 3, 2, 4}, device 1 = {1, 2, 3, 4, 5},
  // device 2 = {1, 1, 1, 0, 9} (ties: the earlier row counts as faster).
  const std::vector<float> m = {5, 1, 1,  //
                                1, 2, 1,  //
                                3, 3, 1,  //
                                2, 4, 0,  //
                                4, 5, 9};
  // k = 2: device 0's fastest {1, 3}, device 1's {0, 1}, device 2's {3, 0}.
  const std::vector<double> got = top_k_matrix(Backend::kCpu, LatencyMatrix{m.data(), 5, 3}, 2);
  const std::vector<double> want = {1.0, 0.5, 0.5,  //
                                    0.5, 1.0, 0.5,  //
                                    0.5, 0.5, 1.0};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]) << i;
}

// Random columns with many ties, signed zeros, infinities and (in some columns) NaN
// rows, at k from 1 past n: every entry equals the pairwise statistic.
TEST(TopKMatrix, EqualsThePairwiseStatisticOnEveryPair) {
  std::mt19937_64 rng(20261206);
  const int64_t n = 600;
  const int32_t D = 7;
  std::vector<float> m(static_cast<size_t>(n) * D);
  std::uniform_int_distribution<int> level(0, 40);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t i = 0; i < n; ++i) {
    for (int32_t d = 0; d < D; ++d) {
      float v = static_cast<float>(level(rng)) * 0.25f;  // about 15 rows per value: ties
      if (d == 1 && u(rng) < 0.02) v = kNaN;             // a partly measured column
      if (d == 2 && i % 50 == 0) v = -0.0f;
      if (d == 3 && i % 97 == 0) v = std::numeric_limits<float>::infinity();
      if (d == 5 && u(rng) < 0.3) v = kNaN;
      m[static_cast<size_t>(i) * D + d] = v;
    }
  }
  expect_pairwise(m, n, D, {1, 7, 50, n, n + 5}, "");
}

// k small against n takes the streamed selection (one pass over the rows, a heap per
// column and thread): rows in random order, in falling order (every row enters every
// heap) and in rising order, with ties and a NaN column, on 1 and 3 threads.
TEST(TopKMatrix, StreamedSelectionEqualsThePairwiseStatistic) {
  std::mt19937_64 rng(7);
  const int64_t n = 20000;
  const int32_t D = 5;
  std::vector<float> m(static_cast<size_t>(n) * D);
  std::uniform_int_distribution<int> level(0, 3000);
  for (int64_t i = 0; i < n; ++i) {
    m[static_cast<size_t>(i) * D + 0] = static_cast<float>(level(rng)) * 0.5f;  // ties
    m[static_cast<size_t>(i) * D + 1] = static_cast<float>(n - i);              // falling
    m[static_cast<size_t>(i) * D + 2] = static_cast<float>(i / 3);              // rising, tied in threes
    m[static_cast<size_t>(i) * D + 3] = i == 12345 ? kNaN : static_cast<float>(level(rng));
    m[static_cast<size_t>(i) * D + 4] = i % 2 ? -0.0f : static_cast<float>(level(rng)) - 1500.0f;
  }
#ifdef _OPENMP
  const int before = omp_get_max_threads();
#endif
  for (int threads : {1, 3}) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    expect_pairwise(m, n, D, {1, 100, 1250}, std::to_string(threads) + " threads, ");
  }
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
}

TEST(TopKMatrix, EmptyAndBadK) {
  const std::vector<double> none = top_k_matrix(Backend::kCpu, LatencyMatrix{nullptr, 0, 2}, 5);
  ASSERT_EQ(none.size(), 4U);
  for (double v : none) EXPECT_TRUE(std::isnan(v));
  const float one[] = {1.0f};
  EXPECT_THROW(top_k_matrix(Backend::kCpu, LatencyMatrix{one, 1, 1}, 0), UserError);
}

}  // namespace
}  // namespace proxysim
