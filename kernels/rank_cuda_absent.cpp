// Built instead of kernels/cuda/rank_cuda.cu when no CUDA compiler was found: the CUDA
// rank statistics refuse with a clear message rather than abort.
#include "kernels/rank_impl.hpp"

namespace proxysim::detail {

namespace {
[[noreturn]] void no_cuda() { throw UserError("this proxysim was built without CUDA; use --backend cpu"); }
}  // namespace

PairMatrix cuda_spearman_matrix(const LatencyMatrix&, const ColumnRanking&) { no_cuda(); }
PairMatrix cuda_kendall_matrix(const LatencyMatrix&) { no_cuda(); }
double cuda_kendall_pair(const float*, const float*, int64_t) { no_cuda(); }
double cuda_top_k_agreement(const float*, const float*, int64_t, int64_t) { no_cuda(); }
std::vector<int64_t> cuda_pareto_front(const float*, const float*, int64_t, Objective) { no_cuda(); }
ParetoAgreement cuda_pareto_agreement(const float*, const float*, const float*, int64_t, Objective) { no_cuda(); }
BootstrapResult cuda_bootstrap_spearman(const LatencyMatrix&, const BootstrapOptions&) { no_cuda(); }
BootstrapResult cuda_bootstrap_kendall(const LatencyMatrix&, const BootstrapOptions&) { no_cuda(); }

}  // namespace proxysim::detail
