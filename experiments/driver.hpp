// The one path every experiment takes: config -> space, devices, architectures ->
// stages -> one HDF5 result file.
#pragma once
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/config.hpp"
#include "experiments/run_result.hpp"

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

RunResult run_experiment(const ExperimentConfig& config, const RunOptions& options, std::ostream& log);
void print_summary(const RunResult& r, std::ostream& out, int max_rows);

}  // namespace proxysim
