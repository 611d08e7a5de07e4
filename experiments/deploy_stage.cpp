#include <yaml-cpp/yaml.h>

#include "experiments/config_reader.hpp"
#include "experiments/deploy.hpp"
#include "experiments/stage.hpp"
#include "search/adaptation.hpp"

namespace proxysim {

namespace {

class DeployStage final : public StageWith<DeploySettings> {
 public:
  const char* name() const override { return "deploy"; }

  void parse(const ConfigReader& r, const YAML::Node& entry, const YAML::Node& body, const std::string& bp) override {
    auto& a = settings;
    if (!body || body.IsNull()) r.fail(entry, bp, "needs settings, at least {proxy: DEVICE, constraint_ms: MS}");
    r.only_keys(body, bp, {"proxy", "target", "scheme", "n", "validation", "constraint_ms", "quantile", "accuracy",
                           "accuracy_file", "synthetic_seed", "seed", "alternatives", "include_disconnected", "export"});
    if (!body["proxy"]) r.fail(body, bp + ".proxy", "missing (the proxy device's column name)");
    a.proxy = r.str(body["proxy"], bp + ".proxy");
    a.proxy_where = r.where(body["proxy"], bp + ".proxy");
    if (body["target"]) {
      a.target = r.str(body["target"], bp + ".target");
      a.target_where = r.where(body["target"], bp + ".target");
    }
    if (body["scheme"]) a.scheme = r.choice(body["scheme"], bp + ".scheme", adaptation_scheme_names(), "adaptation scheme");
    if (body["n"]) {
      a.n_where = r.where(body["n"], bp + ".n");
      if (!(body["n"].IsScalar() && body["n"].Scalar() == "all")) {
        a.n = static_cast<int64_t>(r.u64(body["n"], bp + ".n", 3, kMaxArchs));
      }
    }
    if (body["validation"]) a.validation = static_cast<int64_t>(r.u64(body["validation"], bp + ".validation", 2, kMaxArchs));
    if (static_cast<bool>(body["constraint_ms"]) == static_cast<bool>(body["quantile"])) {
      r.fail(body, bp, "give exactly one latency limit: constraint_ms (milliseconds on the target) or quantile "
                       "(of the predicted latencies)");
    }
    if (body["constraint_ms"]) {
      a.constraint_ms = r.real(body["constraint_ms"], bp + ".constraint_ms", 1e-9, 1e9);
      a.constraint_where = r.where(body["constraint_ms"], bp + ".constraint_ms");
    }
    if (body["quantile"]) {
      a.quantile = r.real(body["quantile"], bp + ".quantile", 1e-9, 1.0);
      a.constraint_where = r.where(body["quantile"], bp + ".quantile");
    }
    if (body["accuracy"]) a.accuracy = r.choice(body["accuracy"], bp + ".accuracy", {"nb201", "synthetic"}, "accuracy source");
    a.accuracy_file = r.accuracy_file(body, bp, a.accuracy);
    if (body["synthetic_seed"]) a.synthetic_seed = r.u64(body["synthetic_seed"], bp + ".synthetic_seed", 0, UINT64_MAX);
    if (body["seed"]) a.seed = r.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
    if (body["alternatives"]) a.alternatives = static_cast<int32_t>(r.u64(body["alternatives"], bp + ".alternatives", 0, 1000));
    if (body["include_disconnected"]) a.include_disconnected = r.flag(body["include_disconnected"], bp + ".include_disconnected");
    if (body["export"]) a.export_json = r.str(body["export"], bp + ".export");
  }

  void write(YAML::Emitter& out) const override {
    const auto& a = settings;
    out << YAML::BeginMap << YAML::Key << "proxy" << YAML::Value << a.proxy;
    if (!a.target.empty()) out << YAML::Key << "target" << YAML::Value << a.target;
    out << YAML::Key << "scheme" << YAML::Value << a.scheme << YAML::Key << "n" << YAML::Value;
    if (a.n > 0) {
      out << a.n;
    } else {
      out << "all";
    }
    out << YAML::Key << "validation" << YAML::Value << a.validation;
    if (a.constraint_ms > 0) {
      out << YAML::Key << "constraint_ms" << YAML::Value << a.constraint_ms;
    } else {
      out << YAML::Key << "quantile" << YAML::Value << a.quantile;
    }
    out << YAML::Key << "accuracy" << YAML::Value << a.accuracy;
    if (!a.accuracy_file.empty()) out << YAML::Key << "accuracy_file" << YAML::Value << a.accuracy_file;
    out << YAML::Key << "synthetic_seed" << YAML::Value << a.synthetic_seed << YAML::Key << "seed" << YAML::Value
        << a.seed << YAML::Key << "alternatives" << YAML::Value << a.alternatives << YAML::Key
        << "include_disconnected" << YAML::Value << a.include_disconnected;
    if (!a.export_json.empty()) out << YAML::Key << "export" << YAML::Value << a.export_json;
    out << YAML::EndMap;
  }

  void check_devices(const std::vector<std::string>& names) const override { resolve_deploy_devices(settings, names); }

  // Every row's architecture, accuracy and prediction; with a target, one fit over
  // every row.
  double bytes(const RunShape& s) const override {
    return s.archs * (32 + s.decisions + 8.0 * 4) + (settings.target.empty() ? 0.0 : fit_bytes(s, s.archs));
  }
  double seconds(const RunShape& s) const override { return (4e-3 + 4e-6 * s.archs) / s.speed; }

  void run(const StageInput& in, H5Writer& h5, RunResult& /*result*/) const override {
    const DeployReport deploy = compute_deploy(in.space, in.matrix, in.rows, in.codes, in.names, settings);
    write_deploy(h5, deploy);
    if (!settings.export_json.empty()) export_deploy_json(deploy, settings.export_json);
    if (!in.quiet) print_deploy(deploy, in.log);
  }
};

}  // namespace

std::unique_ptr<Stage> make_deploy_stage() { return std::make_unique<DeployStage>(); }

}  // namespace proxysim
