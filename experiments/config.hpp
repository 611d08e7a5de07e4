// Experiment configs: YAML parsed and validated up front into plain structs; the
// driver then runs them. Unknown keys, wrong types and bad values are UserErrors
// naming the file, the key path and the line.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/config_reader.hpp"
#include "experiments/stage.hpp"
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
  // The stages the config lists, in run order (stage_names()), each with its settings.
  std::vector<std::shared_ptr<const Stage>> stages;
  std::string output;         // result file; "" = results/runs/<name>/<timestamp>/result.h5
  int summary_rows = 40;      // devices shown in the printed summary

  // The stage with these settings, or null when the config does not list it.
  template <class Settings>
  const Settings* find() const {
    for (const auto& s : stages) {
      if (const auto* w = dynamic_cast<const StageWith<Settings>*>(s.get())) return &w->settings;
    }
    return nullptr;
  }
  bool has(const std::string& stage) const;
  // Adds (or replaces) the stage `name` with these settings, keeping the run order.
  template <class Settings>
  void set(const std::string& name, Settings settings) {
    std::unique_ptr<Stage> s = make_stage(name);
    auto* w = dynamic_cast<StageWith<Settings>*>(s.get());
    if (w == nullptr) throw std::logic_error("stage '" + name + "' has other settings");
    w->settings = std::move(settings);
    add(std::move(s));
  }
  void add(std::unique_ptr<Stage> stage);
};

ExperimentConfig load_config(const std::string& path);

ExperimentConfig parse_config(const std::string& text, const std::string& file);
// The same on a loaded document; errors name the line of each node's mark (the line
// a sweep value or the key it replaced was written on).
ExperimentConfig parse_config_node(const YAML::Node& root, const std::string& file);
// The config as the run resolved it, as YAML: stored in the result file.
std::string resolved_yaml(const ExperimentConfig& c);

}  // namespace proxysim
