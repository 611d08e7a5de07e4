#include "experiments/deploy.hpp"
#include "experiments/stage_rows.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

#include "experiments/device_columns.hpp"
#include "io/atomic_file.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/accuracy.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

namespace {

constexpr double kNotKnown = std::numeric_limits<double>::quiet_NaN();

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(ch));
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// 9 significant digits: a float32 value reads back exactly.
std::string json_float(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "null"; }

}  // namespace

void resolve_deploy_devices(const DeploySettings& stage, const std::vector<std::string>& names) {
  const int32_t p = device_column(names, stage.proxy, stage.proxy_where.empty() ? "deploy.proxy" : stage.proxy_where, "proxy");
  if (stage.target.empty()) return;
  const std::string where = stage.target_where.empty() ? "deploy.target" : stage.target_where;
  if (device_column(names, stage.target, where, "target") == p) {
    throw UserError(where + ": the target '" + stage.target + "' is the proxy itself");
  }
}

DeployReport compute_deploy(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                            const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                            const DeploySettings& stage) {
  resolve_deploy_devices(stage, devices);
  const size_t D = devices.size();
  const auto pc = static_cast<size_t>(std::find(devices.begin(), devices.end(), stage.proxy) - devices.begin());
  const bool adapted = !stage.target.empty();
  const size_t tc = adapted ? static_cast<size_t>(std::find(devices.begin(), devices.end(), stage.target) - devices.begin()) : 0;
  DeployReport r;
  r.space = space.name();
  r.proxy = stage.proxy;
  r.target = stage.target;
  r.scheme = adapted ? stage.scheme : "none";
  r.accuracy = stage.accuracy;
  r.validation = adapted ? stage.validation : 0;

  // Candidates: usable (connected on NB201), accuracy known, measured on the proxy.
  const StageRows rows_of = stage_rows(space, codes, rows, stage.include_disconnected);
  const std::vector<ArchCode>& arch = rows_of.arch;
  const std::vector<float> accuracy = accuracy_for(space, arch, stage.accuracy, stage.accuracy_file, stage.synthetic_seed);
  std::vector<int64_t> cand;
  for (uint64_t i = 0; i < rows; ++i) {
    if (rows_of.usable[i] == 0) continue;
    if (!std::isfinite(accuracy[i]) || !std::isfinite(latency_ms[i * D + pc])) continue;
    cand.push_back(static_cast<int64_t>(i));
  }
  r.candidates = cand.size();
  if (cand.empty()) throw UserError("deploy: no architecture has both an accuracy and a latency on '" + stage.proxy + "'");
  const auto m = static_cast<Eigen::Index>(cand.size());
  Eigen::VectorXd proxy(m), predicted(m);
  for (Eigen::Index j = 0; j < m; ++j) proxy[j] = latency_ms[static_cast<size_t>(cand[j]) * D + pc];
  predicted = proxy;
  r.validation_srcc = kNotKnown;

  if (adapted) {
    // The target's measured candidates: its samples come from these alone.
    std::vector<int64_t> measured;  // positions in cand
    std::vector<float> target(cand.size(), std::nanf(""));
    for (size_t j = 0; j < cand.size(); ++j) {
      const float y = latency_ms[static_cast<size_t>(cand[j]) * D + tc];
      if (std::isfinite(y)) {
        measured.push_back(static_cast<int64_t>(j));
        target[j] = y;
      }
    }
    r.target_measured = measured.size();
    const auto have = static_cast<int64_t>(measured.size());
    r.n = stage.n > 0 ? stage.n : have - stage.validation;
    if (r.n < 3 || r.n + stage.validation > have) {
      throw UserError(fmt::format("{}: n = {} training + {} validation samples, but '{}' has {} measured candidate "
                                  "architectures (n: all uses every one but the validation samples)",
                                  stage.n_where.empty() ? "deploy.n" : stage.n_where, r.n, stage.validation, stage.target,
                                  have));
    }
    const std::vector<int64_t> drawn = draw_rows(counter_hash(stage.seed, 0xde9107ull, 0), measured, r.n + stage.validation);
    const std::vector<int64_t> train(drawn.begin(), drawn.begin() + r.n), valid(drawn.begin() + r.n, drawn.end());
    const Eigen::MatrixXd features = one_hot_features(space.id(), [&] {
      std::vector<ArchCode> a;
      a.reserve(cand.size());
      for (int64_t i : cand) a.push_back(arch[static_cast<size_t>(i)]);
      return a;
    }());
    AdaptationInput in{features, proxy, gather_target_samples(train, target.data()),
                       gather_target_samples(valid, target.data())};
    auto scheme = make_adaptation_scheme(stage.scheme);
    predicted = scheme->predict(in);
    // A linear operator model can extrapolate to zero or below for the fastest
    // architectures (a sum of skip connections and pooling): no latency can be read
    // from such a prediction, so the row cannot be judged against a limit in ms.
    for (Eigen::Index j = 0; j < m; ++j) r.invalid += !(std::isfinite(predicted[j]) && predicted[j] > 0);
    // The guard: the largest relative under-prediction on the validation samples.
    std::vector<float> pv, yv;
    for (int64_t j : valid) {
      const double p = predicted[j], y = target[static_cast<size_t>(j)];
      if (!(p > 0)) continue;
      r.guard = std::max(r.guard, (y - p) / p);
      pv.push_back(static_cast<float>(p));
      yv.push_back(static_cast<float>(y));
    }
    if (pv.size() >= 2) r.validation_srcc = spearman_pair(Backend::kCpu, pv.data(), yv.data(), static_cast<int64_t>(pv.size()));
  }

  // The limit: absolute milliseconds, or a quantile of the (guarded) predictions.
  // Invalid rows (no positive prediction) take no part: infinitely slow.
  std::vector<double> guarded(cand.size());
  for (size_t j = 0; j < cand.size(); ++j) {
    const double p = predicted[static_cast<Eigen::Index>(j)];
    guarded[j] = std::isfinite(p) && p > 0 ? p * (1.0 + r.guard) : std::numeric_limits<double>::infinity();
  }
  if (r.invalid == cand.size()) {
    throw UserError(fmt::format("deploy: scheme '{}' predicted no positive latency on '{}'; choose another scheme or "
                                "more samples",
                                stage.scheme, stage.target));
  }
  if (stage.constraint_ms > 0) {
    r.constraint_ms = stage.constraint_ms;
  } else {
    std::vector<double> sorted = guarded;
    const auto k = static_cast<size_t>(std::max(1.0, std::ceil(stage.quantile * static_cast<double>(sorted.size()))));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<int64_t>(k - 1), sorted.end());
    r.constraint_ms = sorted[k - 1];
    r.quantile = stage.quantile;
  }
  std::vector<size_t> feasible;
  for (size_t j = 0; j < cand.size(); ++j) {
    if (guarded[j] <= r.constraint_ms) feasible.push_back(j);
  }
  r.feasible = feasible.size();
  if (feasible.empty()) {
    const double fastest = *std::min_element(guarded.begin(), guarded.end());
    throw UserError(fmt::format("{}: no architecture is predicted within {} ms on '{}' (the fastest: {:.4g} ms{}); "
                                "raise the limit",
                                stage.constraint_where.empty() ? "deploy.constraint_ms" : stage.constraint_where,
                                r.constraint_ms, adapted ? stage.target : stage.proxy, fastest,
                                r.guard > 0 ? fmt::format(", guard {:.1f}% included", 100 * r.guard) : ""));
  }
  // Most accurate first; ties to the faster prediction, then the earlier row.
  std::sort(feasible.begin(), feasible.end(), [&](size_t a, size_t b) {
    const float aa = accuracy[static_cast<size_t>(cand[a])], ab = accuracy[static_cast<size_t>(cand[b])];
    if (aa != ab) return aa > ab;
    if (predicted[static_cast<Eigen::Index>(a)] != predicted[static_cast<Eigen::Index>(b)])
      return predicted[static_cast<Eigen::Index>(a)] < predicted[static_cast<Eigen::Index>(b)];
    return a < b;
  });
  const size_t shown = std::min<size_t>(feasible.size(), static_cast<size_t>(std::max(1, stage.alternatives + 1)));
  for (size_t s = 0; s < shown; ++s) {
    const size_t j = feasible[s];
    const auto row = static_cast<uint64_t>(cand[j]);
    DeployPick p;
    p.row = row;
    p.arch_index = space.id() == SpaceId::kNb201 ? static_cast<int64_t>(nb201_index(arch[row])) : static_cast<int64_t>(row);
    p.arch = space.to_string(arch[row]);
    p.predicted_ms = predicted[static_cast<Eigen::Index>(j)];
    p.accuracy = accuracy[row];
    p.measured_ms = adapted && std::isfinite(latency_ms[row * D + tc]) ? latency_ms[row * D + tc] : kNotKnown;
    r.picks.push_back(p);
  }
  return r;
}

void write_deploy(H5Writer& h5, const DeployReport& r) {
  h5.group("/deploy");
  const uint64_t P = r.picks.size();
  std::vector<std::string> arch;
  std::vector<uint64_t> index, row;
  std::vector<float> predicted, accuracy, measured;
  for (const auto& p : r.picks) {
    arch.push_back(p.arch);
    index.push_back(static_cast<uint64_t>(p.arch_index));
    row.push_back(p.row);
    predicted.push_back(static_cast<float>(p.predicted_ms));
    accuracy.push_back(static_cast<float>(p.accuracy));
    measured.push_back(static_cast<float>(p.measured_ms));
  }
  h5.strings("/deploy/arch", arch, "pick");
  H5Matrix ix = h5.vector_u64("/deploy/arch_index", P, "pick");
  ix.write_rows(0, P, index.data());
  H5Matrix rw = h5.vector_u64("/deploy/row", P, "pick");
  rw.write_rows(0, P, row.data());
  h5.array_f32("/deploy/predicted_ms", {P}, predicted.data(), {"pick"});
  h5.array_f32("/deploy/accuracy", {P}, accuracy.data(), {"pick"});
  h5.array_f32("/deploy/measured_ms", {P}, measured.data(), {"pick"});
  h5.attr("/deploy", "proxy", r.proxy);
  h5.attr("/deploy", "target", r.target);
  h5.attr("/deploy", "scheme", r.scheme);
  h5.attr("/deploy", "accuracy", r.accuracy);
  h5.attr("/deploy", "n", r.n);
  h5.attr("/deploy", "validation", r.validation);
  h5.attr("/deploy", "constraint_ms", r.constraint_ms);
  h5.attr("/deploy", "quantile", r.quantile);
  h5.attr("/deploy", "guard", r.guard);
  h5.attr("/deploy", "validation_srcc", r.validation_srcc);
  h5.attr("/deploy", "candidates", static_cast<int64_t>(r.candidates));
  h5.attr("/deploy", "feasible", static_cast<int64_t>(r.feasible));
  h5.attr("/deploy", "target_measured", static_cast<int64_t>(r.target_measured));
  h5.attr("/deploy", "invalid", static_cast<int64_t>(r.invalid));
}

void print_deploy(const DeployReport& r, std::ostream& out) {
  const std::string on = r.target.empty() ? r.proxy : r.target;
  fmt::print(out, "\nDeploy on {}: latency predicted from {}", on, r.proxy);
  if (!r.target.empty()) {
    fmt::print(out, " adapted by {} with {} + {} of the target's {} measured architectures (validation SRCC {:.3f})",
               r.scheme, r.n, r.validation, r.target_measured, r.validation_srcc);
  }
  fmt::print(out, "\nlimit {:.4g} ms{}; guard +{:.1f}% (the largest under-prediction on validation); {} of {} candidates "
             "predicted within it\n",
             r.constraint_ms, r.quantile > 0 ? fmt::format(" (quantile {:.2f} of the predictions)", r.quantile) : "",
             100 * r.guard, r.feasible, r.candidates);
  if (r.invalid > 0) {
    fmt::print(out, "{} candidates left out: the adapted linear model predicts no positive latency for them (the "
               "fastest end, extrapolated)\n",
               r.invalid);
  }
  fmt::print(out, "{:<6} {:>8} {:>13} {:>9} {:>12}  {}\n", "", "index", "predicted ms", "accuracy", "measured ms",
             "architecture");
  for (size_t i = 0; i < r.picks.size(); ++i) {
    const DeployPick& p = r.picks[i];
    fmt::print(out, "{:<6} {:>8} {:>13.4f} {:>9.2f} {:>12}  {}\n", i == 0 ? "chosen" : "", p.arch_index, p.predicted_ms,
               p.accuracy, std::isnan(p.measured_ms) ? std::string("-") : fmt::format("{:.4f}", p.measured_ms), p.arch);
  }
}

void export_deploy_json(const DeployReport& r, const std::string& path) {
  const DeployPick& p = r.picks.front();
  std::string j = "{\n";
  j += "  \"space\": " + json_string(r.space) + ",\n";
  j += "  \"arch\": " + json_string(p.arch) + ",\n";
  j += "  \"arch_index\": " + std::to_string(p.arch_index) + ",\n";
  j += "  \"predicted_ms\": " + json_float(p.predicted_ms) + ",\n";
  j += "  \"accuracy\": " + json_float(p.accuracy) + ",\n";
  j += "  \"accuracy_source\": " + json_string(r.accuracy) + ",\n";
  j += "  \"measured_ms\": " + json_float(p.measured_ms) + ",\n";
  j += "  \"constraint_ms\": " + json_float(r.constraint_ms) + ",\n";
  j += "  \"guard\": " + json_float(r.guard) + ",\n";
  j += "  \"proxy\": " + json_string(r.proxy) + ",\n";
  j += "  \"target\": " + (r.target.empty() ? std::string("null") : json_string(r.target)) + ",\n";
  j += "  \"scheme\": " + json_string(r.scheme) + ",\n";
  j += "  \"samples\": {\"train\": " + std::to_string(r.n) + ", \"validation\": " + std::to_string(r.validation) + "}\n";
  j += "}\n";
  write_atomically(path, j);
}

}  // namespace proxysim
