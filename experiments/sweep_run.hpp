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
#include <ostream>
#include <string>

#include "experiments/driver.hpp"
#include "experiments/mpi_world.hpp"
#include "experiments/sweep.hpp"

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

}  // namespace proxysim
