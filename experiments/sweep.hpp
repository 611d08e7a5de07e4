// Sweeps: a config's `sweep:` block (axes combined as a Cartesian product, `zip:`
// groups that advance together, `seeds:` replicates) expands into cells. Each cell is
// the base YAML with the axis values substituted at their key paths, parsed by the
// ordinary parse_config, so every stage sees a plain ExperimentConfig. `--set
// key.path=value` overrides use the same substitution, on the base before expansion.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "experiments/config.hpp"

namespace proxysim {

struct SweepCell {
  uint64_t index = 0;
  // Axis name (its key path, or "seed") -> the value this cell takes, as flow YAML.
  std::vector<std::pair<std::string, std::string>> axes;
  std::string yaml;  // the cell's whole config, as the runner fingerprints and stores it
  ExperimentConfig config;
};

struct SweepPlan {
  std::string file;                     // config file ("" for a CLI shorthand)
  std::string text;                     // its text as read
  std::vector<std::string> sets;        // the --set overrides applied
  std::vector<std::string> axis_names;  // in expansion order, the last varying fastest
  bool swept = false;                   // the config had a sweep: block
  std::vector<SweepCell> cells;
};

// Expands `text` (read from `file`) with the --set overrides ("key.path=value", the
// value in YAML). Every cell is parsed and validated; a mistake in the sweep block, an
// override or any cell is a UserError naming the file, the key path and the line.
SweepPlan expand_sweep(const std::string& text, const std::string& file, const std::vector<std::string>& sets = {});
SweepPlan load_sweep(const std::string& path, const std::vector<std::string>& sets = {});
// One cell from a config built in code (the eval and monotonicity shorthands).
SweepPlan single_cell_plan(const ExperimentConfig& config);
// "adapt.n=10, devices=[a, b]", for messages and progress.
std::string describe_axes(const SweepCell& cell);

}  // namespace proxysim
