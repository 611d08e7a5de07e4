#include <fmt/format.h>
#include <fmt/ostream.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>

#include "experiments/config_reader.hpp"
#include "experiments/nas.hpp"
#include "experiments/stage.hpp"
#include "search/adaptation.hpp"
#include "search/nas.hpp"
#include "search/strategy.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

class NasStage final : public StageWith<NasSettings> {
 public:
  const char* name() const override { return "nas"; }

  void parse(const ConfigReader& r, const YAML::Node& entry, const YAML::Node& body, const std::string& bp) override {
    auto& a = settings;
    if (!body || body.IsNull()) r.fail(entry, bp, "needs settings, at least {proxy: DEVICE}");
    r.only_keys(body, bp, {"accuracy", "accuracy_file", "synthetic_seed", "proxy", "targets", "sources", "scheme", "n",
                           "validation", "strategies", "constraints", "constraint_ms", "seeds", "seed", "budget",
                           "population", "sample", "ofa", "checkpoints", "include_disconnected", "optimum_budget",
                           "optimum_seeds", "batch_searches"});
    if (body["accuracy"]) a.accuracy = r.choice(body["accuracy"], bp + ".accuracy", {"nb201", "synthetic"}, "accuracy source");
    a.accuracy_file = r.accuracy_file(body, bp, a.accuracy);
    if (body["synthetic_seed"]) a.synthetic_seed = r.u64(body["synthetic_seed"], bp + ".synthetic_seed", 0, UINT64_MAX);
    if (!body["proxy"]) r.fail(body, bp + ".proxy", "missing (the proxy device's column name)");
    a.proxy = r.str(body["proxy"], bp + ".proxy");
    a.proxy_where = r.where(body["proxy"], bp + ".proxy");
    if (body["targets"]) a.targets = r.devices(body["targets"], bp + ".targets", a.targets_where);
    if (body["sources"]) a.sources = r.choices(body["sources"], bp + ".sources", nas_source_names(), "latency source");
    if (body["scheme"]) a.scheme = r.choice(body["scheme"], bp + ".scheme", adaptation_scheme_names(), "adaptation scheme");
    if (body["n"]) a.n = static_cast<int64_t>(r.u64(body["n"], bp + ".n", 3, kMaxArchs));
    if (body["validation"]) a.validation = static_cast<int64_t>(r.u64(body["validation"], bp + ".validation", 3, kMaxArchs));
    if (body["strategies"]) a.strategies = r.choices(body["strategies"], bp + ".strategies", strategy_names(), "search strategy");
    // Quantiles of latency; 1 admits every architecture (no constraint).
    if (body["constraints"]) {
      a.constraints = r.increasing(body["constraints"], bp + ".constraints", 1e-9, 1.0,
                                   "expected a latency quantile in (0, 1] or an increasing list of them",
                                   "constraints must increase");
    }
    // Latency limits on the target in ms, each judged on the target's measurements.
    if (body["constraint_ms"]) {
      if (body["constraints"]) {
        r.fail(body["constraint_ms"], bp + ".constraint_ms",
               "give latency quantiles (constraints) or limits in ms (constraint_ms), not both");
      }
      a.constraint_ms = r.increasing(body["constraint_ms"], bp + ".constraint_ms", 1e-9, 1e12,
                                     "expected a latency limit in ms (> 0) or an increasing list of them",
                                     "limits must increase");
      a.constraints.clear();
    }
    if (body["seeds"]) a.seeds = static_cast<int32_t>(r.u64(body["seeds"], bp + ".seeds", 1, 100000));
    if (body["seed"]) a.seed = r.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
    if (body["budget"]) a.budget = static_cast<int64_t>(r.u64(body["budget"], bp + ".budget", 0, kMaxArchs));
    if (body["population"]) a.population = static_cast<int32_t>(r.u64(body["population"], bp + ".population", 1, 1000000));
    if (body["sample"]) a.sample = static_cast<int32_t>(r.u64(body["sample"], bp + ".sample", 1, 1000000));
    if (body["ofa"]) {
      const YAML::Node o = body["ofa"];
      const std::string op = bp + ".ofa";
      r.only_keys(o, op, {"population", "generations", "mutation_prob", "parent_ratio", "mutation_ratio"});
      if (o["population"]) a.ofa_population = static_cast<int32_t>(r.u64(o["population"], op + ".population", 2, 1000000));
      if (o["generations"]) a.ofa_generations = static_cast<int32_t>(r.u64(o["generations"], op + ".generations", 0, 1000000));
      if (o["mutation_prob"]) a.ofa_mutation_prob = r.real(o["mutation_prob"], op + ".mutation_prob", 0.0, 1.0);
      if (o["parent_ratio"]) a.ofa_parent_ratio = r.real(o["parent_ratio"], op + ".parent_ratio", 0.01, 1.0);
      if (o["mutation_ratio"]) a.ofa_mutation_ratio = r.real(o["mutation_ratio"], op + ".mutation_ratio", 0.0, 1.0);
      if (a.ofa_parent_ratio + a.ofa_mutation_ratio > 1.0) r.fail(o, op, "parent_ratio + mutation_ratio must be at most 1");
    }
    if (body["checkpoints"]) a.checkpoints = r.budgets(body["checkpoints"], bp + ".checkpoints");
    if (body["include_disconnected"]) a.include_disconnected = r.flag(body["include_disconnected"], bp + ".include_disconnected");
    if (body["optimum_budget"]) a.optimum_budget = static_cast<int64_t>(r.u64(body["optimum_budget"], bp + ".optimum_budget", 1, kMaxArchs));
    if (body["optimum_seeds"]) a.optimum_seeds = static_cast<int32_t>(r.u64(body["optimum_seeds"], bp + ".optimum_seeds", 1, 10000));
    if (body["batch_searches"]) a.batch_searches = r.flag(body["batch_searches"], bp + ".batch_searches");
  }

  void write(YAML::Emitter& out) const override {
    const auto& a = settings;
    out << YAML::BeginMap << YAML::Key << "accuracy" << YAML::Value << a.accuracy << YAML::Key << "accuracy_file"
        << YAML::Value << a.accuracy_file << YAML::Key << "synthetic_seed" << YAML::Value << a.synthetic_seed
        << YAML::Key << "proxy" << YAML::Value << a.proxy << YAML::Key << "targets" << YAML::Value;
    write_device_names(out, a.targets);
    out << YAML::Key << "sources" << YAML::Value << YAML::Flow << a.sources << YAML::Key << "scheme" << YAML::Value
        << a.scheme << YAML::Key << "n" << YAML::Value << a.n << YAML::Key << "validation" << YAML::Value
        << a.validation << YAML::Key << "strategies" << YAML::Value << YAML::Flow << a.strategies << YAML::Key
        << (a.constraint_ms.empty() ? "constraints" : "constraint_ms") << YAML::Value << YAML::Flow
        << (a.constraint_ms.empty() ? a.constraints : a.constraint_ms) << YAML::Key << "seeds" << YAML::Value
        << a.seeds << YAML::Key << "seed" << YAML::Value << a.seed << YAML::Key << "budget" << YAML::Value << a.budget
        << YAML::Key << "population" << YAML::Value << a.population << YAML::Key << "sample" << YAML::Value
        << a.sample << YAML::Key << "ofa" << YAML::Value << YAML::BeginMap << YAML::Key << "population" << YAML::Value
        << a.ofa_population << YAML::Key << "generations" << YAML::Value << a.ofa_generations << YAML::Key
        << "mutation_prob" << YAML::Value << a.ofa_mutation_prob << YAML::Key << "parent_ratio" << YAML::Value
        << a.ofa_parent_ratio << YAML::Key << "mutation_ratio" << YAML::Value << a.ofa_mutation_ratio << YAML::EndMap
        << YAML::Key << "checkpoints" << YAML::Value << YAML::Flow << a.checkpoints << YAML::Key
        << "include_disconnected" << YAML::Value << a.include_disconnected << YAML::Key << "optimum_budget"
        << YAML::Value << a.optimum_budget << YAML::Key << "optimum_seeds" << YAML::Value << a.optimum_seeds
        << YAML::Key << "batch_searches" << YAML::Value << a.batch_searches << YAML::EndMap;
  }

  void check_devices(const std::vector<std::string>& names) const override { resolve_nas_devices(settings, names); }

  // A space small enough to tabulate searches the run's table: with the adapted
  // source, every (proxy, target) pair leaves an architecture unsampled after
  // n + validation. A larger one is evaluated on the fly (check_on_the_fly).
  void check_data(const RunColumns& c) const override {
    if (!is_tabulable(c.space)) {
      check_on_the_fly(settings, c.names, c.simulated);
      return;
    }
    if (c.rows.empty()) return;
    const NasSettings& s = settings;
    const NasDevices cols = resolve_nas_devices(s, c.names);
    const bool adapted = std::find(s.sources.begin(), s.sources.end(), "adapted") != s.sources.end();
    const int64_t need = adapted ? s.n + s.validation + 1 : 1;
    for (int32_t t : cols.targets) {
      const int64_t m = c.both(cols.proxy, t, s.include_disconnected);
      if (m < need) {
        throw UserError(fmt::format("nas: only {} architectures are measured on both '{}' and '{}' (need at least {}{})",
                                    m, s.proxy, c.names[static_cast<size_t>(t)], need,
                                    adapted ? ": the adapted source's n + validation samples and one more" : ""));
      }
    }
  }

  // Per row: its architecture, accuracy, MACs and each source's latency; with the
  // adapted source, one fit over every row at a time.
  double bytes(const RunShape& s) const override {
    const bool adapted = std::find(settings.sources.begin(), settings.sources.end(), "adapted") != settings.sources.end();
    return s.archs * (32 + s.decisions + 8.0 * static_cast<double>(settings.sources.size() + 2)) +
           (adapted ? fit_bytes(s, s.archs) : 0.0);
  }

  double seconds(const RunShape& s) const override {
    const auto& a = settings;
    const double targets = a.targets.empty() ? s.devices - 1 : static_cast<double>(a.targets.size());
    const double constraints = static_cast<double>(a.constraint_ms.empty() ? a.constraints.size() : a.constraint_ms.size());
    const double budget = a.budget > 0 ? static_cast<double>(a.budget) : s.archs;
    const double searches = static_cast<double>(a.strategies.size() * a.sources.size()) * targets * constraints * a.seeds;
    if (!s.tabulable) {
      // Each evaluation and refusal costs an engine evaluation on 1 + targets devices.
      const double evaluations = searches * budget + targets * constraints * a.optimum_seeds * static_cast<double>(a.optimum_budget);
      return (evaluations * 2.0 * (1e-6 + 2e-7 * (targets + 1)) + targets * 2e-6 * s.archs) / s.speed;
    }
    return (searches * budget * 2e-7 + targets * a.seeds * (4e-3 + 2e-6 * s.archs)) / s.speed;
  }

  void run(const StageInput& in, H5Writer& h5, RunResult& /*result*/) const override {
    const auto t0 = std::chrono::steady_clock::now();
    const NasReport nas = is_tabulable(in.space) ? compute_nas(in.space, in.matrix, in.rows, in.codes, in.names, settings)
                                                 : compute_nas_on_the_fly(in, settings);
    write_nas(h5, nas);
    if (!in.quiet) {
      print_nas_table(nas, in.log);
      fmt::print(in.log, "nas: {} searches in {:.2f} s (adaptation {:.2f} s)\n", nas.regret.size(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), nas.seconds_adapt);
    }
  }
};

}  // namespace

std::unique_ptr<Stage> make_nas_stage() { return std::make_unique<NasStage>(); }

}  // namespace proxysim
