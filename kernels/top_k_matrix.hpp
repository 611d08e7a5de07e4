// Top-k agreement for every (proxy, target) pair of a latency matrix, from work done
// once per column. Pairwise, `top_k_agreement` sorts both columns for every pair
// (D^2 sorts of n); here each fully measured column's k fastest rows are selected
// once, ties broken by row exactly as the pairwise statistic breaks them (for k up to
// n / 16 in one pass over the rows, a bounded heap per column and thread; above, a
// gather and a linear-time selection per column), after which a pair is the
// intersection of two sorted k-sets, O(k).
// A column with a NaN ("not measured") gives pair-dependent row sets, so the pairs
// it is in fall back to the pairwise statistic. CUDA-free header.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/rank_stats.hpp"

namespace proxysim {

// devices x devices, row-major, [proxy * D + target]: the same values as
// top_k_agreement(backend, column proxy, column target, rows, k) for every pair, NaN
// where that is NaN. The selection runs on the CPU (OpenMP over columns); `backend`
// serves the fallback pairs.
std::vector<double> top_k_matrix(Backend backend, const LatencyMatrix& m, int64_t k);

}  // namespace proxysim
