// Experiment configs: YAML parsed and validated up front into plain structs; the
// driver then runs them. Unknown keys, wrong types and bad values are UserErrors
// naming the file, the key path and the line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/engine.hpp"

namespace YAML {
class Node;
}

namespace proxysim {

struct ArchSelection {
  // kMeasured: the architectures of the measured tables (their union, in file order).
  enum class Kind { kEnumerate, kSample, kList, kMeasured } kind = Kind::kSample;
  uint64_t count = 0;      // kSample: how many; kEnumerate: the space's size
  uint64_t seed = 0;       // kSample
  std::vector<std::string> list;  // kList: architecture strings
};

struct EvalStage {
  uint64_t chunk = 1u << 18;  // architectures per chunk: bounds memory, not n
  EvalMode mode = EvalMode::kAuto;
};

struct MonotonicityStage {
  bool kendall = true;
  int64_t top_k = 100;              // 0 = off
  int32_t bootstrap = 0;            // resamples for SRCC intervals, 0 = off
  uint64_t bootstrap_seed = 0;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
  std::string target;               // a device column: rank every other column as its proxy
};

// Proxy adaptation over the run's latency matrix: for each target, each budget n and
// each repeat, n training + `validation` target measurements are drawn among the
// architectures measured on both devices and every scheme predicts the rest.
struct AdaptStage {
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
  // The adapted latencies themselves: every scheme's prediction for every architecture
  // measured on proxy and target, from the first repeat's draw (/adapt/predicted_ms),
  // and optionally the same as a CSV a script can read (export; "" = none).
  bool predict = false;
  std::string export_csv;
  // Where the device names were given ("file:line: 'key path'"), for errors the driver
  // raises once it knows the run's device columns.
  std::string proxy_where, targets_where, n_where, candidates_where, twin_where;
};

// Proxy selection over the run's latency matrix: for each target, each budget n and
// each repeat, n architectures measured on the target are drawn and every rule picks a
// proxy among the candidates from the target's latencies on them alone.
struct SelectStage {
  std::vector<std::string> candidates;  // empty = every column
  std::vector<std::string> targets;     // empty = every column
  std::vector<std::string> rules = {"max_mean_srcc", "max_min_srcc", "flops", "random"};
  std::vector<int64_t> n = {5, 10, 20, 50};  // target samples per selection
  std::string sampling = "random";           // random | stratified (by MACs)
  int32_t repeats = 20;
  uint64_t seed = 0;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
  // Where the device names and budgets were given ("file:line: 'key path'"), for errors
  // the driver raises once it knows the run's device columns.
  std::string candidates_where, targets_where, n_where;
};

// A population of simulated devices of one class sampled around center devices
// (sim/population.hpp); its devices join the run's simulated columns after the named ones.
struct PopulationRequest {
  std::string device_class;         // as in device YAML: mobile_cpu, gpu, ...
  uint64_t count = 0;
  uint64_t seed = 0;
  std::vector<std::string> centers;  // built-in or twin names, .yaml paths; empty = every built-in and twin of the class
  double spread = 1.0;               // scales every log-normal sigma of sim/population.hpp
  std::string prefix;                // device names <prefix>_0007; "" = pop_<class>
  std::string where;                 // "file:line: 'key path'", for errors the driver raises
};

// A device whose SRCC to a proxy on the run's architectures is `srcc` (within 0.02),
// on the path from the proxy to a far device (a seeded scrambled twin of the proxy
// unless `far` names one); it joins the simulated columns after the populations.
struct SrccRequest {
  std::string proxy;  // built-in name or .yaml path
  double srcc = 0.0;
  uint64_t seed = 0;
  std::string far;    // "" = a scrambled twin of the proxy drawn from `seed`
  std::string name;   // "" = <proxy>_srcc<100 x srcc>_s<seed>
  std::string where;
};

// Greedy proxy cover of the run's devices (search/proxy_cover.hpp) over a grid of
// SRCC thresholds: for all devices together and, with by_class, for each device class.
struct CoverStage {
  std::vector<double> thresholds = {0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99};
  bool by_class = true;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
};

// Hardware-aware NAS on a proxy (search/nas.hpp, experiments/nas.hpp): for every
// strategy, latency source, target, constraint and seed one search on the run's
// architecture table, judged on the target. Constraints are quantiles of latency: q
// admits the fastest ceil(q m) of the m eligible architectures, on the target for the
// judge and on each source for the search.
struct NasStage {
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
  std::string proxy_where, targets_where;
};

// Choosing the architecture to train for a target (experiments/deploy.hpp): the
// proxy's latencies, adapted with the target's measured rows when a target is given,
// searched exhaustively over the run's architectures under one latency limit.
struct DeployStage {
  std::string proxy;                 // a device column of the run
  std::string target;                // optional: a column with some of the target's measurements
  std::string scheme = "anchored";   // adaptation scheme (with a target): anchored on the proxy's measurements
  int64_t n = 0;                     // training samples; 0 = every measured one but the validation's
  int64_t validation = 10;
  double constraint_ms = 0;          // the limit in ms (> 0), or
  double quantile = 0;               // the limit as a quantile of the predictions
  std::string accuracy = "nb201";    // nb201 (the real table) | synthetic
  std::string accuracy_file;         // "" = nb201_accuracy.csv in the data directory
  uint64_t synthetic_seed = 0;
  uint64_t seed = 0;
  int32_t alternatives = 5;          // feasible runners-up reported after the choice
  bool include_disconnected = false;
  std::string export_json;           // optional: the choice as JSON
  std::string proxy_where, target_where, n_where, constraint_where;
};

struct ExperimentConfig {
  std::string file;           // where it was read from ("" for a CLI shorthand)
  std::string name = "run";
  std::string space = "nb201";
  std::string dataset;        // "" = the space's default
  ArchSelection archs;
  std::vector<std::string> devices = {"all"};  // built-in names, .yaml paths, "all"; empty = none
  std::vector<std::string> measured;           // measured latency CSVs: their columns are devices too
  std::vector<PopulationRequest> populations;  // devices: entries {population: {...}}
  std::vector<SrccRequest> srcc_devices;       // devices: entries {srcc_to: {...}}
  uint64_t noise_seed = 0;
  std::string backend = "auto";
  bool eval = false;
  EvalStage eval_stage;
  bool monotonicity = false;
  MonotonicityStage monotonicity_stage;
  bool adapt = false;
  AdaptStage adapt_stage;
  bool select = false;
  SelectStage select_stage;
  bool cover = false;
  CoverStage cover_stage;
  bool nas = false;
  NasStage nas_stage;
  bool deploy = false;
  DeployStage deploy_stage;
  std::string output;         // result file; "" = results/runs/<name>/<timestamp>/result.h5
  int summary_rows = 40;      // devices shown in the printed summary
};

ExperimentConfig load_config(const std::string& path);
// Where configs' data files are looked up (README, "Data"): PROXYSIM_DATA (which
// --data-dir sets), else the config's data_dir, else ../shared/data when it exists,
// else data/. `source` says which, for messages.
struct DataDir {
  std::string path, source;
};
DataDir resolve_data_dir(const std::string& config_value);

ExperimentConfig parse_config(const std::string& text, const std::string& file);
// The same on a loaded document; errors name the line of each node's mark (the line
// a sweep value or the key it replaced was written on).
ExperimentConfig parse_config_node(const YAML::Node& root, const std::string& file);
// The config as the run resolved it, as YAML: stored in the result file.
std::string resolved_yaml(const ExperimentConfig& c);

}  // namespace proxysim
