// The adapt stage: how well each adaptation scheme turns the proxy's latencies into
// a ranking of each target's, as a function of the number of target measurements
// spent (Lu et al. 2022, Sec. 5), over the run's in-memory latency matrix.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/config.hpp"
#include "io/h5.hpp"
#include "sim/device_spec.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Column indices of the stage's proxy, targets and multi_proxy candidates among the
// run's device names. Throws UserError naming the config key when a name is not a
// column or is listed twice; a target equal to the proxy is dropped (adapting a device
// to itself measures nothing), and so is the proxy among the candidates (multi_proxy
// always has it). Each target later drops itself from the candidates.
struct AdaptDevices {
  int32_t proxy = -1;
  std::vector<int32_t> targets, candidates;
};
AdaptDevices resolve_adapt_devices(const AdaptStage& stage, const std::vector<std::string>& names);

// The proxy's simulated twin for the `twin` scheme (adapt.twin, default
// twin_<proxy>), or null when the stage does not run that scheme. Throws UserError
// naming the proxy and the key when there is no such device.
const DeviceSpec* resolve_adapt_twin(const AdaptStage& stage);

struct AdaptReport {
  std::string proxy;
  std::vector<std::string> targets, schemes;
  std::vector<int64_t> n;
  std::string sampling, protocol, adaproxy_grid, adaproxy_tie;
  std::vector<std::string> candidates;  // multi_proxy's, before each target drops itself
  int32_t k = 0;
  std::string twin;  // the twin scheme's twin of the proxy; empty when it did not run
  int64_t validation = 0;
  int32_t repeats = 0;
  uint64_t seed = 0;
  // [scheme][target][n], flattened: SRCC between prediction and true target latency
  // over every eligible architecture (mean and std over repeats) and over the ones
  // not sampled (mean).
  std::vector<double> srcc_mean, srcc_std, srcc_unsampled_mean;
  std::vector<double> srcc_unadapted;  // [target]: SRCC(proxy, target), no measurement spent
  std::vector<int64_t> eligible;       // [target]: architectures measured on proxy and target
  uint64_t excluded_disconnected = 0;
  // With adapt.predict: the first repeat's fits applied to every row of the run,
  // [scheme][target][n][row] flattened; NaN where the row is not measured on both proxy
  // and target, or where the scheme's prediction is not a latency (zero, negative or
  // not finite: a linear correction can go there on architectures unlike its samples).
  // `invalid` counts those per [scheme][target][n]; `sampled` marks each [target][n]'s
  // draw per row (1 training, 2 validation).
  uint64_t rows = 0;
  std::vector<float> predicted_ms;
  std::vector<uint8_t> sampled;
  std::vector<int64_t> invalid;
  // Each prediction stored as NaN for want of a latency, with the model's value: why.
  struct InvalidPrediction {
    uint32_t scheme, target, k;
    uint64_t row;
    double predicted_ms;
  };
  std::vector<InvalidPrediction> invalid_rows;
  size_t at(size_t scheme, size_t target, size_t k) const { return (scheme * targets.size() + target) * n.size() + k; }
};

// The seed of the draw of (target index, budget, repeat): its own counter-based
// stream, so a result does not depend on the thread that ran it or on the other
// budgets asked for.
uint64_t adaptation_draw_seed(uint64_t seed, size_t target, int64_t n, int32_t repeat);

// `latency_ms` is rows x devices (NaN = not measured), `codes` rows x space.decisions().
AdaptReport compute_adaptation(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                               const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                               const AdaptStage& stage);
// /adapt in the result file: [scheme, target, n] cubes of mean, spread and
// unsampled-architecture SRCC, with the names along each axis.
void write_adaptation(H5Writer& h5, const AdaptReport& r);
// The predictions as CSV (adapt.export): one line per (target, n, row measured on
// both) with the architecture, whether the row was drawn, the target's measured latency
// and each scheme's prediction (empty where invalid). Written aside and renamed into place.
void export_adaptation_csv(const AdaptReport& r, const SearchSpace& space, const std::vector<uint8_t>& codes,
                           const std::vector<float>& latency_ms, const std::vector<std::string>& devices,
                           const std::string& path);
// One line per (scheme, target, n) whose first-repeat predictions had invalid rows.
void print_invalid_predictions(const AdaptReport& r, std::ostream& out);
// Target, unadapted SRCC and each scheme's mean SRCC, one block per n, with a mark
// where a scheme ranks the target worse than the unadapted proxy.
void print_adaptation_table(const AdaptReport& r, std::ostream& out);

}  // namespace proxysim
