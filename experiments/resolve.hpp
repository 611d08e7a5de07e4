// What a config resolves to before anything is evaluated: its space, simulated
// devices, measured tables, column names and architectures. The run
// (experiments/driver.cpp) and the dry run (experiments/estimate.cpp) both start here,
// so a dry run sees the columns and rows the run will.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "experiments/config.hpp"
#include "io/measured_csv.hpp"
#include "kernels/engine.hpp"
#include "sim/device_spec.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Measured tables already read, by space and path: the cells of one sweep name the
// same files, which are then read once.
using MeasuredCache = std::map<std::string, MeasuredTable>;

struct ResolvedRun {
  explicit ResolvedRun(SearchSpace s) : space(std::move(s)) {}
  SearchSpace space;
  // Simulated columns: the named devices, then the populations' (requested-SRCC
  // devices are made by the run, which measures their proxy: only their names here).
  std::vector<DeviceSpec> specs;
  std::vector<std::string> names;  // every column: specs, requested-SRCC devices, then each table's
  int simulated = 0;               // the first `simulated` names
  std::vector<MeasuredTable> tables;
  ArchBatch::Kind kind = ArchBatch::Kind::kSample;
  uint64_t archs = 0;
  // kList (listed or measured architectures): their codes back to back, in row order.
  std::vector<uint8_t> list_codes;
  // Every row's architecture when known before evaluation (listed, measured, or an
  // enumerated space of at most 2^26 that a stage reading the matrix needs); empty when sampled.
  std::vector<ArchCode> rows;
};

// Throws UserError for an empty run, a space too large to enumerate, a device listed
// twice or measured tables with sampled architectures.
ResolvedRun resolve_run(const ExperimentConfig& config, MeasuredCache* cache = nullptr);

}  // namespace proxysim
