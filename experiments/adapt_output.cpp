// The adapt stage's outputs: its HDF5 group, the predictions as CSV, and its tables.
#include "experiments/adapt.hpp"
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <hdf5.h>
#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <sstream>
#include <tuple>
#include <stdexcept>
#include "experiments/device_columns.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/adaptation.hpp"
#include "io/atomic_file.hpp"
#include "sim/device_yaml.hpp"
#include "search/features.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

void write_adaptation(H5Writer& h5, const AdaptReport& r) {
  h5.group("/adapt");
  const std::vector<uint64_t> shape = {r.schemes.size(), r.targets.size(), r.n.size()};
  for (const auto& [name, values] : {std::pair{"/adapt/srcc_mean", &r.srcc_mean}, std::pair{"/adapt/srcc_std", &r.srcc_std},
                                     std::pair{"/adapt/srcc_unsampled_mean", &r.srcc_unsampled_mean}}) {
    const std::vector<float> f(values->begin(), values->end());
    h5.array_f32(name, shape, f.data(), {"scheme", "target", "n"});
  }
  h5.strings("/adapt/schemes", r.schemes, "scheme");
  h5.strings("/adapt/targets", r.targets, "target");
  {
    std::vector<uint64_t> n(r.n.begin(), r.n.end());
    H5Matrix m = h5.vector_u64("/adapt/n", n.size(), "n");
    m.write_rows(0, n.size(), n.data());
    std::vector<uint64_t> spent;
    for (int64_t x : r.n) spent.push_back(static_cast<uint64_t>(x + r.validation));
    H5Matrix sm = h5.vector_u64("/adapt/measurements", spent.size(), "n");
    sm.write_rows(0, spent.size(), spent.data());
    std::vector<uint64_t> eligible(r.eligible.begin(), r.eligible.end());
    H5Matrix em = h5.vector_u64("/adapt/eligible", eligible.size(), "target");
    em.write_rows(0, eligible.size(), eligible.data());
  }
  {
    const std::vector<float> u(r.srcc_unadapted.begin(), r.srcc_unadapted.end());
    H5Matrix m = h5.vector_f32("/adapt/srcc_unadapted", u.size(), "target");
    m.write_rows(0, u.size(), u.data());
  }
  h5.attr("/adapt", "proxy", r.proxy);
  h5.attr("/adapt", "validation", static_cast<int64_t>(r.validation));
  h5.attr("/adapt", "repeats", static_cast<int64_t>(r.repeats));
  h5.attr("/adapt", "seed", static_cast<int64_t>(r.seed));
  h5.attr("/adapt", "excluded_disconnected", static_cast<int64_t>(r.excluded_disconnected));
  h5.attr("/adapt", "sampling", r.sampling);
  h5.attr("/adapt", "protocol", r.protocol);
  h5.attr("/adapt", "adaproxy_lambda_grid", r.adaproxy_grid);
  h5.attr("/adapt", "adaproxy_tie", r.adaproxy_tie);
  std::string candidates;
  for (const auto& c : r.candidates) candidates += (candidates.empty() ? "" : ",") + c;
  h5.attr("/adapt", "multi_proxy_candidates", candidates);
  h5.attr("/adapt", "multi_proxy_k", static_cast<int64_t>(r.k));
  h5.attr("/adapt", "twin", r.twin);
  if (!r.target_starts.empty()) {
    h5.strings("/adapt/target_starts", r.target_starts, "target");
    h5.strings("/adapt/target_class", r.target_class, "target");
  }
  if (!r.target_twin_start.empty()) {
    // [target][n][repeat], flattened: target_twin's chosen start and prior weight.
    h5.strings("/adapt/target_twin_start", r.target_twin_start, "task");
    const std::vector<float> mu(r.target_twin_mu.begin(), r.target_twin_mu.end());
    H5Matrix m = h5.vector_f32("/adapt/target_twin_mu", mu.size(), "task");
    m.write_rows(0, mu.size(), mu.data());
  }
  if (!r.predicted_ms.empty()) {
    const uint64_t S = r.schemes.size(), T = r.targets.size(), N = r.n.size();
    h5.array_f32("/adapt/predicted_ms", {S, T, N, r.rows}, r.predicted_ms.data(), {"scheme", "target", "n", "row"});
    H5Matrix sm = h5.matrix_u8("/adapt/sampled", T * N, r.rows, {"target_n", "row"});
    sm.write_rows(0, T * N, r.sampled.data());
    const std::vector<float> inv(r.invalid.begin(), r.invalid.end());
    h5.array_f32("/adapt/invalid_predictions", {S, T, N}, inv.data(), {"scheme", "target", "n"});
    h5.attr("/adapt/predicted_ms", "repeat", static_cast<int64_t>(0));
  }
}

void export_adaptation_csv(const AdaptReport& r, const SearchSpace& space, const std::vector<uint8_t>& codes,
                           const std::vector<float>& latency_ms, const std::vector<std::string>& devices,
                           const std::string& path) {
  if (r.predicted_ms.empty()) throw std::logic_error("export_adaptation_csv: the report holds no predictions");
  const size_t S = r.schemes.size(), T = r.targets.size(), N = r.n.size(), D = devices.size();
  const auto K = static_cast<size_t>(space.decisions());
  {
    std::ostringstream out;
    out << "row,arch,target,n,sampled,measured_ms";
    for (const auto& s : r.schemes) out << ',' << s;
    out << ",invalid\n";
    // Why a scheme's cell is empty: its model's value, scheme=value;... per line.
    std::map<std::tuple<uint32_t, uint32_t, uint64_t>, std::string> why;
    for (const auto& v : r.invalid_rows) {
      std::string& w = why[{v.target, v.k, v.row}];
      w += fmt::format("{}{}={}", w.empty() ? "" : ";", r.schemes[v.scheme], v.predicted_ms);
    }
    for (size_t t = 0; t < T; ++t) {
      const auto col = static_cast<size_t>(std::find(devices.begin(), devices.end(), r.targets[t]) - devices.begin());
      for (size_t k = 0; k < N; ++k) {
        const uint8_t* mark = &r.sampled[(t * N + k) * r.rows];
        for (uint64_t row = 0; row < r.rows; ++row) {
          const float y = col < D ? latency_ms[row * D + col] : std::numeric_limits<float>::quiet_NaN();
          // A row belongs to (target, n) when it was drawn or some scheme predicted it,
          // validly or not.
          bool any = mark[row] != 0;
          for (size_t s = 0; s < S && !any; ++s) any = !std::isnan(r.predicted_ms[((s * T + t) * N + k) * r.rows + row]);
          const auto w = why.find({static_cast<uint32_t>(t), static_cast<uint32_t>(k), row});
          if (!any && w == why.end()) continue;
          const ArchCode code(codes.begin() + static_cast<std::ptrdiff_t>(row * K),
                              codes.begin() + static_cast<std::ptrdiff_t>((row + 1) * K));
          out << row << ",\"" << space.to_string(code) << "\"," << r.targets[t] << ',' << r.n[k] << ','
              << (mark[row] == 1 ? "train" : mark[row] == 2 ? "validation" : "") << ',';
          if (std::isfinite(y)) out << fmt::format("{}", y);
          for (size_t s = 0; s < S; ++s) {
            const float v = r.predicted_ms[((s * T + t) * N + k) * r.rows + row];
            out << ',';
            if (!std::isnan(v)) out << fmt::format("{}", v);
          }
          out << ',' << (w == why.end() ? std::string() : w->second) << '\n';
        }
      }
    }
    write_atomically(path, out.str());
  }
}

void print_invalid_predictions(const AdaptReport& r, std::ostream& out) {
  if (r.invalid.empty()) return;
  for (size_t s = 0; s < r.schemes.size(); ++s)
    for (size_t t = 0; t < r.targets.size(); ++t)
      for (size_t k = 0; k < r.n.size(); ++k) {
        const int64_t bad = r.invalid[r.at(s, t, k)];
        if (bad > 0)
          fmt::print(out, "adapt: warning: '{}' on target '{}' at n = {} predicts no positive latency for {} of {} "
                     "architectures (stored as NaN in /adapt/predicted_ms; the values in adapt.export's 'invalid' column)\n",
                     r.schemes[s], r.targets[t], r.n[k], bad, r.eligible[t]);
      }
}

void print_adaptation_table(const AdaptReport& r, std::ostream& out) {
  size_t w = 6;
  for (const auto& t : r.targets) w = std::max(w, t.size());
  size_t sw = 10;
  for (const auto& s : r.schemes) sw = std::max(sw, s.size());
  bool lowered = false;
  // One block per budget: every n asked for is shown.
  for (size_t k = 0; k < r.n.size(); ++k) {
    fmt::print(out, "\nAdaptation from proxy '{}': mean SRCC over {} repeats at n = {} training + {} validation target "
               "samples\n{:<{}} {:>10}",
               r.proxy, r.repeats, r.n[k], r.validation, "target", w, "unadapted");
    for (const auto& s : r.schemes) fmt::print(out, " {:>{}}", s, sw + 1);
    fmt::print(out, "\n");
    for (size_t t = 0; t < r.targets.size(); ++t) {
      fmt::print(out, "{:<{}} {:>10.3f}", r.targets[t], w, r.srcc_unadapted[t]);
      for (size_t s = 0; s < r.schemes.size(); ++s) {
        const double v = r.srcc_mean[r.at(s, t, k)];
        // Marked where adapting ranks the target worse than the proxy did unadapted.
        const bool worse = v < r.srcc_unadapted[t] - 5e-4;
        lowered = lowered || worse;
        fmt::print(out, " {:>{}.3f}{}", v, sw, worse ? "!" : " ");
      }
      fmt::print(out, "\n");
    }
  }
  if (lowered) {
    fmt::print(out, "! below the unadapted proxy: that scheme lowers the proxy's SRCC with the target at that n\n");
  }
}

}  // namespace proxysim
