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
#include "kernels/rng.hpp"
#include "search/adaptation.hpp"
#include "io/atomic_file.hpp"
#include "io/device_yaml.hpp"
#include "search/features.hpp"
#include "sim/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

namespace {

// One target's view of the matrix: the architectures measured on proxy and target,
// and the latencies of the candidate proxies that measured every one of them.
struct TargetData {
  Eigen::MatrixXd features, candidates_ms;
  ProxyTwin twin;  // the twin scheme's context: its arch_of_row are this target's rows
  Eigen::VectorXd proxy_ms, proxy_weights;  // w_P over this target's rows, once for all its fits
  std::vector<float> proxy_f, target_ms;
  std::vector<double> proxy_key;  // the stratified draw's key
  std::vector<int64_t> rows;      // the run's row of each of this target's rows
};

}  // namespace

uint64_t adaptation_draw_seed(uint64_t seed, size_t target, int64_t n, int32_t repeat) {
  return counter_hash(counter_hash(seed, target, static_cast<uint64_t>(n)), static_cast<uint64_t>(repeat),
                      0xada9d0c5ull);
}

AdaptDevices resolve_adapt_devices(const AdaptStage& stage, const std::vector<std::string>& names) {
  AdaptDevices d;
  const std::string proxy_where = stage.proxy_where.empty() ? "adapt.proxy" : stage.proxy_where;
  const std::string targets_where = stage.targets_where.empty() ? "adapt.targets" : stage.targets_where;
  d.proxy = device_column(names, stage.proxy, proxy_where, "proxy");
  auto besides_proxy = [&](std::vector<int32_t> cols) {
    cols.erase(std::remove(cols.begin(), cols.end(), d.proxy), cols.end());
    return cols;
  };
  d.targets = besides_proxy(device_columns(stage.targets, names, targets_where, "target"));
  if (d.targets.empty()) throw UserError(targets_where + ": no target device besides the proxy '" + stage.proxy + "'");
  const std::string candidates_where = stage.candidates_where.empty() ? "adapt.candidates" : stage.candidates_where;
  d.candidates = besides_proxy(device_columns(stage.candidates, names, candidates_where, "candidate"));
  return d;
}

const DeviceSpec* resolve_adapt_twin(const AdaptStage& stage) {
  if (std::find(stage.schemes.begin(), stage.schemes.end(), "twin") == stage.schemes.end()) return nullptr;
  const std::string name = stage.twin.empty() ? "twin_" + stage.proxy : stage.twin;
  for (const auto* lib : {&twin_devices(), &builtin_devices()}) {
    for (const DeviceSpec& d : *lib) {
      if (d.name == name) return &d;
    }
  }
  const std::string where = !stage.twin_where.empty() ? stage.twin_where
                            : stage.proxy_where.empty() ? "adapt.proxy"
                                                        : stage.proxy_where;
  throw UserError(fmt::format("{}: the twin scheme needs a simulated twin of the proxy '{}', and there is no device "
                              "'{}' (`proxysim devices --twins` lists the calibrated twins; name one with adapt.twin)",
                              where, stage.proxy, name));
}

AdaptReport compute_adaptation(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                               const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                               const AdaptStage& stage) {
  const AdaptDevices cols = resolve_adapt_devices(stage, devices);
  const size_t D = devices.size();
  const int K = space.decisions();
  AdaptReport r;
  r.proxy = stage.proxy;
  r.schemes = stage.schemes;
  r.n = stage.n;
  r.sampling = stage.sampling;
  r.protocol = stage.protocol;
  r.adaproxy_grid = stage.adaproxy_grid;
  r.adaproxy_tie = stage.adaproxy_tie;
  r.k = stage.k;
  for (int32_t c : cols.candidates) r.candidates.push_back(devices[c]);
  const Sampling sampling = sampling_from_name(stage.sampling);
  AdaptationOptions options;
  options.multi_proxy_k = stage.k;
  options.adaproxy_grid = lambda_grid_from_name(stage.adaproxy_grid);
  options.adaproxy_tie = lambda_tie_from_name(stage.adaproxy_tie);
  const DeviceSpec* twin = resolve_adapt_twin(stage);
  if (twin) r.twin = twin->name;
  const bool mixes = std::find(stage.schemes.begin(), stage.schemes.end(), "multi_proxy") != stage.schemes.end();
  r.validation = stage.validation;
  r.repeats = stage.repeats;
  r.seed = stage.seed;
  for (int32_t c : cols.targets) r.targets.push_back(devices[c]);

  // Features once for every row; each target takes its eligible rows from them.
  std::vector<ArchCode> arch(rows);
  std::vector<uint8_t> usable(rows, 1);
  for (uint64_t i = 0; i < rows; ++i) {
    arch[i].assign(codes.begin() + i * K, codes.begin() + (i + 1) * K);
    if (space.id() == SpaceId::kNb201 && !stage.include_disconnected && !nb201::connected(arch[i].data())) {
      usable[i] = 0;
      ++r.excluded_disconnected;
    }
  }
  const Eigen::MatrixXd all_features = one_hot_features(space.id(), arch);
  // Every row lowered once for the twin; each target maps its rows into it.
  ProxyTwin all_twin;
  if (twin) all_twin = make_proxy_twin(stage.proxy, *twin, space, arch);

  const size_t T = cols.targets.size(), S = stage.schemes.size(), N = stage.n.size();
  const auto R = static_cast<size_t>(stage.repeats);
  std::vector<TargetData> data(T);
  r.eligible.resize(T);
  r.srcc_unadapted.resize(T);
  const int64_t largest = stage.n.back() + stage.validation;
  for (size_t t = 0; t < T; ++t) {
    std::vector<int64_t> keep;
    for (uint64_t i = 0; i < rows; ++i) {
      const float p = latency_ms[i * D + cols.proxy], y = latency_ms[i * D + cols.targets[t]];
      if (usable[i] && std::isfinite(p) && std::isfinite(y)) keep.push_back(static_cast<int64_t>(i));
    }
    const auto m = static_cast<int64_t>(keep.size());
    r.eligible[t] = m;
    if (m < largest + 1) {
      // At least one architecture must stay unsampled for the unsampled SRCC.
      throw UserError(fmt::format("{}: n = {} training + {} validation samples need more than the {} architectures "
                                  "measured on both '{}' and '{}'",
                                  stage.n_where.empty() ? "adapt.n" : stage.n_where, stage.n.back(),
                                  stage.validation, m, stage.proxy, r.targets[t]));
    }
    TargetData& d = data[t];
    d.features.resize(m, all_features.cols());
    d.proxy_ms.resize(m);
    d.proxy_f.resize(m);
    d.target_ms.resize(m);
    for (int64_t j = 0; j < m; ++j) {
      const auto i = static_cast<uint64_t>(keep[j]);
      d.features.row(j) = all_features.row(static_cast<Eigen::Index>(i));
      d.proxy_f[j] = latency_ms[i * D + cols.proxy];
      d.proxy_ms[j] = d.proxy_f[j];
      d.target_ms[j] = latency_ms[i * D + cols.targets[t]];
    }
    r.srcc_unadapted[t] = spearman_pair(Backend::kCpu, d.proxy_f.data(), d.target_ms.data(), m);
    d.proxy_weights = proxy_operator_weights(d.features, d.proxy_ms);
    d.proxy_key.assign(d.proxy_ms.data(), d.proxy_ms.data() + m);
    d.rows = keep;
    if (twin) {
      d.twin = all_twin;
      d.twin.arch_of_row = keep;
    }
    if (mixes) {
      // A candidate is the target's own column or lacks some of its architectures:
      // the first would leak the target, the second leave holes in the mix.
      std::vector<int32_t> usable_candidates;
      for (int32_t c : cols.candidates) {
        if (c == cols.targets[t]) continue;
        bool complete = true;
        for (int64_t j = 0; j < m && complete; ++j) complete = std::isfinite(latency_ms[static_cast<uint64_t>(keep[j]) * D + c]);
        if (complete) usable_candidates.push_back(c);
      }
      d.candidates_ms.resize(m, static_cast<Eigen::Index>(usable_candidates.size()));
      for (size_t c = 0; c < usable_candidates.size(); ++c)
        for (int64_t j = 0; j < m; ++j)
          d.candidates_ms(j, static_cast<Eigen::Index>(c)) = latency_ms[static_cast<uint64_t>(keep[j]) * D + usable_candidates[c]];
    }
  }

  // One task per (target, budget, repeat); every task writes only its own slots, and
  // the reductions below run in a fixed order, so the result is the same on any
  // number of threads.
  const size_t tasks = T * N * R;
  std::vector<double> all(tasks * S), unsampled(tasks * S);
  std::vector<std::vector<AdaptReport::InvalidPrediction>> invalid_of_task(stage.predict ? tasks : 0);
  if (stage.predict) {
    r.rows = rows;
    r.predicted_ms.assign(S * T * N * rows, std::numeric_limits<float>::quiet_NaN());
    r.sampled.assign(T * N * rows, 0);
    r.invalid.assign(S * T * N, 0);
  }
  std::vector<std::exception_ptr> errors(tasks);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < static_cast<int64_t>(tasks); ++task) {
    try {
      const size_t t = static_cast<size_t>(task) / (N * R);
      const size_t k = static_cast<size_t>(task) / R % N;
      const auto rep = static_cast<int32_t>(static_cast<size_t>(task) % R);
      const TargetData& d = data[t];
      const auto m = static_cast<int64_t>(d.target_ms.size());
      const int64_t n = stage.n[k];
      // The draw sees the proxy's latencies only.
      // The authors' draw takes its seed as given (repeat r: seed + r), like Python's.
      const uint64_t draw_seed = sampling == Sampling::kAuthors ? stage.seed + static_cast<uint64_t>(rep)
                                                                : adaptation_draw_seed(stage.seed, t, n, rep);
      const SampleSplit split = draw_adaptation_samples(sampling, draw_seed, d.proxy_key, n, stage.validation);
      AdaptationInput in{d.features, d.proxy_ms, gather_target_samples(split.train, d.target_ms.data()),
                         gather_target_samples(split.validation, d.target_ms.data()), d.candidates_ms,
                         twin ? &d.twin : nullptr, &d.proxy_weights};
      std::vector<uint8_t> sampled(static_cast<size_t>(m), 0);
      for (int64_t i : split.train) sampled[static_cast<size_t>(i)] = 1;
      for (int64_t i : split.validation) sampled[static_cast<size_t>(i)] = 1;
      // The first repeat's fits are kept (each (target, n) writes only its own slots).
      const bool keep_predictions = stage.predict && rep == 0;
      if (keep_predictions) {
        uint8_t* mark = &r.sampled[(t * N + k) * rows];
        for (int64_t i : split.train) mark[d.rows[static_cast<size_t>(i)]] = 1;
        for (int64_t i : split.validation) mark[d.rows[static_cast<size_t>(i)]] = 2;
      }
      std::vector<float> pred(static_cast<size_t>(m)), pred_rest, true_rest;
      pred_rest.reserve(static_cast<size_t>(m));
      true_rest.reserve(static_cast<size_t>(m));
      for (size_t s = 0; s < S; ++s) {
        const auto scheme = make_adaptation_scheme(stage.schemes[s], options);
        const Eigen::VectorXd p = scheme->predict(in);
        for (int64_t i = 0; i < m; ++i) pred[static_cast<size_t>(i)] = static_cast<float>(p[i]);
        if (keep_predictions) {
          float* out = &r.predicted_ms[((s * T + t) * N + k) * rows];
          int64_t invalid = 0;
          for (int64_t i = 0; i < m; ++i) {
            const float v = pred[static_cast<size_t>(i)];
            const bool ok = std::isfinite(v) && v > 0.0f;
            const auto row = static_cast<uint64_t>(d.rows[static_cast<size_t>(i)]);
            out[row] = ok ? v : std::numeric_limits<float>::quiet_NaN();
            if (!ok) {
              ++invalid;
              invalid_of_task[static_cast<size_t>(task)].push_back(
                  {static_cast<uint32_t>(s), static_cast<uint32_t>(t), static_cast<uint32_t>(k), row, p[i]});
            }
          }
          r.invalid[r.at(s, t, k)] = invalid;
        }
        pred_rest.clear();
        true_rest.clear();
        for (int64_t i = 0; i < m; ++i) {
          if (sampled[static_cast<size_t>(i)]) continue;
          pred_rest.push_back(pred[static_cast<size_t>(i)]);
          true_rest.push_back(d.target_ms[static_cast<size_t>(i)]);
        }
        all[static_cast<size_t>(task) * S + s] = spearman_pair(Backend::kCpu, pred.data(), d.target_ms.data(), m);
        unsampled[static_cast<size_t>(task) * S + s] = spearman_pair(
            Backend::kCpu, pred_rest.data(), true_rest.data(), static_cast<int64_t>(pred_rest.size()));
      }
    } catch (...) {
      errors[static_cast<size_t>(task)] = std::current_exception();
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  for (const auto& v : invalid_of_task) r.invalid_rows.insert(r.invalid_rows.end(), v.begin(), v.end());

  r.srcc_mean.assign(S * T * N, 0.0);
  r.srcc_std.assign(S * T * N, 0.0);
  r.srcc_unsampled_mean.assign(S * T * N, 0.0);
  for (size_t s = 0; s < S; ++s) {
    for (size_t t = 0; t < T; ++t) {
      for (size_t k = 0; k < N; ++k) {
        double sum = 0, sum_rest = 0;
        for (size_t rep = 0; rep < R; ++rep) {
          const size_t task = (t * N + k) * R + rep;
          sum += all[task * S + s];
          sum_rest += unsampled[task * S + s];
        }
        const double mean = sum / static_cast<double>(R);
        double ss = 0;
        for (size_t rep = 0; rep < R; ++rep) {
          const double dlt = all[((t * N + k) * R + rep) * S + s] - mean;
          ss += dlt * dlt;
        }
        // Sample standard deviation (ddof = 1); a single repeat has no spread to show.
        r.srcc_mean[r.at(s, t, k)] = mean;
        r.srcc_std[r.at(s, t, k)] = R > 1 ? std::sqrt(ss / static_cast<double>(R - 1)) : 0.0;
        r.srcc_unsampled_mean[r.at(s, t, k)] = sum_rest / static_cast<double>(R);
      }
    }
  }
  return r;
}

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
