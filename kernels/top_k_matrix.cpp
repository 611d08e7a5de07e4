#include "kernels/top_k_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "base/error.hpp"

namespace proxysim {
namespace {

// The float's order as an unsigned integer (-0 as +0), for finite and infinite values.
uint32_t float_order(float x) {
  if (x == 0.0f) x = 0.0f;
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The k fastest rows of column d (ascending row index), latency ties to the earlier row.
std::vector<uint32_t> fastest_rows(const LatencyMatrix& m, int32_t d, int64_t k) {
  const int64_t n = m.rows;
  std::vector<uint64_t> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = m.latency_ms[i * m.devices + d];
    keys[static_cast<size_t>(i)] = (static_cast<uint64_t>(float_order(v)) << 32) | static_cast<uint64_t>(i);
  }
  if (k < n) std::nth_element(keys.begin(), keys.begin() + k, keys.end());
  std::vector<uint32_t> rows(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) rows[static_cast<size_t>(i)] = static_cast<uint32_t>(keys[static_cast<size_t>(i)]);
  std::sort(rows.begin(), rows.end());
  return rows;
}

bool has_nan(const LatencyMatrix& m, int32_t d) {
  for (int64_t i = 0; i < m.rows; ++i)
    if (std::isnan(m.latency_ms[i * m.devices + d])) return true;
  return false;
}

}  // namespace

std::vector<double> top_k_matrix(Backend backend, const LatencyMatrix& m, int64_t k) {
  const int32_t D = m.devices;
  const int64_t n = m.rows;
  if (k <= 0) throw UserError("top-k agreement needs k >= 1, got " + std::to_string(k));
  if (n > static_cast<int64_t>(std::numeric_limits<uint32_t>::max()))
    throw UserError("top-k agreement handles at most 2^32 - 1 architectures, got " + std::to_string(n));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> out(static_cast<size_t>(D) * D, nan);
  if (D == 0) return out;
  const int64_t kk = std::min(k, n);
  std::vector<uint8_t> partial(D, 0);
  std::vector<std::vector<uint32_t>> top(D);
#pragma omp parallel for schedule(dynamic, 1)
  for (int32_t d = 0; d < D; ++d) {
    partial[d] = has_nan(m, d) ? 1 : 0;
    if (!partial[d] && kk > 0) top[d] = fastest_rows(m, d, kk);
  }
  std::vector<std::vector<float>> cols(D);  // contiguous copies, only for the fallback
  auto column = [&](int32_t d) -> const float* {
    if (cols[d].empty()) {
      cols[d].resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) cols[d][static_cast<size_t>(i)] = m.latency_ms[i * D + d];
    }
    return cols[d].data();
  };
  for (int32_t a = 0; a < D; ++a) {
    for (int32_t b = 0; b < D; ++b) {
      double& v = out[static_cast<size_t>(a) * D + b];
      if (partial[a] || partial[b]) {
        v = top_k_agreement(backend, column(a), column(b), n, k);
      } else if (kk > 0) {
        int64_t common = 0;
        auto i = top[a].begin(), j = top[b].begin();
        while (i != top[a].end() && j != top[b].end()) {
          if (*i < *j) {
            ++i;
          } else if (*j < *i) {
            ++j;
          } else {
            ++common;
            ++i;
            ++j;
          }
        }
        v = static_cast<double>(common) / static_cast<double>(kk);
      }
    }
  }
  return out;
}

}  // namespace proxysim
