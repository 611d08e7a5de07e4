#include <yaml-cpp/yaml.h>

#include "experiments/config_reader.hpp"
#include "experiments/select.hpp"
#include "experiments/stage.hpp"
#include "search/adaptation.hpp"

namespace proxysim {

namespace {

class SelectStage final : public StageWith<SelectSettings> {
 public:
  const char* name() const override { return "select"; }

  void parse(const ConfigReader& r, const YAML::Node& /*entry*/, const YAML::Node& body, const std::string& bp) override {
    if (!body || body.IsNull()) return;
    auto& a = settings;
    r.only_keys(body, bp, {"candidates", "targets", "rules", "n", "repeats", "seed", "include_disconnected", "sampling"});
    if (body["candidates"]) a.candidates = r.devices(body["candidates"], bp + ".candidates", a.candidates_where);
    if (body["targets"]) a.targets = r.devices(body["targets"], bp + ".targets", a.targets_where);
    if (body["rules"]) a.rules = r.choices(body["rules"], bp + ".rules", select_rule_names(), "selection rule");
    if (body["n"]) {
      a.n_where = r.where(body["n"], bp + ".n");
      // Fewer than 3 samples leave an SRCC with nothing to rank.
      a.n = r.budgets(body["n"], bp + ".n");
    }
    if (body["repeats"]) a.repeats = static_cast<int32_t>(r.u64(body["repeats"], bp + ".repeats", 1, 100000));
    if (body["seed"]) a.seed = r.u64(body["seed"], bp + ".seed", 0, UINT64_MAX);
    if (body["include_disconnected"]) a.include_disconnected = r.flag(body["include_disconnected"], bp + ".include_disconnected");
    if (body["sampling"]) a.sampling = r.choice(body["sampling"], bp + ".sampling", sampling_names(), "sampling");
  }

  void write(YAML::Emitter& out) const override {
    const auto& a = settings;
    out << YAML::BeginMap << YAML::Key << "candidates" << YAML::Value;
    write_device_names(out, a.candidates);
    out << YAML::Key << "targets" << YAML::Value;
    write_device_names(out, a.targets);
    out << YAML::Key << "rules" << YAML::Value << a.rules << YAML::Key << "n" << YAML::Value << YAML::Flow << a.n
        << YAML::Key << "repeats" << YAML::Value << a.repeats << YAML::Key << "seed" << YAML::Value << a.seed
        << YAML::Key << "include_disconnected" << YAML::Value << a.include_disconnected << YAML::Key << "sampling"
        << YAML::Value << a.sampling << YAML::EndMap;
  }

  void check_devices(const std::vector<std::string>& names) const override { resolve_select_devices(settings, names); }

  // Each target's eligible rows and MACs per row, and per thread one pair's columns and
  // their ranks.
  double bytes(const RunShape& s) const override {
    const double targets = settings.targets.empty() ? s.devices : static_cast<double>(settings.targets.size());
    return s.archs * (8.0 * targets + 4 + 4.0 * 6 * s.threads);
  }

  double seconds(const RunShape& s) const override {
    double per_repeat = 0;
    for (int64_t b : settings.n) per_repeat += 2e-6 * s.devices * static_cast<double>(b);
    return (static_cast<double>(settings.rules.size()) * s.devices * settings.repeats * per_repeat +
            s.devices * s.devices * s.archs * 5e-9) /
           s.speed;
  }

  void run(const StageInput& in, H5Writer& h5, RunResult& result) const override {
    result.select = compute_selection(in.space, in.matrix, in.rows, in.codes, in.names, settings);
    write_selection(h5, result.select);
  }
};

}  // namespace

std::unique_ptr<Stage> make_select_stage() { return std::make_unique<SelectStage>(); }

}  // namespace proxysim
