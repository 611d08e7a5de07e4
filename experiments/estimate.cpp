#include "experiments/estimate.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "experiments/eval.hpp"
#include "experiments/memory_limit.hpp"
#include "experiments/progress.hpp"
#include "search/nas.hpp"
#include "search/features.hpp"
#include "base/error.hpp"

namespace proxysim {

CellEstimate estimate_cell(const ExperimentConfig& c, const std::string& backend_override, MeasuredCache* cache) {
  const ResolvedRun run = resolve_run(c, cache);
  const Backend backend = resolve_backend(backend_override.empty() ? c.backend : backend_override);
  CellEstimate e;
  e.archs = run.archs;
  e.devices = static_cast<int>(run.names.size());
  const RunColumns columns(run.space, run.names, run.simulated, run.tables, run.rows);
  for (const auto& stage : c.stages) {
    stage->check_devices(run.names);
    stage->check_data(columns);
  }

  RunShape shape;
  shape.archs = static_cast<double>(run.archs);
  shape.devices = e.devices;
  shape.simulated = run.simulated;
  shape.decisions = run.space.decisions();
  shape.features = feature_count(run.space.id());
  shape.tabulable = is_tabulable(run.space);
  // Rates measured on this 2-core EPYC with every thread, scaled by the threads this
  // process has: rough (within a few x), meant to size jobs, not to promise.
  shape.threads = std::max(1, omp_get_max_threads());
  shape.speed = shape.threads / 2.0 * (backend == Backend::kCuda ? 20.0 : 1.0);
  const double n = shape.archs, D = shape.devices, K = shape.decisions;

  // Memory: this process as it stands (libraries, the parsed config, the measured
  // tables), the measured latencies per row, the latency matrix and codes held for
  // the stages that read them, the eval chunk's buffers, then the largest of the
  // stages' own needs (they run one after another).
  const bool hold = std::any_of(c.stages.begin(), c.stages.end(), [](const auto& s) { return s->reads_matrix(); });
  const bool codes = std::any_of(c.stages.begin(), c.stages.end(), [&](const auto& s) { return s->reads_codes(run.space); });
  const EvalSettings eval = c.find<EvalSettings>() ? *c.find<EvalSettings>() : EvalSettings{};
  const double chunk = std::min<double>(static_cast<double>(eval.chunk), n);
  double stage_bytes = 0, seconds = 0;
  for (const auto& stage : c.stages) {
    stage_bytes = std::max(stage_bytes, stage->bytes(shape));
    seconds += stage->seconds(shape);
  }
  e.data_bytes = (hold ? n * D * 4 : 0) + (codes ? n * K : 0) + n * (D - shape.simulated) * 4 +
                 static_cast<double>(run.rows.size()) * (32 + K) + chunk * (K + 8.0 * D + 24) + stage_bytes;
  e.process_bytes = resident_bytes();
  e.bytes = e.process_bytes + e.data_bytes;
  // Time per cell: start-up and provenance; per architecture: sampling, lowering for
  // MACs and parameters, and the HDF5 rows; per architecture and device: the model.
  const bool chain = run.space.id() != SpaceId::kNb201;
  e.seconds = 0.1 + n * 4e-6 / shape.speed + n * shape.simulated / ((chain ? 4e8 : 3e6) * shape.speed) + seconds;
  return e;
}

void check_memory(const SweepPlan& plan, const SweepOptions& options, const World& world) {
  std::string source;
  const double limit = memory_limit(options, world, source);
  if (limit <= 0) return;  // nothing to compare with
  MeasuredCache tables;
  for (const auto& cell : plan.cells) {
    CellEstimate e;
    try {
      e = estimate_cell(cell.config, options.backend, &tables);
    } catch (const UserError& err) {
      if (plan.cells.size() == 1 && !plan.swept) throw;
      throw UserError("cell " + std::to_string(cell.index) + " (" + describe_axes(cell) + "): " + err.what());
    }
    if (e.data_bytes > limit) {
      const std::string where =
          plan.cells.size() == 1 && !plan.swept ? "this run" : "cell " + std::to_string(cell.index) + " (" + describe_axes(cell) + ")";
      throw UserError(fmt::format("{} needs about {} of memory ({} architectures x {} devices); limit {} ({}); "
                                  "refused before any work: sample fewer architectures, split the sweep, or set "
                                  "--max-memory if the estimate is wrong",
                                  where, human_bytes(e.data_bytes), e.archs, e.devices, human_bytes(limit), source));
    }
  }
}


void print_dry_run(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& out) {
  std::vector<CellEstimate> est;
  MeasuredCache tables;
  for (const auto& cell : plan.cells) {
    try {
      est.push_back(estimate_cell(cell.config, options.backend, &tables));
    } catch (const UserError& e) {
      if (plan.cells.size() == 1 && !plan.swept) throw;
      throw UserError("cell " + std::to_string(cell.index) + " (" + describe_axes(cell) + "): " + e.what());
    }
  }
  if (world.rank != 0) return;
  const ExperimentConfig& base = plan.cells.front().config;
  const std::string output = !options.output.empty() ? options.output
                             : !base.output.empty()  ? base.output
                                                     : "results/runs/" + base.name + "/<UTC timestamp>/result.h5";
  fmt::print(out, "{}: {} cell{}, valid; would write {}\n", plan.file.empty() ? "config" : plan.file, plan.cells.size(),
             plan.cells.size() == 1 ? "" : "s", output);
  fmt::print(out, "{:>6}  {:>10}  {:>7}  {:>10}  {:>9}  {}\n", "cell", "archs", "devices", "memory", "time", "axes");
  double total = 0, peak = 0;
  for (size_t i = 0; i < plan.cells.size(); ++i) {
    const auto& e = est[i];
    total += e.seconds;
    peak = std::max(peak, e.bytes);
    fmt::print(out, "{:>6}  {:>10}  {:>7}  {:>10}  {:>9}  {}\n", i, e.archs, e.devices, human_bytes(e.bytes),
               human_seconds(e.seconds), describe_axes(plan.cells[i]));
  }
  fmt::print(out, "estimated: {} in all, {} over {} rank{}, peak {} per rank ({} thread{} each); nothing computed\n",
             human_seconds(total), human_seconds(total / world.size), world.size, world.size == 1 ? "" : "s",
             human_bytes(peak), omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
  std::string source;
  if (const double limit = memory_limit(options, world, source); limit > 0) {
    int over = 0;
    for (const auto& e : est) over += e.data_bytes > limit;
    fmt::print(out, "memory limit per cell: {} ({}); {}\n", human_bytes(limit), source,
               over == 0 ? std::string("every cell fits") : fmt::format("{} cell{} over it would be refused", over, over == 1 ? "" : "s"));
  }
}


}  // namespace proxysim
