// The stage interface (docs/ARCHITECTURE.md, "Stages"): one type per stage that parses
// and writes back its settings, checks the device names it refers to and the data it
// will draw from, says what of the run it reads, estimates its memory and time, and
// runs, writing its own HDF5 group. The config loader, the dry run and the driver loop
// over the stages a config lists; a new stage is one file defining a Stage and one line
// in the registry (experiments/stage_registry.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/run_result.hpp"
#include "experiments/stage_rows.hpp"
#include "io/h5.hpp"
#include "io/measured_csv.hpp"
#include "kernels/engine.hpp"
#include "sim/space.hpp"

namespace YAML {
class Node;
class Emitter;
}  // namespace YAML

namespace proxysim {

class ConfigReader;

// A run's columns and architectures as known before any evaluation: `names` are the
// run's columns, the first `simulated` of them simulated (a latency on every row), then
// each measured table's columns in order; `rows` are the run's architectures when known
// (enumerated, listed or measured), empty when sampled.
class RunColumns {
 public:
  RunColumns(const SearchSpace& space, const std::vector<std::string>& names, int simulated,
             const std::vector<MeasuredTable>& tables, const std::vector<ArchCode>& rows);
  const SearchSpace& space;
  const std::vector<std::string>& names;
  const int simulated;
  const std::vector<ArchCode>& rows;
  // Rows measured on both columns (connected ones only on NB201 unless
  // include_disconnected), as the stages count them when they run.
  int64_t both(int a, int b, bool include_disconnected) const;

 private:
  bool on(int col, size_t row) const;
  std::vector<std::vector<uint8_t>> measured_;  // [measured column][row]
};

// The size of a run, for estimates: architectures, columns (simulated among them),
// decisions per architecture, and the speed of this process relative to the 2-core
// machine the rates were measured on.
struct RunShape {
  double archs = 0;
  double features = 0;  // one-hot operator features of the space (search/features.hpp)
  double devices = 0;
  double simulated = 0;
  double decisions = 0;
  double speed = 1;
  double threads = 1;  // OpenMP threads: stages that run tasks in parallel hold one working set each
  bool tabulable = true;  // at most 2^26 architectures (search/nas.hpp)
};

// The working set of one adaptation fit predicting `rows` architectures: the features
// of its rows, the copy a least-squares solve factors, and the predictions along the
// regularisation path (search/adaptation.hpp).
double fit_bytes(const RunShape& shape, double rows);

// What the run hands a stage: the latency matrix (archs x columns, NaN = not measured)
// and every row's architecture, in row order.
struct StageInput {
  Backend backend = Backend::kCpu;
  const SearchSpace& space;
  const std::vector<float>& matrix;
  uint64_t rows = 0;
  const std::vector<uint8_t>& codes;
  const std::vector<std::string>& names;
  const std::vector<std::string>& classes;  // each column's device class ("measured" for tables)
  bool quiet = false;
  std::ostream& log;
  // The run's simulated devices (its first columns) and the engine settings the eval
  // stage used, for stages that evaluate architectures of their own.
  const std::vector<EvalDevice>& simulated;
  EngineOptions engine_options{};
};

class Stage {
 public:
  virtual ~Stage() = default;
  // The stage's key in a config's `stages:` list, and its HDF5 group (/<name>).
  virtual const char* name() const = 0;
  // Reads the settings map `body` (null when the stage is listed by name alone; `entry`
  // is the stage's list entry, for messages then); `path` is the key path for messages
  // (stages[2].adapt).
  virtual void parse(const ConfigReader& reader, const YAML::Node& entry, const YAML::Node& body,
                     const std::string& path) = 0;
  // Writes the settings back as the run resolved them, as a map (into the result file).
  virtual void write(YAML::Emitter& out) const = 0;
  // Every device name the settings refer to is a column of the run (UserError naming
  // the key otherwise).
  virtual void check_devices(const std::vector<std::string>& /*names*/) const {}
  // Checks that need the run's columns and architectures but no evaluation (sample
  // counts a stage will draw); run by the dry run and the run alike.
  virtual void check_data(const RunColumns& /*columns*/) const {}
  // Whether the stage reads the whole latency matrix, and every row's architecture
  // (held in memory for it), or only the eval stage's streamed chunks.
  virtual bool reads_matrix() const { return true; }
  virtual bool reads_codes(const SearchSpace& /*space*/) const { return reads_matrix(); }
  // Memory beyond the held matrix and codes, and time, on a run of this shape.
  virtual double bytes(const RunShape& /*shape*/) const { return 0.0; }
  virtual double seconds(const RunShape& /*shape*/) const { return 0.0; }
  // Runs on the evaluated run and writes group /<name> (and its slice of `result`).
  virtual void run(const StageInput& input, H5Writer& h5, RunResult& result) const = 0;
};

// A stage whose settings are a plain struct (ExperimentConfig::find<Settings>() finds it).
template <class Settings>
class StageWith : public Stage {
 public:
  StageWith() = default;
  explicit StageWith(Settings s) : settings(std::move(s)) {}
  Settings settings;
};

// The registered stages, in the order a run executes them (whatever order a config
// lists them in).
const std::vector<std::string>& stage_names();
// A stage with default settings; UserError listing the known names otherwise.
std::unique_ptr<Stage> make_stage(const std::string& name);
// Position of a stage in the run order (stage_names()).
int stage_order(const std::string& name);

}  // namespace proxysim
