// The nas stage on spaces too large to tabulate (FBNet, OFA MobileNetV3, MBv2): every
// architecture a search asks about is lowered and evaluated on the proxy and the
// targets through the engine when first asked for, with the proposals of all the
// run's searches batched into one engine call per round (search/on_the_fly.hpp).
//
// Judging without enumeration: the run's own architectures (the eval stage's sample)
// set the constraints, as latency quantiles of that sample on the target (each
// source held to its own quantile of the same rank, as on a table) or limits in ms;
// the target's constrained optimum is *estimated* as the best target-feasible
// accuracy known: from the sample, from optimum_seeds regularized-evolution searches
// of optimum_budget evaluations on the target itself, and from every search of the
// run. Regret and the hypervolume ratio are against that estimate (and the front of
// everything known), and the result file says so.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "experiments/device_columns.hpp"
#include "experiments/nas.hpp"
#include "experiments/progress.hpp"
#include "experiments/stage.hpp"
#include "kernels/rank_stats.hpp"
#include "search/adaptation.hpp"
#include "search/affine_oracle.hpp"
#include "search/engine_oracle.hpp"
#include "search/features.hpp"
#include "search/nas.hpp"
#include "search/on_the_fly.hpp"

namespace proxysim {

namespace {

uint64_t optimum_seed(uint64_t seed, size_t tq, int32_t repeat) {
  return counter_hash(seed ^ 0x0971ull, tq, static_cast<uint64_t>(repeat));
}

// The schemes whose fit is an affine map of the proxy's latency and the one-hot
// features (AdaptationChoice::affine), so it predicts any architecture a search asks
// about; multi_proxy mixes other devices and the twin schemes simulate one.
const std::vector<std::string> kAffineSchemes = {"none", "target_only", "adaproxy", "adaproxy_sq", "anchored"};


// The adapted source: for each (target, repeat) the stage's scheme fitted on n +
// validation architectures of the run's sample measured on the proxy and the target
// (drawn as the tabulated stage draws them), kept as its affine form.
std::vector<AffineChannel> fit_adapted(const StageInput& in, const NasSettings& stage, const std::vector<ArchCode>& arch,
                                       EngineOracle& engine, const NasReport& r) {
  const size_t T = r.targets.size(), R = static_cast<size_t>(r.seeds);
  const uint64_t rows = arch.size();
  std::vector<Arch> archs(rows);
  for (uint64_t i = 0; i < rows; ++i) std::copy(arch[i].begin(), arch[i].end(), archs[i].begin());
  std::vector<float> v(rows * static_cast<size_t>(engine.channels()));
  engine.evaluate(archs, v);
  const auto C = static_cast<size_t>(engine.channels());
  const Eigen::MatrixXd features = one_hot_features(in.space.id(), arch);
  Eigen::VectorXd proxy(static_cast<Eigen::Index>(rows));
  for (uint64_t i = 0; i < rows; ++i) proxy[static_cast<Eigen::Index>(i)] = v[i * C];
  const Eigen::VectorXd w_p = proxy_operator_weights(features, proxy);
  std::vector<AffineChannel> out(T * R);
  std::vector<std::exception_ptr> errors(T * R);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < static_cast<int64_t>(T * R); ++task) {
    try {
      const size_t t = static_cast<size_t>(task) / R;
      const auto rep = static_cast<int32_t>(static_cast<size_t>(task) % R);
      std::vector<float> target(rows);
      for (uint64_t i = 0; i < rows; ++i) target[i] = v[i * C + t + 1];
      Eigen::VectorXd prediction;
      const auto scheme = nas_fit_adapted(stage, t, rep, features, proxy, target.data(), prediction, &w_p);
      const auto& affine = scheme->last_choice().affine;
      if (!affine) throw std::logic_error("nas: scheme '" + stage.scheme + "' left no affine form");
      out[static_cast<size_t>(task)] = AffineChannel{0, affine->proxy_scale, affine->feature_weights};
    } catch (...) {
      errors[static_cast<size_t>(task)] = std::current_exception();
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

}  // namespace

void check_on_the_fly(const NasSettings& s, const std::vector<std::string>& names, int simulated) {
  const NasDevices cols = resolve_nas_devices(s, names);
  auto simulated_only = [&](int32_t c, const std::string& key) {
    if (c >= simulated) {
      throw UserError(fmt::format("{}: '{}' is a measured column; on a space too large to tabulate the nas stage "
                                  "evaluates each architecture it searches on simulated devices only",
                                  key, names[static_cast<size_t>(c)]));
    }
  };
  simulated_only(cols.proxy, s.proxy_where.empty() ? "nas.proxy" : s.proxy_where);
  for (int32_t t : cols.targets) simulated_only(t, s.targets_where.empty() ? "nas.targets" : s.targets_where);
  if (std::find(s.sources.begin(), s.sources.end(), "adapted") != s.sources.end() &&
      std::find(kAffineSchemes.begin(), kAffineSchemes.end(), s.scheme) == kAffineSchemes.end()) {
    throw UserError(fmt::format("nas.scheme: '{}' cannot predict architectures outside its samples' table; on a space "
                                "evaluated on the fly the adapted source takes one of the schemes {}",
                                s.scheme, fmt::join(kAffineSchemes, ", ")));
  }
  if (std::find(s.strategies.begin(), s.strategies.end(), "exhaustive") != s.strategies.end()) {
    throw UserError("nas.strategies: 'exhaustive' cannot enumerate a space too large to tabulate");
  }
  if (s.accuracy != "synthetic") {
    throw UserError("nas.accuracy: a space other than nb201 has no accuracy table; use accuracy: synthetic");
  }
}

NasReport compute_nas_on_the_fly(const StageInput& in, const NasSettings& stage) {
  using Clock = std::chrono::steady_clock;
  const SearchSpace& space = in.space;
  check_on_the_fly(stage, in.names, static_cast<int>(in.simulated.size()));
  const NasDevices cols = resolve_nas_devices(stage, in.names);
  const uint64_t rows = in.rows;

  NasReport r = nas_report_axes(stage, cols, in.names);
  r.on_the_fly = true;
  r.optimum_budget = stage.optimum_budget;
  r.optimum_seeds = stage.optimum_seeds;
  const size_t S = r.strategies.size(), J = r.sources.size(), T = r.targets.size(), Q = r.constraints.size();
  const auto R = static_cast<size_t>(r.seeds);
  // Channels: 0 the proxy, 1..T the targets, T + 1 MACs (EngineOracle's order), then
  // with the adapted source T + 2 + t R + rep the proxy adapted to target t on repeat
  // rep's samples (AffineOracle).
  const int MACS = static_cast<int>(T) + 1;
  const bool want_adapted = std::find(r.sources.begin(), r.sources.end(), "adapted") != r.sources.end();
  auto adapted_channel = [&](size_t t, size_t rep) { return MACS + 1 + static_cast<int>(t * R + rep); };
  if (rows == 0) throw UserError("nas: the run has no architectures to set the constraints on (archs.count)");

  std::vector<EvalDevice> devices;
  devices.push_back(in.simulated[static_cast<size_t>(cols.proxy)]);
  for (int32_t t : cols.targets) devices.push_back(in.simulated[static_cast<size_t>(t)]);
  EngineOracle engine_oracle(space, in.backend, std::move(devices), in.engine_options, stage.synthetic_seed);

  // The sample: the run's architectures evaluated by the searches' own oracle, so that
  // every limit and every search compares values from one source (the latencies are
  // the eval stage's; the MACs the engine's, as the flops source sees them).
  const StageRows rows_of = stage_rows(space, in.codes, rows, false);
  std::vector<Arch> sample_archs(rows);
  for (uint64_t i = 0; i < rows; ++i) std::copy(rows_of.arch[i].begin(), rows_of.arch[i].end(), sample_archs[i].begin());
  std::unique_ptr<AffineOracle> affine;
  if (want_adapted) {
    if (rows < static_cast<uint64_t>(stage.n + stage.validation + 1)) {
      throw UserError(fmt::format("nas: the adapted source samples n + validation = {} of the run's architectures, "
                                  "which has {} (archs)",
                                  stage.n + stage.validation, rows));
    }
    affine = std::make_unique<AffineOracle>(space, engine_oracle, fit_adapted(in, stage, rows_of.arch, engine_oracle, r));
  }
  ArchOracle& oracle = affine ? static_cast<ArchOracle&>(*affine) : engine_oracle;
  const int C = oracle.channels();
  std::vector<float> sample_values(rows * static_cast<size_t>(C));
  oracle.evaluate(sample_archs, sample_values);
  std::vector<std::vector<float>> sample(static_cast<size_t>(C), std::vector<float>(rows));
  std::vector<float> acc(rows);
  for (uint64_t i = 0; i < rows; ++i) {
    for (int c = 0; c < C; ++c) sample[static_cast<size_t>(c)][i] = sample_values[i * static_cast<size_t>(C) + static_cast<size_t>(c)];
    acc[i] = static_cast<float>(oracle.accuracy(sample_archs[i]));
    // The same engine settings as the eval stage: the same latencies, exactly.
    const size_t D = in.names.size();
    for (size_t c = 0; c <= T; ++c) {
      const auto col = static_cast<size_t>(c == 0 ? cols.proxy : cols.targets[c - 1]);
      if (sample[c][i] != in.matrix[i * D + col]) {
        throw std::logic_error("nas: the on-the-fly engine and the eval stage disagree on '" + in.names[col] + "'");
      }
    }
  }
  const std::vector<uint8_t> every_row(rows, 1);
  auto kth = [&](const std::vector<float>& column, uint64_t k) { return order_statistic(column.data(), every_row.data(), rows, k); };
  const double lowest = *std::min_element(acc.begin(), acc.end());
  r.eligible.assign(T, static_cast<int64_t>(rows));
  r.srcc_proxy.resize(T);
  r.srcc_flops.resize(T);
  r.srcc_adapted_mean.assign(T, std::nan(""));
  const auto m = static_cast<int64_t>(rows);
  for (size_t t = 0; t < T; ++t) {
    r.srcc_proxy[t] = spearman_pair(Backend::kCpu, sample[0].data(), sample[t + 1].data(), m);
    r.srcc_flops[t] = spearman_pair(Backend::kCpu, sample[static_cast<size_t>(MACS)].data(), sample[t + 1].data(), m);
    if (!want_adapted) continue;
    double sum = 0;
    for (size_t rep = 0; rep < R; ++rep) {
      sum += spearman_pair(Backend::kCpu, sample[static_cast<size_t>(adapted_channel(t, rep))].data(), sample[t + 1].data(), m);
    }
    r.srcc_adapted_mean[t] = sum / static_cast<double>(R);
  }

  // Constraints on each target, and the rank k each source is held to.
  std::vector<uint64_t> kq(T * Q);
  r.constraint_ms.resize(T * Q);
  r.optimum_accuracy.resize(T * Q);
  for (size_t t = 0; t < T; ++t) {
    for (size_t q = 0; q < Q; ++q) {
      uint64_t k = 0;
      if (r.absolute) {
        for (float v : sample[t + 1]) k += v <= r.constraints[q] ? 1 : 0;
        if (k == 0) {
          throw UserError(fmt::format("nas.constraint_ms: none of the run's {} architectures is within {} ms on '{}' "
                                      "(its fastest: {:.4g} ms)",
                                      rows, r.constraints[q], r.targets[t],
                                      *std::min_element(sample[t + 1].begin(), sample[t + 1].end())));
        }
        r.constraint_ms[r.tq(t, q)] = r.constraints[q];
      } else {
        k = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(r.constraints[q] * static_cast<double>(rows))));
        r.constraint_ms[r.tq(t, q)] = kth(sample[t + 1], k);
      }
      kq[r.tq(t, q)] = k;
    }
  }

  const StrategyOptions base = nas_strategy_options(stage);

  // The run's searches in the report's [strategy][source][target][constraint][seed]
  // order, then the optimum searches [target][constraint][optimum seed].
  std::vector<OnTheFlyTask> tasks;
  std::vector<size_t> target_of;
  for (size_t s = 0; s < S; ++s) {
    for (size_t j = 0; j < J; ++j) {
      for (size_t t = 0; t < T; ++t) {
        for (size_t q = 0; q < Q; ++q) {
          for (size_t rep = 0; rep < R; ++rep) {
            OnTheFlyTask task;
            task.strategy = strategy_from_name(r.strategies[s]);
            task.seed = nas_search_seed(stage.seed, static_cast<int32_t>(rep));
            task.options = base;
            const std::string& src = r.sources[j];
            task.source_channel = src == "target"    ? static_cast<int>(t) + 1
                                  : src == "proxy"   ? 0
                                  : src == "adapted" ? adapted_channel(t, rep)
                                                     : MACS;
            task.source_limit = src == "target" ? r.constraint_ms[r.tq(t, q)]
                                                : kth(sample[static_cast<size_t>(task.source_channel)], kq[r.tq(t, q)]);
            tasks.push_back(task);
            target_of.push_back(t);
          }
        }
      }
    }
  }
  const size_t searches = tasks.size();
  for (size_t t = 0; t < T; ++t) {
    for (size_t q = 0; q < Q; ++q) {
      for (int32_t rep = 0; rep < stage.optimum_seeds; ++rep) {
        OnTheFlyTask task;
        task.strategy = StrategyKind::kRegularizedEvolution;
        task.seed = optimum_seed(stage.seed, r.tq(t, q), rep);
        task.options = base;
        task.options.budget = stage.optimum_budget;
        task.source_channel = static_cast<int>(t) + 1;
        task.source_limit = r.constraint_ms[r.tq(t, q)];
        tasks.push_back(task);
        target_of.push_back(t);
      }
    }
  }

  OnTheFlyOptions o;
  Progress bar(tasks.size(), 0, !in.quiet, in.log);
  o.progress = [&](int64_t done, int64_t) { bar.update(static_cast<uint64_t>(done)); };
  const auto t1 = Clock::now();
  OnTheFlyStats stats;
  std::vector<OnTheFlyResult> res;
  if (stage.batch_searches) {
    res = run_on_the_fly(SpaceShape::of(space), tasks, oracle, o, &stats);
  } else {
    // One search at a time: the reference the batched run equals.
    o.progress = nullptr;
    for (size_t i = 0; i < tasks.size(); ++i) {
      OnTheFlyStats one;
      res.push_back(std::move(run_on_the_fly(SpaceShape::of(space), {tasks[i]}, oracle, o, &one)[0]));
      stats.rounds += one.rounds;
      stats.evaluated_archs += one.evaluated_archs;
      bar.update(i + 1);
    }
  }
  bar.finish();
  r.seconds_search = std::chrono::duration<double>(Clock::now() - t1).count();
  r.oracle_rounds = stats.rounds;
  r.oracle_archs = stats.evaluated_archs;
  auto value = [&](const OnTheFlyResult& x, int32_t slot, int c) {
    return x.values[static_cast<size_t>(slot) * static_cast<size_t>(C) + static_cast<size_t>(c)];
  };
  auto accuracy_of = [](const OnTheFlyResult& x, int32_t slot) { return x.accuracy[static_cast<size_t>(slot)]; };

  // The estimated optimum and best known front per (target, constraint): the sample
  // and every architecture any search on that target evaluated.
  std::vector<double> true_hv(T * Q);
  for (size_t t = 0; t < T; ++t) {
    std::vector<std::pair<double, double>> known;
    for (uint64_t i = 0; i < rows; ++i) known.emplace_back(sample[t + 1][i], acc[i]);
    for (size_t i = 0; i < tasks.size(); ++i) {
      if (target_of[i] != t) continue;
      for (int32_t slot : res[i].evaluated) known.emplace_back(value(res[i], slot, static_cast<int>(t) + 1), accuracy_of(res[i], slot));
    }
    for (size_t q = 0; q < Q; ++q) {
      const double limit = r.constraint_ms[r.tq(t, q)];
      double best = -std::numeric_limits<double>::infinity();
      for (const auto& [ms, a] : known) {
        if (ms <= limit) best = std::max(best, a);
      }
      r.optimum_accuracy[r.tq(t, q)] = best;
      true_hv[r.tq(t, q)] = hypervolume_2d(known, limit, lowest);
    }
  }

  const size_t C_ = stage.checkpoints.size();
  for (auto* v : {&r.found_accuracy, &r.regret, &r.failed, &r.violation, &r.evaluations, &r.target_measurements,
                  &r.hypervolume_ratio, &r.found_row, &r.pick_row, &r.rejected}) {
    v->assign(searches, 0.0f);
  }
  r.best_accuracy.assign(searches * C_, std::nanf(""));
  for (size_t i = 0; i < searches; ++i) {
    const OnTheFlyResult& x = res[i];
    const size_t t = target_of[i], q = i / R % Q, j = i / (T * Q * R) % J;
    const int tc = static_cast<int>(t) + 1, sc = tasks[i].source_channel;
    const double limit = r.constraint_ms[r.tq(t, q)];
    // Best so far at each checkpoint.
    float best = -std::numeric_limits<float>::infinity();
    size_t e = 0;
    for (size_t c = 0; c < C_; ++c) {
      for (; e < x.evaluated.size() && static_cast<int64_t>(e) < stage.checkpoints[c]; ++e) best = std::max(best, accuracy_of(x, x.evaluated[e]));
      if (e > 0) r.best_accuracy[i * C_ + c] = best;
    }
    std::vector<int32_t> distinct = x.evaluated;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    std::vector<float> cost(x.archs.size()), accuracy(x.archs.size());
    for (size_t k = 0; k < x.archs.size(); ++k) {
      cost[k] = value(x, static_cast<int32_t>(k), sc);
      accuracy[k] = x.accuracy[k];  // NaN where not evaluated: never on the front
    }
    const std::vector<int32_t> front = pareto_front(distinct, cost.data(), accuracy.data());
    double found = -std::numeric_limits<double>::infinity();
    std::vector<std::pair<double, double>> measured;
    for (int32_t f : front) {
      const double ms = value(x, f, tc);
      measured.emplace_back(ms, accuracy[static_cast<size_t>(f)]);
      if (ms <= limit) found = std::max(found, static_cast<double>(accuracy[static_cast<size_t>(f)]));
    }
    int32_t pick = -1;
    for (int32_t d : distinct) {
      if (cost[static_cast<size_t>(d)] <= tasks[i].source_limit && (pick < 0 || accuracy[static_cast<size_t>(d)] > accuracy[static_cast<size_t>(pick)])) pick = d;
    }
    const bool failed = !std::isfinite(found);
    const bool is_target = r.sources[j] == "target";
    r.found_accuracy[i] = failed ? std::nanf("") : static_cast<float>(found);
    r.regret[i] = failed ? std::nanf("") : static_cast<float>(r.optimum_accuracy[r.tq(t, q)] - found);
    r.failed[i] = failed ? 1.0f : 0.0f;
    r.violation[i] = pick >= 0 && value(x, pick, tc) > limit ? 1.0f : 0.0f;
    r.evaluations[i] = static_cast<float>(x.evaluated.size());
    // The adapted source also spent its n + validation samples on the target.
    const int64_t adapt_cost = r.sources[j] == "adapted" ? stage.n + stage.validation : 0;
    r.target_measurements[i] = static_cast<float>((is_target ? distinct.size() : front.size()) + adapt_cost);
    const double hv = true_hv[r.tq(t, q)];
    r.hypervolume_ratio[i] = hv > 0 ? static_cast<float>(hypervolume_2d(std::move(measured), limit, lowest) / hv) : std::nanf("");
    r.found_row[i] = -1.0f;  // architectures of a search, not rows of the run
    r.pick_row[i] = -1.0f;
    r.rejected[i] = static_cast<float>(x.rejected);
  }
  r.points_accuracy = acc;
  for (size_t t = 0; t < T; ++t) r.points_target_ms.insert(r.points_target_ms.end(), sample[t + 1].begin(), sample[t + 1].end());
  return r;
}

}  // namespace proxysim
