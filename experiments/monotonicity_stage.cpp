#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "experiments/config_reader.hpp"
#include "experiments/monotonicity.hpp"
#include "experiments/stage.hpp"

namespace proxysim {

namespace {

class MonotonicityStage final : public StageWith<MonotonicitySettings> {
 public:
  const char* name() const override { return "monotonicity"; }

  void parse(const ConfigReader& r, const YAML::Node& /*entry*/, const YAML::Node& body,
             const std::string& path) override {
    if (!body || body.IsNull()) return;
    auto& m = settings;
    r.only_keys(body, path, {"kendall", "top_k", "bootstrap", "bootstrap_seed", "include_disconnected", "target"});
    if (body["kendall"]) m.kendall = r.flag(body["kendall"], path + ".kendall");
    if (body["include_disconnected"]) m.include_disconnected = r.flag(body["include_disconnected"], path + ".include_disconnected");
    if (body["top_k"]) m.top_k = static_cast<int64_t>(r.u64(body["top_k"], path + ".top_k", 0, kMaxArchs));
    if (body["bootstrap"]) m.bootstrap = static_cast<int32_t>(r.u64(body["bootstrap"], path + ".bootstrap", 0, 100000));
    if (body["bootstrap_seed"]) m.bootstrap_seed = r.u64(body["bootstrap_seed"], path + ".bootstrap_seed", 0, UINT64_MAX);
    if (body["target"]) m.target = r.str(body["target"], path + ".target");
  }

  void write(YAML::Emitter& out) const override {
    const auto& m = settings;
    out << YAML::BeginMap << YAML::Key << "kendall" << YAML::Value << m.kendall << YAML::Key << "top_k" << YAML::Value
        << m.top_k << YAML::Key << "bootstrap" << YAML::Value << m.bootstrap << YAML::Key << "bootstrap_seed"
        << YAML::Value << m.bootstrap_seed << YAML::Key << "include_disconnected" << YAML::Value
        << m.include_disconnected;
    if (!m.target.empty()) out << YAML::Key << "target" << YAML::Value << m.target;
    out << YAML::EndMap;
  }

  void check_devices(const std::vector<std::string>& names) const override {
    monotonicity_target_column(settings, names);
  }

  // The rows it keeps are chosen by architecture only where NB201's disconnected
  // cells are left out.
  bool reads_codes(const SearchSpace& space) const override {
    return space.id() == SpaceId::kNb201 && !settings.include_disconnected;
  }

  // A rank per entry and the sorts' keys (the SRCC process of 10^6 x 32 peaks at 289 MiB
  // resident, 2.3x the matrix, bench/rank_floor.py), and the D x D results.
  double bytes(const RunShape& s) const override {
    return s.archs * s.devices * 4 + s.archs * 16 + 4.0 * 8 * s.devices * s.devices;
  }

  double seconds(const RunShape& s) const override {
    const double pairs = s.devices * s.devices * s.archs;
    double t = pairs * (settings.kendall ? 2e-8 * std::log2(std::max(s.archs, 2.0)) : 5e-9);
    t += settings.bootstrap * pairs * 5e-9;
    return t / s.speed;
  }

  void run(const StageInput& in, H5Writer& h5, RunResult& result) const override {
    std::vector<uint8_t> keep(in.rows, 1);
    if (reads_codes(in.space)) {
      const auto K = static_cast<uint64_t>(in.space.decisions());
      for (uint64_t i = 0; i < in.rows; ++i) keep[i] = leaves_out(in.space, in.codes.data() + i * K, false) ? 0 : 1;
    }
    result.monotonicity = compute_monotonicity(in.backend, in.matrix, in.rows, in.names, keep, settings);
    write_monotonicity(h5, result.monotonicity);
  }
};

}  // namespace

std::unique_ptr<Stage> make_monotonicity_stage() { return std::make_unique<MonotonicityStage>(); }

}  // namespace proxysim
