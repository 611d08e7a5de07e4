#include "experiments/monotonicity.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>

#include "kernels/top_k_matrix.hpp"
#include "base/error.hpp"

namespace proxysim {

int monotonicity_target_column(const MonotonicitySettings& stage, const std::vector<std::string>& devices) {
  if (stage.target.empty()) return -1;
  const auto it = std::find(devices.begin(), devices.end(), stage.target);
  if (it != devices.end()) return static_cast<int>(it - devices.begin());
  std::string list;
  for (const auto& d : devices) list += (list.empty() ? "" : ", ") + d;
  throw UserError("monotonicity.target: '" + stage.target + "' is not a device of this run (devices: " + list + ")");
}

namespace {

std::vector<ProxyRank> rank_proxies(const MonotonicityReport& r, int t) {
  const double nan = std::nan("");
  const int32_t D = static_cast<int32_t>(r.devices.size());
  std::vector<ProxyRank> out;
  for (int32_t p = 0; p < D; ++p) {
    if (p == t) continue;
    ProxyRank k;
    k.device = r.devices[p];
    k.srcc = r.srcc.at(p, t);
    k.pairs = r.srcc.pairs_at(p, t);
    k.kendall = r.kendall.value.empty() ? nan : r.kendall.at(p, t);
    k.top_k = r.top_k.empty() ? nan : r.top_k[static_cast<size_t>(p) * D + t];
    k.srcc_lower = r.srcc_lower.empty() ? nan : r.srcc_lower[static_cast<size_t>(p) * D + t];
    k.srcc_upper = r.srcc_upper.empty() ? nan : r.srcc_upper[static_cast<size_t>(p) * D + t];
    out.push_back(k);
  }
  // Highest SRCC first; undefined ones last; ties keep the column order.
  std::stable_sort(out.begin(), out.end(), [](const ProxyRank& a, const ProxyRank& b) {
    if (std::isnan(a.srcc) != std::isnan(b.srcc)) return std::isnan(b.srcc);
    return a.srcc > b.srcc;
  });
  return out;
}

}  // namespace

MonotonicityReport compute_monotonicity(Backend backend, const std::vector<float>& latency_ms, uint64_t rows,
                                        const std::vector<std::string>& devices, const std::vector<uint8_t>& keep,
                                        const MonotonicitySettings& stage) {
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
    r.top_k = top_k_matrix(backend, m, stage.top_k);
  }
  const int t = monotonicity_target_column(stage, devices);
  if (t >= 0) {
    r.target = stage.target;
    r.ranking = rank_proxies(r, t);
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
  if (!r.target.empty()) {
    // The ranking as columns of one table, row i = the i-th best proxy.
    h5.group("/monotonicity/ranking");
    h5.attr("/monotonicity/ranking", "target", r.target);
    const uint64_t R = r.ranking.size();
    std::vector<std::string> names;
    std::vector<uint64_t> pairs;
    for (const auto& k : r.ranking) {
      names.push_back(k.device);
      pairs.push_back(static_cast<uint64_t>(k.pairs));
    }
    h5.strings("/monotonicity/ranking/device", names, "rank");
    auto column = [&](const std::string& name, double ProxyRank::*field) {
      std::vector<float> v;
      for (const auto& k : r.ranking) v.push_back(static_cast<float>(k.*field));
      h5.array_f32("/monotonicity/ranking/" + name, {R}, v.data(), {"rank"});
    };
    column("srcc", &ProxyRank::srcc);
    column("kendall_tau_b", &ProxyRank::kendall);
    column("top_k", &ProxyRank::top_k);
    column("srcc_lower", &ProxyRank::srcc_lower);
    column("srcc_upper", &ProxyRank::srcc_upper);
    H5Matrix p = h5.vector_u64("/monotonicity/ranking/pairs", R, "rank");
    p.write_rows(0, R, pairs.data());
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
  // Measured columns cover part of the rows: say what the pairs rest on.
  int64_t fewest = static_cast<int64_t>(r.rows);
  for (int64_t c : r.srcc.pairs) fewest = std::min(fewest, c);
  if (fewest < static_cast<int64_t>(r.rows)) fmt::print(out, " (a pair uses the rows measured on both: {} to {})", fewest, r.rows);
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

void print_proxy_ranking(const MonotonicityReport& r, std::ostream& out) {
  if (r.target.empty()) return;
  size_t w = 6;
  for (const auto& k : r.ranking) w = std::max(w, k.device.size());
  const bool kendall = !r.kendall.value.empty(), top = !r.top_k.empty(), ci = !r.srcc_lower.empty();
  fmt::print(out, "\nProxies for {}, best first: SRCC with {} over the architectures measured on both (pairs)", r.target,
             r.target);
  if (ci) fmt::print(out, ", {} bootstrap resamples", r.bootstrap);
  fmt::print(out, "\n{:>4}  {:<{}}  {:>6}", "rank", "device", w, "SRCC");
  if (ci) fmt::print(out, "  {:<16}", "95% interval");
  if (kendall) fmt::print(out, "  {:>7}", "Kendall");
  if (top) fmt::print(out, "  {:>8}", fmt::format("top-{}", r.k));
  fmt::print(out, "  {:>9}\n", "pairs");
  auto num = [](double v, int width, int digits) {
    return std::isnan(v) ? fmt::format("{:>{}}", "nan", width) : fmt::format("{:>{}.{}f}", v, width, digits);
  };
  for (size_t i = 0; i < r.ranking.size(); ++i) {
    const ProxyRank& k = r.ranking[i];
    fmt::print(out, "{:>4}  {:<{}}  {}{}", i + 1, k.device, w, num(k.srcc, 6, 3), k.srcc >= 0.9 ? "*" : " ");
    if (ci) fmt::print(out, " [{}, {}]", num(k.srcc_lower, 6, 3), num(k.srcc_upper, 6, 3));
    if (kendall) fmt::print(out, "  {}", num(k.kendall, 7, 3));
    if (top) fmt::print(out, "  {}", num(k.top_k, 8, 2));
    fmt::print(out, "  {:>9}\n", k.pairs);
  }
  fmt::print(out, "* strong monotonicity (SRCC >= 0.9)\n");
}

}  // namespace proxysim
