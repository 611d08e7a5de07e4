// Proxy adaptation (Lu et al. 2022, Sec. 5): turn a proxy device's latencies into
// predictions of a target device's latencies from a few target measurements. Latency
// is modelled as linear in a one-hot operator encoding (search/features.hpp); a
// scheme sees the features and proxy latencies of every architecture but the target
// latencies of the sampled architectures only, and AdaptationInput has no field
// through which any other target latency could reach it.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "search/calibration.hpp"
#include "sim/device_spec.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Target measurements of a few architectures (rows of the feature matrix).
struct TargetSamples {
  std::vector<int64_t> rows;
  Eigen::VectorXd latency_ms;  // same order as rows
};

// An empty (0 x 0) matrix: no candidate proxies besides the proxy.
const Eigen::MatrixXd& no_candidate_proxies();

// Proxy-side context of the `twin` scheme: the proxy's calibrated simulated twin and
// the architectures behind the rows, lowered once to operators (for every row, so a
// prediction can be made for each; no latency of any device is in it).
struct ProxyTwin {
  std::string proxy;  // the proxy's column name, for messages
  std::string name;   // the twin's device name
  DeviceParams params;
  std::shared_ptr<const LoweredArchs> archs;
  std::vector<int64_t> arch_of_row;  // row of the features -> architecture in archs; empty = the same index
};
// The twin of `proxy` over the architectures `codes` (one per row of the features).
ProxyTwin make_proxy_twin(std::string proxy, const DeviceSpec& twin, const SearchSpace& space,
                          const std::vector<ArchCode>& codes);

// Target-side context of the `target_twin` scheme: the start devices of the target's
// class (never one fitted on, or modelling the hardware of, the target itself: see
// experiments/adapt.hpp, resolve_target_starts) and the architectures behind the rows,
// lowered once. No latency of any device is in it.
struct TargetTwinStarts {
  std::string target;              // the target's column name, for messages
  std::vector<std::string> names;  // one per start
  std::vector<DeviceParams> params;
  std::shared_ptr<const LoweredArchs> archs;
  std::vector<int64_t> arch_of_row;  // row of the features -> architecture in archs; empty = the same index
  // How the target was measured in this space, where its table says so
  // (adapt.target_measurement); unknown = chosen with the start on the training samples.
  bool measurement_known = false;
  Measurement measurement = Measurement::kEndToEnd;
};
// The starts `devices` over the architectures `codes` (one per row of the features).
TargetTwinStarts make_target_twin_starts(std::string target, const std::vector<const DeviceSpec*>& devices,
                                         const SearchSpace& space, const std::vector<ArchCode>& codes);

struct AdaptationInput {
  Eigen::Ref<const Eigen::MatrixXd> features;  // n x F; the last column is the constant 1
  Eigen::Ref<const Eigen::VectorXd> proxy_ms;  // n, measured on the proxy
  TargetSamples train;                         // fit the scheme's parameters
  TargetSamples validation;                    // choose its regularisation (by SRCC)
  // n x C latencies of other candidate proxies (multi_proxy mixes them with the
  // proxy): proxy-side data, measured in full, never the target's own column. Every
  // other scheme ignores it.
  Eigen::Ref<const Eigen::MatrixXd> candidate_proxies_ms = no_candidate_proxies();
  // The proxy's twin (the `twin` scheme recalibrates it); null when there is none.
  // Every other scheme ignores it.
  const ProxyTwin* proxy_twin = nullptr;
  // The target's class starts (target_twin and target_start recalibrate or rescale
  // them); null when there are none. Every other scheme ignores it.
  const TargetTwinStarts* target_starts = nullptr;
  // proxy_operator_weights(features, proxy_ms), when the caller computed it once for
  // many fits on the same rows (it depends on neither the samples nor the scheme, and
  // is most of an FBNet fit's cost); null = computed by the scheme.
  const Eigen::VectorXd* proxy_weights = nullptr;
};

// w_P: least-squares weights of the proxy's latencies on the features, the minimum-norm
// solution where the one-hot groups make columns dependent.
Eigen::VectorXd proxy_operator_weights(const Eigen::Ref<const Eigen::MatrixXd>& features,
                                       const Eigen::Ref<const Eigen::VectorXd>& proxy_ms);

// Throws UserError when sizes disagree, a row is out of range or sampled twice
// (within or across the two sets), a latency is not finite, or there are fewer than
// three training samples.
void check_adaptation_input(const AdaptationInput& input);

// Copies the target latencies of `rows` out of a full per-architecture vector: the
// caller's one place to hold every target latency, so it never enters a scheme.
TargetSamples gather_target_samples(const std::vector<int64_t>& rows, const float* target_ms);

// `count` distinct entries of `pool` (partial Fisher-Yates), a pure function of
// (seed, pool, count) through the counter-based RNG, so any run redraws them.
std::vector<int64_t> draw_rows(uint64_t seed, const std::vector<int64_t>& pool, int64_t count);

// `count` distinct entries of `pool`, one from each of `count` strata of equal size
// (the quantiles of `key`, key[i] belonging to pool[i]; ties broken by pool order), so
// the draw spans the key's range. In stratum order (ascending key); a pure function of
// (seed, pool, key, count). The key is proxy-side data (a proxy's latency, MACs).
std::vector<int64_t> draw_rows_stratified(uint64_t seed, const std::vector<int64_t>& pool,
                                          const std::vector<double>& key, int64_t count);

// kAuthors: CPython's random.seed(seed); random.sample(range(m), n + v), the first n
// for training, as the paper's authors drew them (search/python_random.hpp); the seed
// is used as given, not hashed, so seed 1 is the authors' split.
enum class Sampling { kRandom, kStratified, kAuthors };
const std::vector<std::string>& sampling_names();  // random, stratified (proxy selection)
const std::vector<std::string>& adaptation_sampling_names();  // random, stratified, authors
Sampling sampling_from_name(std::string_view name);  // throws UserError otherwise

// The n training and v validation samples of one repeat among positions 0..m-1 of a
// target's eligible architectures, m = proxy_ms.size(). Random: one draw_rows of n + v
// (train first). Stratified by the proxy's latency: n strata over all m, then v strata
// over the rest, so both sets span the proxy's range. Takes no target latency.
struct SampleSplit {
  std::vector<int64_t> train, validation;
};
SampleSplit draw_adaptation_samples(Sampling sampling, uint64_t seed, const std::vector<double>& proxy_ms, int64_t n,
                                    int64_t v);

// What a scheme chose on its validation samples in its last predict().
struct AdaptationChoice {
  double lambda = 0;           // +infinity: the unadapted member of the family (twin: its mu)
  // NaN when the scheme chooses nothing; anchored: the chosen fit's leave-one-out SRCC
  // over all its samples, or the proxy's SRCC over them when it keeps the proxy.
  double validation_srcc = 0;
  // anchored: true when its test found no evidence against the proxy and it returned the
  // proxy rescaled (rank-identical to no adaptation).
  bool kept_proxy = false;
  // multi_proxy: the mixed proxies (0 = proxy_ms, 1 + j = candidate_proxies_ms column
  // j) and their non-negative weights in the prediction; empty for other schemes.
  std::vector<int64_t> proxy_columns;
  std::vector<double> proxy_weights;
  // target_twin / target_start: the start chosen on the training samples (its name, and
  // " (block_sum)" when walked block by block), and its index in the starts.
  std::string start;
  int64_t start_index = -1;
  // The prediction as an affine map of what any architecture has, where the scheme's
  // is one: proxy_scale * proxy_ms + features * feature_weights (the features' last,
  // constant column carries the intercept). none, target_only, adaproxy, adaproxy_sq
  // and anchored set it; it is empty for multi_proxy (other proxies' latencies) and
  // the twin schemes (a simulated device). A search on a space too large to tabulate
  // predicts the architectures it proposes with it (experiments/nas_on_the_fly.cpp).
  struct Affine {
    double proxy_scale = 0;
    Eigen::VectorXd feature_weights;
  };
  std::optional<Affine> affine;
};

class AdaptationScheme {
 public:
  virtual ~AdaptationScheme() = default;
  // Predicted target latency (ms) of every architecture, n entries.
  virtual Eigen::VectorXd predict(const AdaptationInput& input) = 0;
  virtual std::string name() const = 0;
  const AdaptationChoice& last_choice() const { return choice_; }

 protected:
  AdaptationChoice choice_;
};

// adaproxy's lambda candidates. authors: the range the authors' notebook scanned,
// lambda from 1 to 1e5 on latencies in seconds, taken relative to lambda_max (see
// docs/ARCHITECTURE.md, "AdaProxy as its authors ran it"): lambda_max * 10^(-k/4),
// k = 24..0, so from a near-unpenalised fit to b = 0. proxysim: b = 0 and
// lambda_max * 10^(-j/2), j = 1..8.
enum class LambdaGrid { kAuthors, kProxysim };
// Which candidate wins a tie in validation SRCC. least_penalised: the authors' scan
// (ascending lambda, a later lambda must be strictly better); most_penalised: the
// simpler model, proxysim's earlier choice.
enum class LambdaTie { kLeastPenalised, kMostPenalised };
const std::vector<std::string>& lambda_grid_names();  // authors, proxysim
const std::vector<std::string>& lambda_tie_names();   // least_penalised, most_penalised
LambdaGrid lambda_grid_from_name(std::string_view name);
LambdaTie lambda_tie_from_name(std::string_view name);

struct AdaptationOptions {
  LambdaGrid adaproxy_grid = LambdaGrid::kAuthors;
  LambdaTie adaproxy_tie = LambdaTie::kLeastPenalised;
  int multi_proxy_k = 3;  // most proxies multi_proxy mixes
  // twin: the prior weights mu validation chooses from (+infinity = the unchanged
  // twin, always a candidate), and the cap on evaluations of one recalibration.
  std::vector<double> twin_mu = {1.0, 0.1, 0.01, 0.001};
  int twin_max_evaluations = 300;
};

// none | target_only | adaproxy | adaproxy_sq | anchored | multi_proxy | twin |
// target_twin | target_start. Throws UserError otherwise.
std::unique_ptr<AdaptationScheme> make_adaptation_scheme(std::string_view name, const AdaptationOptions& options = {});
std::vector<std::string> adaptation_scheme_names();

// target_twin's choice of start: each start walked end to end and block by block (a
// target measured as a sum of blocks timed alone, like HW-NAS-Bench's FBNet devices,
// is only expressible the second way), or only as the target was measured where
// starts.measurement_known, scored on the training samples alone by the
// variance of log(measured / predicted), the mean squared log error left once the
// free scale is fitted. The lowest wins; ties go to the earlier start, end to end
// first. Returns (start index, measurement) and the walked start's parameters.
struct TargetStartChoice {
  int64_t index = -1;
  Measurement measurement = Measurement::kEndToEnd;
  DeviceParams params;
  double loss = 0;
};
TargetStartChoice choose_target_start(const TargetTwinStarts& starts, const std::vector<int64_t>& archs,
                                      const std::vector<double>& latency_ms);

}  // namespace proxysim
