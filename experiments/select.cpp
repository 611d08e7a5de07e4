#include "experiments/select.hpp"
#include "experiments/stage_rows.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <map>
#include <cassert>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>

#include "experiments/device_columns.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/adaptation.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"

namespace proxysim {

namespace {

enum class Rule { kMaxMeanSrcc, kMaxMinSrcc, kFlops, kRandom };

Rule rule_of(const std::string& name) {
  const auto& names = select_rule_names();
  return static_cast<Rule>(std::find(names.begin(), names.end(), name) - names.begin());
}

constexpr double kNoSrcc = -std::numeric_limits<double>::infinity();

// The draw of (target, budget, repeat) is its own counter-based stream, so a result
// does not depend on which thread ran it or on which other budgets were asked for.
uint64_t draw_seed(uint64_t seed, size_t target, int64_t n, int32_t repeat) {
  return counter_hash(counter_hash(seed, target, static_cast<uint64_t>(n)), static_cast<uint64_t>(repeat),
                      0x5e1ec7d0ull);
}

// The random rule's pick comes from its own stream, apart from the samples' draw.
uint64_t random_bits(uint64_t draw, uint64_t salt) { return counter_hash(draw, salt, 0x7a4d0e1bull); }

// Highest score wins; equal scores (non-finite ones count as the lowest) go to the
// smallest name, so a choice never depends on the order candidates were listed in.
struct Best {
  int32_t index = -1;
  double score = kNoSrcc;
  void offer(int32_t i, double s, const std::vector<std::string>& names) {
    if (!std::isfinite(s)) s = kNoSrcc;
    if (index < 0 || s > score || (s == score && names[static_cast<size_t>(i)] < names[static_cast<size_t>(index)])) {
      index = i;
      score = s;
    }
  }
};

// SRCC of x and y over the positions where both are finite; NaN with fewer than 3.
double srcc_where_measured(const std::vector<float>& x, const std::vector<float>& y, std::vector<float>& a,
                           std::vector<float>& b) {
  a.clear();
  b.clear();
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i])) {
      a.push_back(x[i]);
      b.push_back(y[i]);
    }
  }
  if (a.size() < 3) return std::nan("");
  return spearman_pair(Backend::kCpu, a.data(), b.data(), static_cast<int64_t>(a.size()));
}

}  // namespace

const std::vector<std::string>& select_rule_names() {
  static const std::vector<std::string> names = {"max_mean_srcc", "max_min_srcc", "flops", "random"};
  return names;
}

SelectDevices resolve_select_devices(const SelectSettings& stage, const std::vector<std::string>& names) {
  SelectDevices d;
  const std::string cw = stage.candidates_where.empty() ? "select.candidates" : stage.candidates_where;
  const std::string tw = stage.targets_where.empty() ? "select.targets" : stage.targets_where;
  d.candidates = device_columns(stage.candidates, names, cw, "candidate");
  d.targets = device_columns(stage.targets, names, tw, "target");
  for (int32_t t : d.targets) {
    if (d.candidates.size() == 1 && d.candidates[0] == t) {
      throw UserError(cw + ": target '" + names[static_cast<size_t>(t)] +
                      "' has no candidate proxy besides itself");
    }
  }
  return d;
}

SelectReport compute_selection(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                               const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                               const SelectSettings& stage) {
  const SelectDevices cols = resolve_select_devices(stage, devices);
  const size_t D = devices.size();
  SelectReport r;
  r.rules = stage.rules;
  r.n = stage.n;
  r.repeats = stage.repeats;
  r.seed = stage.seed;
  for (int32_t c : cols.candidates) r.candidates.push_back(devices[static_cast<size_t>(c)]);
  for (int32_t t : cols.targets) r.targets.push_back(devices[static_cast<size_t>(t)]);

  const size_t C = cols.candidates.size(), T = cols.targets.size(), N = stage.n.size(), S = stage.rules.size();
  const auto R = static_cast<size_t>(stage.repeats);

  // MACs per row from the space's lowering: the flops rule's proxy.
  const StageRows rows_of = stage_rows(space, codes, rows, stage.include_disconnected);
  const std::vector<uint8_t>& usable = rows_of.usable;
  r.excluded_disconnected = rows_of.excluded;
  std::vector<float> macs(rows);
  for (uint64_t i = 0; i < rows; ++i) macs[i] = static_cast<float>(space.totals(rows_of.arch[i]).macs);

  // Each target's view: the rows of the usable architectures measured on it (every
  // candidate's latency is read from the matrix there, NaN where it lacks the row).
  struct TargetData {
    std::vector<uint64_t> row;
  };
  auto candidate_at = [&](size_t c, uint64_t row) {
    return latency_ms[row * D + static_cast<size_t>(cols.candidates[c])];
  };
  std::vector<TargetData> data(T);
  r.eligible.resize(T);
  r.srcc_full.assign(C * T, std::nan(""));
  r.macs_srcc.resize(T);
  r.oracle.resize(T);
  r.oracle_srcc.resize(T);
  std::vector<int32_t> oracle_index(T, -1);
  for (size_t t = 0; t < T; ++t) {
    TargetData& d = data[t];
    const auto tc = static_cast<size_t>(cols.targets[t]);
    for (uint64_t i = 0; i < rows; ++i) {
      if (usable[i] && std::isfinite(latency_ms[i * D + tc])) d.row.push_back(i);
    }
    const auto m = static_cast<int64_t>(d.row.size());
    r.eligible[t] = m;
    if (m < stage.n.back()) {
      throw UserError(fmt::format("{}: n = {} samples need at least as many architectures as the {} measured on '{}'",
                                  stage.n_where.empty() ? "select.n" : stage.n_where, stage.n.back(), m, r.targets[t]));
    }
  }
  auto target_ms = [&](size_t t) {
    std::vector<float> y(data[t].row.size());
    for (size_t j = 0; j < y.size(); ++j) y[j] = latency_ms[data[t].row[j] * D + static_cast<size_t>(cols.targets[t])];
    return y;
  };
  // Full-data SRCC of every (candidate, target) pair and the oracle per target.
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < static_cast<int64_t>(C * T); ++task) {
    const size_t c = static_cast<size_t>(task) / T, t = static_cast<size_t>(task) % T;
    if (cols.candidates[c] == cols.targets[t]) continue;
    const std::vector<float> y = target_ms(t);
    std::vector<float> x(y.size()), a, b;
    for (size_t j = 0; j < x.size(); ++j) x[j] = candidate_at(c, data[t].row[j]);
    r.srcc_full[c * T + t] = srcc_where_measured(x, y, a, b);
  }
  for (size_t t = 0; t < T; ++t) {
    Best best;
    for (size_t c = 0; c < C; ++c) {
      if (cols.candidates[c] != cols.targets[t]) best.offer(static_cast<int32_t>(c), r.srcc_full[c * T + t], r.candidates);
    }
    oracle_index[t] = best.index;
    r.oracle[t] = r.candidates[static_cast<size_t>(best.index)];
    r.oracle_srcc[t] = r.srcc_full[static_cast<size_t>(best.index) * T + t];
    std::vector<float> x(data[t].row.size()), a, b;
    for (size_t j = 0; j < x.size(); ++j) x[j] = macs[data[t].row[j]];
    r.macs_srcc[t] = srcc_where_measured(x, target_ms(t), a, b);
  }

  // One task per (target, budget, repeat): its sample SRCC for every candidate and each
  // rule's per-target choice (C stands for MACs). Every task writes only its own slots
  // and the reductions below run in a fixed order, so the result is the same on any
  // number of threads.
  const size_t tasks = T * N * R;
  const auto kMacs = static_cast<int32_t>(C);
  std::vector<double> sample_srcc(tasks * C, std::nan(""));
  std::vector<int32_t> choice(tasks * S, -1);
  std::vector<std::exception_ptr> errors(tasks);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t task = 0; task < static_cast<int64_t>(tasks); ++task) {
    try {
      const size_t t = static_cast<size_t>(task) / (N * R);
      const size_t k = static_cast<size_t>(task) / R % N;
      const auto rep = static_cast<int32_t>(static_cast<size_t>(task) % R);
      const TargetData& d = data[t];
      const int64_t n = stage.n[k];
      std::vector<int64_t> pool(d.row.size());
      std::iota(pool.begin(), pool.end(), int64_t{0});
      const uint64_t seed = draw_seed(stage.seed, t, n, rep);
      // Stratified by MACs, known for every architecture: no candidate is favoured and
      // no target latency enters the draw.
      std::vector<int64_t> drawn;
      if (stage.sampling == "stratified") {
        std::vector<double> key(d.row.size());
        for (size_t j = 0; j < key.size(); ++j) key[j] = macs[d.row[j]];
        drawn = draw_rows_stratified(seed, pool, key, n);
      } else {
        drawn = draw_rows(seed, pool, n);
      }
      const auto tc = static_cast<size_t>(cols.targets[t]);
      std::vector<float> y(drawn.size()), x(drawn.size()), a, b;
      for (size_t j = 0; j < drawn.size(); ++j) y[j] = latency_ms[d.row[static_cast<size_t>(drawn[j])] * D + tc];
      std::vector<int32_t> others;
      Best best;
      for (size_t c = 0; c < C; ++c) {
        if (cols.candidates[c] == cols.targets[t]) continue;
        others.push_back(static_cast<int32_t>(c));
        for (size_t j = 0; j < drawn.size(); ++j) x[j] = candidate_at(c, d.row[static_cast<size_t>(drawn[j])]);
        const double s = srcc_where_measured(x, y, a, b);
        sample_srcc[static_cast<size_t>(task) * C + c] = s;
        best.offer(static_cast<int32_t>(c), s, r.candidates);
      }
      for (size_t s = 0; s < S; ++s) {
        int32_t pick = -1;
        switch (rule_of(stage.rules[s])) {
          // With one target the mean and the min of its one sample SRCC are equal.
          case Rule::kMaxMeanSrcc:
          case Rule::kMaxMinSrcc: pick = best.index; break;
          case Rule::kFlops: pick = kMacs; break;
          case Rule::kRandom:
            pick = others[bounded(random_bits(seed, 1), static_cast<uint32_t>(others.size()))];
            break;
        }
        choice[static_cast<size_t>(task) * S + s] = pick;
      }
    } catch (...) {
      errors[static_cast<size_t>(task)] = std::current_exception();
    }
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }

  r.chosen.assign(S * T * N * R, -1);
  for (size_t s = 0; s < S; ++s)
    for (size_t t = 0; t < T; ++t)
      for (size_t k = 0; k < N; ++k)
        for (size_t rep = 0; rep < R; ++rep) {
          const int32_t c = choice[((t * N + k) * R + rep) * S + s];
          r.chosen[r.at(s, t, k) * R + rep] = c == kMacs ? -1 : c;
        }
  auto full_of = [&](int32_t c, size_t t) {
    return c == kMacs ? r.macs_srcc[t] : r.srcc_full[static_cast<size_t>(c) * T + t];
  };
  r.srcc_mean.assign(S * T * N, 0.0);
  r.regret_mean.assign(S * T * N, 0.0);
  r.oracle_fraction.assign(S * T * N, 0.0);
  for (size_t s = 0; s < S; ++s) {
    for (size_t t = 0; t < T; ++t) {
      for (size_t k = 0; k < N; ++k) {
        double sum = 0, regret = 0, hits = 0;
        for (size_t rep = 0; rep < R; ++rep) {
          const int32_t c = choice[((t * N + k) * R + rep) * S + s];
          const double v = full_of(c, t);
          sum += v;
          regret += r.oracle_srcc[t] - v;
          hits += c == oracle_index[t] ? 1.0 : 0.0;
        }
        r.srcc_mean[r.at(s, t, k)] = sum / static_cast<double>(R);
        r.regret_mean[r.at(s, t, k)] = regret / static_cast<double>(R);
        r.oracle_fraction[r.at(s, t, k)] = hits / static_cast<double>(R);
      }
    }
  }

  // The group form: one proxy for every target, chosen from each target's own samples
  // of (budget, repeat). A candidate that is itself a target leaves that target out of
  // its score and of its regret: the proxy device needs no proxy.
  r.group_srcc_mean.assign(S * N, 0.0);
  r.group_regret_mean.assign(S * N, 0.0);
  for (size_t k = 0; k < N; ++k) {
    for (size_t rep = 0; rep < R; ++rep) {
      Best by_mean, by_min;
      std::vector<int32_t> eligible;
      for (size_t c = 0; c < C; ++c) {
        double sum = 0, low = std::numeric_limits<double>::infinity();
        size_t used = 0;
        for (size_t t = 0; t < T; ++t) {
          if (cols.candidates[c] == cols.targets[t]) continue;
          double v = sample_srcc[((t * N + k) * R + rep) * C + c];
          if (!std::isfinite(v)) v = kNoSrcc;
          sum += v;
          low = std::min(low, v);
          ++used;
        }
        if (used == 0) continue;
        eligible.push_back(static_cast<int32_t>(c));
        by_mean.offer(static_cast<int32_t>(c), sum / static_cast<double>(used), r.candidates);
        by_min.offer(static_cast<int32_t>(c), low, r.candidates);
      }
      // resolve_select_devices leaves every target a candidate other than itself.
      assert(!eligible.empty());
      const uint64_t group_seed = counter_hash(counter_hash(stage.seed, 0x9e0u, static_cast<uint64_t>(stage.n[k])),
                                               static_cast<uint64_t>(rep), 0x5e1ec7d0ull);
      for (size_t s = 0; s < S; ++s) {
        int32_t pick = -1;
        switch (rule_of(stage.rules[s])) {
          case Rule::kMaxMeanSrcc: pick = by_mean.index; break;
          case Rule::kMaxMinSrcc: pick = by_min.index; break;
          case Rule::kFlops: pick = kMacs; break;
          case Rule::kRandom:
            pick = eligible[bounded(random_bits(group_seed, 2), static_cast<uint32_t>(eligible.size()))];
            break;
        }
        double srcc = 0, regret = 0;
        size_t used = 0;
        for (size_t t = 0; t < T; ++t) {
          if (pick != kMacs && cols.candidates[static_cast<size_t>(pick)] == cols.targets[t]) continue;
          const double v = full_of(pick, t);
          srcc += v;
          regret += r.oracle_srcc[t] - v;
          ++used;
        }
        r.group_srcc_mean[r.group_at(s, k)] += srcc / static_cast<double>(used) / static_cast<double>(R);
        r.group_regret_mean[r.group_at(s, k)] += regret / static_cast<double>(used) / static_cast<double>(R);
      }
    }
  }
  return r;
}

}  // namespace proxysim
