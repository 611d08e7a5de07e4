// Checks of a run's stage settings against its columns and architectures that need no
// evaluation, shared by the run and `--dry-run` (both call them through
// estimate_cell before any work), so a dry run refuses what the run would refuse.
#pragma once
#include <string>
#include <vector>

#include "experiments/config.hpp"
#include "io/measured_csv.hpp"
#include "sim/space.hpp"

namespace proxysim {

// Every device name a stage refers to (adapt's proxy, targets, candidates and twin;
// select's and nas's devices; monotonicity's target) is a column of the run.
void check_stage_devices(const ExperimentConfig& c, const std::vector<std::string>& names);

// Stages that draw target samples leave at least one architecture unsampled on every
// (proxy, target) pair: adapt's largest n + validation, nas's adapted source's n +
// validation, counted over the architectures measured on both (connected ones on
// NB201 unless the stage keeps the rest), as the stages count them when they run; the
// nas stage needs a tabulated space. `names` are the run's columns, the first
// `simulated` of them simulated (measured on every row), then each table's columns in
// order. `rows` are the run's architectures when known before evaluation (enumerated,
// listed or measured); empty when sampled, and then the counts wait for the run.
void check_stage_data(const ExperimentConfig& c, const SearchSpace& space, const std::vector<std::string>& names,
                      int simulated, const std::vector<MeasuredTable>& tables, const std::vector<ArchCode>& rows);

}  // namespace proxysim
