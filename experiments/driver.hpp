// The one path every experiment takes: config -> space, devices, architectures ->
// stages -> one HDF5 result file.
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/adapt.hpp"
#include "experiments/config.hpp"
#include "experiments/monotonicity.hpp"
#include "experiments/select.hpp"

namespace proxysim {

struct RunOptions {
  std::string backend;      // overrides the config's when non-empty
  std::string output;       // overrides the config's when non-empty
  bool quiet = false;       // no progress and no summary
  // Called between chunks of the eval stage and before each later stage; it may throw
  // to abandon the run (no result file is left). The Python package raises
  // KeyboardInterrupt from it on Ctrl-C.
  std::function<void()> checkpoint;
};

struct DeviceSummary {
  std::string name;
  std::string device_class;
  double mean_ms = 0.0, min_ms = 0.0, max_ms = 0.0;
  uint64_t fastest_arch = 0;  // row of the fastest architecture
};

struct RunResult {
  std::string output;
  std::string backend;
  uint64_t archs = 0;
  std::vector<DeviceSummary> devices;
  double eval_seconds = 0.0;
  MonotonicityReport monotonicity;
  double monotonicity_seconds = 0.0;
  AdaptReport adapt;
  double adapt_seconds = 0.0;
  SelectReport select;
  double select_seconds = 0.0;
};

RunResult run_experiment(const ExperimentConfig& config, const RunOptions& options, std::ostream& log);
void print_summary(const RunResult& r, std::ostream& out, int max_rows);

}  // namespace proxysim
