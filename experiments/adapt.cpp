#include "experiments/adapt.hpp"
#include "experiments/stage_rows.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <set>
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

namespace {

// One target's view of the matrix: the architectures measured on proxy and target,
// and the latencies of the candidate proxies that measured every one of them.
struct TargetData {
  Eigen::MatrixXd features, candidates_ms;
  ProxyTwin twin;  // the twin scheme's context: its arch_of_row are this target's rows
  TargetTwinStarts starts;  // target_twin's: the target's class starts, its arch_of_row this target's rows
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

AdaptDevices resolve_adapt_devices(const AdaptSettings& stage, const std::vector<std::string>& names) {
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

const DeviceSpec* resolve_adapt_twin(const AdaptSettings& stage) {
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
                               const AdaptSettings& stage) {
  const AdaptDevices cols = resolve_adapt_devices(stage, devices);
  const size_t D = devices.size();
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
  const StageRows rows_of = stage_rows(space, codes, rows, stage.include_disconnected);
  const std::vector<ArchCode>& arch = rows_of.arch;
  const std::vector<uint8_t>& usable = rows_of.usable;
  r.excluded_disconnected = rows_of.excluded;
  const Eigen::MatrixXd all_features = one_hot_features(space.id(), arch);
  // Every row lowered once for the twin; each target maps its rows into it.
  ProxyTwin all_twin;
  if (twin) all_twin = make_proxy_twin(stage.proxy, *twin, space, arch);
  const bool target_starts = adapt_uses_target_starts(stage);
  std::shared_ptr<const LoweredArchs> lowered;
  if (target_starts) lowered = twin ? all_twin.archs : std::make_shared<const LoweredArchs>(lower_archs(space, arch));

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
    if (target_starts) {
      const TargetStarts ts = resolve_target_starts(r.targets[t], stage);
      d.starts.target = r.targets[t];
      std::string names;
      for (const DeviceSpec* s : ts.starts) {
        d.starts.names.push_back(s->name);
        d.starts.params.push_back(s->params_for(space.id()));
        names += (names.empty() ? "" : ",") + s->name;
      }
      d.starts.archs = lowered;
      d.starts.arch_of_row = keep;
      const auto given = stage.target_measurement.find(r.targets[t]);
      if (given != stage.target_measurement.end()) {
        d.starts.measurement_known = true;
        d.starts.measurement = given->second == "block_sum" ? Measurement::kBlockSum : Measurement::kEndToEnd;
      }
      r.target_starts.push_back(names);
      r.target_class.emplace_back(device_class_name(ts.device_class));
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
  const auto target_twin_at = std::find(stage.schemes.begin(), stage.schemes.end(), "target_twin");
  const bool records_target_twin = target_twin_at != stage.schemes.end();
  if (records_target_twin) {
    r.target_twin_start.assign(tasks, "");
    r.target_twin_mu.assign(tasks, 0.0);
  }
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
                         twin ? &d.twin : nullptr, target_starts ? &d.starts : nullptr, &d.proxy_weights};
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
        if (records_target_twin && stage.schemes[s] == "target_twin") {
          r.target_twin_start[static_cast<size_t>(task)] = scheme->last_choice().start;
          r.target_twin_mu[static_cast<size_t>(task)] = scheme->last_choice().lambda;
        }
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

}  // namespace proxysim
