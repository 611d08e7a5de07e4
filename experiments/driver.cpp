#include "experiments/driver.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <limits>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "experiments/cover.hpp"
#include "experiments/eval.hpp"
#include "experiments/resolve.hpp"
#include "sim/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "io/h5.hpp"
#include "io/run_info.hpp"
#include "kernels/engine.hpp"
#include "base/error.hpp"

namespace proxysim {

RunResult run_experiment(const ExperimentConfig& config, const RunOptions& options, std::ostream& log) {
  using Clock = std::chrono::steady_clock;
  ResolvedRun run = resolve_run(config);
  const SearchSpace& space = run.space;
  const Backend backend = resolve_backend(options.backend.empty() ? config.backend : options.backend);
  const EvalSettings eval = config.find<EvalSettings>() ? *config.find<EvalSettings>() : EvalSettings{};
  const int K = space.decisions();
  const ArchBatch::Kind kind = run.kind;
  const uint64_t n = run.archs;
  const std::vector<uint8_t>& list_codes = run.list_codes;

  // Requested-SRCC devices: each measured against its proxy on the run's architectures.
  std::vector<DeviceSpec> specs = std::move(run.specs);
  for (const auto& r : config.srcc_devices) {
    const DeviceSpec proxy =
        in_space(resolve_one_device(r.proxy, (r.where.empty() ? "srcc_to" : r.where) + ".proxy"), space.id());
    ArchBatch b;
    b.kind = kind;
    b.count = n;
    b.seed = config.archs.seed;
    b.codes = kind == ArchBatch::Kind::kList ? list_codes.data() : nullptr;
    EngineOptions eo;
    eo.mode = eval.mode;
    eo.noise_seed = config.noise_seed;
    const SrccMeter meter(backend, space, b, eo, proxy);
    SrccDevice sd = srcc_spec(r, meter, proxy);
    if (!options.quiet) {
      fmt::print(log, "proxysim: {} at SRCC {:.3f} to {} (asked {:.3f}; mix {:.3f} towards {} on {} archs)\n",
                 sd.spec.name, sd.srcc, proxy.name, r.srcc, sd.mix, r.far.empty() ? "its scrambled twin" : r.far,
                 meter.rows());
    }
    specs.push_back(std::move(sd.spec));
  }

  // Column layout: simulated devices first, then each measured table's devices.
  const std::vector<std::string>& names = run.names;
  std::vector<std::string> classes, imitates, files;
  for (const auto& s : specs) {
    classes.push_back(std::string(device_class_name(s.params.device_class)));
    imitates.push_back(s.imitates);
    files.push_back(s.file);
  }
  for (const auto& t : run.tables) {
    for (const auto& d : t.devices) {
      classes.push_back("measured");
      imitates.push_back("measured column " + d);
      files.push_back(t.file);
    }
  }
  const int Ds = static_cast<int>(specs.size());
  const int D = static_cast<int>(names.size());
  // Every stage's device names are checked now, before any work.
  for (const auto& stage : config.stages) stage->check_devices(names);
  // Measured latencies per row (NaN where a table lacks the architecture).
  std::vector<float> measured;
  if (!run.tables.empty()) {
    std::map<ArchCode, uint64_t> row_of;
    for (uint64_t i = 0; i < run.rows.size(); ++i) row_of.emplace(run.rows[i], i);
    measured.assign(n * (D - Ds), std::numeric_limits<float>::quiet_NaN());
    int col = 0;
    for (const auto& t : run.tables) {
      const int Dt = static_cast<int>(t.devices.size());
      for (uint64_t r = 0; r < t.rows(); ++r) {
        const auto it = row_of.find(t.codes[r]);
        if (it == row_of.end()) continue;  // not among the listed architectures
        for (int d = 0; d < Dt; ++d) measured[it->second * (D - Ds) + col + d] = t.latency_ms[r * Dt + d];
      }
      col += Dt;
    }
  }

  std::string out_path = options.output.empty() ? config.output : options.output;
  if (out_path.empty()) out_path = "results/runs/" + config.name + "/" + utc_timestamp_compact() + "/result.h5";
  H5Writer h5(out_path);  // fails now, before any work, if the path is not writable

  std::unique_ptr<Engine> engine;
  std::vector<EvalDevice> devices;
  devices.reserve(specs.size());
  for (const auto& s : specs) devices.push_back({s.name, s.params});
  EngineOptions eo;
  eo.mode = eval.mode;
  eo.noise_seed = config.noise_seed;
  if (Ds > 0) engine = make_engine(backend, space, devices, eo);

  const RunInfo info =
      collect_run_info(backend_name(backend), backend == Backend::kCuda ? cuda_device_name() : std::string());
  if (!options.quiet) {
    fmt::print(log, "proxysim: {} archs x {} devices ({} simulated, {} measured) on {} ({}){}\n", n, D, Ds, D - Ds,
               info.backend, info.device_name,
               engine ? (engine->compiled() ? ", compiled-chain evaluation" : ", walk evaluation") : "");
  }

  RunResult result;
  result.output = out_path;
  result.backend = info.backend;
  result.archs = n;
  result.devices.resize(D);
  std::vector<double> sum(D, 0.0), mn(D, std::numeric_limits<double>::infinity()), mx(D, 0.0);
  std::vector<uint64_t> counted(D, 0);
  // Kept in memory for the stages that read the whole matrix and the architectures.
  const bool hold = std::any_of(config.stages.begin(), config.stages.end(), [](const auto& s) { return s->reads_matrix(); });
  const bool hold_codes =
      std::any_of(config.stages.begin(), config.stages.end(), [&](const auto& s) { return s->reads_codes(space); });
  std::vector<float> matrix;
  std::vector<uint8_t> all_codes;  // every row's architecture, for adaptation's features and selection's MACs
  if (hold) matrix.resize(n * D);
  if (hold_codes) all_codes.resize(n * K);
  {
    h5.group("/eval");
    // The per-architecture datasets are the eval stage's output; a run with only the
    // monotonicity stage keeps the matrix in memory and writes its statistics alone.
    const bool write_matrix = config.has("eval");
    H5Matrix lat, codes_ds, index_ds, macs_ds, params_ds;
    if (write_matrix) {
      lat = h5.matrix_f32("/eval/latency_ms", n, D, {"arch", "device"});
      codes_ds = h5.matrix_u8("/eval/arch_codes", n, K, {"arch", "decision"});
      index_ds = h5.vector_u64("/eval/arch_index", n, "arch");
      macs_ds = h5.vector_f32("/eval/macs", n, "arch");
      params_ds = h5.vector_f32("/eval/params", n, "arch");
    }

    const uint64_t chunk = std::min<uint64_t>(eval.chunk, n);
    std::vector<uint8_t> codes(chunk * K);
    std::vector<float> sim(chunk * std::max(Ds, 1)), latency(chunk * D), macs(chunk), params(chunk);
    std::vector<uint64_t> index(chunk);
    const auto t0 = Clock::now();
    auto last_report = t0;
    for (uint64_t first = 0; first < n; first += chunk) {
      const uint64_t count = std::min(chunk, n - first);
      ArchBatch b;
      b.kind = kind;
      b.first = first;
      b.count = count;
      b.seed = config.archs.seed;
      b.codes = kind == ArchBatch::Kind::kList ? list_codes.data() + first * K : nullptr;
      if (options.checkpoint) options.checkpoint();
      if (engine) {
        engine->evaluate(b, codes.data(), sim.data(), macs.data(), params.data());
      } else {
        if (b.codes) {
          std::copy(b.codes, b.codes + count * K, codes.begin());
        } else {  // enumerated with no simulated device: the space's own order
          for (uint64_t i = 0; i < count; ++i) {
            const ArchCode c = space.code_at(first + i);
            std::copy(c.begin(), c.end(), codes.begin() + static_cast<int64_t>(i * K));
          }
        }
        for (uint64_t i = 0; i < count; ++i) {
          const OpTotals t = space.totals(ArchCode(codes.begin() + i * K, codes.begin() + (i + 1) * K));
          macs[i] = static_cast<float>(t.macs);
          params[i] = static_cast<float>(t.params);
        }
      }
      for (uint64_t i = 0; i < count; ++i) {
        const ArchCode code(codes.begin() + i * K, codes.begin() + (i + 1) * K);
        index[i] = space.id() == SpaceId::kNb201 ? nb201_index(code) : first + i;
        float* row = &latency[i * D];
        std::copy(&sim[i * Ds], &sim[i * Ds] + Ds, row);
        if (D > Ds) std::copy(&measured[(first + i) * (D - Ds)], &measured[(first + i + 1) * (D - Ds)], row + Ds);
        for (int d = 0; d < D; ++d) {
          const double v = row[d];
          if (std::isnan(v)) continue;  // not measured
          if (d < Ds && (!std::isfinite(v) || v <= 0.0)) {
            throw std::logic_error(fmt::format("non-positive latency {} for device {} at arch {}", v, names[d], first + i));
          }
          sum[d] += v;
          ++counted[d];
          if (v < mn[d]) {
            mn[d] = v;
            result.devices[d].fastest_arch = index[i];
          }
          mx[d] = std::max(mx[d], v);
        }
      }
      if (hold) std::copy(latency.begin(), latency.begin() + count * D, matrix.begin() + first * D);
      if (hold_codes) std::copy(codes.begin(), codes.begin() + count * K, all_codes.begin() + first * K);
      if (write_matrix) {
        lat.write_rows(first, count, latency.data());
        codes_ds.write_rows(first, count, codes.data());
        index_ds.write_rows(first, count, index.data());
        macs_ds.write_rows(first, count, macs.data());
        params_ds.write_rows(first, count, params.data());
      }
      const auto now = Clock::now();
      if (!options.quiet && (now - last_report > std::chrono::seconds(2) || first + count == n)) {
        const double s = std::chrono::duration<double>(now - t0).count();
        fmt::print(log, "  eval {:>12}/{} archs  {:5.1f}%  {:.2e} arch-device pairs/s\n", first + count, n,
                   100.0 * (first + count) / n, (first + count) * static_cast<double>(D) / std::max(s, 1e-9));
        last_report = now;
      }
    }
    result.eval_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }

  h5.strings("/eval/devices", names, "device");
  h5.strings("/eval/device_classes", classes, "device");
  h5.strings("/eval/device_imitates", imitates, "device");
  h5.strings("/eval/device_files", files, "device");
  {
    std::vector<float> missing(D, 0.0f);
    for (int d = 0; d < D; ++d) missing[d] = static_cast<float>(n - counted[d]);
    H5Matrix m = h5.vector_f32("/eval/not_measured", D, "device");
    m.write_rows(0, D, missing.data());
  }
  h5.attr("/eval", "space", space.name());
  h5.attr("/eval", "dataset", space.dataset());
  const char* selection = config.archs.kind == ArchSelection::Kind::kEnumerate ? "enumerate"
                          : config.archs.kind == ArchSelection::Kind::kSample  ? "sample"
                          : config.archs.kind == ArchSelection::Kind::kList    ? "list"
                                                                               : "measured";
  h5.attr("/eval", "arch_selection", std::string(selection));
  h5.attr("/eval", "arch_seed", static_cast<int64_t>(config.archs.seed));
  h5.attr("/eval", "eval_mode", std::string(!engine ? "none" : engine->compiled() ? "compiled" : "walk"));
  h5.attr("/eval", "seconds", result.eval_seconds);

  const StageInput input{backend, space, matrix, n, all_codes, names, classes, options.quiet, log, devices, eo};
  for (const auto& stage : config.stages) {
    if (!stage->reads_matrix()) continue;  // the eval stage: written above
    if (options.checkpoint) options.checkpoint();
    const auto t0 = Clock::now();
    stage->run(input, h5, result);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    result.stage_seconds[stage->name()] = seconds;
    h5.attr(std::string("/") + stage->name(), "seconds", seconds);
  }

  h5.attr("/", "proxysim_version", info.version);
  h5.attr("/", "git_commit", info.git_commit);
  h5.attr("/", "backend", info.backend);
  h5.attr("/", "device_name", info.device_name);
  h5.attr("/", "created_utc", info.created_utc);
  h5.attr("/", "hostname", info.hostname);
  h5.attr("/", "build_isa", info.build_isa);
  h5.attr("/", "config", resolved_yaml(config));
  h5.attr("/", "config_file", config.file);
  h5.attr("/", "seed", static_cast<int64_t>(config.archs.seed));
  h5.attr("/", "noise_seed", static_cast<int64_t>(config.noise_seed));
  h5.commit();

  for (int d = 0; d < D; ++d) {
    auto& s = result.devices[d];
    s.name = names[d];
    s.device_class = classes[d];
    s.mean_ms = counted[d] ? sum[d] / counted[d] : std::nan("");
    s.min_ms = mn[d];
    s.max_ms = mx[d];
  }
  return result;
}

void print_summary(const RunResult& r, std::ostream& out, int max_rows) {
  if (!r.monotonicity.devices.empty()) {
    if (r.monotonicity.target.empty()) {
      print_srcc_table(r.monotonicity, out);
    } else {
      print_proxy_ranking(r.monotonicity, out);
    }
  }
  if (!r.adapt.targets.empty()) print_adaptation_table(r.adapt, out);
  if (!r.select.targets.empty()) print_selection_table(r.select, out);
  fmt::print(out, "\n{:<22} {:<11} {:>10} {:>10} {:>10} {:>12}\n", "device", "class", "min ms", "mean ms", "max ms",
             "fastest arch");
  int shown = 0;
  for (const auto& d : r.devices) {
    if (shown++ == max_rows) {
      fmt::print(out, "... and {} more devices\n", r.devices.size() - max_rows);
      break;
    }
    fmt::print(out, "{:<22} {:<11} {:>10.3f} {:>10.3f} {:>10.3f} {:>12}\n", d.name, d.device_class, d.min_ms, d.mean_ms,
               d.max_ms, d.fastest_arch);
  }
  fmt::print(out, "\n{} archs x {} devices in {:.2f} s on {} ({:.2e} arch-device pairs/s)\n", r.archs,
             r.devices.size(), r.eval_seconds, r.backend,
             r.archs * static_cast<double>(r.devices.size()) / std::max(r.eval_seconds, 1e-9));
  for (const auto& [stage, seconds] : r.stage_seconds) fmt::print(out, "{} stage in {:.2f} s\n", stage, seconds);
  fmt::print(out, "results: {}\n", r.output);
}

}  // namespace proxysim
