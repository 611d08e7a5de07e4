// The proxysim command line: `run CONFIG.yaml` is the main entry; `eval`, `spaces`
// and `devices` are shorthands over the same path.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <cstdlib>
#include <sstream>

#include "git_info.hpp"
#include "experiments/calibrate.hpp"
#include "experiments/config.hpp"
#include "experiments/driver.hpp"
#include "experiments/monotonicity.hpp"
#include "experiments/mpi_world.hpp"
#include "experiments/sweep.hpp"
#include "experiments/estimate.hpp"
#include "experiments/eval.hpp"
#include "experiments/memory_limit.hpp"
#include "experiments/sweep_run.hpp"
#include "sim/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "base/error.hpp"
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

// --archs: all (enumerate), measured (the --measured tables' architectures) or N to sample.
void set_archs(ExperimentConfig& c, const std::string& flag) {
  if (flag == "all") {
    c.archs.kind = ArchSelection::Kind::kEnumerate;
    return;
  }
  if (flag == "measured") {
    if (c.measured.empty()) throw UserError("--archs measured needs --measured files");
    c.archs.kind = ArchSelection::Kind::kMeasured;
    return;
  }
  try {
    size_t used = 0;
    const long long v = std::stoll(flag, &used);
    if (used != flag.size() || v <= 0) throw std::invalid_argument(flag);
    c.archs.kind = ArchSelection::Kind::kSample;
    c.archs.count = static_cast<uint64_t>(v);
  } catch (const std::exception&) {
    throw UserError("--archs: expected all, measured or a positive number, found '" + flag + "'");
  }
}

int cmd_devices(bool verbose, bool twins) {
  for (const auto& d : twins ? twin_devices() : builtin_devices()) {
    const auto& p = d.params;
    fmt::print("{:<20} {:<11} {:>9.1f} GFLOP/s {:>8.1f} GB/s  batch {:<4} {}\n", d.name, device_class_name(p.device_class),
               p.peak_gflops, p.dram_gbps, p.batch, d.imitates);
    if (verbose) {
      fmt::print("{:<20} source: {}\n", "", d.source);
      // A twin's own sets, one per space it was fitted on beside the first.
      static constexpr const char* kSpaces[] = {"nb201", "fbnet", "ofa_mbv3", "mbv2"};  // SpaceId order
      for (size_t s = 0; s < d.space_params.size(); ++s) {
        if (!d.space_params[s]) continue;
        const auto& q = *d.space_params[s];
        fmt::print("{:<20} in {}: {:.1f} GFLOP/s {:.1f} GB/s, level {:.3g} (its own parameter set)\n", "", kSpaces[s],
                   q.peak_gflops, q.dram_gbps, q.level);
      }
    }
  }
  return 0;
}

// Runs one config built from flags (eval, monotonicity) through the sweep runner, so
// its result file has the same /cells/0 layout and the same atomic, resumable writes.
// `single` is false when the output already held this cell (nothing was run).
SweepOutcome run_single(const ExperimentConfig& c, const RunOptions& o, const World& world) {
  SweepOptions so;
  so.backend = o.backend;
  so.output = o.output;
  so.quiet = o.quiet;
  return run_sweep(single_cell_plan(c), so, world, std::cerr);
}

int run_main(int argc, char** argv, const World& world);

}  // namespace

int main(int argc, char** argv) {
  // run_main reports every error of a run itself; this catches what MPI's setup or
  // teardown might throw, so no exception ever leaves main.
  try {
    const World world = init_world(&argc, &argv);
    place_rank(world);
    const int rc = run_main(argc, argv, world);
    finalize_world(world);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "proxysim: %s\n", e.what());
    return 3;
  }
}

namespace {

int run_main(int argc, char** argv, const World& world) {
  CLI::App app{"proxysim: latency monotonicity and proxy devices for hardware-aware NAS, simulated at scale"};
  app.require_subcommand(1);
  // The commit too: a result file records it (root attribute git_commit), and
  // scripts/reproduce-paper recomputes a result made by another build.
  app.set_version_flag("--version", std::string(PROXYSIM_VERSION) + " " + PROXYSIM_GIT_COMMIT);

  SweepOptions run_opts;
  std::string config_path;
  std::vector<std::string> run_sets;
  bool dry_run = false;
  auto* run = app.add_subcommand("run", "run an experiment config (the main entry); rerun to resume");
  run->add_option("config", config_path, "experiment YAML")->required();
  run->add_option("--backend", run_opts.backend, "auto|cpu|cuda (overrides the config)");
  run->add_option("--out", run_opts.output, "result HDF5 file (overrides the config)");
  run->add_option("--set", run_sets, "override a setting: key.path=value (YAML value; repeatable)");
  run->add_flag("--dry-run", dry_run, "print the cells with estimated memory and time, validate, compute nothing");
  run->add_flag("--quiet", run_opts.quiet, "no progress, no summary");
  std::string data_dir;
  run->add_option("--data-dir", data_dir,
                  "folder that configs' data file names are looked up in (sets PROXYSIM_DATA; README, \"Data\")");
  std::string max_memory;
  run->add_option("--max-memory", max_memory,
                  "memory a cell may use, e.g. 8G (default: what the machine or the job's cgroup has available)");

  auto* spaces = app.add_subcommand("spaces", "list the search spaces");
  bool verbose = false;
  auto* devices = app.add_subcommand("devices", "list the built-in simulated devices");
  devices->add_flag("-v,--verbose", verbose, "also print each device's sources");
  bool list_twins = false;
  devices->add_flag("--twins", list_twins, "list the calibrated twins of real devices instead");

  ExperimentConfig ev;
  ev.name = "eval";
  EvalSettings ev_settings;
  std::string ev_archs = "all", ev_devices = "all", ev_mode = "auto";
  RunOptions ev_opts;
  auto* eval = app.add_subcommand("eval", "evaluate the latency matrix of one space on devices");
  eval->add_option("--space", ev.space, "nb201|fbnet|ofa_mbv3|mbv2")->required();
  eval->add_option("--dataset", ev.dataset, "dataset variant of the space");
  eval->add_option("--devices", ev_devices, "all, or comma-separated names and .yaml files");
  eval->add_option("--archs", ev_archs, "all (enumerable spaces) or a number to sample");
  eval->add_option("--seed", ev.archs.seed, "sampling seed");
  eval->add_option("--noise-seed", ev.noise_seed, "measurement-noise seed");
  eval->add_option("--mode", ev_mode, "auto|walk|compiled");
  eval->add_option("--out", ev_opts.output, "result HDF5 file")->required();
  eval->add_option("--backend", ev_opts.backend, "auto|cpu|cuda")->default_val("auto");
  eval->add_flag("--quiet", ev_opts.quiet, "no progress, no summary");

  ExperimentConfig mo;
  mo.name = "monotonicity";
  mo.space.clear();  // inferred from the first --measured file unless given
  MonotonicitySettings mo_settings;
  std::string mo_archs, mo_devices;
  RunOptions mo_opts;
  bool mo_no_kendall = false;
  auto* mono = app.add_subcommand("monotonicity", "SRCC, Kendall tau-b and top-k agreement between devices");
  mono->add_option("--measured", mo.measured, "measured latency CSV (repeatable)");
  mono->add_option("--space", mo.space, "nb201|fbnet|ofa_mbv3|mbv2 (inferred from --measured when absent)");
  mono->add_option("--dataset", mo.dataset, "dataset variant of the space");
  mono->add_option("--devices", mo_devices, "simulated devices: all, or comma-separated names and .yaml files");
  mono->add_option("--archs", mo_archs, "all, measured, or a number to sample (default: measured if --measured, else all)");
  mono->add_option("--seed", mo.archs.seed, "sampling seed");
  mono->add_option("--noise-seed", mo.noise_seed, "measurement-noise seed of simulated devices");
  mono->add_option("--top-k", mo_settings.top_k, "k of the top-k agreement (0 = off)");
  mono->add_option("--bootstrap", mo_settings.bootstrap, "bootstrap resamples for SRCC intervals (0 = off)");
  mono->add_flag("--include-disconnected", mo_settings.include_disconnected,
                 "keep NB201's 341 disconnected architectures (excluded by default)");
  mono->add_flag("--no-kendall", mo_no_kendall, "skip Kendall tau-b");
  mono->add_option("--target", mo_settings.target,
                   "a device column: list every other device as its proxy, best first, instead of the matrix");
  mono->add_option("--out", mo_opts.output, "result HDF5 file (default: results/runs/monotonicity/<time>/result.h5)");
  mono->add_option("--backend", mo_opts.backend, "auto|cpu|cuda")->default_val("auto");
  mono->add_flag("--quiet", mo_opts.quiet, "no progress, no tables");

  CalibrateOptions ca;
  auto* calibrate = app.add_subcommand("calibrate", "fit a twin of a real device to its measured latencies");
  calibrate->add_option("--data", ca.data, "FILE:COLUMN of measured latencies, one per space (repeatable)")->required();
  calibrate->add_option("--start", ca.starts, "built-in device(s) to start from, the first is the reference")
      ->required()
      ->delimiter(',');
  calibrate->add_flag("!--no-class-starts", ca.class_starts,
                      "start only from --start, not also from every built-in device of its class");
  calibrate->add_option("--train", ca.train, "training architectures per space")->default_val(200);
  calibrate->add_option("--seed", ca.seed, "training split and restart seed")->default_val(0);
  calibrate->add_option("--name", ca.name, "twin name (default twin_<column>)");
  calibrate->add_option("--imitates", ca.imitates, "what the twin stands for (default: the column and file)");
  calibrate->add_option("--dataset", ca.dataset, "NB201 dataset variant");
  calibrate->add_option("--batch", ca.batch, "batch size of the measurements (default: the start device's)");
  calibrate->add_option("--restarts", ca.restarts, "perturbed restarts after the multi-start")->default_val(2);
  calibrate->add_option("--max-evaluations", ca.max_evaluations, "objective evaluations per BOBYQA run")
      ->default_val(3000);
  calibrate->add_option("--measurement", ca.measurement,
                        "SPACE=end_to_end|block_sum: how a space's table was measured (default: detected; repeatable)");
  calibrate->add_option("--validation", ca.validation_fraction,
                        "fraction of the training rows held back to keep the twin no worse than its start (0: off)")
      ->default_val(0.25);
  calibrate->add_flag("--joint", ca.joint,
                      "one parameter set fitted to every space at once (default: one fit per space, the first "
                      "space's set also serving the spaces not fitted)");
  calibrate->add_option("--out", ca.out_yaml, "twin device YAML to write");
  calibrate->add_option("--report", ca.report_json, "held-out report as JSON");
  bool ca_quiet = false;
  calibrate->add_flag("--quiet", ca_quiet, "no progress, no table");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = world.rank == 0 ? app.exit(e) : (e.get_exit_code() == 0 ? 0 : 1);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (*spaces) return cmd_spaces();
    if (*devices) return cmd_devices(verbose, list_twins);
    if (*calibrate) {
      std::ostringstream sink;
      const CalibrateReport r = run_calibrate(ca, ca_quiet ? static_cast<std::ostream&>(sink) : std::cerr);
      if (!ca_quiet) print_calibrate_report(r, std::cout);
      return 0;
    }
    if (*run) {
      // Through the environment, so sweep cells parsed anywhere (and MPI ranks started
      // with the same command line) resolve data files alike.
      if (!data_dir.empty()) setenv("PROXYSIM_DATA", data_dir.c_str(), 1);
      const SweepPlan plan = load_sweep(config_path, run_sets);
      if (!max_memory.empty()) run_opts.max_memory_bytes = parse_memory_size(max_memory, "--max-memory");
      if (dry_run) {
        print_dry_run(plan, run_opts, world, std::cout);
        return 0;
      }
      const SweepOutcome r = run_sweep(plan, run_opts, world, std::cerr);
      if (world.rank == 0 && !run_opts.quiet) {
        if (r.single) {
          print_summary(r.result, std::cout, plan.cells.front().config.summary_rows);
        } else {
          fmt::print("{} cells ({} resumed); results: {}\n", r.cells, r.resumed, r.output);
        }
      }
      return 0;
    }
    if (*eval) {
      set_archs(ev, ev_archs);
      ev.devices = {ev_devices};
      if (ev_mode == "walk") {
        ev_settings.mode = EvalMode::kWalk;
      } else if (ev_mode == "compiled") {
        ev_settings.mode = EvalMode::kCompiled;
      } else if (ev_mode != "auto") {
        throw UserError("--mode: expected auto, walk or compiled, found '" + ev_mode + "'");
      }
      ev.set("eval", ev_settings);
      const SweepOutcome r = run_single(ev, ev_opts, world);
      if (!ev_opts.quiet && r.single) print_summary(r.result, std::cout, ev.summary_rows);
      return 0;
    }
    if (*mono) {
      if (mo.space.empty()) {
        if (mo.measured.empty()) throw UserError("monotonicity: give --space or --measured");
        mo.space = read_measured_csv(mo.measured.front()).space;
      }
      make_space(mo.space, mo.dataset);
      mo.devices.clear();
      if (!mo_devices.empty()) mo.devices = {mo_devices};
      if (mo.measured.empty() && mo.devices.empty()) mo.devices = {"all"};
      if (mo_archs.empty()) mo_archs = mo.measured.empty() ? "all" : "measured";
      set_archs(mo, mo_archs);
      mo_settings.kendall = !mo_no_kendall;
      mo.set("monotonicity", mo_settings);
      const SweepOutcome r = run_single(mo, mo_opts, world);
      if (!mo_opts.quiet) {
        if (r.single && mo_settings.target.empty()) print_srcc_table(r.result.monotonicity, std::cout);
        if (r.single) print_proxy_ranking(r.result.monotonicity, std::cout);
        fmt::print("results: {}\n", r.output);
      }
      return 0;
    }
  } catch (const UserError& e) {
    // Every rank learns of a failure; rank 0 alone reports it.
    if (world.rank == 0) fmt::print(stderr, "proxysim: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    if (world.rank == 0) fmt::print(stderr, "proxysim: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}

}  // namespace
