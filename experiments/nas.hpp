// The nas stage: the paper's search-on-a-proxy flow (search/nas.hpp) for every
// strategy x latency source x target x constraint x seed on the run's architecture
// table, batched on the CPU's threads, judged on each target against its
// constrained optimum.
//
// Latency sources: `target` (the target's own column: every evaluation is a target
// measurement), `proxy` (the proxy's raw column), `adapted` (the proxy adapted to the
// target by `scheme` from n + validation target samples drawn per seed; those
// samples count as target measurements), `flops` (multiply-adds). Exhaustive search
// runs the paper's flow as it is: every architecture evaluated, the source's whole
// Pareto front measured on the target; the other strategies search within the
// source's own quantile constraint and measure the front of what they evaluated.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/engine.hpp"
#include "io/h5.hpp"
#include "search/adaptation.hpp"
#include "search/strategy.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Hardware-aware NAS on a proxy (search/nas.hpp, experiments/nas.hpp): for every
// strategy, latency source, target, constraint and seed one search on the run's
// architecture table, judged on the target. Constraints are quantiles of latency: q
// admits the fastest ceil(q m) of the m eligible architectures, on the target for the
// judge and on each source for the search.
struct NasSettings {
  std::string accuracy = "nb201";  // nb201 (the real table) | synthetic
  std::string accuracy_file;         // "" = nb201_accuracy.csv in the data directory
  uint64_t synthetic_seed = 0;
  std::string proxy;                 // a device column of the run
  std::vector<std::string> targets;  // empty = every column but the proxy
  std::vector<std::string> sources = {"target", "proxy", "adapted", "flops"};
  std::string scheme = "adaproxy";  // the adapted source's adaptation scheme
  int64_t n = 50;                   // its training samples on the target
  int64_t validation = 10;          // and validation samples
  std::vector<std::string> strategies = {"regularized_evolution"};
  std::vector<double> constraints = {0.1, 0.3, 0.5};  // latency quantiles on each target, or
  std::vector<double> constraint_ms;                  // limits in ms (then constraints is empty)
  int32_t seeds = 20;
  uint64_t seed = 0;
  int64_t budget = 1000;  // accuracy evaluations per search; 0 = no limit
  int32_t population = 20, sample = 5;  // regularized evolution
  int32_t ofa_population = 100, ofa_generations = 500;
  double ofa_mutation_prob = 0.1, ofa_parent_ratio = 0.25, ofa_mutation_ratio = 0.5;
  std::vector<int64_t> checkpoints = {10, 20, 50, 100, 200, 500, 1000};  // evaluations
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
  // Spaces too large to tabulate (experiments/nas_on_the_fly.cpp): the target's
  // optimum is estimated with optimum_seeds regularized-evolution searches of
  // optimum_budget evaluations on the target; batch_searches false runs the searches
  // one at a time (the reference the batched run equals).
  int64_t optimum_budget = 10000;
  int32_t optimum_seeds = 4;
  bool batch_searches = true;
  std::string proxy_where, targets_where;
};

const std::vector<std::string>& nas_source_names();  // target, proxy, adapted, flops

// The seed of repeat r's searches: one stream per repeat, shared by every strategy,
// source, target and constraint (tabulated or on the fly), so the sources are compared
// on common random numbers.
uint64_t nas_search_seed(uint64_t seed, int32_t repeat);
// The seed of the adapted proxy's samples for (target, repeat): one draw per pair,
// tabulated or on the fly.
uint64_t nas_adapt_seed(uint64_t seed, size_t target, int32_t repeat);

struct NasSettings;
// The adapted source's fit for (target, repeat): the stage's scheme on the n +
// validation rows that repeat draws (nas_adapt_seed, keyed by the proxy) from one row
// per architecture of `features`, its prediction of every row in `prediction`. The
// tabulated and the on-the-fly stage both fit through it. `proxy_weights`: w_P where
// the caller computed it once for many fits, else null.
std::unique_ptr<AdaptationScheme> nas_fit_adapted(const NasSettings& stage, size_t target, int32_t repeat,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& features,
                                                  const Eigen::Ref<const Eigen::VectorXd>& proxy_ms,
                                                  const float* target_ms, Eigen::VectorXd& prediction,
                                                  const Eigen::VectorXd* proxy_weights = nullptr);

struct NasDevices {
  int32_t proxy = -1;
  std::vector<int32_t> targets;
};
// Throws UserError naming the config key when a name is not a column or is listed
// twice; the proxy among the targets is dropped.
NasDevices resolve_nas_devices(const NasSettings& stage, const std::vector<std::string>& names);

struct NasReport {
  std::string proxy, accuracy, scheme;
  std::vector<std::string> strategies, sources, targets;
  std::vector<double> constraints;  // quantiles, or limits in ms when absolute
  bool absolute = false;            // constraints are limits in ms (nas.constraint_ms)
  std::vector<int64_t> checkpoints;
  int32_t seeds = 0;
  int64_t n = 0, validation = 0, budget = 0;
  // [target]
  std::vector<int64_t> eligible;
  std::vector<double> srcc_proxy, srcc_flops, srcc_adapted_mean;
  // [target][constraint]
  std::vector<double> constraint_ms, optimum_accuracy;
  // [strategy][source][target][constraint][seed]
  std::vector<float> found_accuracy, regret, failed, violation, evaluations, target_measurements, hypervolume_ratio;
  std::vector<float> found_row, pick_row;  // rows of the run's table; -1 = none
  std::vector<float> rejected;             // proposals the source refused before any evaluation
  // [row] accuracy of every row (NaN where not usable); [target][row] target latency
  // (NaN where not measured): what the Pareto figures draw the found rows against.
  std::vector<float> points_accuracy, points_target_ms;
  // [strategy][source][target][constraint][seed][checkpoint]
  std::vector<float> best_accuracy;
  double seconds_adapt = 0, seconds_search = 0;
  // On a space too large to tabulate: latency evaluated on the fly, the optimum and
  // the true front estimated (optimum_seeds x optimum_budget searches on the target,
  // with every architecture the run evaluated); engine calls and architectures sent.
  bool on_the_fly = false;
  int64_t optimum_budget = 0, optimum_seeds = 0, oracle_rounds = 0, oracle_archs = 0;
  size_t at(size_t s, size_t j, size_t t, size_t q, size_t r) const {
    return (((s * sources.size() + j) * targets.size() + t) * constraints.size() + q) * static_cast<size_t>(seeds) + r;
  }
  size_t tq(size_t t, size_t q) const { return t * constraints.size() + q; }
};

// A report with the settings' axes and scalars filled in (strategies, sources, targets
// named from `names`, constraints, checkpoints, seeds, n, validation, budget), what the
// tabulated and the on-the-fly stage share; and the strategies' options from the settings.
NasReport nas_report_axes(const NasSettings& stage, const NasDevices& cols, const std::vector<std::string>& names);
StrategyOptions nas_strategy_options(const NasSettings& stage);

// `latency_ms` is rows x devices (NaN = not measured), `codes` rows x space.decisions().
NasReport compute_nas(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                      const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                      const NasSettings& stage);
struct StageInput;
// The same on a space too large to tabulate, each architecture a search asks about
// evaluated on the run's simulated devices when first asked for (nas_on_the_fly.cpp).
NasReport compute_nas_on_the_fly(const StageInput& input, const NasSettings& stage);
// UserError unless the settings suit such a space: proxy and targets simulated (the
// first `simulated` columns), no adapted source, no exhaustive strategy, synthetic
// accuracy.
void check_on_the_fly(const NasSettings& stage, const std::vector<std::string>& names, int simulated);
// /nas in the result file: the 5-D outcome cubes and the 6-D best-so-far curves, with
// names along every axis.
void write_nas(H5Writer& h5, const NasReport& r);
// Per strategy and target: mean regret (failure rate) per source and constraint.
void print_nas_table(const NasReport& r, std::ostream& out);

}  // namespace proxysim
