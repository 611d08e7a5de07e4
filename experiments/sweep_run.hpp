// Running a sweep's cells into one result file, resumably and across MPI ranks.
//
// Each cell runs through run_experiment into its own file <out>.cells/<index>.h5,
// written as <index>.h5.partial and renamed when complete, then fingerprinted into
// <index>.sum: a cell counts as complete only with both, so a kill at any moment
// leaves finished cells whole and the cell in flight uncounted, and a resume checks
// each finished file against its fingerprint before HDF5 reads it. Rerunning the
// same command finds the folder (its manifest must match the expanded cells), skips
// the finished cells and runs the rest. When every cell is done, rank 0 copies the
// cells into /cells/<index> of <out> (again written aside and renamed) and removes
// the folder.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>

#include "experiments/driver.hpp"
#include "experiments/mpi_world.hpp"
#include "experiments/sweep.hpp"
#include "io/measured_csv.hpp"

namespace proxysim {

struct SweepOptions {
  std::string backend;  // overrides the config's when non-empty
  std::string output;   // overrides the config's when non-empty
  bool quiet = false;   // no progress, no per-run log
  // Memory one cell may use: a cell whose estimate exceeds it is refused before any
  // work starts. 0 = what this machine has available (MemAvailable, or the cgroup's
  // limit when lower; a batch job's limit, e.g. Slurm's), divided among the ranks
  // sharing the node.
  double max_memory_bytes = 0;
  // Called between chunks and stages of every cell (RunOptions::checkpoint): the
  // Python package's Ctrl-C check. It may throw to abandon the run.
  std::function<void()> checkpoint;
};

struct SweepOutcome {
  std::string output;
  uint64_t cells = 0;
  uint64_t resumed = 0;      // complete before this run started
  bool single = false;       // one cell run in this process: `result` holds it
  RunResult result;
};

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& log);

// Rough needs of one cell, from its config alone (nothing evaluated).
struct CellEstimate {
  uint64_t archs = 0;
  int devices = 0;       // simulated and measured columns
  double bytes = 0.0;    // peak memory of the cell's own data
  double seconds = 0.0;  // on this machine's cores
};
// Measured tables already read, by space and path: the cells of one sweep name the
// same files, which are then read once (a 27-cell sweep over HELP's FBNet table read it
// 27 times before its run began).
using MeasuredCache = std::map<std::string, MeasuredTable>;
// Validates the cell as the run would before computing (space, devices, measured
// files, architectures, stage device names, backend) and estimates its needs.
CellEstimate estimate_cell(const ExperimentConfig& config, const std::string& backend_override,
                           MeasuredCache* cache = nullptr);
// Bytes this process may still use: MemAvailable from /proc/meminfo, or the cgroup's
// memory limit less its usage when lower; 0 when neither can be read.
double available_memory_bytes();
// "512M", "8G", "1.5T", "1073741824": binary suffixes K, M, G, T; UserError otherwise.
double parse_memory_size(const std::string& text, const std::string& what);
// Refuses (UserError, before any work) a plan whose largest cell is estimated to need
// more than the limit, naming the cell, the estimate and the limit.
void check_memory(const SweepPlan& plan, const SweepOptions& options, const World& world);
// `proxysim run --dry-run`: every cell with its axis values and estimate, and totals.
void print_dry_run(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& out);

}  // namespace proxysim
