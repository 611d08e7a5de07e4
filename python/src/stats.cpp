// Rank statistics of latency monotonicity on any numpy latency matrix.
#include <cmath>
#include <sstream>

#include "common.hpp"
#include "kernels/rank_stats.hpp"
#include "search/proxy_cover.hpp"
#include "base/error.hpp"

namespace proxysim::py {

namespace {

// Latencies are positive and finite, or NaN for "not measured": anything else stops
// here, with its position (a negative or infinite value would rank silently).
void check_latencies(const float* p, int64_t rows, int64_t cols, const char* what) {
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float v = p[i];
    if (std::isnan(v) || (std::isfinite(v) && v > 0)) continue;
    std::ostringstream s;
    s << what << "[" << i / cols;
    if (cols > 1) s << ", " << i % cols;
    s << "] = " << v << ": a latency must be positive and finite (NaN = not measured)";
    throw UserError(s.str());
  }
}

// The matrix as the kernels read it: float32, C order (a numpy copy otherwise).
LatencyMatrix matrix_of(const CArray<float>& a) {
  if (a.ndim() != 2) throw UserError("latency_ms: expected a 2-d (architectures x devices) array, found " +
                                     std::to_string(a.ndim()) + "-d");
  check_latencies(a.data(), a.shape(0), a.shape(1), "latency_ms");
  return LatencyMatrix{a.data(), static_cast<int64_t>(a.shape(0)), static_cast<int32_t>(a.shape(1))};
}

const float* vector_of(const CArray<float>& a, pb::ssize_t n, const char* what) {
  if (a.ndim() != 1 || a.shape(0) != n) {
    throw UserError(std::string(what) + ": expected a 1-d array of " + std::to_string(n) + " values");
  }
  return a.data();
}

pb::tuple pair_matrix(PairMatrix&& p) {
  const pb::ssize_t D = p.devices;
  return pb::make_tuple(to_numpy(std::move(p.value), {D, D}), to_numpy(std::move(p.pairs), {D, D}));
}

}  // namespace

void bind_stats(pb::module_& m) {
  m.def(
      "spearman_matrix",
      [](const CArray<float>& latency, const std::string& backend) {
        const LatencyMatrix lm = matrix_of(latency);
        const Backend b = backend_from(backend);
        PairMatrix p;
        {
          pb::gil_scoped_release release;
          p = spearman_matrix(b, lm);
        }
        return pair_matrix(std::move(p));
      },
      pb::arg("latency_ms"), pb::arg("backend") = "auto",
      "(srcc, pairs): Spearman's rho of every two columns (D x D float64) and the rows measured on both "
      "(int64); NaN = not measured, dropped per pair as scipy's nan_policy='omit'");
  m.def(
      "kendall_matrix",
      [](const CArray<float>& latency, const std::string& backend) {
        const LatencyMatrix lm = matrix_of(latency);
        const Backend b = backend_from(backend);
        PairMatrix p;
        {
          pb::gil_scoped_release release;
          p = kendall_matrix(b, lm);
        }
        return pair_matrix(std::move(p));
      },
      pb::arg("latency_ms"), pb::arg("backend") = "auto", "(tau_b, pairs) as spearman_matrix, Kendall's tau-b");
  m.def(
      "spearman",
      [](const CArray<float>& a, const CArray<float>& b, const std::string& backend) {
        const float* pa = vector_of(a, a.ndim() == 1 ? a.shape(0) : -1, "a");
        const float* pb_ = vector_of(b, a.shape(0), "b");
        const Backend be = backend_from(backend);
        pb::gil_scoped_release release;
        return spearman_pair(be, pa, pb_, a.shape(0));
      },
      pb::arg("a"), pb::arg("b"), pb::arg("backend") = "auto", "Spearman's rho of two latency vectors");
  m.def(
      "kendall_tau_b",
      [](const CArray<float>& a, const CArray<float>& b, const std::string& backend) {
        const float* pa = vector_of(a, a.ndim() == 1 ? a.shape(0) : -1, "a");
        const float* pb_ = vector_of(b, a.shape(0), "b");
        const Backend be = backend_from(backend);
        pb::gil_scoped_release release;
        return kendall_tau_b(be, pa, pb_, a.shape(0));
      },
      pb::arg("a"), pb::arg("b"), pb::arg("backend") = "auto", "Kendall's tau-b of two latency vectors");
  m.def(
      "top_k_agreement",
      [](const CArray<float>& proxy, const CArray<float>& target, int64_t k, const std::string& backend) {
        const float* pp = vector_of(proxy, proxy.ndim() == 1 ? proxy.shape(0) : -1, "proxy_ms");
        const float* pt = vector_of(target, proxy.shape(0), "target_ms");
        check_latencies(pp, proxy.shape(0), 1, "proxy_ms");
        check_latencies(pt, proxy.shape(0), 1, "target_ms");
        const Backend be = backend_from(backend);
        pb::gil_scoped_release release;
        return top_k_agreement(be, pp, pt, proxy.shape(0), k);
      },
      pb::arg("proxy_ms"), pb::arg("target_ms"), pb::arg("k"), pb::arg("backend") = "auto",
      "fraction of the proxy's k fastest architectures among the target's k fastest");
  m.def(
      "pareto_front",
      [](const CArray<float>& latency, const CArray<float>& objective, bool maximise, const std::string& backend) {
        const float* pl = vector_of(latency, latency.ndim() == 1 ? latency.shape(0) : -1, "latency_ms");
        const float* po = vector_of(objective, latency.shape(0), "objective");
        check_latencies(pl, latency.shape(0), 1, "latency_ms");
        const Backend be = backend_from(backend);
        std::vector<int64_t> rows;
        {
          pb::gil_scoped_release release;
          rows = pareto_front(be, pl, po, latency.shape(0), maximise ? Objective::kMaximise : Objective::kMinimise);
        }
        const pb::ssize_t n = static_cast<pb::ssize_t>(rows.size());
        return to_numpy(std::move(rows), {n});
      },
      pb::arg("latency_ms"), pb::arg("objective"), pb::arg("maximise") = true, pb::arg("backend") = "auto",
      "rows on the Pareto front of (minimum latency, best objective), ascending (int64)");
  m.def(
      "bootstrap_spearman",
      [](const CArray<float>& latency, int32_t resamples, uint64_t seed, double confidence, const std::string& backend) {
        const LatencyMatrix lm = matrix_of(latency);
        const Backend be = backend_from(backend);
        BootstrapOptions o;
        o.resamples = resamples;
        o.seed = seed;
        o.confidence = confidence;
        BootstrapResult r;
        {
          pb::gil_scoped_release release;
          r = bootstrap_spearman(be, lm, o);
        }
        const pb::ssize_t D = lm.devices;
        return pb::make_tuple(to_numpy(std::move(r.estimate.value), {D, D}), to_numpy(std::move(r.lower), {D, D}),
                              to_numpy(std::move(r.upper), {D, D}));
      },
      pb::arg("latency_ms"), pb::arg("resamples") = 1000, pb::arg("seed") = 0, pb::arg("confidence") = 0.95,
      pb::arg("backend") = "auto", "(srcc, lower, upper): seeded bootstrap percentile intervals of the SRCC matrix");
  m.def(
      "proxy_cover",
      [](const CArray<double>& srcc, const std::vector<double>& thresholds) {
        if (srcc.ndim() != 2 || srcc.shape(0) != srcc.shape(1)) throw UserError("srcc: expected a square matrix");
        const std::vector<double> s(srcc.data(), srcc.data() + srcc.size());
        pb::list out;
        for (const ProxyCover& c : proxy_cover_curve(s, static_cast<int32_t>(srcc.shape(0)), thresholds)) {
          pb::dict d;
          d["threshold"] = c.threshold;
          d["proxies"] = c.proxies;
          d["covered"] = c.covered;
          out.append(d);
        }
        return out;
      },
      pb::arg("srcc"), pb::arg("thresholds"),
      "greedy proxy cover per threshold: the proxies chosen (column indices) and devices covered after each");
}

}  // namespace proxysim::py
