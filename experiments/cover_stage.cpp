#include <fmt/format.h>
#include <fmt/ostream.h>
#include <yaml-cpp/yaml.h>

#include <chrono>

#include "experiments/config_reader.hpp"
#include "experiments/cover.hpp"
#include "experiments/stage.hpp"

namespace proxysim {

namespace {

class CoverStage final : public StageWith<CoverSettings> {
 public:
  const char* name() const override { return "cover"; }

  void parse(const ConfigReader& r, const YAML::Node& /*entry*/, const YAML::Node& body, const std::string& bp) override {
    if (!body || body.IsNull()) return;
    auto& cv = settings;
    r.only_keys(body, bp, {"thresholds", "by_class", "include_disconnected"});
    if (body["thresholds"]) {
      cv.thresholds = r.increasing(body["thresholds"], bp + ".thresholds", -1.0, 1.0,
                                   "expected an SRCC or a non-empty increasing list of them", "thresholds must increase");
    }
    if (body["by_class"]) cv.by_class = r.flag(body["by_class"], bp + ".by_class");
    if (body["include_disconnected"]) cv.include_disconnected = r.flag(body["include_disconnected"], bp + ".include_disconnected");
  }

  void write(YAML::Emitter& out) const override {
    const auto& cv = settings;
    out << YAML::BeginMap << YAML::Key << "thresholds" << YAML::Value << YAML::Flow << cv.thresholds << YAML::Key
        << "by_class" << YAML::Value << cv.by_class << YAML::Key << "include_disconnected" << YAML::Value
        << cv.include_disconnected << YAML::EndMap;
  }

  // The SRCC matrix: a rank per entry and the sorts' keys.
  double bytes(const RunShape& s) const override { return s.archs * s.devices * 4 + s.archs * 16; }
  double seconds(const RunShape& s) const override { return s.devices * s.devices * s.archs * 5e-9 / s.speed; }

  void run(const StageInput& in, H5Writer& h5, RunResult& /*result*/) const override {
    const auto t0 = std::chrono::steady_clock::now();
    const CoverReport cover =
        compute_cover(in.backend, in.space, in.matrix, in.rows, in.codes, in.names, in.classes, settings);
    write_cover(h5, cover);
    if (!in.quiet) {
      print_cover_table(cover, in.log);
      fmt::print(in.log, "proxy cover in {:.2f} s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
};

}  // namespace

std::unique_ptr<Stage> make_cover_stage() { return std::make_unique<CoverStage>(); }

}  // namespace proxysim
