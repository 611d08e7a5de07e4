// `proxysim calibrate`: fit a simulated device (a twin) to a real device's measured
// latencies in one or more spaces, write it as a device YAML, and report how well it
// ranks and predicts architectures it was not fitted on, next to two baselines: the
// per-device linear model on one-hot operator features (AdaProxy's base predictor)
// fitted on the same architectures, and MACs (a FLOPs-proportional model).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "search/calibration.hpp"
#include "sim/device_spec.hpp"

namespace proxysim {

struct CalibrateOptions {
  std::vector<std::string> data;    // FILE:COLUMN, one per space the device was measured in
  std::vector<std::string> starts;  // built-in devices to start from; the first is the reference
  bool class_starts = true;         // also start from every built-in device of the reference's class
  int64_t train = 200;              // training architectures per space
  uint64_t seed = 0;                // training split and restarts
  std::string name;                 // twin name; "" = twin_<first column>
  std::string imitates;             // "" = the real device's column and file
  std::string dataset;              // NB201 dataset variant; "" = the space's default
  int32_t batch = 0;                // batch size of the measurements; 0 = the reference start's
  int restarts = 2;
  int max_evaluations = 3000;
  // How each space's table was measured, SPACE=end_to_end|block_sum; a space not
  // listed is detected from its training rows (see HeldOutReport::additivity).
  std::vector<std::string> measurement;
  double validation_fraction = 0.25;  // training rows held back for the never-worse rule
  // One parameter set for every space (true), or one fit per space (false, the
  // default): the twin keeps the first space's set as its parameters and each other
  // space's as that space's own (DeviceSpec::space_params).
  bool joint = false;
  std::string out_yaml;             // "" = do not write
  std::string report_json;          // "" = do not write
};

// Held-out figures of one space. NaN where undefined (fewer than two held-out rows).
struct HeldOutReport {
  std::string space, file, column;
  int64_t train = 0, held_out = 0;
  // How the table was measured ("end_to_end" or "block_sum"), whether that was given
  // or detected, and the evidence: the largest relative residual of the one-hot
  // least-squares fit on the training rows. Sums of blocks measured one at a time
  // are exactly additive over the blocks' one-hot features (HW-NAS-Bench's tables:
  // below 1e-7); end-to-end measurements never are (1-60 % on HELP's devices).
  std::string measurement, measurement_source;
  double additivity = 0;
  double srcc = 0, kendall = 0, mape = 0, within10 = 0;  // the twin
  double start_srcc = 0;                                 // the reference device before fitting
  double linear_srcc = 0, linear_mape = 0;               // one-hot linear model, same training rows
  double macs_srcc = 0;                                  // MACs as the latency
  size_t fit = 0;                                        // index into CalibrateReport::fits
};

struct CalibrateReport {
  DeviceSpec twin;
  // One fit per space (or a single joint one), and the spaces each was fitted on.
  std::vector<CalibrationResult> fits;
  std::vector<std::vector<std::string>> fit_spaces;
  std::vector<HeldOutReport> spaces;
  double seconds = 0;  // the fits alone
};

CalibrateReport run_calibrate(const CalibrateOptions& options, std::ostream& log);
void print_calibrate_report(const CalibrateReport& report, std::ostream& out);
std::string calibrate_report_json(const CalibrateReport& report);

}  // namespace proxysim
