#include "experiments/nas.hpp"
#include "experiments/stage_rows.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>

#include "experiments/device_columns.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/accuracy.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "search/nas.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

namespace {

enum Source { kTarget = 0, kProxy = 1, kAdapted = 2, kFlops = 3 };

Source source_of(const std::string& name) {
  const auto& names = nas_source_names();
  return static_cast<Source>(std::find(names.begin(), names.end(), name) - names.begin());
}

}  // namespace

uint64_t nas_adapt_seed(uint64_t seed, size_t target, int32_t repeat) {
  return counter_hash(seed ^ 0xada9ull, target, static_cast<uint64_t>(repeat));
}

std::unique_ptr<AdaptationScheme> nas_fit_adapted(const NasSettings& stage, size_t target, int32_t repeat,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& features,
                                                  const Eigen::Ref<const Eigen::VectorXd>& proxy_ms,
                                                  const float* target_ms, Eigen::VectorXd& prediction,
                                                  const Eigen::VectorXd* proxy_weights) {
  const std::vector<double> key(proxy_ms.data(), proxy_ms.data() + proxy_ms.size());
  const SampleSplit split = draw_adaptation_samples(Sampling::kRandom, nas_adapt_seed(stage.seed, target, repeat), key,
                                                    stage.n, stage.validation);
  AdaptationInput in{features, proxy_ms, gather_target_samples(split.train, target_ms),
                     gather_target_samples(split.validation, target_ms)};
  in.proxy_weights = proxy_weights;
  std::unique_ptr<AdaptationScheme> scheme = make_adaptation_scheme(stage.scheme);
  prediction = scheme->predict(in);
  return scheme;
}

uint64_t nas_search_seed(uint64_t seed, int32_t repeat) { return counter_hash(seed, static_cast<uint64_t>(repeat), 0x5ea6c4ull); }

const std::vector<std::string>& nas_source_names() {
  static const std::vector<std::string> names = {"target", "proxy", "adapted", "flops"};
  return names;
}

NasDevices resolve_nas_devices(const NasSettings& stage, const std::vector<std::string>& names) {
  NasDevices d;
  d.proxy = device_column(names, stage.proxy, stage.proxy_where.empty() ? "nas.proxy" : stage.proxy_where, "proxy");
  const std::string tw = stage.targets_where.empty() ? "nas.targets" : stage.targets_where;
  for (int32_t t : device_columns(stage.targets, names, tw, "target")) {
    if (t != d.proxy) d.targets.push_back(t);
  }
  if (d.targets.empty()) throw UserError(tw + ": no target besides the proxy '" + stage.proxy + "'");
  return d;
}

NasReport nas_report_axes(const NasSettings& stage, const NasDevices& cols, const std::vector<std::string>& names) {
  NasReport r;
  r.proxy = stage.proxy;
  r.accuracy = stage.accuracy;
  r.scheme = stage.scheme;
  r.strategies = stage.strategies;
  r.sources = stage.sources;
  r.absolute = !stage.constraint_ms.empty();
  r.constraints = r.absolute ? stage.constraint_ms : stage.constraints;
  r.checkpoints = stage.checkpoints;
  r.seeds = stage.seeds;
  r.n = stage.n;
  r.validation = stage.validation;
  r.budget = stage.budget;
  for (int32_t t : cols.targets) r.targets.push_back(names[static_cast<size_t>(t)]);
  return r;
}

StrategyOptions nas_strategy_options(const NasSettings& stage) {
  StrategyOptions o;
  o.budget = stage.budget;
  o.population = stage.population;
  o.sample = stage.sample;
  o.ofa_population = stage.ofa_population;
  o.ofa_generations = stage.ofa_generations;
  o.ofa_mutation_prob = stage.ofa_mutation_prob;
  o.ofa_parent_ratio = stage.ofa_parent_ratio;
  o.ofa_mutation_ratio = stage.ofa_mutation_ratio;
  return o;
}

NasReport compute_nas(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                      const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                      const NasSettings& stage) {
  using Clock = std::chrono::steady_clock;
  const NasDevices cols = resolve_nas_devices(stage, devices);
  const size_t D = devices.size();
  const TabularSpace table(space, codes, rows);

  NasReport r = nas_report_axes(stage, cols, devices);
  const size_t S = r.strategies.size(), J = r.sources.size(), T = r.targets.size(), Q = r.constraints.size();
  const auto R = static_cast<size_t>(r.seeds);

  const StageRows rows_of = stage_rows(space, codes, rows, stage.include_disconnected);
  const std::vector<ArchCode>& arch = rows_of.arch;
  const std::vector<uint8_t>& usable = rows_of.usable;
  std::vector<float> macs(rows);
  for (uint64_t i = 0; i < rows; ++i) macs[i] = static_cast<float>(space.totals(arch[i]).macs);
  const std::vector<float> accuracy =
      accuracy_for(space, arch, stage.accuracy, stage.accuracy_file, stage.synthetic_seed);
  std::vector<float> proxy_ms(rows);
  for (uint64_t i = 0; i < rows; ++i) proxy_ms[i] = latency_ms[i * D + static_cast<size_t>(cols.proxy)];

  // Per target: eligible rows (usable, accuracy known, measured on proxy and target),
  // the target column, and per seed the adapted proxy's predictions.
  std::vector<std::vector<uint8_t>> eligible(T, std::vector<uint8_t>(rows, 0));
  std::vector<std::vector<float>> target_ms(T, std::vector<float>(rows, std::nanf("")));
  std::vector<std::vector<float>> adapted;  // [t * R + r][row]
  const bool want_adapted = std::find(r.sources.begin(), r.sources.end(), "adapted") != r.sources.end();
  if (want_adapted) adapted.assign(T * R, std::vector<float>(rows, std::nanf("")));
  r.eligible.resize(T);
  r.srcc_proxy.resize(T);
  r.srcc_flops.resize(T);
  r.srcc_adapted_mean.assign(T, std::nan(""));
  std::vector<std::vector<int64_t>> eligible_rows(T);
  for (size_t t = 0; t < T; ++t) {
    const auto tc = static_cast<size_t>(cols.targets[t]);
    for (uint64_t i = 0; i < rows; ++i) {
      const float y = latency_ms[i * D + tc];
      target_ms[t][i] = y;
      if (usable[i] && std::isfinite(accuracy[i]) && std::isfinite(y) && std::isfinite(proxy_ms[i])) {
        eligible[t][i] = 1;
        eligible_rows[t].push_back(static_cast<int64_t>(i));
      }
    }
    const auto m = static_cast<int64_t>(eligible_rows[t].size());
    r.eligible[t] = m;
    const int64_t need = want_adapted ? stage.n + stage.validation + 1 : 1;
    if (m < need) {
      throw UserError(fmt::format("nas: only {} architectures are measured on both '{}' and '{}' with a known accuracy "
                                  "(need at least {})",
                                  m, stage.proxy, r.targets[t], need));
    }
    std::vector<float> a(static_cast<size_t>(m)), b(static_cast<size_t>(m)), c(static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j) {
      const auto i = static_cast<size_t>(eligible_rows[t][static_cast<size_t>(j)]);
      a[static_cast<size_t>(j)] = proxy_ms[i];
      b[static_cast<size_t>(j)] = target_ms[t][i];
      c[static_cast<size_t>(j)] = macs[i];
    }
    r.srcc_proxy[t] = spearman_pair(Backend::kCpu, a.data(), b.data(), m);
    r.srcc_flops[t] = spearman_pair(Backend::kCpu, c.data(), b.data(), m);
  }

  // The adapted proxies: one adaptation per (target, seed), its samples drawn from the
  // target's eligible architectures with their own counter-based seed.
  const auto t0 = Clock::now();
  if (want_adapted) {
    const Eigen::MatrixXd all_features = one_hot_features(space.id(), arch);
    std::vector<double> srcc(T * R, 0.0);
    std::vector<std::exception_ptr> errors(T * R);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < static_cast<int64_t>(T * R); ++task) {
      try {
        const size_t t = static_cast<size_t>(task) / R;
        const auto rep = static_cast<int32_t>(static_cast<size_t>(task) % R);
        const auto& er = eligible_rows[t];
        const auto m = static_cast<int64_t>(er.size());
        Eigen::MatrixXd features(m, all_features.cols());
        Eigen::VectorXd pms(m);
        std::vector<float> tms(static_cast<size_t>(m));
        for (int64_t j = 0; j < m; ++j) {
          const auto i = static_cast<size_t>(er[static_cast<size_t>(j)]);
          features.row(j) = all_features.row(static_cast<Eigen::Index>(i));
          pms[j] = proxy_ms[i];
          tms[static_cast<size_t>(j)] = target_ms[t][i];
        }
        Eigen::VectorXd p;
        nas_fit_adapted(stage, t, rep, features, pms, tms.data(), p);
        std::vector<float> pf(static_cast<size_t>(m));
        for (int64_t j = 0; j < m; ++j) {
          pf[static_cast<size_t>(j)] = static_cast<float>(p[j]);
          adapted[static_cast<size_t>(task)][static_cast<size_t>(er[static_cast<size_t>(j)])] = pf[static_cast<size_t>(j)];
        }
        srcc[static_cast<size_t>(task)] = spearman_pair(Backend::kCpu, pf.data(), tms.data(), m);
      } catch (...) {
        errors[static_cast<size_t>(task)] = std::current_exception();
      }
    }
    for (const auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (size_t t = 0; t < T; ++t) {
      double s = 0;
      for (size_t rep = 0; rep < R; ++rep) s += srcc[t * R + rep];
      r.srcc_adapted_mean[t] = s / static_cast<double>(R);
    }
  }
  r.seconds_adapt = std::chrono::duration<double>(Clock::now() - t0).count();

  // Judges per (target, constraint): the constraint as the k-th fastest eligible
  // architecture on the target, the constrained optimum and the true front's area.
  std::vector<NasProblem> problems(T);
  std::vector<TargetJudge> judges(T * Q);
  std::vector<uint64_t> kth(T * Q);
  r.constraint_ms.resize(T * Q);
  r.optimum_accuracy.resize(T * Q);
  for (size_t t = 0; t < T; ++t) {
    problems[t] = NasProblem{&table, eligible[t].data(), accuracy.data()};
    const auto& er = eligible_rows[t];
    double lowest = std::numeric_limits<double>::infinity();
    for (int64_t i : er) lowest = std::min(lowest, static_cast<double>(accuracy[static_cast<size_t>(i)]));
    for (size_t q = 0; q < Q; ++q) {
      uint64_t k = 0;
      if (r.absolute) {
        // A limit in ms admits the target's architectures within it: the k fastest,
        // and each other source is held to its own k-th fastest as with a quantile.
        double fastest = std::numeric_limits<double>::infinity();
        for (int64_t i : er) {
          const double v = target_ms[t][static_cast<size_t>(i)];
          k += v <= r.constraints[q] ? 1 : 0;
          fastest = std::min(fastest, v);
        }
        if (k == 0)
          throw UserError(fmt::format("nas.constraint_ms: no architecture measured on '{}' is within {} ms (its fastest "
                                      "of {}: {:.4g} ms)",
                                      r.targets[t], r.constraints[q], er.size(), fastest));
      } else {
        k = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(r.constraints[q] * static_cast<double>(er.size()))));
      }
      kth[r.tq(t, q)] = k;
      TargetJudge& jd = judges[r.tq(t, q)];
      jd.target_ms = target_ms[t].data();
      jd.constraint_ms = r.absolute ? r.constraints[q] : order_statistic(target_ms[t].data(), eligible[t].data(), rows, k);
      jd.reference_accuracy = lowest;
      double best = -std::numeric_limits<double>::infinity();
      std::vector<std::pair<double, double>> pts;
      for (int64_t i : er) {
        const auto u = static_cast<size_t>(i);
        if (target_ms[t][u] <= jd.constraint_ms) {
          best = std::max(best, static_cast<double>(accuracy[u]));
          pts.emplace_back(target_ms[t][u], accuracy[u]);
        }
      }
      jd.optimum_accuracy = best;
      jd.true_hypervolume = hypervolume_2d(std::move(pts), jd.constraint_ms, lowest);
      r.constraint_ms[r.tq(t, q)] = jd.constraint_ms;
      r.optimum_accuracy[r.tq(t, q)] = best;
    }
  }
  // Target-side judges with source_is_target set, for the target source's tasks.
  std::vector<TargetJudge> all_judges = judges;
  for (auto jd : judges) {
    jd.source_is_target = true;
    all_judges.push_back(jd);
  }

  const StrategyOptions base = nas_strategy_options(stage);

  std::vector<BatchTask> tasks;
  tasks.reserve(S * J * T * Q * R);
  for (size_t s = 0; s < S; ++s) {
    const StrategyKind kind = strategy_from_name(r.strategies[s]);
    for (size_t j = 0; j < J; ++j) {
      const Source src = source_of(r.sources[j]);
      for (size_t t = 0; t < T; ++t) {
        for (size_t q = 0; q < Q; ++q) {
          for (size_t rep = 0; rep < R; ++rep) {
            BatchTask bt;
            bt.problem = t;
            bt.judge = r.tq(t, q) + (src == kTarget ? T * Q : 0);
            bt.spec.strategy = kind;
            bt.spec.seed = nas_search_seed(stage.seed, static_cast<int32_t>(rep));
            bt.spec.options = base;
            if (kind == StrategyKind::kExhaustive) {
              bt.spec.options.budget = 0;
              bt.spec.whole_front = true;  // the paper's flow: the source's whole front is measured
            }
            bt.spec.source = src == kTarget    ? target_ms[t].data()
                             : src == kProxy   ? proxy_ms.data()
                             : src == kFlops   ? macs.data()
                                               : adapted[t * R + rep].data();
            bt.spec.source_limit = order_statistic(bt.spec.source, eligible[t].data(), rows, kth[r.tq(t, q)]);
            tasks.push_back(bt);
          }
        }
      }
    }
  }
  const auto t1 = Clock::now();
  const std::vector<SearchOutcome> out = run_search_batch(problems, all_judges, tasks, stage.checkpoints);
  r.seconds_search = std::chrono::duration<double>(Clock::now() - t1).count();

  const size_t total = tasks.size(), C = stage.checkpoints.size();
  for (auto* v : {&r.found_accuracy, &r.regret, &r.failed, &r.violation, &r.evaluations, &r.target_measurements,
                  &r.hypervolume_ratio, &r.found_row, &r.pick_row, &r.rejected}) {
    v->assign(total, 0.0f);
  }
  r.best_accuracy.assign(total * C, 0.0f);
  for (size_t i = 0; i < total; ++i) {
    const SearchOutcome& o = out[i];
    // Tasks were laid out in the report's [strategy][source][target][constraint][seed] order.
    const size_t j = i / (T * Q * R) % J;
    r.found_accuracy[i] = static_cast<float>(o.found_accuracy);
    r.regret[i] = static_cast<float>(o.regret);
    r.failed[i] = o.failed ? 1.0f : 0.0f;
    r.violation[i] = o.violation ? 1.0f : 0.0f;
    r.evaluations[i] = static_cast<float>(o.evaluations);
    const int64_t adapt_cost = source_of(r.sources[j]) == kAdapted ? stage.n + stage.validation : 0;
    r.target_measurements[i] = static_cast<float>(o.target_measurements + adapt_cost);
    r.hypervolume_ratio[i] = static_cast<float>(o.hypervolume_ratio);
    r.found_row[i] = static_cast<float>(o.found_row);  // exact below 2^24 rows, far above a table's
    r.pick_row[i] = static_cast<float>(o.pick_row);
    r.rejected[i] = static_cast<float>(o.rejected);  // float32: exact up to 2^24
    std::copy(o.best_accuracy.begin(), o.best_accuracy.end(), r.best_accuracy.begin() + static_cast<int64_t>(i * C));
  }
  r.points_accuracy.assign(rows, std::nanf(""));
  for (uint64_t i = 0; i < rows; ++i) {
    if (usable[i]) r.points_accuracy[i] = accuracy[i];
  }
  r.points_target_ms.reserve(T * rows);
  for (size_t t = 0; t < T; ++t) r.points_target_ms.insert(r.points_target_ms.end(), target_ms[t].begin(), target_ms[t].end());
  return r;
}

}  // namespace proxysim
