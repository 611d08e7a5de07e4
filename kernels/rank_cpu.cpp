// CPU backend of the rank statistics: the loops of rank_impl.hpp under thrust::omp::par,
// reading the caller's matrix in place; the public entry points dispatch here or to CUDA.
#include <omp.h>
#include <sys/mman.h>

#include <cstdint>
#include <thrust/system/omp/execution_policy.h>
#include <thrust/system/omp/vector.h>

#include "kernels/rank_impl.hpp"
#include "kernels/rank_stats.hpp"

namespace proxysim {

namespace {

struct OmpSystem {
  template <class T>
  using vector = thrust::omp::vector<T>;
  static auto policy() { return thrust::omp::par; }
  static auto policy_nosync() { return thrust::omp::par; }
  static void* allocate(size_t bytes) { return thrust::malloc(thrust::omp::par, bytes).get(); }
  static void deallocate(void* p) { thrust::free(thrust::omp::par, p); }
  static int64_t workers() { return omp_get_max_threads(); }
  // Fresh scratch and rank buffers are faulted in on first touch; 2 MiB pages make that
  // 512 times fewer faults (a fifth of the SRCC time at n = 10^6 with 4 KiB pages).
  static void advise_large(void* p, size_t bytes) {
    constexpr uintptr_t kHuge = uintptr_t{2} << 20;
    const uintptr_t at = reinterpret_cast<uintptr_t>(p);
    const uintptr_t lo = (at + kHuge - 1) & ~(kHuge - 1);
    const uintptr_t hi = (at + bytes) & ~(kHuge - 1);
    // Offsets from p, not integers cast back to pointers, keep the pointer's provenance.
    if (hi > lo) madvise(static_cast<char*>(p) + (lo - at), hi - lo, MADV_HUGEPAGE);
  }
  // A few fat threads: each sorts whole columns and sums whole row blocks.
  static constexpr bool kSerialWorkers = true;
  // 1536 rows x 32 columns of double ranks (384 KiB) stay in L2 while every pair is summed.
  static constexpr int64_t kGramChunk = 1536;
  // A few cores: per-block merges in every pass; the last, serial pass is one O(n) merge.
  static constexpr int64_t kElementMergeBelow = 0;
  static constexpr size_t kBatchBytes = size_t{256} << 20;
};

using Cpu = detail::RankLoops<OmpSystem>;

void check(const LatencyMatrix& m) {
  if (m.rows < 0 || m.devices < 1 || (m.rows > 0 && !m.latency_ms))
    throw UserError("rank statistics: expected a latency matrix with at least one device, found " +
                    std::to_string(m.rows) + " x " + std::to_string(m.devices));
}

}  // namespace

PairMatrix spearman_matrix(Backend backend, const LatencyMatrix& m) {
  check(m);
  if (backend == Backend::kCuda) return detail::cuda_spearman_matrix(m);
  return Cpu(m.latency_ms, m.rows, m.devices).spearman();
}

double spearman_pair(Backend backend, const float* a, const float* b, int64_t n) {
  std::vector<float> ab(static_cast<size_t>(2 * n));
  for (int64_t i = 0; i < n; ++i) ab[2 * i] = a[i], ab[2 * i + 1] = b[i];
  return spearman_matrix(backend, LatencyMatrix{ab.data(), n, 2}).at(0, 1);
}

PairMatrix kendall_matrix(Backend backend, const LatencyMatrix& m) {
  check(m);
  if (backend == Backend::kCuda) return detail::cuda_kendall_matrix(m);
  return Cpu(m.latency_ms, m.rows, m.devices).kendall();
}

double kendall_tau_b(Backend backend, const float* a, const float* b, int64_t n) {
  if (backend == Backend::kCuda) return detail::cuda_kendall_pair(a, b, n);
  int64_t count = 0;
  return Cpu(a, n, 1).pair_kendall(detail::Column{a, 1}, detail::Column{b, 1}, &count);
}

double top_k_agreement(Backend backend, const float* proxy_ms, const float* target_ms, int64_t n, int64_t k) {
  if (backend == Backend::kCuda) return detail::cuda_top_k_agreement(proxy_ms, target_ms, n, k);
  return Cpu(proxy_ms, n, 1).top_k(detail::Column{proxy_ms, 1}, detail::Column{target_ms, 1}, k);
}

std::vector<int64_t> pareto_front(Backend backend, const float* latency_ms, const float* objective, int64_t n,
                                  Objective sense) {
  if (backend == Backend::kCuda) return detail::cuda_pareto_front(latency_ms, objective, n, sense);
  return Cpu(latency_ms, n, 1).pareto(detail::Column{latency_ms, 1}, detail::Column{objective, 1}, sense);
}

ParetoAgreement pareto_agreement(Backend backend, const float* proxy_ms, const float* target_ms,
                                 const float* objective, int64_t n, Objective sense) {
  if (backend == Backend::kCuda) return detail::cuda_pareto_agreement(proxy_ms, target_ms, objective, n, sense);
  return Cpu(proxy_ms, n, 1)
      .pareto_agreement(detail::Column{proxy_ms, 1}, detail::Column{target_ms, 1}, detail::Column{objective, 1}, sense);
}

BootstrapResult bootstrap_spearman(Backend backend, const LatencyMatrix& m, const BootstrapOptions& options) {
  check(m);
  if (backend == Backend::kCuda) return detail::cuda_bootstrap_spearman(m, options);
  return Cpu(m.latency_ms, m.rows, m.devices).bootstrap_spearman(options);
}

BootstrapResult bootstrap_kendall(Backend backend, const LatencyMatrix& m, const BootstrapOptions& options) {
  check(m);
  if (backend == Backend::kCuda) return detail::cuda_bootstrap_kendall(m, options);
  return Cpu(m.latency_ms, m.rows, m.devices).bootstrap_kendall(options);
}

}  // namespace proxysim
