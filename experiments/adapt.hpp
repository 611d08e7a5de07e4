// The adapt stage: how well each adaptation scheme turns the proxy's latencies into
// a ranking of each target's, as a function of the number of target measurements
// spent (Lu et al. 2022, Sec. 5), over the run's in-memory latency matrix.
#pragma once
#include <cstdint>
#include <map>
#include <ostream>
#include <string_view>
#include <string>
#include <vector>

#include "kernels/engine.hpp"
#include "io/h5.hpp"
#include "sim/device_spec.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Proxy adaptation over the run's latency matrix: for each target, each budget n and
// each repeat, n training + `validation` target measurements are drawn among the
// architectures measured on both devices and every scheme predicts the rest.
struct AdaptSettings {
  std::string proxy;                 // a device column of the run
  std::vector<std::string> targets;  // empty = every column but the proxy
  std::vector<std::string> schemes = {"none", "adaproxy", "anchored"};
  std::vector<int64_t> n = {5, 10, 20, 50, 100, 200};  // training samples per target
  int64_t validation = 10;           // held-out target samples that choose the regularisation
  int32_t repeats = 20;
  uint64_t seed = 0;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
  // multi_proxy's candidate proxies (device columns besides the proxy; empty = every
  // column but the proxy and the target) and how many of them it mixes at most.
  std::vector<std::string> candidates;
  int32_t k = 3;
  std::string sampling = "random";   // random | stratified (by the proxy's latency) | authors
  // paper: the authors' protocol, 60 training + 10 validation samples in one split
  // drawn as their notebook drew it (sampling authors, seed 1, one repeat); paper_mean:
  // the same with 20 splits (Python seeds 1..20); extension: n, validation, repeats,
  // sampling and seed as given. A paper protocol overrides those five keys.
  std::string protocol = "extension";
  // adaproxy's lambda candidates and tie-break (search/adaptation.hpp).
  std::string adaproxy_grid = "authors";         // authors | proxysim
  std::string adaproxy_tie = "least_penalised";  // least_penalised | most_penalised
  // The twin scheme's simulated twin of the proxy: a built-in or calibrated device
  // name; empty = twin_<proxy column>.
  std::string twin;
  // target_twin / target_start: each target's class, as a device class name or a
  // built-in or twin device (its class); a target absent here takes the class of its
  // own calibrated twin, else of a built-in of its name (resolve_target_starts below).
  std::map<std::string, std::string> target_class;
  // How a target's table was measured (end_to_end | block_sum), as its source says;
  // a target absent here has its measurement chosen with the start on the training
  // samples.
  std::map<std::string, std::string> target_measurement;
  // The adapted latencies themselves: every scheme's prediction for every architecture
  // measured on proxy and target, from the first repeat's draw (/adapt/predicted_ms),
  // and optionally the same as a CSV a script can read (export; "" = none).
  bool predict = false;
  std::string export_csv;
  // Where the device names were given ("file:line: 'key path'"), for errors the driver
  // raises once it knows the run's device columns.
  std::string proxy_where, targets_where, n_where, candidates_where, twin_where, target_class_where,
      target_measurement_where;
};

// Column indices of the stage's proxy, targets and multi_proxy candidates among the
// run's device names. Throws UserError naming the config key when a name is not a
// column or is listed twice; a target equal to the proxy is dropped (adapting a device
// to itself measures nothing), and so is the proxy among the candidates (multi_proxy
// always has it). Each target later drops itself from the candidates.
struct AdaptDevices {
  int32_t proxy = -1;
  std::vector<int32_t> targets, candidates;
};
AdaptDevices resolve_adapt_devices(const AdaptSettings& stage, const std::vector<std::string>& names);

// The proxy's simulated twin for the `twin` scheme (adapt.twin, default
// twin_<proxy>), or null when the stage does not run that scheme. Throws UserError
// naming the proxy and the key when there is no such device.
const DeviceSpec* resolve_adapt_twin(const AdaptSettings& stage);

// ---- target_twin's starts and their provenance ----
//
// A measured column's device key: the column name without HW-NAS-Bench's `rice_`
// prefix (the OneProxy release's name for HW-NAS-Bench's columns) or its `_latency`
// suffix (hwnasbench_nb201_cifar10.csv) and without underscores, so that one device's
// data under the three tables' names (help raspi4, hwnasbench raspi4_latency, oneproxy
// rice_raspi4: the same values) have one key, and so has one device and batch across
// spaces (HELP's OFA titan_xp_1 and NB201/FBNet titanxp_1).
std::string measured_device_key(std::string_view column);
// A built-in device's hardware: its name without a batch (`_b256`) or precision
// (`_fp16`) suffix and without underscores, so titan_rtx_b1/_b32/_b256 are one
// hardware (titanrtx), comparable with a measured_device_key.
std::string builtin_hardware(std::string_view name);
// A calibrated twin's provenance from its `source:` line (written by `proxysim
// calibrate`): the measured columns it was fitted on ("FILE column NAME (...)") and the
// built-in it was started from ("started from NAME"); ok = false when the line says
// neither (such a twin is never a start).
struct TwinProvenance {
  std::vector<std::string> columns;
  std::string started_from;
  bool ok = false;
};
TwinProvenance twin_provenance(const DeviceSpec& twin);

// The starts of target_twin for one target column. The target's own twins are the
// twins fitted on a column with the target's device key; its hardware is what they
// were started from (and a built-in with the target's key as its hardware). Excluded
// from the starts: its own twins, every twin or built-in of the same hardware at any
// batch or precision (so titan_rtx_256 excludes titan_rtx_b1/_b32/_b256 and
// twin_titan_rtx_1/_32/_64/_256), and every twin whose provenance cannot be read. The
// class is adapt.target_class's entry (a class name, or a built-in or twin device whose
// class it takes), else the class of the target's own twin, else of a built-in named
// like the target; UserError naming
// adapt.target_class when there is neither, or when no start is left in the class.
struct TargetStarts {
  DeviceClass device_class = DeviceClass::kCpu;
  std::string class_source;                // "adapt.target_class" or the own twin it came from
  std::vector<const DeviceSpec*> starts;   // built-ins first, then twins, in library order
  std::vector<std::string> excluded;       // "name (why)" for each device of the class left out
  std::vector<std::string> own_twins;      // the twins fitted on the target's own data
  std::vector<std::string> hardware;       // the target's hardware keys
};
TargetStarts resolve_target_starts(const std::string& target, const AdaptSettings& stage);
// Whether the stage runs target_twin or target_start.
bool adapt_uses_target_starts(const AdaptSettings& stage);

struct AdaptReport {
  std::string proxy;
  std::vector<std::string> targets, schemes;
  std::vector<int64_t> n;
  std::string sampling, protocol, adaproxy_grid, adaproxy_tie;
  std::vector<std::string> candidates;  // multi_proxy's, before each target drops itself
  int32_t k = 0;
  std::string twin;  // the twin scheme's twin of the proxy; empty when it did not run
  // target_twin / target_start: each target's starts (comma-separated) and class, and
  // per [target][n][repeat] the start target_twin chose and its mu (+infinity = the start
  // unchanged); empty when neither ran.
  std::vector<std::string> target_starts, target_class;
  std::vector<std::string> target_twin_start;
  std::vector<double> target_twin_mu;
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
                               const AdaptSettings& stage);
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
