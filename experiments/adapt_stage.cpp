#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "experiments/adapt.hpp"
#include "experiments/config_reader.hpp"
#include "experiments/stage.hpp"
#include "search/adaptation.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

class AdaptStage final : public StageWith<AdaptSettings> {
 public:
  const char* name() const override { return "adapt"; }

  void parse(const ConfigReader& r, const YAML::Node& entry, const YAML::Node& body, const std::string& bp) override {
    auto& a = settings;
    if (!body || body.IsNull()) r.fail(entry, bp, "needs settings, at least {proxy: DEVICE}");
    r.only_keys(body, bp, {"proxy", "targets", "schemes", "n", "validation", "repeats", "seed", "include_disconnected",
                           "candidates", "k", "sampling", "twin", "target_class", "target_measurement",
                           "protocol", "adaproxy", "predict", "export"});
    if (!body["proxy"]) r.fail(body, bp + ".proxy", "missing (the proxy device's column name)");
    a.proxy = r.str(body["proxy"], bp + ".proxy");
    a.proxy_where = r.where(body["proxy"], bp + ".proxy");
    if (body["targets"]) a.targets = r.devices(body["targets"], bp + ".targets", a.targets_where);
    if (body["schemes"]) a.schemes = r.choices(body["schemes"], bp + ".schemes", adaptation_scheme_names(), "adaptation scheme");
    if (body["n"]) {
      a.n_where = r.where(body["n"], bp + ".n");
      // Fewer than 3 training samples cannot fit a slope and an intercept with a check.
      a.n = r.budgets(body["n"], bp + ".n");
    }
    // Fewer than 3 validation samples rank nothing worth choosing by.
    if (body["validation"]) a.validation = static_cast<int64_t>(r.u64(body["validation"], bp + ".validation", 3, kMaxArchs));
    if (body["repeats"]) a.repeats = static_cast<int32_t>(r.u64(body["repeats"], bp + ".repeats", 1, 100000));
    if (body["seed"]) a.seed = r.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
    if (body["include_disconnected"]) a.include_disconnected = r.flag(body["include_disconnected"], bp + ".include_disconnected");
    if (body["candidates"]) a.candidates = r.devices(body["candidates"], bp + ".candidates", a.candidates_where);
    if (body["k"]) a.k = static_cast<int32_t>(r.u64(body["k"], bp + ".k", 1, 64));
    if (body["sampling"]) a.sampling = r.choice(body["sampling"], bp + ".sampling", adaptation_sampling_names(), "sampling");
    if (body["adaproxy"]) {
      const YAML::Node ap = body["adaproxy"];
      const std::string ab = bp + ".adaproxy";
      if (!ap.IsMap()) r.fail(ap, ab, "expected a map {lambda_grid: authors|proxysim, tie: least_penalised|most_penalised}");
      r.only_keys(ap, ab, {"lambda_grid", "tie"});
      if (ap["lambda_grid"]) a.adaproxy_grid = r.choice(ap["lambda_grid"], ab + ".lambda_grid", lambda_grid_names(), "lambda grid");
      if (ap["tie"]) a.adaproxy_tie = r.choice(ap["tie"], ab + ".tie", lambda_tie_names(), "tie-break");
    }
    if (body["protocol"]) {
      a.protocol = r.choice(body["protocol"], bp + ".protocol", {"paper", "paper_mean", "extension"}, "protocol");
      if (a.protocol != "extension") {
        a.n = {60};
        a.validation = 10;
        a.sampling = "authors";
        a.seed = 1;
        a.repeats = a.protocol == "paper" ? 1 : 20;
      }
    }
    if (body["twin"]) {
      a.twin = r.str(body["twin"], bp + ".twin");
      a.twin_where = r.where(body["twin"], bp + ".twin");
    }
    if (body["target_class"]) {
      const YAML::Node tc = body["target_class"];
      const std::string tp = bp + ".target_class";
      a.target_class_where = r.where(tc, tp);
      if (!tc.IsMap()) r.fail(tc, tp, "expected a map {TARGET: CLASS or DEVICE}");
      for (const auto& kv : tc) {
        const std::string key = r.str(kv.first, tp);
        if (!a.target_class.emplace(key, r.str(kv.second, tp + "." + key)).second) {
          r.fail(kv.first, tp + "." + key, "given twice");
        }
      }
    }
    if (body["target_measurement"]) {
      const YAML::Node tm = body["target_measurement"];
      const std::string tp = bp + ".target_measurement";
      a.target_measurement_where = r.where(tm, tp);
      if (!tm.IsMap()) r.fail(tm, tp, "expected a map {TARGET: end_to_end or block_sum}");
      for (const auto& kv : tm) {
        const std::string key = r.str(kv.first, tp);
        const std::string m = r.choice(kv.second, tp + "." + key, {"end_to_end", "block_sum"}, "measurement");
        if (!a.target_measurement.emplace(key, m).second) r.fail(kv.first, tp + "." + key, "given twice");
      }
    }
    if (body["predict"]) a.predict = r.flag(body["predict"], bp + ".predict");
    if (body["export"]) {
      a.export_csv = r.str(body["export"], bp + ".export");
      a.predict = true;  // the export is the predictions, written as CSV
    }
  }

  void write(YAML::Emitter& out) const override {
    const auto& a = settings;
    out << YAML::BeginMap << YAML::Key << "proxy" << YAML::Value << a.proxy << YAML::Key << "targets" << YAML::Value;
    write_device_names(out, a.targets);
    out << YAML::Key << "schemes" << YAML::Value << a.schemes << YAML::Key << "n" << YAML::Value << YAML::Flow << a.n
        << YAML::Key << "validation" << YAML::Value << a.validation << YAML::Key << "repeats" << YAML::Value
        << a.repeats << YAML::Key << "seed" << YAML::Value << a.seed << YAML::Key << "include_disconnected"
        << YAML::Value << a.include_disconnected << YAML::Key << "sampling" << YAML::Value << a.sampling << YAML::Key
        << "candidates" << YAML::Value;
    write_device_names(out, a.candidates);
    out << YAML::Key << "protocol" << YAML::Value << a.protocol << YAML::Key << "adaproxy" << YAML::Value
        << YAML::Flow << YAML::BeginMap << YAML::Key << "lambda_grid" << YAML::Value << a.adaproxy_grid << YAML::Key
        << "tie" << YAML::Value << a.adaproxy_tie << YAML::EndMap;
    out << YAML::Key << "k" << YAML::Value << a.k << YAML::Key << "twin" << YAML::Value
        << (a.twin.empty() ? "twin_" + a.proxy : a.twin);
    if (!a.target_class.empty()) {
      out << YAML::Key << "target_class" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& [t, c] : a.target_class) out << YAML::Key << t << YAML::Value << c;
      out << YAML::EndMap;
    }
    if (!a.target_measurement.empty()) {
      out << YAML::Key << "target_measurement" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& [t, m] : a.target_measurement) out << YAML::Key << t << YAML::Value << m;
      out << YAML::EndMap;
    }
    out << YAML::Key << "predict" << YAML::Value << a.predict;
    if (!a.export_csv.empty()) out << YAML::Key << "export" << YAML::Value << a.export_csv;
    out << YAML::EndMap;
  }

  void check_devices(const std::vector<std::string>& names) const override {
    const AdaptDevices cols = resolve_adapt_devices(settings, names);
    resolve_adapt_twin(settings);
    if (adapt_uses_target_starts(settings)) {
      for (int32_t t : cols.targets) resolve_target_starts(names[static_cast<size_t>(t)], settings);
    }
  }

  // Every (proxy, target) pair leaves at least one architecture unsampled at the
  // largest n + validation, counted as the run counts them.
  void check_data(const RunColumns& c) const override {
    if (c.rows.empty()) return;
    const AdaptSettings& a = settings;
    const AdaptDevices cols = resolve_adapt_devices(a, c.names);
    const int64_t largest = *std::max_element(a.n.begin(), a.n.end()) + a.validation;
    for (int32_t t : cols.targets) {
      const int64_t m = c.both(cols.proxy, t, a.include_disconnected);
      if (m < largest + 1) {
        throw UserError(fmt::format("{}: n = {} training + {} validation samples need more than the {} architectures "
                                    "measured on both '{}' and '{}'",
                                    a.n_where.empty() ? "adapt.n" : a.n_where, largest - a.validation, a.validation, m,
                                    a.proxy, c.names[static_cast<size_t>(t)]));
      }
    }
  }

  // The one-hot features of every row, and each target's copy of its eligible rows
  // (built for all targets before the fits), with its latencies and multi_proxy's
  // candidate columns; then one least-squares solve over a target's rows at a time.
  double bytes(const RunShape& s) const override {
    const double targets = settings.targets.empty() ? s.devices - 1 : static_cast<double>(settings.targets.size());
    const bool mixes = std::find(settings.schemes.begin(), settings.schemes.end(), "multi_proxy") != settings.schemes.end();
    const double candidates = !mixes ? 0.0 : settings.candidates.empty() ? s.devices - 2 : static_cast<double>(settings.candidates.size());
    return s.archs * 8.0 * s.features * (1 + targets) + targets * s.archs * (40.0 + 8.0 * candidates) +
           fit_bytes(s, s.archs);
  }

  // A fit predicts and ranks every architecture once per candidate regularisation.
  double seconds(const RunShape& s) const override {
    const double targets = settings.targets.empty() ? s.devices - 1 : static_cast<double>(settings.targets.size());
    double per_repeat = 0;
    for (int64_t b : settings.n) per_repeat += 4e-3 + 2e-6 * s.archs + 5e-5 * static_cast<double>(b);
    return static_cast<double>(settings.schemes.size()) * targets * settings.repeats * per_repeat / s.speed;
  }

  void run(const StageInput& in, H5Writer& h5, RunResult& result) const override {
    result.adapt = compute_adaptation(in.space, in.matrix, in.rows, in.codes, in.names, settings);
    write_adaptation(h5, result.adapt);
    print_invalid_predictions(result.adapt, in.log);
    if (!settings.export_csv.empty())
      export_adaptation_csv(result.adapt, in.space, in.codes, in.matrix, in.names, settings.export_csv);
  }
};

}  // namespace

std::unique_ptr<Stage> make_adapt_stage() { return std::make_unique<AdaptStage>(); }

}  // namespace proxysim
