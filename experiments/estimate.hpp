// What a cell will need, from its config alone (nothing evaluated): the dry run's
// table and the memory check that refuses a cell before any work.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "experiments/config.hpp"
#include "experiments/mpi_world.hpp"
#include "experiments/resolve.hpp"
#include "experiments/sweep.hpp"
#include "experiments/sweep_run.hpp"

namespace proxysim {

struct CellEstimate {
  uint64_t archs = 0;
  int devices = 0;           // simulated and measured columns
  double data_bytes = 0.0;   // the cell's own data at its peak (matrix, chunks, the largest stage)
  double process_bytes = 0;  // this process before the cell (libraries, tables read)
  double bytes = 0.0;        // peak resident memory: the two together
  double seconds = 0.0;      // on this machine's cores
};
// Validates the cell as the run would before computing (space, devices, measured
// files, architectures, every stage's device names and sample counts, backend) and
// estimates its needs: resolve_run, then each stage's own estimate.
CellEstimate estimate_cell(const ExperimentConfig& config, const std::string& backend_override,
                           MeasuredCache* cache = nullptr);
// Refuses (UserError, before any work) a plan whose largest cell is estimated to need
// more than the limit, naming the cell, the estimate and the limit.
void check_memory(const SweepPlan& plan, const SweepOptions& options, const World& world);
// `proxysim run --dry-run`: every cell with its axis values and estimate, and totals.
void print_dry_run(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& out);

}  // namespace proxysim
