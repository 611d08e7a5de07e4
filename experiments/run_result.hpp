// What one run hands back to its caller besides the result file: per-device summaries
// and the reports of the stages whose tables the command line prints.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "experiments/adapt.hpp"
#include "experiments/monotonicity.hpp"
#include "experiments/select.hpp"

namespace proxysim {

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
  AdaptReport adapt;
  SelectReport select;
  std::map<std::string, double> stage_seconds;  // by stage name, for the stages that ran
};

}  // namespace proxysim
