// Whole experiments: a config file or YAML text through experiments/driver.hpp's
// run_experiment, the path `proxysim run` takes.
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common.hpp"
#include "experiments/config.hpp"
#include "experiments/driver.hpp"
#include "sim/error.hpp"

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
    m["seconds"] = r.monotonicity_seconds;
    d["monotonicity"] = m;
  }
  if (!r.adapt.targets.empty()) d["adapt_seconds"] = r.adapt_seconds;
  if (!r.select.targets.empty()) d["select_seconds"] = r.select_seconds;
  return d;
}

}  // namespace

void bind_run(pb::module_& m) {
  m.def(
      "run",
      [](const std::string& config, const std::string& backend, const std::string& output, bool quiet) {
        // A path to an existing file is read as one; anything else is YAML text.
        std::error_code ec;
        const bool is_file = config.find('\n') == std::string::npos && std::filesystem::is_regular_file(config, ec);
        const ExperimentConfig c = is_file ? load_config(config) : parse_config(config, "<config text>");
        RunOptions o;
        o.backend = backend;
        o.output = output;
        o.quiet = quiet;
        // Ctrl-C: the driver calls this between chunks and stages; the exception it
        // throws unwinds the run, whose partial result file is removed.
        o.checkpoint = &check_signals;
        RunResult r;
        {
          pb::gil_scoped_release release;
          std::ostringstream sink;
          r = run_experiment(c, o, quiet ? static_cast<std::ostream&>(sink) : std::cerr);
          if (!quiet) print_summary(r, std::cout, c.summary_rows);
        }
        return result_dict(std::move(r));
      },
      pb::arg("config"), pb::arg("backend") = "", pb::arg("output") = "", pb::arg("quiet") = true,
      "runs an experiment config (a file path or YAML text) as `proxysim run` does; returns a summary dict "
      "whose 'output' is the HDF5 result file");
}

}  // namespace proxysim::py
