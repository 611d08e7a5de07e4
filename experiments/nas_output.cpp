// The nas stage's outputs: its HDF5 group and its table.
#include "experiments/nas.hpp"
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

void write_nas(H5Writer& h5, const NasReport& r) {
  h5.group("/nas");
  h5.strings("/nas/strategies", r.strategies, "strategy");
  h5.strings("/nas/sources", r.sources, "source");
  h5.strings("/nas/targets", r.targets, "target");
  const size_t S = r.strategies.size(), J = r.sources.size(), T = r.targets.size(), Q = r.constraints.size(),
               R = static_cast<size_t>(r.seeds), C = r.checkpoints.size();
  auto f32 = [](const auto& v) { return std::vector<float>(v.begin(), v.end()); };
  const auto q = f32(r.constraints);
  h5.array_f32("/nas/constraints", {Q}, q.data(), {"constraint"});
  const auto cp = f32(r.checkpoints);
  h5.array_f32("/nas/checkpoints", {C}, cp.data(), {"checkpoint"});
  const std::vector<uint64_t> shape5 = {S, J, T, Q, R};
  const std::vector<std::string> dims5 = {"strategy", "source", "target", "constraint", "seed"};
  h5.array_f32("/nas/found_accuracy", shape5, r.found_accuracy.data(), dims5);
  h5.array_f32("/nas/regret", shape5, r.regret.data(), dims5);
  h5.array_f32("/nas/failed", shape5, r.failed.data(), dims5);
  h5.array_f32("/nas/violation", shape5, r.violation.data(), dims5);
  h5.array_f32("/nas/evaluations", shape5, r.evaluations.data(), dims5);
  h5.array_f32("/nas/target_measurements", shape5, r.target_measurements.data(), dims5);
  h5.array_f32("/nas/hypervolume_ratio", shape5, r.hypervolume_ratio.data(), dims5);
  h5.array_f32("/nas/found_row", shape5, r.found_row.data(), dims5);
  h5.array_f32("/nas/pick_row", shape5, r.pick_row.data(), dims5);
  h5.array_f32("/nas/rejected", shape5, r.rejected.data(), dims5);
  h5.array_f32("/nas/points_accuracy", {r.points_accuracy.size()}, r.points_accuracy.data(), {"row"});
  h5.array_f32("/nas/points_target_ms", {r.targets.size(), r.points_accuracy.size()}, r.points_target_ms.data(),
               {"target", "row"});
  h5.array_f32("/nas/best_accuracy", {S, J, T, Q, R, C}, r.best_accuracy.data(),
               {"strategy", "source", "target", "constraint", "seed", "checkpoint"});
  const auto cms = f32(r.constraint_ms), opt = f32(r.optimum_accuracy);
  h5.array_f32("/nas/constraint_ms", {T, Q}, cms.data(), {"target", "constraint"});
  h5.array_f32("/nas/optimum_accuracy", {T, Q}, opt.data(), {"target", "constraint"});
  const auto el = f32(r.eligible), sp = f32(r.srcc_proxy), sf = f32(r.srcc_flops), sa = f32(r.srcc_adapted_mean);
  h5.array_f32("/nas/eligible", {T}, el.data(), {"target"});
  h5.array_f32("/nas/srcc_proxy", {T}, sp.data(), {"target"});
  h5.array_f32("/nas/srcc_flops", {T}, sf.data(), {"target"});
  h5.array_f32("/nas/srcc_adapted_mean", {T}, sa.data(), {"target"});
  h5.attr("/nas", "proxy", r.proxy);
  h5.attr("/nas", "accuracy", r.accuracy);
  h5.attr("/nas", "scheme", r.scheme);
  h5.attr("/nas", "n", r.n);
  h5.attr("/nas", "validation", r.validation);
  h5.attr("/nas", "budget", r.budget);
  h5.attr("/nas", "constraint_kind", std::string(r.absolute ? "ms" : "quantile"));
  h5.attr("/nas", "seconds_adapt", r.seconds_adapt);
  h5.attr("/nas", "seconds_search", r.seconds_search);
  // A table's optimum is exact; on a space evaluated on the fly it is the best known.
  h5.attr("/nas", "latency", std::string(r.on_the_fly ? "on_the_fly" : "table"));
  h5.attr("/nas", "optimum", std::string(r.on_the_fly ? "estimated" : "exact"));
  if (r.on_the_fly) {
    h5.attr("/nas", "optimum_budget", r.optimum_budget);
    h5.attr("/nas", "optimum_seeds", r.optimum_seeds);
    h5.attr("/nas", "oracle_rounds", r.oracle_rounds);
    h5.attr("/nas", "oracle_archs", r.oracle_archs);
  }
}

void print_nas_table(const NasReport& r, std::ostream& out) {
  const size_t J = r.sources.size(), T = r.targets.size(), Q = r.constraints.size(), R = static_cast<size_t>(r.seeds);
  fmt::print(out, "\nNAS on proxy {} ({} accuracy{}): accuracy regret in points, mean (standard deviation, failed "
             "searches) over {} seeds\n",
             r.proxy, r.accuracy, r.accuracy == "synthetic" ? ", a surrogate" : "", r.seeds);
  if (r.on_the_fly) {
    fmt::print(out, "latency evaluated on the fly ({} engine calls, {} architectures); regret against an ESTIMATED "
               "optimum: the best known of the run's sample, {} x {} evaluations of evolution on each target and "
               "every search\n",
               r.oracle_rounds, r.oracle_archs, r.optimum_seeds, r.optimum_budget);
  }
  for (size_t s = 0; s < r.strategies.size(); ++s) {
    fmt::print(out, "{}\n{:<22} {:<9} {:>6}", r.strategies[s], "target", "source", "SRCC");
    for (double c : r.constraints) fmt::print(out, " {:>21}", r.absolute ? fmt::format("<= {:g} ms", c) : fmt::format("q={:.2f}", c));
    fmt::print(out, " {:>9}\n", "measured");
    for (size_t t = 0; t < T; ++t) {
      for (size_t j = 0; j < J; ++j) {
        const std::string& src = r.sources[j];
        const double srcc = src == "target" ? 1.0 : src == "proxy" ? r.srcc_proxy[t] : src == "flops" ? r.srcc_flops[t] : r.srcc_adapted_mean[t];
        fmt::print(out, "{:<22} {:<9} {:>6.3f}", j == 0 ? r.targets[t] : "", src, srcc);
        double measured = 0;
        for (size_t q = 0; q < Q; ++q) {
          double sum = 0, sum_sq = 0, fails = 0, ok = 0;
          for (size_t rep = 0; rep < R; ++rep) {
            const size_t i = r.at(s, j, t, q, rep);
            measured += r.target_measurements[i];
            if (r.failed[i] > 0) {
              ++fails;
            } else {
              sum += r.regret[i];
              sum_sq += static_cast<double>(r.regret[i]) * r.regret[i];
              ++ok;
            }
          }
          const double mean = ok > 0 ? sum / ok : std::nan("");
          // Sample standard deviation over the seeds that found an architecture.
          const double sd = ok > 1 ? std::sqrt(std::max(0.0, (sum_sq - ok * mean * mean) / (ok - 1))) : 0.0;
          fmt::print(out, " {:>21}", fmt::format("{:.3f} ({:.3f}, {:.0f})", mean, sd, fails));
        }
        fmt::print(out, " {:>9.0f}\n", measured / static_cast<double>(Q * R));
      }
    }
    // A search that can draw no new feasible architecture stops before its budget
    // (exhaustive and ofa_evolution end by design: the space, the generations).
    if (r.budget > 0 && r.strategies[s] != "exhaustive" && r.strategies[s] != "ofa_evolution") {
      size_t early = 0, total = 0;
      float fewest = std::numeric_limits<float>::infinity();
      for (size_t j = 0; j < J; ++j)
        for (size_t t = 0; t < T; ++t)
          for (size_t q = 0; q < Q; ++q)
            for (size_t rep = 0; rep < R; ++rep) {
              const float e = r.evaluations[r.at(s, j, t, q, rep)];
              ++total;
              if (e < static_cast<float>(r.budget)) {
                ++early;
                fewest = std::min(fewest, e);
              }
            }
      if (early > 0) {
        const auto [lo, hi] = std::minmax_element(r.eligible.begin(), r.eligible.end());
        fmt::print(out, "{}: {} of {} searches ended before the budget of {} evaluations (the fewest after {:.0f}): "
                   "no new feasible architecture could be drawn ({} to {} eligible per target)\n",
                   r.strategies[s], early, total, r.budget, fewest, *lo, *hi);
      }
    }
  }
}

}  // namespace proxysim
