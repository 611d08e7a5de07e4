#include "search/proxy_cover.hpp"

#include <cassert>
#include <cstddef>

namespace proxysim {

ProxyCover greedy_proxy_cover(const std::vector<double>& srcc, int32_t devices, double threshold) {
  const auto D = static_cast<size_t>(devices);
  assert(srcc.size() == D * D);
  // covers[p * D + q]: p covers q (NaN compares false, so it never covers).
  std::vector<uint8_t> covers(D * D, 0);
  for (size_t p = 0; p < D; ++p) {
    for (size_t q = 0; q < D; ++q) covers[p * D + q] = p == q || srcc[p * D + q] >= threshold;
  }
  ProxyCover out;
  out.threshold = threshold;
  std::vector<uint8_t> done(D, 0);
  size_t covered = 0;
  while (covered < D) {
    size_t best = D, best_gain = 0;
    for (size_t p = 0; p < D; ++p) {
      size_t gain = 0;
      for (size_t q = 0; q < D; ++q) gain += covers[p * D + q] && !done[q];
      if (gain > best_gain) {
        best = p;
        best_gain = gain;
      }
    }
    // Every uncovered device covers itself, so some device always gains.
    assert(best < D);
    for (size_t q = 0; q < D; ++q) {
      if (covers[best * D + q] && !done[q]) {
        done[q] = 1;
        ++covered;
      }
    }
    out.proxies.push_back(static_cast<int32_t>(best));
    out.covered.push_back(static_cast<int32_t>(covered));
  }
  return out;
}

std::vector<ProxyCover> proxy_cover_curve(const std::vector<double>& srcc, int32_t devices,
                                          const std::vector<double>& thresholds) {
  std::vector<ProxyCover> out;
  out.reserve(thresholds.size());
  for (double t : thresholds) out.push_back(greedy_proxy_cover(srcc, devices, t));
  return out;
}

std::vector<double> default_cover_thresholds() {
  return {0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99};
}

}  // namespace proxysim
