// Checks the greedy proxy cover against an exact minimum found by brute force over
// every subset (small random SRCC matrices, up to 10 devices): greedy always covers
// every device, never uses fewer proxies than the minimum, stays within the H(D)
// bound, and equals the minimum on cluster-structured cases; plus hand-computed cases
// (the greedy order and coverage, a case where greedy needs 3 proxies and 2 suffice,
// NaN never covering). Counts are integers, so every comparison is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "search/proxy_cover.hpp"

namespace proxysim {
namespace {

bool covers(const std::vector<double>& m, int D, int p, int q, double t) { return p == q || m[p * D + q] >= t; }

// Fewest proxies by trying every subset in order of size (independent of the greedy).
int exact_minimum(const std::vector<double>& m, int D, double t) {
  int best = D;
  for (uint32_t set = 1; set < (1u << D); ++set) {
    const int size = __builtin_popcount(set);
    if (size >= best) continue;
    bool all = true;
    for (int q = 0; q < D && all; ++q) {
      bool hit = false;
      for (int p = 0; p < D && !hit; ++p) hit = (set >> p & 1u) && covers(m, D, p, q, t);
      all = hit;
    }
    if (all) best = size;
  }
  return best;
}

void expect_valid_cover(const ProxyCover& c, const std::vector<double>& m, int D, double t) {
  ASSERT_EQ(c.proxies.size(), c.covered.size());
  ASSERT_FALSE(c.covered.empty());
  EXPECT_EQ(c.covered.back(), D);
  for (size_t j = 1; j < c.covered.size(); ++j) EXPECT_GT(c.covered[j], c.covered[j - 1]) << "each pick gains";
  for (int q = 0; q < D; ++q) {
    bool hit = false;
    for (int32_t p : c.proxies) hit = hit || covers(m, D, p, q, t);
    EXPECT_TRUE(hit) << "device " << q << " uncovered at " << t;
  }
}

std::vector<double> random_symmetric(std::mt19937& g, int D) {
  std::uniform_real_distribution<double> u(-0.2, 1.0);
  std::vector<double> m(D * D, 1.0);
  for (int a = 0; a < D; ++a) {
    for (int b = a + 1; b < D; ++b) m[a * D + b] = m[b * D + a] = u(g);
  }
  return m;
}

TEST(ProxyCover, GreedyCoversAndIsNeverBelowTheExactMinimum) {
  std::mt19937 g(2024);
  int strictly_worse = 0, cases = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int D = 3 + trial % 8;
    const auto m = random_symmetric(g, D);
    for (double t : {0.3, 0.6, 0.8, 0.95}) {
      const ProxyCover c = greedy_proxy_cover(m, D, t);
      expect_valid_cover(c, m, D, t);
      const int exact = exact_minimum(m, D, t);
      const int greedy = static_cast<int>(c.proxies.size());
      EXPECT_GE(greedy, exact);
      double harmonic = 0;
      for (int k = 1; k <= D; ++k) harmonic += 1.0 / k;
      EXPECT_LE(greedy, exact * harmonic + 1e-9);
      strictly_worse += greedy > exact;
      ++cases;
    }
  }
  // Greedy is exact most of the time on matrices this small, but not always.
  EXPECT_LT(strictly_worse, cases / 4);
}

TEST(ProxyCover, EqualsTheMinimumOnClusters) {
  std::mt19937 g(7);
  for (int trial = 0; trial < 50; ++trial) {
    // Clusters of 1..4 devices: SRCC 0.95 inside a cluster, below 0.5 across.
    std::vector<int> cluster;
    const int k = 1 + trial % 4;
    for (int c = 0; c < k; ++c) {
      const int size = 1 + static_cast<int>(g() % 3);
      for (int i = 0; i < size; ++i) cluster.push_back(c);
    }
    std::shuffle(cluster.begin(), cluster.end(), g);
    const int D = static_cast<int>(cluster.size());
    std::uniform_real_distribution<double> low(-0.5, 0.49);
    std::vector<double> m(D * D, 1.0);
    for (int a = 0; a < D; ++a) {
      for (int b = a + 1; b < D; ++b) m[a * D + b] = m[b * D + a] = cluster[a] == cluster[b] ? 0.95 : low(g);
    }
    const ProxyCover c = greedy_proxy_cover(m, D, 0.9);
    expect_valid_cover(c, m, D, 0.9);
    EXPECT_EQ(static_cast<int>(c.proxies.size()), k);
    EXPECT_EQ(exact_minimum(m, D, 0.9), k);
  }
}

// Builds a symmetric matrix with SRCC 0.95 on the given edges and 0.1 elsewhere.
std::vector<double> graph(int D, const std::vector<std::pair<int, int>>& edges) {
  std::vector<double> m(D * D, 0.1);
  for (int d = 0; d < D; ++d) m[d * D + d] = 1.0;
  for (auto [a, b] : edges) m[a * D + b] = m[b * D + a] = 0.95;
  return m;
}

TEST(ProxyCover, HandComputedOrderAndCoverage) {
  // 0 - 1 - 2 - 3   4: device 1 covers {0, 1, 2} (ties with 2 go to the smaller
  // index), then 3 is covered by 2 or by itself (2 first) and 4 by itself.
  const auto m = graph(5, {{0, 1}, {1, 2}, {2, 3}});
  const ProxyCover c = greedy_proxy_cover(m, 5, 0.9);
  EXPECT_EQ(c.proxies, (std::vector<int32_t>{1, 2, 4}));
  EXPECT_EQ(c.covered, (std::vector<int32_t>{3, 4, 5}));
  // Below 0.1 everything covers everything: one proxy, the first device.
  const ProxyCover all = greedy_proxy_cover(m, 5, 0.05);
  EXPECT_EQ(all.proxies, (std::vector<int32_t>{0}));
  EXPECT_EQ(all.covered, (std::vector<int32_t>{5}));
}

TEST(ProxyCover, GreedyTakesTheHubWhereTwoProxiesSuffice) {
  // A = 0 with leaves 1..4, B = 5 with leaves 6..9, hub C = 10 linked to A and to
  // leaves 1, 2, 3, 6, 7, 8: C covers 8, more than A's 6 or B's 5, and leaves 4, 5, 9
  // to two more proxies; {A, B} covers everything.
  const auto m = graph(11, {{0, 1}, {0, 2}, {0, 3}, {0, 4}, {5, 6}, {5, 7}, {5, 8}, {5, 9},
                            {10, 0}, {10, 1}, {10, 2}, {10, 3}, {10, 6}, {10, 7}, {10, 8}});
  const ProxyCover c = greedy_proxy_cover(m, 11, 0.9);
  EXPECT_EQ(c.proxies, (std::vector<int32_t>{10, 5, 0}));
  EXPECT_EQ(c.covered, (std::vector<int32_t>{8, 10, 11}));
  EXPECT_EQ(exact_minimum(m, 11, 0.9), 2);
}

TEST(ProxyCover, NanNeverCoversAndTheCurveFollowsTheGrid) {
  const int D = 4;
  std::vector<double> m(D * D, std::nan(""));
  const ProxyCover c = greedy_proxy_cover(m, D, -1.0);
  EXPECT_EQ(c.proxies.size(), 4u);
  const auto grid = default_cover_thresholds();
  ASSERT_FALSE(grid.empty());
  EXPECT_DOUBLE_EQ(grid.front(), 0.5);
  EXPECT_DOUBLE_EQ(grid.back(), 0.99);
  const auto m2 = graph(5, {{0, 1}, {1, 2}, {2, 3}});
  const auto curve = proxy_cover_curve(m2, 5, {0.05, 0.9, 0.99});
  ASSERT_EQ(curve.size(), 3u);
  EXPECT_EQ(curve[0].proxies.size(), 1u);
  EXPECT_EQ(curve[1].proxies.size(), 3u);
  EXPECT_EQ(curve[2].proxies.size(), 5u);
  EXPECT_DOUBLE_EQ(curve[1].threshold, 0.9);
}

}  // namespace
}  // namespace proxysim
