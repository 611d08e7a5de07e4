// The proxysim command line: `run CONFIG.yaml` is the main entry; `eval`, `spaces`
// and `devices` are shorthands over the same path.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <iostream>

#include "experiments/config.hpp"
#include "experiments/driver.hpp"
#include "io/device_yaml.hpp"
#include "sim/error.hpp"
#include "sim/space.hpp"

using namespace proxysim;

namespace {

int cmd_spaces() {
  for (const auto& name : space_names()) {
    const SearchSpace s = make_space(name);
    const auto size = s.size();
    fmt::print("{:<10} {:>3} decisions  {:>8}  {}\n", name, s.decisions(), size ? std::to_string(*size) : "sampled",
               s.describe());
  }
  return 0;
}

int cmd_devices(bool verbose) {
  for (const auto& d : builtin_devices()) {
    const auto& p = d.params;
    fmt::print("{:<20} {:<11} {:>9.1f} GFLOP/s {:>8.1f} GB/s  batch {:<4} {}\n", d.name, device_class_name(p.device_class),
               p.peak_gflops, p.dram_gbps, p.batch, d.imitates);
    if (verbose) fmt::print("{:<20} source: {}\n", "", d.source);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"proxysim: latency monotonicity and proxy devices for hardware-aware NAS, simulated at scale"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(PROXYSIM_VERSION));

  RunOptions run_opts;
  std::string config_path;
  auto* run = app.add_subcommand("run", "run an experiment config (the main entry)");
  run->add_option("config", config_path, "experiment YAML")->required();
  run->add_option("--backend", run_opts.backend, "auto|cpu|cuda (overrides the config)");
  run->add_option("--out", run_opts.output, "result HDF5 file (overrides the config)");
  run->add_flag("--quiet", run_opts.quiet, "no progress, no summary");

  auto* spaces = app.add_subcommand("spaces", "list the search spaces");
  bool verbose = false;
  auto* devices = app.add_subcommand("devices", "list the built-in simulated devices");
  devices->add_flag("-v,--verbose", verbose, "also print each device's sources");

  ExperimentConfig ev;
  ev.name = "eval";
  ev.eval = true;
  std::string ev_archs = "all", ev_devices = "all", ev_mode = "auto";
  RunOptions ev_opts;
  auto* eval = app.add_subcommand("eval", "evaluate the latency matrix of one space on devices");
  eval->add_option("--space", ev.space, "nb201|fbnet|ofa_mbv3")->required();
  eval->add_option("--dataset", ev.dataset, "dataset variant of the space");
  eval->add_option("--devices", ev_devices, "all, or comma-separated names and .yaml files");
  eval->add_option("--archs", ev_archs, "all (enumerable spaces) or a number to sample");
  eval->add_option("--seed", ev.archs.seed, "sampling seed");
  eval->add_option("--noise-seed", ev.noise_seed, "measurement-noise seed");
  eval->add_option("--mode", ev_mode, "auto|walk|compiled");
  eval->add_option("--out", ev_opts.output, "result HDF5 file")->required();
  eval->add_option("--backend", ev_opts.backend, "auto|cpu|cuda")->default_val("auto");
  eval->add_flag("--quiet", ev_opts.quiet, "no progress, no summary");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (*spaces) return cmd_spaces();
    if (*devices) return cmd_devices(verbose);
    if (*run) {
      const ExperimentConfig c = load_config(config_path);
      const RunResult r = run_experiment(c, run_opts, std::cerr);
      if (!run_opts.quiet) print_summary(r, std::cout, c.summary_rows);
      return 0;
    }
    if (*eval) {
      if (ev_archs == "all") {
        ev.archs.kind = ArchSelection::Kind::kEnumerate;
      } else {
        try {
          size_t used = 0;
          const long long v = std::stoll(ev_archs, &used);
          if (used != ev_archs.size() || v <= 0) throw std::invalid_argument(ev_archs);
          ev.archs.kind = ArchSelection::Kind::kSample;
          ev.archs.count = static_cast<uint64_t>(v);
        } catch (const std::exception&) {
          throw UserError("--archs: expected 'all' or a positive number, found '" + ev_archs + "'");
        }
      }
      ev.devices = {ev_devices};
      if (ev_mode == "walk") {
        ev.eval_stage.mode = EvalMode::kWalk;
      } else if (ev_mode == "compiled") {
        ev.eval_stage.mode = EvalMode::kCompiled;
      } else if (ev_mode != "auto") {
        throw UserError("--mode: expected auto, walk or compiled, found '" + ev_mode + "'");
      }
      const RunResult r = run_experiment(ev, ev_opts, std::cerr);
      if (!ev_opts.quiet) print_summary(r, std::cout, ev.summary_rows);
      return 0;
    }
  } catch (const UserError& e) {
    fmt::print(stderr, "proxysim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "proxysim: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
