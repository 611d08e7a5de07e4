#include "experiments/deploy.hpp"
#include "experiments/stage_checks.hpp"
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
#include "experiments/nas.hpp"
#include "io/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "io/h5.hpp"
#include "io/run_info.hpp"
#include "kernels/engine.hpp"
#include "sim/error.hpp"

namespace proxysim {

namespace {

std::vector<DeviceSpec> resolve_devices(const std::vector<std::string>& names) {
  std::vector<DeviceSpec> out;
  for (const auto& n : names) {
    auto part = select_devices(n);
    for (auto& d : part) {
      for (const auto& have : out) {
        if (have.name == d.name) throw UserError("device '" + d.name + "' is listed twice");
      }
      out.push_back(std::move(d));
    }
  }
  return out;
}

void add_unique(std::vector<DeviceSpec>& out, DeviceSpec d) {
  for (const auto& have : out) {
    if (have.name == d.name) throw UserError("device '" + d.name + "' is listed twice");
  }
  out.push_back(std::move(d));
}

}  // namespace

RunResult run_experiment(const ExperimentConfig& config, const RunOptions& options, std::ostream& log) {
  using Clock = std::chrono::steady_clock;
  const SearchSpace space = make_space(config.space, config.dataset);
  // Simulated columns: named devices, then populations, then requested-SRCC devices
  // (which need the architectures, below).
  std::vector<DeviceSpec> specs = resolve_devices(config.devices);
  for (const auto& p : config.populations) {
    for (auto& d : population_specs(p)) add_unique(specs, std::move(d));
  }
  const Backend backend = resolve_backend(options.backend.empty() ? config.backend : options.backend);
  if (!config.eval && !config.monotonicity && !config.adapt && !config.select && !config.cover && !config.nas &&
      !config.deploy) {
    throw UserError("config has no stage to run (eval, monotonicity, adapt, select, cover, nas, deploy)");
  }
  const int K = space.decisions();

  // Measured devices: their columns join the simulated ones, keyed by architecture.
  std::vector<MeasuredTable> tables;
  for (const auto& path : config.measured) {
    tables.push_back(read_measured_csv(path, space.name()));
  }

  // Architectures.
  ArchBatch::Kind kind = ArchBatch::Kind::kSample;
  uint64_t n = config.archs.count;
  std::vector<uint8_t> list_codes;
  std::map<ArchCode, uint64_t> row_of;  // kMeasured / kList: architecture -> row
  switch (config.archs.kind) {
    case ArchSelection::Kind::kEnumerate: {
      const auto size = space.size();
      if (!size) throw UserError("archs: all: space '" + space.name() + "' is too large to enumerate; use {sample: N}");
      kind = ArchBatch::Kind::kEnumerate;
      n = *size;
      // Measured tables cover part of the space: their rows find their architectures.
      if (!tables.empty()) {
        for (uint64_t i = 0; i < n; ++i) row_of.emplace(space.code_at(i), i);
      }
      break;
    }
    case ArchSelection::Kind::kSample: kind = ArchBatch::Kind::kSample; break;
    case ArchSelection::Kind::kList:
    case ArchSelection::Kind::kMeasured: {
      kind = ArchBatch::Kind::kList;
      auto add = [&](const ArchCode& c) {
        if (row_of.emplace(c, row_of.size()).second) list_codes.insert(list_codes.end(), c.begin(), c.end());
      };
      if (config.archs.kind == ArchSelection::Kind::kList) {
        for (const auto& s : config.archs.list) add(space.from_string(s));
      } else {
        for (const auto& t : tables) {
          for (const auto& c : t.codes) add(c);
        }
      }
      n = row_of.size();
      break;
    }
  }
  if (n == 0) throw UserError("no architectures to evaluate");
  for (const auto& r : config.srcc_devices) {
    const DeviceSpec proxy = resolve_one_device(r.proxy, (r.where.empty() ? "srcc_to" : r.where) + ".proxy");
    ArchBatch b;
    b.kind = kind;
    b.count = n;
    b.seed = config.archs.seed;
    b.codes = kind == ArchBatch::Kind::kList ? list_codes.data() : nullptr;
    EngineOptions eo;
    eo.mode = config.eval_stage.mode;
    eo.noise_seed = config.noise_seed;
    const SrccMeter meter(backend, space, b, eo, proxy);
    SrccDevice sd = srcc_spec(r, meter, proxy);
    if (!options.quiet) {
      fmt::print(log, "proxysim: {} at SRCC {:.3f} to {} (asked {:.3f}; mix {:.3f} towards {} on {} archs)\n",
                 sd.spec.name, sd.srcc, proxy.name, r.srcc, sd.mix, r.far.empty() ? "its scrambled twin" : r.far,
                 meter.rows());
    }
    add_unique(specs, std::move(sd.spec));
  }

  // Column layout: simulated devices first, then each measured table's devices.
  std::vector<std::string> names, classes, imitates, files;
  for (const auto& s : specs) {
    names.push_back(s.name);
    classes.push_back(std::string(device_class_name(s.params.device_class)));
    imitates.push_back(s.imitates);
    files.push_back(s.file);
  }
  for (const auto& t : tables) {
    for (const auto& d : t.devices) {
      std::string name = d;
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        name = std::filesystem::path(t.file).stem().string() + ":" + d;
      }
      names.push_back(name);
      classes.push_back("measured");
      imitates.push_back("measured column " + d);
      files.push_back(t.file);
    }
  }
  const int Ds = static_cast<int>(specs.size());
  const int D = static_cast<int>(names.size());
  if (D == 0) throw UserError("no devices: name simulated devices or measured: files");
  // Every stage's device names are checked now, before any work.
  check_stage_devices(config, names);
  // Measured latencies per row (NaN where a table lacks the architecture).
  std::vector<float> measured;
  if (!tables.empty()) {
    if (row_of.empty()) throw UserError("measured: files need archs: all, measured or a list (a sample cannot be matched to the tables' "
                      "rows)");
    measured.assign(n * (D - Ds), std::numeric_limits<float>::quiet_NaN());
    int col = 0;
    for (const auto& t : tables) {
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
  if (Ds > 0) {
    std::vector<EvalDevice> devices;
    devices.reserve(specs.size());
    for (const auto& s : specs) devices.push_back({s.name, s.params});
    EngineOptions eo;
    eo.mode = config.eval_stage.mode;
    eo.noise_seed = config.noise_seed;
    engine = make_engine(backend, space, devices, eo);
  }

  const RunInfo info = collect_run_info(backend_name(backend));
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
  // Kept in memory for the stages that read the whole matrix (monotonicity, adapt, select).
  const bool hold = config.monotonicity || config.adapt || config.select || config.cover || config.nas || config.deploy;
  const bool hold_codes = config.adapt || config.select || config.cover || config.nas || config.deploy;
  std::vector<float> matrix;
  std::vector<uint8_t> keep;       // rows the monotonicity statistics use
  std::vector<uint8_t> all_codes;  // every row's architecture, for adaptation's features and selection's MACs
  if (hold) matrix.resize(n * D);
  if (config.monotonicity) keep.assign(n, 1);
  if (hold_codes) all_codes.resize(n * K);
  {
    h5.group("/eval");
    // The per-architecture datasets are the eval stage's output; a run with only the
    // monotonicity stage keeps the matrix in memory and writes its statistics alone.
    const bool write_matrix = config.eval;
    H5Matrix lat, codes_ds, index_ds, macs_ds, params_ds;
    if (write_matrix) {
      lat = h5.matrix_f32("/eval/latency_ms", n, D, {"arch", "device"});
      codes_ds = h5.matrix_u8("/eval/arch_codes", n, K, {"arch", "decision"});
      index_ds = h5.vector_u64("/eval/arch_index", n, "arch");
      macs_ds = h5.vector_f32("/eval/macs", n, "arch");
      params_ds = h5.vector_f32("/eval/params", n, "arch");
    }

    const uint64_t chunk = std::min<uint64_t>(config.eval_stage.chunk, n);
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
        if (config.monotonicity && space.id() == SpaceId::kNb201 && !config.monotonicity_stage.include_disconnected &&
            !nb201::connected(code.data())) {
          keep[first + i] = 0;
        }
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

  if (config.monotonicity) {
    if (options.checkpoint) options.checkpoint();
    const auto t0 = Clock::now();
    result.monotonicity = compute_monotonicity(backend, matrix, n, names, keep, config.monotonicity_stage);
    write_monotonicity(h5, result.monotonicity);
    result.monotonicity_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    h5.attr("/monotonicity", "seconds", result.monotonicity_seconds);
  }
  if (config.adapt) {
    if (options.checkpoint) options.checkpoint();
    const auto t0 = Clock::now();
    result.adapt = compute_adaptation(space, matrix, n, all_codes, names, config.adapt_stage);
    write_adaptation(h5, result.adapt);
    print_invalid_predictions(result.adapt, log);
    if (!config.adapt_stage.export_csv.empty())
      export_adaptation_csv(result.adapt, space, all_codes, matrix, names, config.adapt_stage.export_csv);
    result.adapt_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    h5.attr("/adapt", "seconds", result.adapt_seconds);
  }
  if (config.select) {
    if (options.checkpoint) options.checkpoint();
    const auto t0 = Clock::now();
    result.select = compute_selection(space, matrix, n, all_codes, names, config.select_stage);
    write_selection(h5, result.select);
    result.select_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    h5.attr("/select", "seconds", result.select_seconds);
  }
  if (config.cover) {
    if (options.checkpoint) options.checkpoint();
    const auto t0 = Clock::now();
    const CoverReport cover = compute_cover(backend, space, matrix, n, all_codes, names, classes, config.cover_stage);
    write_cover(h5, cover);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    h5.attr("/cover", "seconds", seconds);
    if (!options.quiet) {
      print_cover_table(cover, log);
      fmt::print(log, "proxy cover in {:.2f} s\n", seconds);
    }
  }

  if (config.nas) {
    const auto t0 = Clock::now();
    const NasReport nas = compute_nas(space, matrix, n, all_codes, names, config.nas_stage);
    write_nas(h5, nas);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    h5.attr("/nas", "seconds", seconds);
    if (!options.quiet) {
      print_nas_table(nas, log);
      fmt::print(log, "nas: {} searches in {:.2f} s (adaptation {:.2f} s)\n", nas.regret.size(), seconds,
                 nas.seconds_adapt);
    }
  }

  if (config.deploy) {
    if (options.checkpoint) options.checkpoint();
    const auto t0 = Clock::now();
    const DeployReport deploy = compute_deploy(space, matrix, n, all_codes, names, config.deploy_stage);
    write_deploy(h5, deploy);
    h5.attr("/deploy", "seconds", std::chrono::duration<double>(Clock::now() - t0).count());
    if (!config.deploy_stage.export_json.empty()) export_deploy_json(deploy, config.deploy_stage.export_json);
    if (!options.quiet) print_deploy(deploy, log);
  }

  h5.attr("/", "proxysim_version", info.version);
  h5.attr("/", "git_commit", info.git_commit);
  h5.attr("/", "backend", info.backend);
  h5.attr("/", "device_name", info.device_name);
  h5.attr("/", "created_utc", info.created_utc);
  h5.attr("/", "hostname", info.hostname);
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
  if (!r.monotonicity.devices.empty()) fmt::print(out, "monotonicity statistics in {:.2f} s\n", r.monotonicity_seconds);
  if (!r.adapt.targets.empty()) fmt::print(out, "adaptation in {:.2f} s\n", r.adapt_seconds);
  if (!r.select.targets.empty()) fmt::print(out, "proxy selection in {:.2f} s\n", r.select_seconds);
  fmt::print(out, "results: {}\n", r.output);
}

}  // namespace proxysim
