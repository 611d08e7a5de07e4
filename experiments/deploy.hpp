// The deploy stage: pick the architecture to train for a device that has no full
// latency table. Every architecture of the run is a candidate; its latency on the
// target is predicted from the proxy's (adapted with a few of the target's
// measurements when a target column is given), and the most accurate candidate whose
// prediction, widened by the largest under-prediction seen on the validation samples,
// meets the constraint is chosen. No target latency beyond the sampled ones is used.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/engine.hpp"
#include "io/h5.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Choosing the architecture to train for a target (experiments/deploy.hpp): the
// proxy's latencies, adapted with the target's measured rows when a target is given,
// searched exhaustively over the run's architectures under one latency limit.
struct DeploySettings {
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

struct DeployPick {
  uint64_t row = 0;
  int64_t arch_index = -1;      // NB201's official index; the run's row elsewhere
  std::string arch;
  double predicted_ms = 0;      // on the target's scale when adapted, else the proxy's
  double accuracy = 0;
  double measured_ms = 0;       // the target's own measurement when it has one, else NaN
};

struct DeployReport {
  std::string space, proxy, target, scheme, accuracy;
  int64_t n = 0, validation = 0;
  uint64_t candidates = 0, feasible = 0, target_measured = 0;
  uint64_t invalid = 0;         // candidates with no positive predicted latency, left out
  double constraint_ms = 0;     // the limit the predictions were held to
  double quantile = 0;          // when the limit came from a quantile of the predictions
  double guard = 0;             // relative widening of each prediction (validation's worst under-prediction)
  double validation_srcc = 0;   // adapted prediction vs target on the validation samples (NaN without)
  std::vector<DeployPick> picks;  // the choice first, then the next most accurate feasible ones
};

void resolve_deploy_devices(const DeploySettings& stage, const std::vector<std::string>& names);
DeployReport compute_deploy(const SearchSpace& space, const std::vector<float>& latency_ms, uint64_t rows,
                            const std::vector<uint8_t>& codes, const std::vector<std::string>& devices,
                            const DeploySettings& stage);
void write_deploy(H5Writer& h5, const DeployReport& r);
void print_deploy(const DeployReport& r, std::ostream& out);
// The choice as a small JSON object a training script can read; written aside and
// renamed into place.
void export_deploy_json(const DeployReport& r, const std::string& path);

}  // namespace proxysim
