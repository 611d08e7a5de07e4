#include "kernels/top_k_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/error.hpp"

namespace proxysim {
namespace {

// The float's order as an unsigned integer (-0 as +0), for finite and infinite values.
// k at most n / this: the streamed selection (its heaps hold k keys a column and a
// thread); above it, a gather and a selection per column.
constexpr int64_t kStreamedBelow = 16;

uint32_t float_order(float x) {
  if (x == 0.0f) x = 0.0f;
  uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// A row's key: the latency's order above the row index, so that the k smallest keys
// are the k fastest rows, latency ties to the earlier row.
uint64_t row_key(float v, int64_t i) { return (static_cast<uint64_t>(float_order(v)) << 32) | static_cast<uint64_t>(i); }

// The k smallest keys' rows, ascending row index.
std::vector<uint32_t> rows_of_smallest(std::vector<uint64_t>& keys, int64_t k) {
  if (k < static_cast<int64_t>(keys.size())) std::nth_element(keys.begin(), keys.begin() + k, keys.end());
  std::vector<uint32_t> rows(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) rows[static_cast<size_t>(i)] = static_cast<uint32_t>(keys[static_cast<size_t>(i)]);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The k fastest rows of column d (ascending row index), latency ties to the earlier row:
// the column gathered, then a selection. For k a sizeable part of n.
std::vector<uint32_t> fastest_rows(const LatencyMatrix& m, int32_t d, int64_t k) {
  const int64_t n = m.rows;
  std::vector<uint64_t> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keys[static_cast<size_t>(i)] = row_key(m.latency_ms[i * m.devices + d], i);
  return rows_of_smallest(keys, k);
}

bool has_nan(const LatencyMatrix& m, int32_t d) {
  for (int64_t i = 0; i < m.rows; ++i)
    if (std::isnan(m.latency_ms[i * m.devices + d])) return true;
  return false;
}

// For k small against n: every column's k fastest rows in one pass over the row-major
// matrix (the gathers above read every cache line of it once per column, twice with the
// NaN scan). Each thread takes a block of rows and keeps, per column, a max-heap of the
// k smallest keys so far: a row enters only below the heap's top, which after the first
// k rows is rare (about k ln(n / k) entries for rows in random order). The blocks'
// heaps are then merged by the same keys, so the rows are fastest_rows' exactly.
void fastest_rows_streamed(const LatencyMatrix& m, int64_t k, std::vector<uint8_t>& partial,
                           std::vector<std::vector<uint32_t>>& top) {
  const int32_t D = m.devices;
  const int64_t n = m.rows;
  std::vector<std::vector<std::vector<uint64_t>>> heaps;  // [block][column]
  std::vector<std::vector<uint8_t>> nans;                 // [block][column]
#pragma omp parallel
  {
#pragma omp single
    {
#ifdef _OPENMP
      const int blocks = omp_get_num_threads();
#else
      const int blocks = 1;
#endif
      heaps.assign(static_cast<size_t>(blocks), std::vector<std::vector<uint64_t>>(static_cast<size_t>(D)));
      nans.assign(static_cast<size_t>(blocks), std::vector<uint8_t>(static_cast<size_t>(D), 0));
    }
#ifdef _OPENMP
    const int me = omp_get_thread_num();
#else
    const int me = 0;
#endif
    const auto blocks = static_cast<int64_t>(heaps.size());
    const int64_t lo = n * me / blocks, hi = n * (me + 1) / blocks;
    auto& heap = heaps[static_cast<size_t>(me)];
    auto& nan = nans[static_cast<size_t>(me)];
    std::vector<uint64_t> limit(static_cast<size_t>(D), std::numeric_limits<uint64_t>::max());
    for (auto& h : heap) h.reserve(static_cast<size_t>(std::min(k, hi - lo)));
    for (int64_t i = lo; i < hi; ++i) {
      const float* row = m.latency_ms + i * D;
      for (int32_t d = 0; d < D; ++d) {
        const float v = row[d];
        nan[static_cast<size_t>(d)] |= static_cast<uint8_t>(v != v);
        const uint64_t key = row_key(v, i);
        if (key >= limit[static_cast<size_t>(d)]) continue;
        auto& h = heap[static_cast<size_t>(d)];
        if (static_cast<int64_t>(h.size()) < k) {
          h.push_back(key);
          std::push_heap(h.begin(), h.end());
          if (static_cast<int64_t>(h.size()) == k) limit[static_cast<size_t>(d)] = h.front();
        } else {
          std::pop_heap(h.begin(), h.end());
          h.back() = key;
          std::push_heap(h.begin(), h.end());
          limit[static_cast<size_t>(d)] = h.front();
        }
      }
    }
  }
  const auto blocks = heaps.size();
  for (int32_t d = 0; d < D; ++d) {
    std::vector<uint64_t> keys;
    for (size_t b = 0; b < blocks; ++b) {
      partial[static_cast<size_t>(d)] |= nans[b][static_cast<size_t>(d)];
      keys.insert(keys.end(), heaps[b][static_cast<size_t>(d)].begin(), heaps[b][static_cast<size_t>(d)].end());
    }
    if (!partial[static_cast<size_t>(d)]) top[static_cast<size_t>(d)] = rows_of_smallest(keys, k);
  }
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
  if (kk > 0 && kk <= n / kStreamedBelow) {
    fastest_rows_streamed(m, kk, partial, top);
  } else {
#pragma omp parallel for schedule(dynamic, 1)
    for (int32_t d = 0; d < D; ++d) {
      partial[d] = has_nan(m, d) ? 1 : 0;
      if (!partial[d] && kk > 0) top[d] = fastest_rows(m, d, kk);
    }
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
