// Proxy cover: how few proxy devices suffice so that every device of a set has a
// proxy whose latencies rank architectures as its own do (SRCC at least a threshold).
// A device covers itself and every device with SRCC >= threshold to it; finding the
// fewest covering devices is set cover (NP-hard), so the greedy rule is used: take the
// device covering the most still-uncovered devices, ties to the smallest index. Its
// count is within a factor H(D) = 1 + 1/2 + ... + 1/D of the minimum (Johnson 1974;
// Chvatal 1979).
#pragma once
#include <cstdint>
#include <vector>

namespace proxysim {

struct ProxyCover {
  double threshold = 0.0;
  std::vector<int32_t> proxies;  // chosen devices, in the order greedy took them
  std::vector<int32_t> covered;  // devices covered after each choice (cumulative)
};

// `srcc` is D x D, row-major; srcc[a * D + b] is the SRCC of devices a and b. NaN never
// covers. The matrix need not be symmetric: a proxy p covers device q when
// srcc[p * D + q] >= threshold.
ProxyCover greedy_proxy_cover(const std::vector<double>& srcc, int32_t devices, double threshold);

// Greedy covers over a grid of thresholds, one per threshold in the given order.
std::vector<ProxyCover> proxy_cover_curve(const std::vector<double>& srcc, int32_t devices,
                                          const std::vector<double>& thresholds);

// The default grid: 0.5 to 0.95 by 0.05, then 0.97 and 0.99.
std::vector<double> default_cover_thresholds();

}  // namespace proxysim
