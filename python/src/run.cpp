// Whole experiments: a config file or YAML text through experiments/sweep_run.hpp's
// run_sweep, the path `proxysim run` takes.
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <iostream>
#include <sstream>

#include "common.hpp"
#include "experiments/config.hpp"
#include "experiments/driver.hpp"
#include "experiments/mpi_world.hpp"
#include "experiments/sweep.hpp"
#include "experiments/sweep_run.hpp"
#include "base/error.hpp"

namespace proxysim::py {

namespace {

pb::dict result_dict(RunResult&& r) {
  pb::dict d;
  d["output"] = r.output;
  d["backend"] = r.backend;
  d["archs"] = r.archs;
  pb::list devices;
  for (const auto& s : r.devices) {
    pb::dict e;
    e["name"] = s.name;
    e["device_class"] = s.device_class;
    e["mean_ms"] = s.mean_ms;
    e["min_ms"] = s.min_ms;
    e["max_ms"] = s.max_ms;
    e["fastest_arch"] = s.fastest_arch;
    devices.append(e);
  }
  d["devices"] = devices;
  d["eval_seconds"] = r.eval_seconds;
  if (!r.monotonicity.devices.empty()) {
    MonotonicityReport& mo = r.monotonicity;
    const pb::ssize_t D = static_cast<pb::ssize_t>(mo.devices.size());
    pb::dict m;
    m["devices"] = mo.devices;
    m["rows"] = mo.rows;
    m["excluded_disconnected"] = mo.excluded_disconnected;
    m["srcc"] = to_numpy(std::move(mo.srcc.value), {D, D});
    m["pairs"] = to_numpy(std::move(mo.srcc.pairs), {D, D});
    if (!mo.kendall.value.empty()) m["kendall_tau_b"] = to_numpy(std::move(mo.kendall.value), {D, D});
    if (!mo.top_k.empty()) {
      m["top_k"] = to_numpy(std::move(mo.top_k), {D, D});
      m["k"] = mo.k;
    }
    m["seconds"] = r.stage_seconds["monotonicity"];
    d["monotonicity"] = m;
  }
  if (!r.adapt.targets.empty()) d["adapt_seconds"] = r.stage_seconds["adapt"];
  if (!r.select.targets.empty()) d["select_seconds"] = r.stage_seconds["select"];
  return d;
}

}  // namespace

void bind_run(pb::module_& m) {
  m.def(
      "run",
      [](const std::string& config, const std::string& backend, const std::string& output, bool quiet,
         const std::vector<std::string>& sets) {
        // A path to an existing file is read as one; anything else is YAML text. Either
        // way the run takes `proxysim run`'s path: sweep expansion, one resumable cell
        // file per cell, and the /cells/<i> layout of the result.
        std::error_code ec;
        const bool is_file = config.find('\n') == std::string::npos && std::filesystem::is_regular_file(config, ec);
        const SweepPlan plan = is_file ? load_sweep(config, sets) : expand_sweep(config, "<config text>", sets);
        SweepOptions o;
        o.backend = backend;
        o.output = output;
        o.quiet = quiet;
        // Ctrl-C: the driver calls this between chunks and stages. The Python error is
        // kept aside (the runner turns any exception into a failed cell, whose finished
        // siblings stay for resume) and raised again once the runner has unwound.
        std::optional<pb::error_already_set> pending;
        o.checkpoint = [&pending] {
          pb::gil_scoped_acquire gil;
          if (PyErr_CheckSignals() != 0) {
            pending.emplace();
            throw std::runtime_error("interrupted");
          }
        };
        SweepOutcome out;
        try {
          pb::gil_scoped_release release;
          std::ostringstream sink;
          out = run_sweep(plan, o, World{}, quiet ? static_cast<std::ostream&>(sink) : std::cerr);
          if (!quiet && out.single) print_summary(out.result, std::cout, plan.cells.front().config.summary_rows);
        } catch (...) {
          if (pending) {
            pending->restore();
            throw pb::error_already_set();
          }
          throw;
        }
        if (out.single) {
          out.result.output = out.output;
          return result_dict(std::move(out.result));
        }
        pb::dict d;
        d["output"] = out.output;
        d["cells"] = out.cells;
        d["resumed"] = out.resumed;
        return d;
      },
      pb::arg("config"), pb::arg("backend") = "", pb::arg("output") = "", pb::arg("quiet") = true,
      pb::arg("sets") = std::vector<std::string>{},
      "runs an experiment config (a file path or YAML text) as `proxysim run` does, sweeps and resume "
      "included; `sets` are --set overrides ('key.path=value'). Returns a summary dict whose 'output' is "
      "the HDF5 result file (one cell: the run's tables too; a sweep: 'cells' and 'resumed')");
}

}  // namespace proxysim::py
