// The rank-statistic loops, written once with Thrust and an explicit execution policy;
// rank_cpu.cpp instantiates them with the OpenMP system, cuda/rank_cuda.cu with the
// CUDA system. A System supplies policy() and policy_nosync() (the same, free not to
// wait for the work it launches), vector<T> (memory of that backend), allocate(bytes) /
// deallocate(p) (raw memory of that backend; deallocate never throws), the tuning
// constants and, when not kSerialWorkers, a ColumnSorter (see ThrustColumnSorter);
// every pointer handed to a functor lives on that backend.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <thrust/copy.h>
#include <thrust/count.h>
#include <thrust/fill.h>
#include <thrust/for_each.h>
#include <thrust/functional.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>
#include <thrust/logical.h>
#include <thrust/memory.h>
#include <thrust/reduce.h>
#include <thrust/scan.h>
#include <thrust/sequence.h>
#include <thrust/sort.h>
#include <thrust/transform.h>
#include <thrust/transform_reduce.h>

#include "base/hd.hpp"
#include "kernels/rank_stats.hpp"
#include "base/error.hpp"

namespace proxysim::detail {

// How a wide backend (not System::kSerialWorkers) ranks the columns of an SRCC matrix.
// The defaults are what spearman_matrix uses; tests and benchmarks set the rest. The
// result does not depend on them.
struct ColumnRanking {
  // Columns ranked together; 0: as many as System::kBatchBytes holds.
  int64_t batch_columns = 0;
  // A batch in one segmented sort (one segment per column); false: one sort per column
  // (the CUDA sorter's DeviceRadixSort per column, kept to compare the two).
  bool segmented = true;
};

// CUDA entry points: kernels/cuda/rank_cuda.cu, or kernels/rank_cuda_absent.cpp in a
// build without CUDA. Inputs are host pointers.
PairMatrix cuda_spearman_matrix(const LatencyMatrix& m, const ColumnRanking& ranking = {});
PairMatrix cuda_kendall_matrix(const LatencyMatrix& m);
double cuda_kendall_pair(const float* a, const float* b, int64_t n);
double cuda_top_k_agreement(const float* proxy_ms, const float* target_ms, int64_t n, int64_t k);
std::vector<int64_t> cuda_pareto_front(const float* latency_ms, const float* objective, int64_t n, Objective sense);
ParetoAgreement cuda_pareto_agreement(const float* proxy_ms, const float* target_ms, const float* objective,
                                      int64_t n, Objective sense);
BootstrapResult cuda_bootstrap_spearman(const LatencyMatrix& m, const BootstrapOptions& options);
BootstrapResult cuda_bootstrap_kendall(const LatencyMatrix& m, const BootstrapOptions& options);

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------- per-item math

struct Column {
  const float* data;
  int64_t stride;
  PROXYSIM_HD float operator[](int64_t i) const { return data[i * stride]; }
};

PROXYSIM_HD inline bool is_nan(float x) { return x != x; }

// Unsigned key with the order of the floats, so ties are integer equality and the GPU
// sort is a radix sort; -0 and +0 share a key because scipy sees them as equal.
// Written without branches (a negative float's bits are all flipped, a positive one's
// sign bit set), so that the loops computing keys can be vectorised.
PROXYSIM_HD inline uint32_t order_key(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  u = x == 0.0f ? 0u : u;
  const uint32_t flip = static_cast<uint32_t>(static_cast<int32_t>(u) >> 31) | 0x80000000u;
  return u ^ flip;
}

PROXYSIM_HD inline bool key_is_nan(uint32_t k) {
  const uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0;
}

struct Keys32 {
  const uint32_t* k;
  PROXYSIM_HD uint32_t operator()(int64_t i) const { return k[i]; }
};
struct Keys64 {
  const uint64_t* k;
  PROXYSIM_HD uint64_t operator()(int64_t i) const { return k[i]; }
};
struct Keys64High {
  const uint64_t* k;
  PROXYSIM_HD uint32_t operator()(int64_t i) const { return static_cast<uint32_t>(k[i] >> 32); }
};

// First index of the run of equal keys holding p, by galloping then bisecting: O(1)
// without ties, O(log run) with them, and no thread waits on a long run.
template <class Get>
PROXYSIM_HD inline int64_t run_start(const Get& get, int64_t p) {
  const auto k = get(p);
  int64_t hi = p, lo = -1, step = 1;
  while (true) {
    const int64_t t = hi - step;
    if (t < 0) break;
    if (get(t) != k) {
      lo = t;
      break;
    }
    hi = t;
    step *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (get(mid) == k) hi = mid; else lo = mid;
  }
  return hi;
}

// Last index (inclusive) of the run of equal keys holding p.
template <class Get>
PROXYSIM_HD inline int64_t run_end(const Get& get, int64_t p, int64_t m) {
  const auto k = get(p);
  int64_t lo = p, hi = m, step = 1;
  while (true) {
    const int64_t t = lo + step;
    if (t >= m) break;
    if (get(t) != k) {
      hi = t;
      break;
    }
    lo = t;
    step *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (get(mid) == k) lo = mid; else hi = mid;
  }
  return lo;
}

struct BothMeasured {
  Column a, b;
  PROXYSIM_HD bool operator()(int64_t i) const { return !is_nan(a[i]) && !is_nan(b[i]); }
};
struct AllMeasured {
  Column a, b, c;
  PROXYSIM_HD bool operator()(int64_t i) const { return !is_nan(a[i]) && !is_nan(b[i]) && !is_nan(c[i]); }
};
struct IsNanAt {
  Column c;
  PROXYSIM_HD bool operator()(int64_t i) const { return is_nan(c[i]); }
};

struct ColumnKeys {
  Column c;
  const uint32_t* rows;  // local index -> row, or null for all rows
  uint32_t* keys;
  PROXYSIM_HD void operator()(int64_t p) const { keys[p] = order_key(c[rows ? rows[p] : p]); }
};

// Twice the centred average rank, 2 * (rank - (m + 1) / 2) = start + end + 1 - m, an
// integer, so Pearson of ranks sums exact integer products.
struct AverageRank {
  const uint32_t* keys;  // sorted
  const uint32_t* perm;  // sorted position -> local index
  int64_t m;
  int32_t* two_c;        // by local index
  uint8_t* head;         // optional: 1 where a run of ties starts
  PROXYSIM_HD void operator()(int64_t p) const {
    const Keys32 get{keys};
    const int64_t s = run_start(get, p);
    two_c[perm[p]] = static_cast<int32_t>(s + run_end(get, p, m) + 1 - m);
    if (head) head[p] = s == p;
  }
};

// Rank-product sums of chunk t / pairs for pair t % pairs; within a chunk every product
// and partial sum is an integer below 2^53, so the chunk sum is exact.
struct GramPartial {
  const int32_t* ranks;  // column-major, n per column
  int64_t n, chunk, pairs;
  const int32_t* pa;
  const int32_t* pb;
  double* partial;
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t c = t / pairs, p = t % pairs;
    const int64_t i0 = c * chunk;
    const int64_t i1 = i0 + chunk < n ? i0 + chunk : n;
    const int32_t* x = ranks + static_cast<int64_t>(pa[p]) * n;
    const int32_t* y = ranks + static_cast<int64_t>(pb[p]) * n;
    double s = 0;
#if !defined(__CUDA_ARCH__)
#pragma omp simd reduction(+ : s)
#endif
    for (int64_t i = i0; i < i1; ++i) s += static_cast<double>(x[i]) * static_cast<double>(y[i]);
    partial[t] = s;
  }
};

struct SumChunks {
  const double* partial;
  int64_t chunks, pairs;
  double* out;
  PROXYSIM_HD void operator()(int64_t p) const {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * pairs + p];
    out[p] = s;
  }
};

struct RankProduct {
  const int32_t* x;
  const int32_t* y;
  PROXYSIM_HD double operator()(int64_t i) const { return static_cast<double>(x[i]) * static_cast<double>(y[i]); }
};

// (key of a, key of b) in one word: sorting it sorts by a, then b (Knight's order).
struct PairKeys {
  Column a, b;
  const uint32_t* rows;
  uint64_t* keys;
  PROXYSIM_HD void operator()(int64_t p) const {
    const int64_t r = rows ? rows[p] : p;
    keys[p] = (static_cast<uint64_t>(order_key(a[r])) << 32) | order_key(b[r]);
  }
};

struct LowWord {
  PROXYSIM_HD uint32_t operator()(uint64_t k) const { return static_cast<uint32_t>(k); }
};

// Pairs tied with p and earlier in its run: summed over p, the tied pairs sum_runs C(t, 2).
template <class Get>
struct TiesBefore {
  Get get;
  PROXYSIM_HD uint64_t operator()(int64_t p) const { return static_cast<uint64_t>(p - run_start(get, p)); }
};

// One bottom-up merge of blocks [lo, lo + w) and [lo + w, lo + 2w), counting the pairs
// the merge swaps (left > right): Knight's discordant pairs, added to swaps[k] (so that
// the passes of a sort can add into one tally).
struct MergeBlocks {
  const uint32_t* src;
  uint32_t* dst;
  uint64_t* swaps;
  int64_t m, w;
  PROXYSIM_HD void operator()(int64_t k) const {
    const int64_t lo = k * 2 * w;
    const int64_t mid = lo + w < m ? lo + w : m;
    const int64_t hi = lo + 2 * w < m ? lo + 2 * w : m;
    int64_t i = lo, j = mid, o = lo;
    uint64_t count = 0;
    while (i < mid && j < hi) {
      if (src[j] < src[i]) {
        dst[o++] = src[j++];
        count += static_cast<uint64_t>(mid - i);
      } else {
        dst[o++] = src[i++];
      }
    }
    while (i < mid) dst[o++] = src[i++];
    while (j < hi) dst[o++] = src[j++];
    swaps[k] += count;
  }
};

// The same merge with one item per element, for the last passes on a wide backend where
// few blocks would leave most threads idle: each element finds its place by bisection
// (and adds the swaps it closes to swaps[e]).
struct MergeElements {
  const uint32_t* src;
  uint32_t* dst;
  uint64_t* swaps;
  int64_t m, w;
  PROXYSIM_HD void operator()(int64_t e) const {
    const int64_t lo = e / (2 * w) * 2 * w;
    const int64_t mid = lo + w < m ? lo + w : m;
    const int64_t hi = lo + 2 * w < m ? lo + 2 * w : m;
    const uint32_t x = src[e];
    if (e < mid) {  // right elements strictly smaller go first
      int64_t a = mid, b = hi;
      while (a < b) {
        const int64_t c = a + (b - a) / 2;
        if (src[c] < x) a = c + 1; else b = c;
      }
      dst[e + (a - mid)] = x;
    } else {  // left elements smaller or equal go first
      int64_t a = lo, b = mid;
      while (a < b) {
        const int64_t c = a + (b - a) / 2;
        if (src[c] <= x) a = c + 1; else b = c;
      }
      dst[lo + (e - mid) + (a - lo)] = x;
      swaps[e] += static_cast<uint64_t>(mid - a);
    }
  }
};

PROXYSIM_HD inline double tau_b(uint64_t tot, uint64_t xtie, uint64_t ytie, uint64_t ntie, uint64_t dis) {
  if (xtie == tot || ytie == tot) return kNaN;
  const double num = static_cast<double>(tot) - static_cast<double>(xtie) - static_cast<double>(ytie) +
                     static_cast<double>(ntie) - 2.0 * static_cast<double>(dis);
  const double t = num / sqrt(static_cast<double>(tot - xtie)) / sqrt(static_cast<double>(tot - ytie));
  return t > 1.0 ? 1.0 : (t < -1.0 ? -1.0 : t);
}

PROXYSIM_HD inline double clip_unit(double r) { return r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r); }

// Top-k: 1 on the target's k fastest rows.
struct MarkTop {
  const uint32_t* perm;
  uint8_t* flag;
  PROXYSIM_HD void operator()(int64_t p) const { flag[perm[p]] = 1; }
};
struct FlagAt {
  const uint32_t* perm;
  const uint8_t* flag;
  PROXYSIM_HD int64_t operator()(int64_t p) const { return flag[perm[p]]; }
};

// Pareto: key = (latency, objective with smaller = better); a row is on the front when
// it is best within its latency tie and strictly better than every faster row.
struct ParetoKeys {
  Column lat, obj;
  const uint32_t* rows;
  bool maximise;
  uint64_t* keys;
  PROXYSIM_HD void operator()(int64_t p) const {
    const uint32_t o = order_key(obj[rows[p]]);
    keys[p] = (static_cast<uint64_t>(order_key(lat[rows[p]])) << 32) | (maximise ? ~o : o);
  }
};
struct ParetoMark {
  const uint64_t* keys;       // sorted
  const uint32_t* best_before; // exclusive prefix minimum of the objective word
  const uint32_t* perm;
  uint8_t* flag;
  PROXYSIM_HD void operator()(int64_t p) const {
    const int64_t h = run_start(Keys64High{keys}, p);
    const uint32_t o = static_cast<uint32_t>(keys[p]);
    flag[perm[p]] = o == static_cast<uint32_t>(keys[h]) && o < best_before[h];
  }
};
struct BothFlags {
  const uint8_t* fp;
  const uint8_t* ft;
  PROXYSIM_HD int64_t operator()(int64_t i) const { return fp[i] & ft[i]; }
};

// Bootstrap: multiplicity of each row in resample first + b.
struct Multiplicity {
  uint64_t seed;
  int64_t first;
  uint32_t n;
  uint32_t* weights;
  PROXYSIM_HD void operator()(int64_t b) const {
    uint32_t* w = weights + b * static_cast<int64_t>(n);
    for (uint32_t i = 0; i < n; ++i) w[i] = 0;
    for (uint32_t i = 0; i < n; ++i) ++w[bootstrap_row(seed, static_cast<uint64_t>(first + b), i, n)];
  }
};

// Twice the centred average ranks of a resample given as row multiplicities: a row's
// rank is the weight of the strictly smaller rows plus (weight of its ties + 1) / 2, so
// duplicates are tie-averaged without re-sorting. Returns sum w * (2c)^2.
PROXYSIM_HD inline double weighted_ranks(const uint32_t* perm, const uint8_t* head, int64_t m, const uint32_t* weight,
                                         const uint32_t* rows, int64_t total, float* two_c) {
  int64_t below = 0, p = 0;
  double sumsq = 0;
  while (p < m) {
    int64_t q = p + 1;
    int64_t run = weight[rows ? rows[perm[p]] : perm[p]];
    while (q < m && !head[q]) {
      run += weight[rows ? rows[perm[q]] : perm[q]];
      ++q;
    }
    const int64_t c = 2 * below + run - total;
    for (int64_t s = p; s < q; ++s) two_c[perm[s]] = static_cast<float>(c);
    sumsq += static_cast<double>(run) * static_cast<double>(c) * static_cast<double>(c);
    below += run;
    p = q;
  }
  return sumsq;
}

struct CleanRanks {
  const uint32_t* perms;  // per clean column, n
  const uint8_t* heads;
  int64_t n, columns;
  const uint32_t* weights;  // per resample, n
  float* two_c;             // [b][column][row]
  double* sumsq;            // [b][column]
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t b = t / columns, c = t % columns;
    sumsq[t] = weighted_ranks(perms + c * n, heads + c * n, n, weights + b * n, nullptr, n, two_c + t * n);
  }
};

struct CleanGram {
  const float* two_c;
  const uint32_t* weights;
  const double* sumsq;
  int64_t n, columns, pairs;
  const int32_t* pa;
  const int32_t* pb;
  double* out;  // [b][pair]
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t b = t / pairs, p = t % pairs;
    const float* x = two_c + (b * columns + pa[p]) * n;
    const float* y = two_c + (b * columns + pb[p]) * n;
    const uint32_t* w = weights + b * n;
    double s = 0;
#if !defined(__CUDA_ARCH__)
#pragma omp simd reduction(+ : s)
#endif
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(w[i]) * static_cast<double>(x[i]) * y[i];
    const double den = sumsq[b * columns + pa[p]] * sumsq[b * columns + pb[p]];
    out[t] = (n >= 2 && den > 0) ? clip_unit(s / sqrt(den)) : kNaN;
  }
};

struct PairRanksBoot {
  const uint32_t* perm_a;
  const uint8_t* head_a;
  const uint32_t* perm_b;
  const uint8_t* head_b;
  const uint32_t* rows;
  int64_t m, n;
  const uint32_t* weights;
  float* scratch;  // per resample, 2m
  double* out;     // per resample
  PROXYSIM_HD void operator()(int64_t b) const {
    const uint32_t* w = weights + b * n;
    int64_t total = 0;
    for (int64_t l = 0; l < m; ++l) total += w[rows[l]];
    if (total < 2) {
      out[b] = kNaN;
      return;
    }
    float* x = scratch + b * 2 * m;
    float* y = x + m;
    const double sa = weighted_ranks(perm_a, head_a, m, w, rows, total, x);
    const double sb = weighted_ranks(perm_b, head_b, m, w, rows, total, y);
    double s = 0;
    for (int64_t l = 0; l < m; ++l) s += static_cast<double>(w[rows[l]]) * static_cast<double>(x[l]) * y[l];
    out[b] = sa * sb > 0 ? clip_unit(s / sqrt(sa * sb)) : kNaN;
  }
};

PROXYSIM_HD inline uint64_t pairs_of(uint64_t t) { return t * (t - (t > 0)) / 2; }

// Kendall tau-b of one resample, given the pair's rows in (a, b) order: duplicates are
// joint ties; discordant pairs are the weighted swaps of a merge sort of b.
struct KendallBoot {
  const uint32_t* order;  // sorted position -> row
  const uint8_t* head_x;  // run of equal a starts
  const uint8_t* head_xy; // run of equal (a, b) starts
  const uint32_t* y;      // key of b in sorted order
  int64_t m, n;
  const uint32_t* weights;
  uint32_t* scratch;      // per resample, 4m
  double* out;
  PROXYSIM_HD void operator()(int64_t b) const {
    const uint32_t* w = weights + b * n;
    uint32_t* y0 = scratch + b * 4 * m;
    uint32_t* w0 = y0 + m;
    uint32_t* y1 = w0 + m;
    uint32_t* w1 = y1 + m;
    uint64_t total = 0, xtie = 0, ntie = 0, run_x = 0, run_xy = 0;
    int64_t k = 0;
    for (int64_t p = 0; p < m; ++p) {
      const uint32_t wp = w[order[p]];
      if (head_x[p]) { xtie += pairs_of(run_x); run_x = 0; }
      if (head_xy[p]) { ntie += pairs_of(run_xy); run_xy = 0; }
      run_x += wp;
      run_xy += wp;
      total += wp;
      if (wp) { y0[k] = y[p]; w0[k] = wp; ++k; }
    }
    xtie += pairs_of(run_x);
    ntie += pairs_of(run_xy);
    uint64_t dis = 0;
    for (int64_t width = 1; width < k; width *= 2) {
      for (int64_t lo = 0; lo < k; lo += 2 * width) {
        const int64_t mid = lo + width < k ? lo + width : k;
        const int64_t hi = lo + 2 * width < k ? lo + 2 * width : k;
        uint64_t left = 0;
        for (int64_t i = lo; i < mid; ++i) left += w0[i];
        int64_t i = lo, j = mid, o = lo;
        while (i < mid && j < hi) {
          if (y0[j] < y0[i]) {
            dis += static_cast<uint64_t>(w0[j]) * left;
            y1[o] = y0[j]; w1[o++] = w0[j++];
          } else {
            left -= w0[i];
            y1[o] = y0[i]; w1[o++] = w0[i++];
          }
        }
        while (i < mid) { y1[o] = y0[i]; w1[o++] = w0[i++]; }
        while (j < hi) { y1[o] = y0[j]; w1[o++] = w0[j++]; }
      }
      uint32_t* t = y0; y0 = y1; y1 = t;
      t = w0; w0 = w1; w1 = t;
    }
    uint64_t ytie = 0, run = 0;
    for (int64_t i = 0; i < k; ++i) {
      if (i > 0 && y0[i] != y0[i - 1]) { ytie += pairs_of(run); run = 0; }
      run += w0[i];
    }
    ytie += pairs_of(run);
    out[b] = tau_b(pairs_of(total), xtie, ytie, ntie, dis);
  }
};

// ---------------------------------------------------------------- serial kernels
// One worker's whole job, for backends with a few fat threads (System::kSerialWorkers):
// there a column sort or a pair's merge count is cheapest done start to finish by one
// thread, and the threads split columns (or halves) instead of every single pass.

// Next work item for a worker: items are handed out in order, so a worker slowed by a
// neighbour's process takes fewer of them.
PROXYSIM_HD inline int64_t next_item(unsigned long long* counter) {
#if defined(__CUDA_ARCH__)
  return static_cast<int64_t>(atomicAdd(counter, 1ull));
#else
  return static_cast<int64_t>(__atomic_fetch_add(counter, 1ull, __ATOMIC_RELAXED));
#endif
}

PROXYSIM_HD inline int bit_width64(uint64_t x) {
  int b = 0;
  while (x) { ++b; x >>= 1; }
  return b;
}

// LSD radix sort of a[0, n) on bits [lo, hi) with kDigit-bit digits, using tmp; digits
// every item shares are skipped. Returns the buffer holding the result (a or tmp).
template <int kDigit = 11>
PROXYSIM_HD inline uint64_t* radix_sort_bits(uint64_t* a, uint64_t* tmp, int64_t n, int lo, int hi) {
  constexpr int kMaxDigits = (64 + kDigit - 1) / kDigit;
  uint32_t count[kMaxDigits][1 << kDigit];
  const int digits = (hi - lo + kDigit - 1) / kDigit;
  for (int d = 0; d < digits; ++d)
    for (int v = 0; v < (1 << kDigit); ++v) count[d][v] = 0;
  // Bits at or above hi (a bucket's own, shared by all) stay out of the last digit.
  const uint64_t in_range = hi - lo >= 64 ? ~uint64_t{0} : (uint64_t{1} << (hi - lo)) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t k = (a[i] >> lo) & in_range;
    for (int d = 0; d < digits; ++d) ++count[d][(k >> (d * kDigit)) & ((1u << kDigit) - 1)];
  }
  uint64_t* src = a;
  uint64_t* dst = tmp;
  for (int d = 0; d < digits; ++d) {
    const int shift = lo + d * kDigit;
    const int width = hi - shift < kDigit ? hi - shift : kDigit;
    const uint32_t mask = (1u << width) - 1;
    uint32_t* c = count[d];
    if (n == 0 || c[(src[0] >> shift) & mask] == static_cast<uint64_t>(n)) continue;
    uint32_t sum = 0;
    for (int v = 0; v < (1 << kDigit); ++v) {
      const uint32_t t = c[v];
      c[v] = sum;
      sum += t;
    }
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t k = src[i];
      dst[c[(k >> shift) & mask]++] = k;
    }
    uint64_t* t = src; src = dst; dst = t;
  }
  return src;
}

// Sorts a[0, n) on bits [lo, hi) with tmp (n items) beside it: insertion sort for a few
// items, 8-bit digits for a cache-sized bucket, 11-bit digits for a large one.
PROXYSIM_HD inline uint64_t* sort_bucket(uint64_t* a, uint64_t* tmp, int64_t n, int lo, int hi) {
  if (n <= 24) {
    const uint64_t mask = hi - lo >= 64 ? ~uint64_t{0} : ((uint64_t{1} << (hi - lo)) - 1) << lo;
    for (int64_t i = 1; i < n; ++i) {
      const uint64_t x = a[i];
      int64_t j = i;
      while (j > 0 && (a[j - 1] & mask) > (x & mask)) {
        a[j] = a[j - 1];
        --j;
      }
      a[j] = x;
    }
    return a;
  }
  if (n <= 65536) return radix_sort_bits<8>(a, tmp, n, lo, hi);
  return radix_sort_bits<11>(a, tmp, n, lo, hi);
}

// Tie-averaged ranks of whole columns as v = first + last sorted position of the row's
// tie run (2 * rank - 1 with 1-based ranks; 2c = v + 1 - n), bit-packed `per_word` to a
// 64-bit word, `bits` each: 21 bits at n = 10^6 make the D columns 2/3 of the matrix.
struct PackedRanks {
  uint64_t* words;
  int64_t words_per_column;
  int bits, per_word;
  PROXYSIM_HD uint64_t mask() const { return (uint64_t{1} << bits) - 1; }
};

// Worker w ranks clean columns until none are left; a column with a NaN is flagged
// instead (its pairs are ranked pairwise).
//
// A worker takes kGroup adjacent columns at a time and gathers their order keys in one
// pass over the rows (the matrix is row-major: one cache line serves the group, where
// a column alone would use 4 bytes of each 64 read). Each pass reads the whole matrix,
// so 8 columns a pass read it D / 8 times: at 10^6 x 32, 0.83x the time of 4 a pass
// (bench/NOTES.md), for 16 MB more keys per worker. Then, column by column, the keys
// are spread into 2^hb buckets by their top hb bits (the one scattered pass over
// memory; ties share a bucket), and each bucket, about 1,000 rows, is sorted in cache on
// the bits left and its tie runs written to v by row. A column whose largest bucket
// would not fit the scratch (over half the rows: one value dominates) is left to
// rank_whole, flagged in `deferred`.
struct RankColumnsSerial {
  const float* lat;
  int64_t n;
  int32_t d;
  uint64_t* scratch;  // scratch_words(n) per worker
  PackedRanks out;
  uint8_t* dirty;
  uint8_t* deferred;
  unsigned long long* counter;
  int64_t group;  // columns gathered together, 1 to kGroup
  static constexpr int kMaxBucketBits = 12;
  static constexpr int kGroup = 8;

  // Columns a worker gathers at once: kGroup, or fewer where the workers would
  // otherwise lack columns to share.
  static int64_t group_for(int64_t columns, int64_t workers) {
    return std::clamp<int64_t>((columns + workers - 1) / workers, 1, kGroup);
  }
  // Per worker: bucketed items (n words), a bucket's sort buffer (n / 2 words) and the
  // group's keys (group x n 32-bit; a column's ranks v replace its keys).
  PROXYSIM_HD static int64_t tmp_items(int64_t rows) { return (rows + 1) / 2; }
  PROXYSIM_HD static int64_t scratch_words(int64_t rows, int64_t group) {
    return rows + tmp_items(rows) + (group * rows + 1) / 2;
  }

  // Buckets' top bits: about 1,000 rows a bucket, at most 2^12 buckets (each a stream
  // of scattered writes) and no more bits than the keys span.
  PROXYSIM_HD static int bucket_bits(int64_t rows, int key_bits) {
    int hb = bit_width64(static_cast<uint64_t>(rows)) - 10;
    hb = hb < 0 ? 0 : (hb > kMaxBucketBits ? kMaxBucketBits : hb);
    return hb < key_bits ? hb : key_bits;
  }

  // v[row] = first + last sorted position of the row's tie run, for sorted items
  // (key << 32 | row) at global positions first, first + 1, ...
  PROXYSIM_HD static void store_runs(const uint64_t* s, int64_t m, int64_t first, uint32_t* v) {
    for (int64_t p = 0; p < m;) {
      const uint64_t key = s[p] >> 32;
      int64_t q = p + 1;
      while (q < m && (s[q] >> 32) == key) ++q;
      const uint32_t run = static_cast<uint32_t>(2 * first + p + q - 1);
      for (int64_t t = p; t < q; ++t) v[s[t] & 0xffffffffu] = run;
      p = q;
    }
  }

  PROXYSIM_HD void pack(int64_t j, const uint32_t* v) const {
    uint64_t* col = out.words + j * out.words_per_column;
    for (int64_t qw = 0; qw < out.words_per_column; ++qw) {
      uint64_t word = 0;
      const int64_t i0 = qw * out.per_word;
      const int64_t cnt = n - i0 < out.per_word ? n - i0 : out.per_word;
      for (int64_t r = 0; r < cnt; ++r) word |= static_cast<uint64_t>(v[i0 + r]) << (r * out.bits);
      col[qw] = word;
    }
  }

  // A deferred column in one sort of (key << 32 | row), with a (2n words) to itself.
  PROXYSIM_HD void rank_whole(int64_t j, uint64_t* a) const {
    for (int64_t i = 0; i < n; ++i)
      a[i] = (static_cast<uint64_t>(order_key(lat[i * d + j])) << 32) | static_cast<uint64_t>(i);
    const uint64_t* s = radix_sort_bits(a, a + n, n, 32, 64);
    uint32_t* v = reinterpret_cast<uint32_t*>(s == a ? a + n : a);
    store_runs(s, n, 0, v);
    pack(j, v);
  }

  // Bucketed ranking of keys k into v; false (nothing written) when the largest bucket
  // would not fit tmp. k and v may be the same memory.
  PROXYSIM_HD bool rank_buckets(const uint32_t* k, uint32_t lo_key, uint32_t hi_key, uint64_t* buf, uint64_t* tmp,
                                uint32_t* v) const {
    const int bits = bit_width64(hi_key - lo_key);
    const int hb = bucket_bits(n, bits);
    const int shift = bits - hb;
    uint32_t start[(1 << kMaxBucketBits) + 1];
    const int buckets = 1 << hb;
    for (int b = 0; b <= buckets; ++b) start[b] = 0;
    for (int64_t i = 0; i < n; ++i) ++start[(static_cast<uint64_t>(k[i] - lo_key) >> shift) + 1];
    uint32_t largest = 0;
    for (int b = 1; b <= buckets; ++b) {
      largest = start[b] > largest ? start[b] : largest;
      start[b] += start[b - 1];
    }
    if (largest > tmp_items(n) && largest > 24) return false;  // up to 24: insertion sort, no tmp
    uint32_t next[1 << kMaxBucketBits];
    for (int b = 0; b < buckets; ++b) next[b] = start[b];
    const uint32_t low = shift >= 32 ? 0xffffffffu : (1u << shift) - 1;
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t key = k[i] - lo_key;
      buf[next[static_cast<uint64_t>(key) >> shift]++] = (static_cast<uint64_t>(key & low) << 32) | static_cast<uint64_t>(i);
    }
    for (int b = 0; b < buckets; ++b) {
      const int64_t first = start[b], m = static_cast<int64_t>(start[b + 1]) - first;
      if (m == 0) continue;
      const uint64_t* s = sort_bucket(buf + first, tmp, m, 32, 32 + shift);
      store_runs(s, m, first, v);
    }
    return true;
  }

  PROXYSIM_HD void operator()(int64_t w) const {
    uint64_t* a = scratch + w * scratch_words(n, group);
    uint64_t* buf = a;
    uint64_t* tmp = a + n;
    uint32_t* keys = reinterpret_cast<uint32_t*>(a + n + tmp_items(n));
    const int64_t groups = (d + group - 1) / group;
    for (int64_t t = next_item(counter); t < groups; t = next_item(counter)) {
      const int64_t j0 = t * group, g = d - j0 < group ? d - j0 : group;
      bool nan[kGroup] = {};
      uint32_t lo_key[kGroup], hi_key[kGroup];
      for (int c = 0; c < kGroup; ++c) lo_key[c] = 0xffffffffu, hi_key[c] = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float* row = lat + i * d + j0;
        for (int64_t c = 0; c < g; ++c) {
          const float x = row[c];
          nan[c] |= is_nan(x);
          const uint32_t key = order_key(x);
          keys[c * n + i] = key;
          lo_key[c] = key < lo_key[c] ? key : lo_key[c];
          hi_key[c] = key > hi_key[c] ? key : hi_key[c];
        }
      }
      for (int64_t c = 0; c < g; ++c) {
        const int64_t j = j0 + c;
        dirty[j] = nan[c];
        deferred[j] = 0;
        if (nan[c]) continue;
        uint32_t* k = keys + c * n;
        if (!rank_buckets(k, lo_key[c], hi_key[c], buf, tmp, k)) {
          deferred[j] = 1;
          continue;
        }
        pack(j, k);
      }
    }
  }
};

// Worker w sums the rank products of every clean pair over row blocks of `block` rows:
// a block is unpacked once to doubles (2c, |2c| < n) in the worker's buffer and every
// pair is a dot product there. A block sum adds integers below 2^53 while
// block * n^2 < 2^53 (n up to ~2.4 * 10^6 at block 1536), so it is exact there.
struct GramSerial {
  PackedRanks ranks;
  const int32_t* clean;
  int64_t columns, n, block;
  double* buffer;  // per worker: columns x block
  double* acc;     // per worker: columns x columns (upper triangle used)
  unsigned long long* counter;
  PROXYSIM_HD void operator()(int64_t w) const {
    double* buf = buffer + w * columns * block;
    double* g = acc + w * columns * columns;
    for (int64_t i = 0; i < columns * columns; ++i) g[i] = 0;
    const int64_t blocks = (n + block - 1) / block;
    const int64_t wpb = block / ranks.per_word;
    const uint64_t mask = ranks.mask();
    const double off = 1.0 - static_cast<double>(n);
    for (int64_t c = next_item(counter); c < blocks; c = next_item(counter)) {
      const int64_t i0 = c * block;
      const int64_t len = i0 + block < n ? block : n - i0;
      for (int64_t a = 0; a < columns; ++a) {
        const uint64_t* src = ranks.words + clean[a] * ranks.words_per_column + c * wpb;
        double* x = buf + a * block;
        const int64_t words = (len + ranks.per_word - 1) / ranks.per_word;
        for (int64_t q = 0; q < words; ++q) {
          uint64_t word = src[q];
          for (int r = 0; r < ranks.per_word; ++r, word >>= ranks.bits)
            x[q * ranks.per_word + r] = static_cast<double>(word & mask) + off;
        }
      }
      // Tiles of 4 x 4 pairs: 8 loads feed 16 multiply-adds (a row of 4 pairs needs 5
      // loads for 4), and the sums are of integers below 2^53, so any order is exact.
      int64_t a0 = 0;
      for (; a0 + 4 <= columns; a0 += 4) {
        const double* x0 = buf + a0 * block;
        const double* x1 = x0 + block;
        const double* x2 = x1 + block;
        const double* x3 = x2 + block;
        int64_t b = a0;
        for (; b + 4 <= columns; b += 4) {
          const double* y0 = buf + b * block;
          const double* y1 = y0 + block;
          const double* y2 = y1 + block;
          const double* y3 = y2 + block;
          double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
          double s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
#if !defined(__CUDA_ARCH__)
#pragma omp simd reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)
#endif
          for (int64_t i = 0; i < len; ++i) {
            const double u0 = x0[i], u1 = x1[i], u2 = x2[i], u3 = x3[i];
            const double v0 = y0[i], v1 = y1[i], v2 = y2[i], v3 = y3[i];
            s00 += u0 * v0, s01 += u0 * v1, s02 += u0 * v2, s03 += u0 * v3;
            s10 += u1 * v0, s11 += u1 * v1, s12 += u1 * v2, s13 += u1 * v3;
            s20 += u2 * v0, s21 += u2 * v1, s22 += u2 * v2, s23 += u2 * v3;
            s30 += u3 * v0, s31 += u3 * v1, s32 += u3 * v2, s33 += u3 * v3;
          }
          // The diagonal tile's entries below the diagonal are summed too, and unused.
          double* r0 = g + a0 * columns + b;
          double* r1 = r0 + columns;
          double* r2 = r1 + columns;
          double* r3 = r2 + columns;
          r0[0] += s00, r0[1] += s01, r0[2] += s02, r0[3] += s03;
          r1[0] += s10, r1[1] += s11, r1[2] += s12, r1[3] += s13;
          r2[0] += s20, r2[1] += s21, r2[2] += s22, r2[3] += s23;
          r3[0] += s30, r3[1] += s31, r3[2] += s32, r3[3] += s33;
        }
        for (; b < columns; ++b) {
          const double* y = buf + b * block;
          double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#if !defined(__CUDA_ARCH__)
#pragma omp simd reduction(+ : s0, s1, s2, s3)
#endif
          for (int64_t i = 0; i < len; ++i) {
            s0 += x0[i] * y[i];
            s1 += x1[i] * y[i];
            s2 += x2[i] * y[i];
            s3 += x3[i] * y[i];
          }
          g[a0 * columns + b] += s0;
          g[(a0 + 1) * columns + b] += s1;
          g[(a0 + 2) * columns + b] += s2;
          g[(a0 + 3) * columns + b] += s3;
        }
      }
      // The last columns % 4 columns: fewer than 4 pairs each, one at a time.
      for (int64_t a = a0; a < columns; ++a) {
        const double* x = buf + a * block;
        for (int64_t b = a; b < columns; ++b) {
          const double* y = buf + b * block;
          double s = 0;
#if !defined(__CUDA_ARCH__)
#pragma omp simd reduction(+ : s)
#endif
          for (int64_t i = 0; i < len; ++i) s += x[i] * y[i];
          g[a * columns + b] += s;
        }
      }
    }
  }
};

// Per-element kernels of the same two steps for wide backends, on a batch of columns
// j0, j0 + 1, ... laid one after another (column-major, n entries each).
//
// Entry t = row * columns + c of the batch: the order key of column j0 + c of `row` to
// keys[c * n + row] and the row to rows[c * n + row] (consecutive threads read one
// matrix row).
struct BatchKeys {
  const float* lat;
  int64_t n;
  int32_t d;
  int64_t j0, columns;
  uint32_t* keys;
  uint32_t* rows;
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t i = t / columns, c = t % columns;
    keys[c * n + i] = order_key(lat[i * d + j0 + c]);
    rows[c * n + i] = static_cast<uint32_t>(i);
  }
};
// dirty[j0 + c] = 1 when column c of the sorted batch holds a NaN: the keys of NaNs with
// the sign bit set lie below every other key and those without above, so one is first
// or last in the column.
struct FlagNanColumns {
  const uint32_t* keys;  // sorted, per column
  int64_t n, j0;
  uint8_t* dirty;
  PROXYSIM_HD void operator()(int64_t c) const {
    const uint32_t* k = keys + c * n;
    dirty[j0 + c] = key_is_nan(k[0]) || key_is_nan(k[n - 1]);
  }
};
// v[c * n + row] = first + last sorted position of the row's tie run in column c.
struct StoreRunSum {
  const uint32_t* keys;  // sorted, per column
  const uint32_t* perm;  // sorted position -> row, per column
  int64_t n;
  uint32_t* v;           // by row, per column
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t c = t / n, p = t % n;
    const Keys32 get{keys + c * n};
    v[c * n + perm[t]] = static_cast<uint32_t>(run_start(get, p) + run_end(get, p, n));
  }
};
// Word q of column j0 + c packed from v (n per column): item t = c * words + q.
struct PackWords {
  const uint32_t* v;
  int64_t n;
  PackedRanks out;
  int64_t j0;
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t c = t / out.words_per_column, q = t % out.words_per_column;
    const uint32_t* col = v + c * n;
    uint64_t word = 0;
    for (int r = 0; r < out.per_word; ++r) {
      const int64_t i = q * out.per_word + r;
      if (i < n) word |= static_cast<uint64_t>(col[i]) << (r * out.bits);
    }
    out.words[(j0 + c) * out.words_per_column + q] = word;
  }
};
// Rank-product sum of pair t % pairs over chunk t / pairs of `chunk_words` packed words
// (rows in ascending order, as the unpacked sum): a word is read once per column and
// its ranks shifted out, so no row costs a division.
struct GramPackedPartial {
  PackedRanks ranks;
  const int32_t* clean;
  int64_t n, chunk_words, pairs;
  const int32_t* pa;
  const int32_t* pb;
  double* partial;
  PROXYSIM_HD void operator()(int64_t t) const {
    const int64_t c = t / pairs, p = t % pairs;
    const int64_t q0 = c * chunk_words;
    const int64_t q1 = q0 + chunk_words < ranks.words_per_column ? q0 + chunk_words : ranks.words_per_column;
    const uint64_t* x = ranks.words + static_cast<int64_t>(clean[pa[p]]) * ranks.words_per_column;
    const uint64_t* y = ranks.words + static_cast<int64_t>(clean[pb[p]]) * ranks.words_per_column;
    const uint64_t mask = ranks.mask();
    const int bits = ranks.bits;
    const double off = 1.0 - static_cast<double>(n);
    double s = 0;
    for (int64_t q = q0; q < q1; ++q) {
      uint64_t wx = x[q], wy = y[q];
      const int64_t left = n - q * ranks.per_word;
      const int count = left < ranks.per_word ? static_cast<int>(left) : ranks.per_word;
      for (int r = 0; r < count; ++r, wx >>= bits, wy >>= bits)
        s += (static_cast<double>(wx & mask) + off) * (static_cast<double>(wy & mask) + off);
    }
    partial[t] = s;
  }
};

// Kendall's discordant pairs on a backend of a few fat threads, counted digit by digit.
// The strict inversions of a sequence y (pairs i < j with y_i > y_j) are settled at the
// first digit where the two values differ, so one level counts, within each group of
// items that agree on every digit above, the pairs in order whose digits descend, then
// partitions the group stably by the digit and goes down into each part (a most-
// significant-digit radix sort that counts). A level is a pass with 16 counters (how many
// items so far had a greater digit than d) and no other dependence between items; Knight's
// merge count (MergeBlocks) instead makes each item of each of its log2(n) passes one
// dependent compare-and-advance step. Equal values end in the same part, so a part whose
// digits are spent, or a leaf small enough for insertion sort, also gives y's tie pairs.
struct InversionTally {
  uint64_t inversions = 0;
  uint64_t ties = 0;  // pairs of equal values
};

constexpr int kInversionDigit = 4;                       // 16 counters: one 512-bit vector
constexpr int kInversionBuckets = 1 << kInversionDigit;
constexpr int64_t kInversionLeaf = 64;

// The next level's shift after the digit at `shift`: -1 once bit 0 is done. The last
// digit may overlap bits already settled (equal within the group), which is harmless.
inline int next_inversion_shift(int shift) {
  return shift == 0 ? -1 : (shift > kInversionDigit ? shift - kInversionDigit : 0);
}

inline uint32_t inversion_digit(uint32_t v, int shift) {
  return (v >> shift) & (kInversionBuckets - 1);
}

// Insertion sort of a few items, counting the strict inversions, then the tie pairs.
inline void count_inversions_leaf(uint32_t* y, int64_t n, InversionTally& tally) {
  for (int64_t i = 1; i < n; ++i) {
    const uint32_t x = y[i];
    int64_t j = i;
    while (j > 0 && y[j - 1] > x) {
      y[j] = y[j - 1];
      --j;
    }
    tally.inversions += static_cast<uint64_t>(i - j);
    y[j] = x;
  }
  uint64_t run = 1;
  for (int64_t i = 1; i < n; ++i)
    if (y[i] == y[i - 1]) ++run; else tally.ties += pairs_of(run), run = 1;
  tally.ties += pairs_of(run);
}



// One level over y[0, n): each item goes to out at its digit's cursor (pos[d], advanced),
// in order; returns the pairs in order whose digits descend.
// The 16 counters of a level are one vector (GCC's vector extension: a single 512-bit
// register with AVX-512, two or four narrower ones without), updated by a compare and a
// subtract per item. Counters in memory would chain each item to the last through a
// store and a load whenever both have the same digit, as neighbours in y often do.
typedef uint32_t InversionCounters __attribute__((vector_size(4 * kInversionBuckets)));

inline InversionCounters inversion_lanes() {
  InversionCounters lanes;
  for (int d = 0; d < kInversionBuckets; ++d) lanes[d] = static_cast<uint32_t>(d);
  return lanes;
}

inline void digit_histogram(const uint32_t* y, int64_t n, int shift, uint32_t* h) {
  const InversionCounters lanes = inversion_lanes();
  InversionCounters count = {};
  for (int64_t i = 0; i < n; ++i) count -= (InversionCounters)(lanes == inversion_digit(y[i], shift));  // true: all ones
  for (int d = 0; d < kInversionBuckets; ++d) h[d] = count[d];
}

// Lane e of v, with `index` all e: GCC's permute (vpermd) reads it without storing the
// vector and reloading one lane; clang (the sanitize build) indexes the vector.
inline uint32_t inversion_lane(InversionCounters v, InversionCounters index, uint32_t e) {
#if defined(__clang__)
  (void)index;
  return v[e];
#else
  (void)e;
  return __builtin_shuffle(v, index)[0];
#endif
}

// One level over y[0, n): each item goes to out at its digit's cursor (pos[d], advanced),
// in order; returns the pairs in order whose digits descend.
inline uint64_t scatter_counting_inversions(const uint32_t* y, int64_t n, int shift, uint32_t* pos, uint32_t* out) {
  const InversionCounters lanes = inversion_lanes();
  InversionCounters greater = {}, at;  // items so far with a greater digit than d; d's cursor
  for (int d = 0; d < kInversionBuckets; ++d) at[d] = pos[d];
  uint64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t v = y[i];
    const uint32_t e = inversion_digit(v, shift);
    const InversionCounters sel = lanes * 0 + e;
    count += inversion_lane(greater, sel, e);
    out[inversion_lane(at, sel, e)] = v;
    greater -= (InversionCounters)(lanes < sel);  // a true lane is all ones: adds 1 where d < e
    at -= (InversionCounters)(lanes == sel);
  }
  for (int d = 0; d < kInversionBuckets; ++d) pos[d] = at[d];
  return count;
}

// y[0, n) agree on every bit above shift + kInversionDigit (shift < 0: on all of them);
// scratch holds n items. Both arrays are left in an unspecified order.
inline void count_inversions_serial(uint32_t* y, uint32_t* scratch, int64_t n, int shift, InversionTally& tally) {
  if (shift < 0) {
    tally.ties += pairs_of(static_cast<uint64_t>(n));
    return;
  }
  if (n <= kInversionLeaf) {
    count_inversions_leaf(y, n, tally);
    return;
  }
  uint32_t h[kInversionBuckets], pos[kInversionBuckets];
  digit_histogram(y, n, shift, h);
  uint32_t at = 0;
  for (int d = 0; d < kInversionBuckets; ++d) pos[d] = at, at += h[d];
  tally.inversions += scatter_counting_inversions(y, n, shift, pos, scratch);
  const int next = next_inversion_shift(shift);
  int64_t lo = 0;
  for (int d = 0; d < kInversionBuckets; lo += h[d], ++d)
    if (h[d] > 1) count_inversions_serial(scratch + lo, y + lo, h[d], next, tally);
}

// The parallel level: worker s takes the slice [s * slice, ...) of y.
struct SliceDigitHistogram {
  const uint32_t* y;
  int64_t n, slice;
  int shift;
  uint32_t* hist;  // kInversionBuckets per slice
  void operator()(int64_t s) const {
    const int64_t lo = std::min(n, s * slice), hi = std::min(n, lo + slice);
    digit_histogram(y + lo, hi - lo, shift, hist + s * kInversionBuckets);
  }
};

struct SliceScatterCounting {
  const uint32_t* y;
  uint32_t* out;
  int64_t n, slice;
  int shift;
  uint32_t* pos;    // kInversionBuckets cursors per slice
  uint64_t* count;  // per slice
  void operator()(int64_t s) const {
    const int64_t lo = std::min(n, s * slice), hi = std::min(n, lo + slice);
    count[s] = scatter_counting_inversions(y + lo, hi - lo, shift, pos + s * kInversionBuckets, out);
  }
};

// Each worker takes the next part (largest first) and counts it alone.
struct PartsCounting {
  uint32_t* y;
  uint32_t* scratch;
  const int64_t* lo;
  const int64_t* size;
  int64_t parts;
  int shift;
  unsigned long long* next;
  InversionTally* tally;  // per worker
  void operator()(int64_t w) const {
    InversionTally t;
    for (int64_t k = next_item(next); k < parts; k = next_item(next))
      count_inversions_serial(y + lo[k], scratch + lo[k], size[k], shift, t);
    tally[w] = t;
  }
};

// Kendall's pair on a backend of a few fat threads, before the count: one slice of the
// rows per worker for the key ranges and the (a, b) keys, then one sort split by the
// keys' top digit, then y and the tie counts per slice of the sorted keys.
struct PairKeyRange {
  uint32_t min_a = 0xffffffffu, max_a = 0, min_b = 0xffffffffu, max_b = 0;
  int64_t measured = 0;
};

struct SlicePairRange {
  Column a, b;
  int64_t n, slice;
  PairKeyRange* range;
  // Without a branch, so that the compiler can vectorise the contiguous case.
  template <class A>
  static PairKeyRange scan(A a, A b, int64_t lo, int64_t hi) {
    uint32_t min_a = 0xffffffffu, max_a = 0, min_b = 0xffffffffu, max_b = 0;
    int64_t measured = 0;
    for (int64_t i = lo; i < hi; ++i) {
      const float x = a[i], y = b[i];
      const bool ok = !is_nan(x) && !is_nan(y);
      const uint32_t ka = order_key(x), kb = order_key(y);
      min_a = std::min(min_a, ok ? ka : 0xffffffffu), max_a = std::max(max_a, ok ? ka : 0u);
      min_b = std::min(min_b, ok ? kb : 0xffffffffu), max_b = std::max(max_b, ok ? kb : 0u);
      measured += ok;
    }
    return PairKeyRange{min_a, max_a, min_b, max_b, measured};
  }
  void operator()(int64_t s) const {
    const int64_t lo = std::min(n, s * slice), hi = std::min(n, lo + slice);
    range[s] = a.stride == 1 && b.stride == 1 ? scan(a.data, b.data, lo, hi) : scan(a, b, lo, hi);
  }
};

// Keys (a's key above b's, each less its minimum) of a slice's measured rows, written
// from the slice's first place among all measured rows; with the top digit's histogram.
struct SlicePairKeys {
  Column a, b;
  int64_t n, slice;
  const int64_t* first;
  uint32_t min_a, min_b;
  int bits_b, top;
  uint64_t* keys;
  uint32_t* hist;  // kPairSortBuckets per slice
  void operator()(int64_t s) const;
};

constexpr int kPairSortDigit = 11;
constexpr int kPairSortBuckets = 1 << kPairSortDigit;

inline void SlicePairKeys::operator()(int64_t s) const {
  const int64_t lo = std::min(n, s * slice), hi = std::min(n, lo + slice);
  uint32_t* h = hist + s * kPairSortBuckets;
  for (int d = 0; d < kPairSortBuckets; ++d) h[d] = 0;
  int64_t p = first[s];
  const int64_t end = first[s + 1];
  for (int64_t i = lo; i < hi; ++i) {
    const float x = a[i], y = b[i];
    const bool ok = !is_nan(x) && !is_nan(y);
    const uint64_t k = (static_cast<uint64_t>(order_key(x) - min_a) << bits_b) | (order_key(y) - min_b);
    // Written at p whether measured or not (the next measured row overwrites it), so
    // that the loop has no branch; a slice's last rows may not write past its end.
    if (p < end) keys[p] = k;
    h[ok ? k >> top : 0] += ok;
    p += ok;
  }
}

// Spreads a slice's keys to their top digit's part (cursors per slice and digit).
struct SliceSpreadKeys {
  const uint64_t* keys;
  uint64_t* out;
  const int64_t* first;  // per slice, and the total after the last
  int top;
  uint32_t* pos;  // kPairSortBuckets per slice
  void operator()(int64_t s) const {
    uint32_t* c = pos + s * kPairSortBuckets;
    for (int64_t i = first[s]; i < first[s + 1]; ++i) {
      const uint64_t k = keys[i];
      out[c[k >> top]++] = k;
    }
  }
};

// Each worker sorts the next part (largest first) on the bits below the top digit,
// leaving it in `keys` (scratch beside it).
struct SortParts {
  uint64_t* keys;
  uint64_t* scratch;
  const int64_t* lo;
  const int64_t* size;
  int64_t parts;
  int top;
  unsigned long long* next;
  void operator()(int64_t) const {
    for (int64_t k = next_item(next); k < parts; k = next_item(next)) {
      uint64_t* part = keys + lo[k];
      // 6-bit digits for a part that fits L1 (64 counters a digit to clear and sum
      // against a few hundred keys), sort_bucket's wider ones for a large part.
      const uint64_t* sorted = size[k] <= 4096 ? radix_sort_bits<6>(part, scratch + lo[k], size[k], 0, top)
                                               : sort_bucket(part, scratch + lo[k], size[k], 0, top);
      if (sorted != part) std::memcpy(part, sorted, static_cast<size_t>(size[k]) * sizeof(uint64_t));
    }
  }
};

// y (b's keys in sorted order) and the pairs tied on a and on (a, b) of a slice of the
// sorted keys; a run that starts before the slice is found by looking back.
struct SliceSortedTies {
  const uint64_t* keys;
  int64_t m, slice;
  int bits_b;
  uint32_t* y;
  uint64_t* xtie;  // per slice
  uint64_t* ntie;  // per slice
  void operator()(int64_t s) const {
    const int64_t lo = std::min(m, s * slice), hi = std::min(m, lo + slice);
    if (lo >= hi) {
      xtie[s] = ntie[s] = 0;
      return;
    }
    const uint64_t low = (uint64_t{1} << bits_b) - 1;
    int64_t run_x = lo, run_xy = lo;
    while (run_x > 0 && (keys[run_x - 1] >> bits_b) == (keys[lo] >> bits_b)) --run_x;
    while (run_xy > 0 && keys[run_xy - 1] == keys[lo]) --run_xy;
    uint64_t tx = 0, txy = 0;
    y[lo] = static_cast<uint32_t>(keys[lo] & low);
    tx += static_cast<uint64_t>(lo - run_x);
    txy += static_cast<uint64_t>(lo - run_xy);
    for (int64_t p = lo + 1; p < hi; ++p) {
      const uint64_t prev = keys[p - 1], cur = keys[p];
      if ((cur >> bits_b) != (prev >> bits_b)) run_x = p;
      if (cur != prev) run_xy = p;
      tx += static_cast<uint64_t>(p - run_x);
      txy += static_cast<uint64_t>(p - run_xy);
      y[p] = static_cast<uint32_t>(cur & low);
    }
    xtie[s] = tx;
    ntie[s] = txy;
  }
};

// ---------------------------------------------------------------- loops

template <class V>
auto raw(V& v) { return thrust::raw_pointer_cast(v.data()); }

// Uninitialised memory of the backend, for buffers every element of which is written
// before it is read: a value-initialised vector would zero-fill (and fault in) it twice.
template <class System, class T>
class RawBuffer {
 public:
  RawBuffer() = default;
  explicit RawBuffer(int64_t count) { allocate(count); }
  RawBuffer(const RawBuffer&) = delete;
  RawBuffer& operator=(const RawBuffer&) = delete;
  ~RawBuffer() { release(); }
  void allocate(int64_t count) {
    release();
    if (count > 0) {
      p_ = static_cast<T*>(System::allocate(static_cast<size_t>(count) * sizeof(T)));
      System::advise_large(p_, static_cast<size_t>(count) * sizeof(T));
    }
  }
  void release() {
    if (p_) System::deallocate(p_);
    p_ = nullptr;
  }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
};

// A column's sorted keys and values (which may lie in a sorter's own buffers).
struct SortedPairs {
  uint32_t* keys;
  uint32_t* values;
};

// The ColumnSorter of a wide System that has no better one, sorting each column of a
// batch with Thrust in place. A ColumnSorter is built once per matrix for batches of at
// most `columns` columns of `rows` entries (its buffers and temporary storage sized
// then), and sort(keys, values, rows, columns) sorts the (key, row) pairs of each of
// the `columns` consecutive runs of `rows` entries (a column each) by key, returning
// where the sorted pairs lie (the same offsets, in the inputs or the sorter's own
// buffers). The order within a run of equal keys is free: ties share their rank. The
// CUDA backend's sorts a batch in one CUB segmented radix sort
// (kernels/cuda/rank_cuda.cu).
template <class System>
struct ThrustColumnSorter {
  ThrustColumnSorter(int64_t /*rows*/, int64_t /*columns*/, bool /*segmented*/) {}
  SortedPairs sort(uint32_t* keys, uint32_t* values, int64_t rows, int64_t columns) const {
    for (int64_t c = 0; c < columns; ++c)
      thrust::sort_by_key(System::policy(), keys + c * rows, keys + (c + 1) * rows, values + c * rows);
    return {keys, values};
  }
};

// Bytes per matrix entry ranked in one batch on a wide backend: its key, row and rank
// sum (4 each) and the sorter's alternate key and row (4 each).
constexpr int64_t kRankBytesPerEntry = 20;

template <class System>
class RankLoops {
 public:
  template <class T>
  using Vec = typename System::template vector<T>;
  template <class T>
  using Buffer = RawBuffer<System, T>;

  RankLoops(const float* latency, int64_t n, int32_t d) : lat_(latency), n_(n), d_(d) {
    if (n > int64_t{0x7fffffff}) throw UserError("rank statistics: more than 2^31 - 1 architectures");
  }

  // How a wide backend ranks the SRCC matrix's columns (kernels/rank_impl.hpp's
  // ColumnRanking; the serial workers ignore it).
  RankLoops& with_ranking(const ColumnRanking& r) {
    ranking_ = r;
    return *this;
  }

  // Columns per batch of rank_all on a wide backend: what kRankBytesPerEntry per entry
  // fits in kBatchBytes (or ranking_.batch_columns), at least one, at most d_, and at
  // most 2^31 - 1 entries (CUB counts a sort's items in int).
  int64_t rank_batch_columns() const {
    int64_t c = ranking_.batch_columns > 0
                    ? ranking_.batch_columns
                    : static_cast<int64_t>(System::kBatchBytes) / (kRankBytesPerEntry * std::max<int64_t>(n_, 1));
    c = std::min<int64_t>(c, int64_t{0x7fffffff} / std::max<int64_t>(n_, 1));
    return std::clamp<int64_t>(c, 1, d_);
  }

  Column column(int32_t j) const { return Column{lat_ + j, d_}; }

  bool has_nan(int32_t j) const {
    thrust::counting_iterator<int64_t> zero(0);
    return thrust::any_of(System::policy(), zero, zero + n_, IsNanAt{column(j)});
  }

  // Local rows measured on both columns (all rows when neither has a NaN).
  int64_t measured_rows(const BothMeasured& pred, Vec<uint32_t>& rows) const {
    rows.resize(n_);
    thrust::counting_iterator<uint32_t> zero(0);
    auto end = thrust::copy_if(System::policy(), zero, zero + static_cast<uint32_t>(n_), rows.begin(), pred);
    return end - rows.begin();
  }
  template <class Pred>
  int64_t measured_rows_by(const Pred& pred, Vec<uint32_t>& rows) const {
    rows.resize(n_);
    thrust::counting_iterator<uint32_t> zero(0);
    auto end = thrust::copy_if(System::policy(), zero, zero + static_cast<uint32_t>(n_), rows.begin(), pred);
    return end - rows.begin();
  }

  // Sorts column c over `rows` (m of them) and writes twice its centred average ranks.
  void rank_column(Column c, const uint32_t* rows, int64_t m, Vec<uint32_t>& keys, Vec<uint32_t>& perm,
                   int32_t* two_c, uint8_t* head = nullptr) const {
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    thrust::for_each(pol, zero, zero + m, ColumnKeys{c, rows, raw(keys)});
    thrust::sequence(pol, perm.begin(), perm.begin() + m);
    thrust::sort_by_key(pol, keys.begin(), keys.begin() + m, perm.begin());
    thrust::for_each(pol, zero, zero + m, AverageRank{raw(keys), raw(perm), m, two_c, head});
  }

  double pair_spearman(Column a, Column b, int64_t* count) const {
    Vec<uint32_t> rows, keys, perm;
    const int64_t m = measured_rows(BothMeasured{a, b}, rows);
    *count = m;
    if (m < 2) return kNaN;
    keys.resize(m);
    perm.resize(m);
    Vec<int32_t> ra(m), rb(m);
    rank_column(a, raw(rows), m, keys, perm, raw(ra));
    rank_column(b, raw(rows), m, keys, perm, raw(rb));
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    const double sab = thrust::transform_reduce(pol, zero, zero + m, RankProduct{raw(ra), raw(rb)}, 0.0, thrust::plus<double>());
    const double saa = thrust::transform_reduce(pol, zero, zero + m, RankProduct{raw(ra), raw(ra)}, 0.0, thrust::plus<double>());
    const double sbb = thrust::transform_reduce(pol, zero, zero + m, RankProduct{raw(rb), raw(rb)}, 0.0, thrust::plus<double>());
    return saa > 0 && sbb > 0 ? clip_unit(sab / std::sqrt(saa * sbb)) : kNaN;
  }

  // Ranks of every NaN-free column, bit-packed; dirty[j] = 1 for a column with a NaN
  // (left unranked). Clean columns all span the n rows, so one ranking serves each pair.
  PackedRanks rank_all(Buffer<uint64_t>& words, Vec<uint8_t>& dirty) const {
    PackedRanks r;
    r.bits = std::max(1, bit_width64(static_cast<uint64_t>(2 * n_ - 2)));
    r.per_word = 64 / r.bits;
    r.words_per_column = (n_ + r.per_word - 1) / r.per_word;
    words.allocate(r.words_per_column * d_);
    r.words = words.get();
    dirty.resize(d_);
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    if constexpr (System::kSerialWorkers) {
      const int64_t group = RankColumnsSerial::group_for(d_, System::workers());
      const int64_t workers = std::min<int64_t>(System::workers(), (d_ + group - 1) / group);
      Vec<uint8_t> deferred(d_);
      Vec<unsigned long long> counter(1, 0ull);
      const RankColumnsSerial rank{lat_, n_, d_, nullptr, r, raw(dirty), raw(deferred), raw(counter), group};
      {
        Buffer<uint64_t> scratch(workers * RankColumnsSerial::scratch_words(n_, group));
        RankColumnsSerial each = rank;
        each.scratch = scratch.get();
        thrust::for_each(pol, zero, zero + workers, each);
      }
      // Columns dominated by one value, one at a time (rare).
      Buffer<uint64_t> whole;
      for (int32_t j = 0; j < d_; ++j) {
        if (!deferred[j]) continue;
        if (!whole.get()) whole.allocate(2 * n_);
        rank.rank_whole(j, whole.get());
      }
    } else {
      // Columns in batches of up to `cols`, each batch sorted in one call of one sorter
      // (buffers and temporary storage sized once for the matrix); a column with a NaN
      // is sorted too, then flagged dirty and its packed ranks left unused.
      const int64_t cols = rank_batch_columns();
      Buffer<uint32_t> keys(cols * n_), perm(cols * n_), v(cols * n_);
      typename System::ColumnSorter sorter(n_, cols, ranking_.segmented);
      for (int64_t j0 = 0; j0 < d_; j0 += cols) {
        const int64_t c = std::min<int64_t>(cols, d_ - j0);
        thrust::for_each(pol, zero, zero + c * n_, BatchKeys{lat_, n_, d_, j0, c, keys.get(), perm.get()});
        const SortedPairs sorted = sorter.sort(keys.get(), perm.get(), n_, c);
        thrust::for_each(pol, zero, zero + c, FlagNanColumns{sorted.keys, n_, j0, raw(dirty)});
        thrust::for_each(pol, zero, zero + c * n_, StoreRunSum{sorted.keys, sorted.values, n_, v.get()});
        thrust::for_each(pol, zero, zero + c * r.words_per_column, PackWords{v.get(), n_, r, j0});
      }
    }
    return r;
  }

  // Sum over rows of 2c_a * 2c_b for every clean pair a <= b (dc x dc, upper triangle).
  std::vector<double> gram(const PackedRanks& r, const std::vector<int32_t>& clean) const {
    const int64_t dc = static_cast<int64_t>(clean.size());
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    std::vector<double> g(static_cast<size_t>(dc * dc), 0.0);
    Vec<int32_t> cl(clean.begin(), clean.end());
    if constexpr (System::kSerialWorkers) {
      const int64_t block = r.per_word * ((System::kGramChunk + r.per_word - 1) / r.per_word);
      const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(System::workers(), (n_ + block - 1) / block));
      Buffer<double> buffer(workers * dc * block);
      Vec<double> acc(workers * dc * dc);
      Vec<unsigned long long> counter(1, 0ull);
      thrust::for_each(pol, zero, zero + workers, GramSerial{r, raw(cl), dc, n_, block, buffer.get(), raw(acc), raw(counter)});
      std::vector<double> h(static_cast<size_t>(workers * dc * dc));
      thrust::copy(acc.begin(), acc.end(), h.begin());
      for (int64_t w = 0; w < workers; ++w)
        for (int64_t i = 0; i < dc * dc; ++i) g[i] += h[w * dc * dc + i];
    } else {
      std::vector<int32_t> ha, hb;
      for (int32_t a = 0; a < dc; ++a)
        for (int32_t b = a; b < dc; ++b) ha.push_back(a), hb.push_back(b);
      const int64_t pairs = static_cast<int64_t>(ha.size());
      Vec<int32_t> pa(ha.begin(), ha.end()), pb(hb.begin(), hb.end());
      // Chunks of whole words, at most kGramChunk rows: each chunk's sum stays exact.
      const int64_t chunk_words = std::max<int64_t>(1, System::kGramChunk / r.per_word);
      const int64_t chunks = (r.words_per_column + chunk_words - 1) / chunk_words;
      Vec<double> partial(chunks * pairs), sums(pairs);
      thrust::for_each(pol, zero, zero + chunks * pairs,
                       GramPackedPartial{r, raw(cl), n_, chunk_words, pairs, raw(pa), raw(pb), raw(partial)});
      thrust::for_each(pol, zero, zero + pairs, SumChunks{raw(partial), chunks, pairs, raw(sums)});
      std::vector<double> h(pairs);
      thrust::copy(sums.begin(), sums.end(), h.begin());
      for (int64_t p = 0; p < pairs; ++p) g[ha[p] * dc + hb[p]] = h[p];
    }
    return g;
  }

  PairMatrix spearman() const {
    PairMatrix out = empty_matrix();
    if (n_ == 0) {
      for (int32_t a = 0; a < d_; ++a)
        for (int32_t b = a; b < d_; ++b) set(out, a, b, kNaN, 0);
      return out;
    }
    std::vector<int32_t> clean, dirty;
    {
      Buffer<uint64_t> words;
      Vec<uint8_t> flags;
      const PackedRanks r = rank_all(words, flags);
      std::vector<uint8_t> f(d_);
      thrust::copy(flags.begin(), flags.end(), f.begin());
      for (int32_t j = 0; j < d_; ++j) (f[j] ? dirty : clean).push_back(j);
      const int64_t dc = static_cast<int64_t>(clean.size());
      if (dc > 0) {
        const std::vector<double> g = gram(r, clean);
        for (int64_t a = 0; a < dc; ++a)
          for (int64_t b = a; b < dc; ++b) {
            const double den = g[a * dc + a] * g[b * dc + b];
            const double rho = n_ >= 2 && den > 0 ? clip_unit(g[a * dc + b] / std::sqrt(den)) : kNaN;
            set(out, clean[a], clean[b], rho, n_);
          }
      }
    }
    // Pairs with a NaN column re-rank over the rows measured on both.
    for (int32_t a : dirty) {
      for (int32_t b = 0; b < d_; ++b) {
        if (b != a && std::binary_search(dirty.begin(), dirty.end(), b) && b < a) continue;
        int64_t count = 0;
        const double rho = pair_spearman(column(a), column(b), &count);
        set(out, a, b, rho, count);
      }
    }
    return out;
  }

  double pair_kendall(Column a, Column b, int64_t* count) const {
    if constexpr (System::kSerialWorkers) return pair_kendall_serial(a, b, count);
    auto pol = System::policy();
    Vec<uint32_t> rows;
    const int64_t m = measured_rows(BothMeasured{a, b}, rows);
    *count = m;
    if (m < 2) return kNaN;
    Vec<uint64_t> keys(m);
    thrust::counting_iterator<int64_t> zero(0);
    thrust::for_each(pol, zero, zero + m, PairKeys{a, b, raw(rows), raw(keys)});
    thrust::sort(pol, keys.begin(), keys.end());
    const uint64_t xtie = thrust::transform_reduce(pol, zero, zero + m, TiesBefore<Keys64High>{Keys64High{raw(keys)}},
                                                   uint64_t{0}, thrust::plus<uint64_t>());
    const uint64_t ntie = thrust::transform_reduce(pol, zero, zero + m, TiesBefore<Keys64>{Keys64{raw(keys)}},
                                                   uint64_t{0}, thrust::plus<uint64_t>());
    Vec<uint32_t> y(m), z(m);
    thrust::transform(pol, keys.begin(), keys.end(), y.begin(), LowWord{});
    keys.clear();
    keys.shrink_to_fit();
    const uint64_t dis = merge_sort_swaps(y, z, m);
    const uint64_t ytie = thrust::transform_reduce(pol, zero, zero + m, TiesBefore<Keys32>{Keys32{raw(y)}},
                                                   uint64_t{0}, thrust::plus<uint64_t>());
    return tau_b(pairs_of(static_cast<uint64_t>(m)), xtie, ytie, ntie, dis);
  }

  // Tau-b of one pair on a backend of a few fat threads: Thrust's parallel sort and
  // per-pass merges cost more in fork-join than they gain at two cores, so the sort runs
  // serially on keys shortened to the bits the two columns use (usually 5 radix passes,
  // not 6), and the discordant pairs are counted by digits (count_inversions), split
  // over the workers.
  double pair_kendall_serial(Column a, Column b, int64_t* count) const {
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(System::workers(), n_ / 65536));
    const int64_t slice = (n_ + workers - 1) / workers;
    thrust::counting_iterator<int64_t> zero(0);
    std::vector<PairKeyRange> ranges(static_cast<size_t>(workers));
    thrust::for_each(System::policy(), zero, zero + workers, SlicePairRange{a, b, n_, slice, ranges.data()});
    PairKeyRange r;
    std::vector<int64_t> first(static_cast<size_t>(workers + 1), 0);
    for (int64_t s = 0; s < workers; ++s) {
      const PairKeyRange& q = ranges[s];
      r.min_a = std::min(r.min_a, q.min_a), r.max_a = std::max(r.max_a, q.max_a);
      r.min_b = std::min(r.min_b, q.min_b), r.max_b = std::max(r.max_b, q.max_b);
      first[s + 1] = first[s] + q.measured;
    }
    const int64_t m = first[workers];
    *count = m;
    if (m < 2) return kNaN;
    const int bits_b = bit_width64(r.max_b - r.min_b);
    const int bits = bit_width64(r.max_a - r.min_a) + bits_b;
    const int top = bits > kPairSortDigit ? bits - kPairSortDigit : 0;
    // Keys, spread by their top digit into parts, each part sorted in cache.
    Buffer<uint64_t> buf(2 * m);
    uint64_t* k = buf.get();
    uint64_t* sorted = k + m;
    std::vector<uint32_t> hist(static_cast<size_t>(workers * kPairSortBuckets));
    thrust::for_each(System::policy(), zero, zero + workers,
                     SlicePairKeys{a, b, n_, slice, first.data(), r.min_a, r.min_b, bits_b, top, k, hist.data()});
    std::vector<int64_t> part_lo(kPairSortBuckets), part_size(kPairSortBuckets, 0);
    for (int64_t s = 0; s < workers; ++s)
      for (int d = 0; d < kPairSortBuckets; ++d) part_size[d] += hist[s * kPairSortBuckets + d];
    int64_t at = 0;
    for (int d = 0; d < kPairSortBuckets; ++d) part_lo[d] = at, at += part_size[d];
    std::vector<int64_t> before(kPairSortBuckets, 0);
    for (int64_t s = 0; s < workers; ++s)
      for (int d = 0; d < kPairSortBuckets; ++d) {
        const uint32_t c = hist[s * kPairSortBuckets + d];
        hist[s * kPairSortBuckets + d] = static_cast<uint32_t>(part_lo[d] + before[d]);
        before[d] += c;
      }
    thrust::for_each(System::policy(), zero, zero + workers, SliceSpreadKeys{k, sorted, first.data(), top, hist.data()});
    std::vector<int64_t> parts;
    for (int d = 0; d < kPairSortBuckets; ++d)
      if (part_size[d] > 1 && top > 0) parts.push_back(d);
    std::sort(parts.begin(), parts.end(), [&](int64_t x, int64_t y) { return part_size[x] > part_size[y]; });
    std::vector<int64_t> plo, psize;
    for (int64_t d : parts) plo.push_back(part_lo[d]), psize.push_back(part_size[d]);
    unsigned long long next_part = 0;
    thrust::for_each(System::policy(), zero, zero + workers,
                     SortParts{sorted, k, plo.data(), psize.data(), static_cast<int64_t>(plo.size()), top, &next_part});
    // y in that order, and the tie pairs of a and of (a, b).
    Buffer<uint32_t> ybuf(2 * m);
    uint32_t* y = ybuf.get();
    uint32_t* z = y + m;
    const int64_t sorted_slice = (m + workers - 1) / workers;
    std::vector<uint64_t> xties(static_cast<size_t>(workers)), nties(xties.size());
    thrust::for_each(System::policy(), zero, zero + workers,
                     SliceSortedTies{sorted, m, sorted_slice, bits_b, y, xties.data(), nties.data()});
    buf.release();
    uint64_t xtie = 0, ntie = 0;
    for (int64_t s = 0; s < workers; ++s) xtie += xties[s], ntie += nties[s];
    const InversionTally t = count_inversions(y, z, m, bits_b > kInversionDigit ? bits_b - kInversionDigit : 0);
    const uint64_t dis = t.inversions, ytie = t.ties;
    return tau_b(pairs_of(static_cast<uint64_t>(m)), xtie, ytie, ntie, dis);
  }

  // Strict inversions and tie pairs of y[0, m) (values below 2^(shift + kInversionDigit)),
  // scratch beside it: the top level is split into one slice per worker (a slice's
  // counters start from zero; the pairs across slices come from their histograms), the
  // parts it leaves are shared out largest first, and a part larger than a worker's share
  // is itself split the same way.
  InversionTally count_inversions(uint32_t* y, uint32_t* scratch, int64_t m, int shift) const {
    InversionTally tally;
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(System::workers(), m / 65536));
    if (workers == 1 || shift < 0) {
      if (m > 1) count_inversions_serial(y, scratch, m, shift, tally);
      return tally;
    }
    constexpr int B = kInversionBuckets;
    const int64_t slice = (m + workers - 1) / workers;
    std::vector<uint32_t> hist(static_cast<size_t>(workers * B)), pos(hist.size());
    std::vector<uint64_t> counts(static_cast<size_t>(workers));
    thrust::counting_iterator<int64_t> zero(0);
    thrust::for_each(System::policy(), zero, zero + workers, SliceDigitHistogram{y, m, slice, shift, hist.data()});
    // Cursors: a digit's part starts after the smaller digits' parts, and each slice
    // writes after the earlier slices' items of that digit. The pairs across slices with
    // descending digits: each item of a slice against the earlier slices' greater digits.
    int64_t size[B] = {}, lo[B];
    for (int64_t s = 0; s < workers; ++s)
      for (int d = 0; d < B; ++d) size[d] += hist[s * B + d];
    int64_t at = 0;
    for (int d = 0; d < B; at += size[d], ++d) lo[d] = at;
    uint64_t before[B] = {};
    for (int64_t s = 0; s < workers; ++s) {
      uint64_t greater = 0;
      for (int d = B - 1; d >= 0; --d) {
        tally.inversions += hist[s * B + d] * greater;
        greater += before[d];
      }
      for (int d = 0; d < B; ++d) {
        pos[s * B + d] = static_cast<uint32_t>(lo[d] + before[d]);
        before[d] += hist[s * B + d];
      }
    }
    thrust::for_each(System::policy(), zero, zero + workers,
                     SliceScatterCounting{y, scratch, m, slice, shift, pos.data(), counts.data()});
    for (uint64_t c : counts) tally.inversions += c;
    const int next = next_inversion_shift(shift);
    std::vector<int64_t> order;
    for (int d = 0; d < B; ++d) {
      if (size[d] < 2) continue;
      if (size[d] * workers > m && next >= 0) {
        const InversionTally t = count_inversions(scratch + lo[d], y + lo[d], size[d], next);
        tally.inversions += t.inversions;
        tally.ties += t.ties;
      } else {
        order.push_back(d);
      }
    }
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return size[a] > size[b]; });
    std::vector<int64_t> part_lo, part_size;
    for (int64_t d : order) part_lo.push_back(lo[d]), part_size.push_back(size[d]);
    std::vector<InversionTally> per_worker(static_cast<size_t>(workers));
    unsigned long long next_part = 0;
    thrust::for_each(System::policy(), zero, zero + workers,
                     PartsCounting{scratch, y, part_lo.data(), part_size.data(), static_cast<int64_t>(order.size()), next,
                                   &next_part, per_worker.data()});
    for (const InversionTally& t : per_worker) tally.inversions += t.inversions, tally.ties += t.ties;
    return tally;
  }

  // Bottom-up merge sort of y (result left in y), returning the number of swaps. Every
  // pass adds its counts into one tally per item (a block's or an element's), summed
  // once at the end: no pass waits for the host.
  uint64_t merge_sort_swaps(Vec<uint32_t>& y, Vec<uint32_t>& z, int64_t m) const {
    thrust::counting_iterator<int64_t> zero(0);
    Vec<uint64_t> swaps(std::max<int64_t>(m, 1), uint64_t{0});
    for (int64_t w = 1; w < m; w *= 2) {
      const int64_t blocks = (m + 2 * w - 1) / (2 * w);
      if (blocks >= System::kElementMergeBelow) {
        thrust::for_each(System::policy_nosync(), zero, zero + blocks, MergeBlocks{raw(y), raw(z), raw(swaps), m, w});
      } else {
        thrust::for_each(System::policy_nosync(), zero, zero + m, MergeElements{raw(y), raw(z), raw(swaps), m, w});
      }
      y.swap(z);
    }
    return thrust::reduce(System::policy(), swaps.begin(), swaps.end(), uint64_t{0});
  }

  // Tau-b of a column with itself needs no merge: no pair is discordant and the ties of
  // x, of y and of (x, y) are all the column's own, so tau_b(total, t, t, t, 0) is what
  // pair_kendall(a, a) computes (1, or NaN below two rows or for a constant column),
  // here from one sort of the column's keys.
  double self_kendall(Column a, int64_t* count) const {
    Vec<uint32_t> rows, keys;
    const int64_t m = measured_rows(BothMeasured{a, a}, rows);
    *count = m;
    if (m < 2) return kNaN;
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    keys.resize(m);
    thrust::for_each(pol, zero, zero + m, ColumnKeys{a, raw(rows), raw(keys)});
    thrust::sort(pol, keys.begin(), keys.end());
    const uint64_t ties = thrust::transform_reduce(pol, zero, zero + m, TiesBefore<Keys32>{Keys32{raw(keys)}},
                                                   uint64_t{0}, thrust::plus<uint64_t>());
    return tau_b(pairs_of(static_cast<uint64_t>(m)), ties, ties, ties, 0);
  }

  PairMatrix kendall() const {
    PairMatrix out = empty_matrix();
    for (int32_t a = 0; a < d_; ++a)
      for (int32_t b = a; b < d_; ++b) {
        int64_t count = 0;
        const double t = a == b ? self_kendall(column(a), &count) : pair_kendall(column(a), column(b), &count);
        set(out, a, b, t, count);
      }
    return out;
  }

  // Sorted order of `rows` by latency, ties by row (a stable sort of an index sequence).
  void fastest_first(Column c, const uint32_t* rows, int64_t m, Vec<uint32_t>& keys, Vec<uint32_t>& perm) const {
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    keys.resize(m);
    perm.resize(m);
    thrust::for_each(pol, zero, zero + m, ColumnKeys{c, rows, raw(keys)});
    thrust::sequence(pol, perm.begin(), perm.end());
    thrust::stable_sort_by_key(pol, keys.begin(), keys.end(), perm.begin());
  }

  double top_k(Column proxy, Column target, int64_t k) const {
    Vec<uint32_t> rows, keys, pp, pt;
    const int64_t m = measured_rows(BothMeasured{proxy, target}, rows);
    k = std::min(k, m);
    if (k <= 0) return kNaN;
    fastest_first(proxy, raw(rows), m, keys, pp);
    fastest_first(target, raw(rows), m, keys, pt);
    Vec<uint8_t> flag(m, 0);
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    thrust::for_each(pol, zero, zero + k, MarkTop{raw(pt), raw(flag)});
    const int64_t common = thrust::transform_reduce(pol, zero, zero + k, FlagAt{raw(pp), raw(flag)}, int64_t{0}, thrust::plus<int64_t>());
    return static_cast<double>(common) / static_cast<double>(k);
  }

  // Pareto flags by local row over `rows` (m of them).
  void front_flags(Column lat, Column obj, const uint32_t* rows, int64_t m, Objective sense, Vec<uint8_t>& flag) const {
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    Vec<uint64_t> keys(m);
    Vec<uint32_t> perm(m), best(m);
    thrust::for_each(pol, zero, zero + m, ParetoKeys{lat, obj, rows, sense == Objective::kMaximise, raw(keys)});
    thrust::sequence(pol, perm.begin(), perm.end());
    thrust::sort_by_key(pol, keys.begin(), keys.end(), perm.begin());
    auto word = thrust::make_transform_iterator(keys.begin(), LowWord{});
    thrust::exclusive_scan(pol, word, word + m, best.begin(), 0xffffffffu, thrust::minimum<uint32_t>());
    flag.resize(m);
    thrust::for_each(pol, zero, zero + m, ParetoMark{raw(keys), raw(best), raw(perm), raw(flag)});
  }

  std::vector<int64_t> pareto(Column lat, Column obj, Objective sense) const {
    Vec<uint32_t> rows;
    const int64_t m = measured_rows(BothMeasured{lat, obj}, rows);
    std::vector<int64_t> front;
    if (m == 0) return front;
    Vec<uint8_t> flag;
    front_flags(lat, obj, raw(rows), m, sense, flag);
    std::vector<uint8_t> f(m);
    std::vector<uint32_t> r(m);
    thrust::copy(flag.begin(), flag.end(), f.begin());
    thrust::copy(rows.begin(), rows.begin() + m, r.begin());
    for (int64_t i = 0; i < m; ++i)
      if (f[i]) front.push_back(r[i]);
    return front;
  }

  ParetoAgreement pareto_agreement(Column proxy, Column target, Column obj, Objective sense) const {
    Vec<uint32_t> rows;
    const int64_t m = measured_rows_by(AllMeasured{proxy, target, obj}, rows);
    ParetoAgreement out;
    if (m == 0) return out;
    Vec<uint8_t> fp, ft;
    front_flags(proxy, obj, raw(rows), m, sense, fp);
    front_flags(target, obj, raw(rows), m, sense, ft);
    thrust::counting_iterator<int64_t> zero(0);
    out.common = thrust::transform_reduce(System::policy(), zero, zero + m, BothFlags{raw(fp), raw(ft)}, int64_t{0},
                                          thrust::plus<int64_t>());
    out.proxy_front = thrust::count(System::policy(), fp.begin(), fp.end(), uint8_t{1});
    out.target_front = thrust::count(System::policy(), ft.begin(), ft.end(), uint8_t{1});
    out.precision = static_cast<double>(out.common) / static_cast<double>(out.proxy_front);
    out.recall = static_cast<double>(out.common) / static_cast<double>(out.target_front);
    return out;
  }

  // Resamples per batch so the batch's weights and ranks stay within kBatchBytes (and
  // within the caller's max_batch, when set).
  int64_t batch_size(int64_t per_resample_bytes, const BootstrapOptions& o) const {
    int64_t b = static_cast<int64_t>(System::kBatchBytes) / std::max<int64_t>(per_resample_bytes, 1);
    if (o.max_batch > 0) b = std::min<int64_t>(b, o.max_batch);
    return std::clamp<int64_t>(b, 1, o.resamples);
  }

  BootstrapResult bootstrap_spearman(const BootstrapOptions& o) const {
    check_bootstrap(o);
    BootstrapResult res;
    res.estimate = spearman();
    const int64_t B = o.resamples;
    std::vector<double> samples(static_cast<size_t>(d_) * d_ * B, kNaN);
    std::vector<int32_t> clean, dirty;
    for (int32_t j = 0; j < d_; ++j) (has_nan(j) ? dirty : clean).push_back(j);
    const int64_t dc = static_cast<int64_t>(clean.size());
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);

    // Sorted order and tie runs of every clean column, shared by all resamples.
    Vec<uint32_t> perms(dc * n_);
    Vec<uint8_t> heads(dc * n_);
    {
      Vec<uint32_t> keys(n_), perm(n_);
      Vec<int32_t> unused(n_);
      for (int64_t c = 0; c < dc; ++c) {
        rank_column(column(clean[c]), nullptr, n_, keys, perm, raw(unused), raw(heads) + c * n_);
        thrust::copy(perm.begin(), perm.end(), perms.begin() + c * n_);
      }
    }
    std::vector<int32_t> ha, hb;
    for (int32_t a = 0; a < dc; ++a)
      for (int32_t b = a; b < dc; ++b) ha.push_back(a), hb.push_back(b);
    const int64_t pairs = static_cast<int64_t>(ha.size());
    Vec<int32_t> pa(ha.begin(), ha.end()), pb(hb.begin(), hb.end());

    const int64_t bs = batch_size(n_ * 4 * (1 + dc) + 8 * (dc + pairs), o);
    Vec<uint32_t> weights(bs * n_);
    Vec<float> two_c(bs * dc * n_);
    Vec<double> sumsq(bs * dc), rho(bs * std::max<int64_t>(pairs, 1));
    std::vector<double> host;
    for (int64_t first = 0; first < B; first += bs) {
      const int64_t nb = std::min(bs, B - first);
      thrust::for_each(pol, zero, zero + nb, Multiplicity{o.seed, first, static_cast<uint32_t>(n_), raw(weights)});
      if (pairs > 0) {
        thrust::for_each(pol, zero, zero + nb * dc, CleanRanks{raw(perms), raw(heads), n_, dc, raw(weights), raw(two_c), raw(sumsq)});
        thrust::for_each(pol, zero, zero + nb * pairs,
                         CleanGram{raw(two_c), raw(weights), raw(sumsq), n_, dc, pairs, raw(pa), raw(pb), raw(rho)});
        host.resize(nb * pairs);
        thrust::copy(rho.begin(), rho.begin() + nb * pairs, host.begin());
        for (int64_t b = 0; b < nb; ++b)
          for (int64_t p = 0; p < pairs; ++p) put(samples, clean[ha[p]], clean[hb[p]], first + b, B, host[b * pairs + p]);
      }
      for (int32_t a : dirty) {
        for (int32_t b = 0; b < d_; ++b) {
          if (b != a && std::binary_search(dirty.begin(), dirty.end(), b) && b < a) continue;
          Vec<uint32_t> rows, keys, perm_a, perm_b;
          const int64_t m = measured_rows(BothMeasured{column(a), column(b)}, rows);
          if (m < 2) continue;
          keys.resize(m);
          perm_a.resize(m);
          perm_b.resize(m);
          Vec<uint8_t> head_a(m), head_b(m);
          Vec<int32_t> unused(m);
          rank_column(column(a), raw(rows), m, keys, perm_a, raw(unused), raw(head_a));
          rank_column(column(b), raw(rows), m, keys, perm_b, raw(unused), raw(head_b));
          Vec<float> scratch(nb * 2 * m);
          Vec<double> out(nb);
          thrust::for_each(pol, zero, zero + nb,
                           PairRanksBoot{raw(perm_a), raw(head_a), raw(perm_b), raw(head_b), raw(rows), m, n_,
                                         raw(weights), raw(scratch), raw(out)});
          host.resize(nb);
          thrust::copy(out.begin(), out.end(), host.begin());
          for (int64_t r = 0; r < nb; ++r) put(samples, a, b, first + r, B, host[r]);
        }
      }
    }
    finish(res, samples, o);
    return res;
  }

  BootstrapResult bootstrap_kendall(const BootstrapOptions& o) const {
    check_bootstrap(o);
    BootstrapResult res;
    res.estimate = kendall();
    const int64_t B = o.resamples;
    std::vector<double> samples(static_cast<size_t>(d_) * d_ * B, kNaN);
    auto pol = System::policy();
    thrust::counting_iterator<int64_t> zero(0);
    const int64_t bs = batch_size(n_ * 4 * 5, o);
    Vec<uint32_t> weights(bs * n_);
    std::vector<double> host;
    for (int64_t first = 0; first < B; first += bs) {
      const int64_t nb = std::min(bs, B - first);
      thrust::for_each(pol, zero, zero + nb, Multiplicity{o.seed, first, static_cast<uint32_t>(n_), raw(weights)});
      for (int32_t a = 0; a < d_; ++a) {
        for (int32_t b = a; b < d_; ++b) {
          Vec<uint32_t> rows;
          const int64_t m = measured_rows(BothMeasured{column(a), column(b)}, rows);
          if (m < 2) continue;
          Vec<uint64_t> keys(m);
          Vec<uint32_t> order(m), y(m);
          Vec<uint8_t> hx(m), hxy(m);
          thrust::for_each(pol, zero, zero + m, PairKeys{column(a), column(b), raw(rows), raw(keys)});
          thrust::copy(rows.begin(), rows.begin() + m, order.begin());
          thrust::sort_by_key(pol, keys.begin(), keys.end(), order.begin());
          thrust::transform(pol, zero, zero + m, hx.begin(), HeadOf<Keys64High>{Keys64High{raw(keys)}});
          thrust::transform(pol, zero, zero + m, hxy.begin(), HeadOf<Keys64>{Keys64{raw(keys)}});
          thrust::transform(pol, keys.begin(), keys.end(), y.begin(), LowWord{});
          Vec<uint32_t> scratch(nb * 4 * m);
          Vec<double> out(nb);
          thrust::for_each(pol, zero, zero + nb,
                           KendallBoot{raw(order), raw(hx), raw(hxy), raw(y), m, n_, raw(weights), raw(scratch), raw(out)});
          host.resize(nb);
          thrust::copy(out.begin(), out.end(), host.begin());
          for (int64_t r = 0; r < nb; ++r) put(samples, a, b, first + r, B, host[r]);
        }
      }
    }
    finish(res, samples, o);
    return res;
  }

  template <class Get>
  struct HeadOf {
    Get get;
    PROXYSIM_HD uint8_t operator()(int64_t p) const { return p == 0 || get(p) != get(p - 1); }
  };

 private:
  PairMatrix empty_matrix() const {
    PairMatrix out;
    out.devices = d_;
    out.value.assign(static_cast<size_t>(d_) * d_, kNaN);
    out.pairs.assign(static_cast<size_t>(d_) * d_, 0);
    return out;
  }
  void set(PairMatrix& out, int32_t a, int32_t b, double v, int64_t count) const {
    out.value[static_cast<size_t>(a) * d_ + b] = out.value[static_cast<size_t>(b) * d_ + a] = v;
    out.pairs[static_cast<size_t>(a) * d_ + b] = out.pairs[static_cast<size_t>(b) * d_ + a] = count;
  }
  void put(std::vector<double>& s, int32_t a, int32_t b, int64_t r, int64_t B, double v) const {
    s[(static_cast<size_t>(a) * d_ + b) * B + r] = v;
    s[(static_cast<size_t>(b) * d_ + a) * B + r] = v;
  }
  void check_bootstrap(const BootstrapOptions& o) const {
    if (o.resamples < 1) throw UserError("bootstrap: resamples must be at least 1, found " + std::to_string(o.resamples));
    if (!(o.confidence > 0 && o.confidence < 1))
      throw UserError("bootstrap: confidence must lie in (0, 1), found " + std::to_string(o.confidence));
    if (o.max_batch < 0) throw UserError("bootstrap: max_batch must be 0 or more, found " + std::to_string(o.max_batch));
    // Resampled ranks are stored as floats of 2c, exact below 2^24.
    if (n_ >= (int64_t{1} << 24)) throw UserError("bootstrap: more than 2^24 architectures");
  }
  // Percentile interval with numpy's default (linear) interpolation over the finite
  // resampled values.
  void finish(BootstrapResult& res, std::vector<double>& samples, const BootstrapOptions& o) const {
    const int64_t B = o.resamples;
    const double lo_q = (1 - o.confidence) / 2, hi_q = 1 - lo_q;
    res.lower.assign(static_cast<size_t>(d_) * d_, kNaN);
    res.upper.assign(static_cast<size_t>(d_) * d_, kNaN);
    std::vector<double> v;
    for (size_t cell = 0; cell < static_cast<size_t>(d_) * d_; ++cell) {
      v.clear();
      for (int64_t r = 0; r < B; ++r)
        if (std::isfinite(samples[cell * B + r])) v.push_back(samples[cell * B + r]);
      if (v.empty()) continue;
      std::sort(v.begin(), v.end());
      auto q = [&](double f) {
        const double pos = f * static_cast<double>(v.size() - 1);
        const size_t i = static_cast<size_t>(pos);
        const double frac = pos - static_cast<double>(i);
        return i + 1 < v.size() ? v[i] + (v[i + 1] - v[i]) * frac : v[i];
      };
      res.lower[cell] = q(lo_q);
      res.upper[cell] = q(hi_q);
    }
    if (o.keep_resamples) res.resampled = std::move(samples);
  }

  const float* lat_;
  int64_t n_;
  int32_t d_;
  ColumnRanking ranking_;
};

}  // namespace proxysim::detail
