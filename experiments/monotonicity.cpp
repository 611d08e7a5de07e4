#include "experiments/monotonicity.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

namespace proxysim {

MonotonicityReport compute_monotonicity(Backend backend, const std::vector<float>& latency_ms, uint64_t rows,
                                        const std::vector<std::string>& devices, const std::vector<uint8_t>& keep,
                                        const MonotonicityStage& stage) {
  MonotonicityReport r;
  r.devices = devices;
  const int32_t D = static_cast<int32_t>(devices.size());
  std::vector<float> kept;
  const float* data = latency_ms.data();
  uint64_t n = rows;
  const bool drops = std::find(keep.begin(), keep.end(), uint8_t{0}) != keep.end();
  if (drops) {
    kept.reserve(rows * D);
    n = 0;
    for (uint64_t i = 0; i < rows; ++i) {
      if (!keep[i]) {
        ++r.excluded_disconnected;
        continue;
      }
      kept.insert(kept.end(), latency_ms.begin() + i * D, latency_ms.begin() + (i + 1) * D);
      ++n;
    }
    data = kept.data();
  }
  r.rows = n;
  const LatencyMatrix m{data, static_cast<int64_t>(n), D};
  if (stage.bootstrap > 0) {
    BootstrapOptions bo;
    bo.resamples = stage.bootstrap;
    bo.seed = stage.bootstrap_seed;
    BootstrapResult b = bootstrap_spearman(backend, m, bo);
    r.srcc = std::move(b.estimate);
    r.srcc_lower = std::move(b.lower);
    r.srcc_upper = std::move(b.upper);
    r.bootstrap = stage.bootstrap;
  } else {
    r.srcc = spearman_matrix(backend, m);
  }
  if (stage.kendall) r.kendall = kendall_matrix(backend, m);
  if (stage.top_k > 0) {
    r.k = stage.top_k;
    r.top_k.assign(static_cast<size_t>(D) * D, std::nan(""));
    // Columns, so each pair reads contiguous latencies.
    std::vector<std::vector<float>> cols(D, std::vector<float>(n));
    for (uint64_t i = 0; i < n; ++i) {
      for (int32_t d = 0; d < D; ++d) cols[d][i] = data[i * D + d];
    }
    for (int32_t a = 0; a < D; ++a) {
      for (int32_t b = 0; b < D; ++b) {
        r.top_k[static_cast<size_t>(a) * D + b] =
            top_k_agreement(backend, cols[a].data(), cols[b].data(), static_cast<int64_t>(n), stage.top_k);
      }
    }
  }
  return r;
}

void write_monotonicity(H5Writer& h5, const MonotonicityReport& r) {
  const uint64_t D = r.devices.size();
  h5.group("/monotonicity");
  h5.strings("/monotonicity/devices", r.devices, "device");
  auto write_square = [&](const std::string& name, const std::vector<double>& v) {
    std::vector<float> f(v.begin(), v.end());
    H5Matrix m = h5.matrix_f32(name, D, D, {"proxy", "target"});
    m.write_rows(0, D, f.data());
  };
  write_square("/monotonicity/srcc", r.srcc.value);
  {
    std::vector<float> pairs(r.srcc.pairs.begin(), r.srcc.pairs.end());
    H5Matrix m = h5.matrix_f32("/monotonicity/pairs", D, D, {"proxy", "target"});
    m.write_rows(0, D, pairs.data());
  }
  if (!r.kendall.value.empty()) write_square("/monotonicity/kendall_tau_b", r.kendall.value);
  if (!r.top_k.empty()) {
    write_square("/monotonicity/top_k", r.top_k);
    h5.attr("/monotonicity/top_k", "k", static_cast<int64_t>(r.k));
  }
  if (!r.srcc_lower.empty()) {
    write_square("/monotonicity/srcc_lower", r.srcc_lower);
    write_square("/monotonicity/srcc_upper", r.srcc_upper);
    h5.attr("/monotonicity", "bootstrap_resamples", static_cast<int64_t>(r.bootstrap));
  }
  h5.attr("/monotonicity", "archs", static_cast<int64_t>(r.rows));
  h5.attr("/monotonicity", "excluded_disconnected", static_cast<int64_t>(r.excluded_disconnected));
  h5.attr("/monotonicity", "strong_threshold", 0.9);
}

void print_srcc_table(const MonotonicityReport& r, std::ostream& out) {
  const size_t D = r.devices.size();
  size_t w = 6;
  for (const auto& d : r.devices) w = std::max(w, d.size());
  fmt::print(out, "\nSRCC over {} architectures", r.rows);
  if (r.excluded_disconnected) fmt::print(out, " ({} disconnected NB201 architectures excluded)", r.excluded_disconnected);
  fmt::print(out, "; * marks strong monotonicity (>= 0.9); columns follow the row numbers\n{:<{}}", "", w + 4);
  for (size_t b = 0; b < D; ++b) fmt::print(out, " {:>6}", b);
  fmt::print(out, "\n");
  size_t strong = 0, pairs = 0;
  for (size_t a = 0; a < D; ++a) {
    fmt::print(out, "{:>3} {:<{}}", a, r.devices[a], w);
    for (size_t b = 0; b < D; ++b) {
      const double v = r.srcc.at(static_cast<int32_t>(a), static_cast<int32_t>(b));
      if (std::isnan(v)) {
        fmt::print(out, " {:>6}", "nan");
      } else {
        fmt::print(out, " {:>5.2f}{}", v, v >= 0.9 && a != b ? "*" : " ");
      }
      if (a < b && !std::isnan(v)) {
        ++pairs;
        strong += v >= 0.9;
      }
    }
    fmt::print(out, "\n");
  }
  std::vector<double> off;
  for (size_t a = 0; a < D; ++a) {
    for (size_t b = a + 1; b < D; ++b) {
      const double v = r.srcc.at(static_cast<int32_t>(a), static_cast<int32_t>(b));
      if (!std::isnan(v)) off.push_back(v);
    }
  }
  if (!off.empty()) {
    std::sort(off.begin(), off.end());
    const double median = off.size() % 2 ? off[off.size() / 2] : 0.5 * (off[off.size() / 2 - 1] + off[off.size() / 2]);
    fmt::print(out, "{} device pairs: median SRCC {:.3f}, min {:.3f}, {:.0f}% at or above 0.9\n", pairs, median,
               off.front(), 100.0 * strong / pairs);
  }
}

}  // namespace proxysim
