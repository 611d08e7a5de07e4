// Calibration: fit the continuous parameters of a device's analytic latency model
// (sim/latency_model.hpp) to a real device's measured latencies, so that the fitted
// device (a "twin") can stand in for the real one everywhere a simulated device can.
//
// The fit minimises the mean squared error of log latency (a ratio error, so a 1 ms
// phone and a 100 ms GPU batch weigh alike) over one or more search spaces at once,
// with NLopt's BOBYQA (Powell 2009): a bounded, derivative-free trust-region method.
// Derivative-free because the model is piecewise (roofline max, tile ceilings, the
// on-chip capacity test), so its gradient is undefined on a dense set of kinks.
// Discrete structure (lanes, units, fusion, pruning) is not fitted; it comes from the
// start devices, and every start is tried.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/device_spec.hpp"
#include "sim/op.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Measured latencies of one space's training architectures on the real device, and
// how they were measured (end to end, or as sums of blocks timed alone): the fitted
// device evaluates the space the same way.
struct CalibrationSet {
  SearchSpace space;
  std::vector<ArchCode> codes;
  std::vector<double> latency_ms;  // one per code, finite and > 0
  Measurement measurement = Measurement::kEndToEnd;
};

struct CalibrationOptions {
  uint64_t seed = 0;             // the validation split and the perturbed restarts
  int restarts = 2;              // perturbed restarts after the multi-start
  int max_evaluations = 3000;    // per BOBYQA run (no wall-clock limit: results reproduce)
  double bandwidth_headroom = 1.5;  // fitted bandwidth <= this x the start's datasheet value
  // Never worse than the start: this fraction of every set's rows is held back, the
  // fits are made on the rest, and a candidate replaces the start only where it ranks
  // the held-back rows at least as well in every space (validation_z). 0 fits on every
  // row and keeps the best fit.
  double validation_fraction = 0.25;
  // In a space whose ranking it changes, a candidate must beat the start's validation
  // SRCC by this many standard errors of the difference (bootstrap over the validation
  // rows): with 50 rows a difference of 0.01 is often noise, and the rule is meant to
  // hold on architectures neither was fitted to, and by more than 0 (a fit that ranks
  // the validation rows exactly as the start does has shown nothing). A ranking kept
  // by construction (latencies the start's times one factor) passes with 0.
  double validation_z = 1.0;
  int bootstrap = 200;  // resamples for that standard error
  // The candidate fits: the best fit, and fits pulled toward their start by a prior
  // mu * ||log theta - log theta_start||^2 of each weight (the loss is a fraction of
  // the latency variance, so 0.01 weighs a 3x move of one parameter like 1% of it).
  std::vector<double> prior_weights = {1e-1, 1e-2, 1e-3};
  std::string data_name = "calibration data";  // how errors about the data name it
};

// One fitted parameter: its name, the value the fit started from and where it ended,
// and its bounds (all in natural units).
struct FittedParameter {
  std::string name;
  double start = 0, value = 0, lower = 0, upper = 0;
};

// One device the never-worse rule compared: the start as it is, measured as the data
// were, clocked to the data's level, or with only the op classes no other space has
// fitted; or a fit (prior weight mu, 0 for the unconstrained best fit).
struct CalibrationCandidate {
  std::string name;
  double mu = 0;
  std::vector<double> validation_srcc;  // per set
  std::vector<double> validation_se;    // per set: bootstrap standard error of SRCC minus the start's
  double validation_loss = 0;           // the objective on the validation rows
  bool eligible = false;                // SRCC - start's >= validation_z * se, and > 0 unless kept, in every set
};

struct CalibrationResult {
  DeviceParams params;             // the chosen device (the twin)
  std::string start;               // the start device whose structure won
  double train_rmse_log = 0;       // sqrt(mean over sets of the mean squared log error), fit rows
  double start_rmse_log = 0;       // the same for the reference start device
  int evaluations = 0;             // objective evaluations over all runs
  std::vector<FittedParameter> parameters;
  // The never-worse rule: the candidates, which one was kept and why.
  std::vector<CalibrationCandidate> candidates;
  std::string chosen;
  std::string reason;
  int64_t fit_rows = 0, validation_rows = 0;  // over all sets
};

// Throws UserError (naming `what`) when the data cannot support a fit: fewer than
// `kMinCalibrationRows` rows in all, a latency that is not finite or not positive,
// or latencies that are all equal.
inline constexpr int kMinCalibrationRows = 8;
void check_calibration_data(const std::vector<CalibrationSet>& sets, const std::string& what);

// Fits from each start (devices whose discrete structure is worth trying; the first
// is the reference whose batch size is kept) and returns the candidate with the lowest
// validation loss among those no worse than the reference on held-back rows (see
// CalibrationOptions and CalibrationCandidate); the reference itself is always one.
// The loss is each set's mean squared log error as a fraction of the variance of its
// log latencies, averaged over sets: a space whose architectures differ by a few
// percent weighs as much as one whose differ tenfold. Deterministic for given inputs
// and seed. Runs starts in parallel over OpenMP threads.
CalibrationResult calibrate_device(const std::vector<DeviceSpec>& starts, const std::vector<CalibrationSet>& sets,
                                   const CalibrationOptions& options = {});

// Noise-free latency (ms) of each architecture on a device, by the reference walk.
std::vector<double> model_latency_ms(const SearchSpace& space, const std::vector<ArchCode>& codes,
                                     const DeviceParams& device);

// Architectures lowered once, their operators back to back, so that a device can be
// walked over them many times (recalibration evaluates hundreds of devices).
struct LoweredArchs {
  SpaceId space = SpaceId::kNb201;  // whose measurement a device is walked with
  std::vector<Op> ops;
  std::vector<uint32_t> begin = {0};  // size() + 1 offsets into ops
  size_t size() const { return begin.size() - 1; }
};
LoweredArchs lower_archs(const SearchSpace& space, const std::vector<ArchCode>& codes);
// Noise-free latency (ms) of architecture i, by the reference walk.
double lowered_latency_ms(const LoweredArchs& archs, size_t i, const DeviceParams& device);

// Recalibration of an already calibrated device toward another device from a few
// measurements: the same continuous parameters and bounds as calibrate_device, fitted
// by BOBYQA to the measured log latencies with a free log-scale offset (only the shape
// of the latencies is asked of the parameters) and a Gaussian prior around the start,
//   mean_i (log y_i - log t_i(theta) - s)^2 + mu * ||log theta - log theta_start||^2,
// so that ten samples cannot move twenty parameters freely. mu = +infinity returns the
// start unchanged; mu >= 0 otherwise. Deterministic: no randomness, no time limit.
struct Recalibration {
  DeviceParams params;
  double log_scale = 0;  // s: predictions are exp(s) * the device's latency
  double loss = 0;       // the objective at the returned parameters
  int evaluations = 0;
};
// `rows` index `archs`; `latency_ms` are their measurements (finite, > 0).
Recalibration recalibrate_device(const DeviceParams& start, const LoweredArchs& archs, const std::vector<int64_t>& rows,
                                 const std::vector<double>& latency_ms, double mu, int max_evaluations = 300,
                                 double bandwidth_headroom = 1.5);

}  // namespace proxysim
