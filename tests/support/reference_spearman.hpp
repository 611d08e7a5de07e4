// A plain reference Spearman for tests: average ranks of ties by sorting, then the
// Pearson correlation of the ranks in double (scipy.stats.spearmanr's definition).
// O(n log n), written independently of kernels/rank_stats, so tests can recompute an
// SRCC a stage wrote without calling the code under test.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace proxysim::test {

inline std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> idx(x.size());
  std::iota(idx.begin(), idx.end(), size_t{0});
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && x[idx[j + 1]] == x[idx[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * static_cast<double>(i + j) + 1.0;
    i = j + 1;
  }
  return r;
}

// Spearman's rho of two equally long, NaN-free vectors; NaN when one is constant.
inline double reference_spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const auto ra = average_ranks(a), rb = average_ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : NAN;
}

// NB201 connectivity worked out from the architecture string, independently of
// sim/nb201: node 3 reachable from node 0 over edges that are not `none` (edges in
// order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), the rows reference SRCC tables keep.
inline bool nb201_connected_by_hand(const std::string& arch) {
  bool on[6] = {};
  size_t e = 0, pos = 0;
  while (e < 6 && (pos = arch.find('~', pos)) != std::string::npos) {
    const size_t start = arch.rfind('|', pos) + 1;
    on[e++] = arch.compare(start, pos - start, "none") != 0;
    ++pos;
  }
  const bool n1 = on[0], n2 = on[1] || (n1 && on[2]);
  return on[3] || (n1 && on[4]) || (n2 && on[5]);
}

}  // namespace proxysim::test
