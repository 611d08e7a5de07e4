#include <yaml-cpp/yaml.h>

#include "experiments/config_reader.hpp"
#include "experiments/eval.hpp"
#include "experiments/stage.hpp"

namespace proxysim {

namespace {

class EvalStage final : public StageWith<EvalSettings> {
 public:
  const char* name() const override { return "eval"; }

  void parse(const ConfigReader& r, const YAML::Node& /*entry*/, const YAML::Node& body,
             const std::string& path) override {
    if (!body || body.IsNull()) return;
    r.only_keys(body, path, {"chunk", "mode"});
    if (body["chunk"]) settings.chunk = r.u64(body["chunk"], path + ".chunk", 1, uint64_t{1} << 26);
    if (body["mode"]) {
      const std::string m = r.choice(body["mode"], path + ".mode", {"auto", "walk", "compiled"}, "evaluation mode");
      settings.mode = m == "walk" ? EvalMode::kWalk : m == "compiled" ? EvalMode::kCompiled : EvalMode::kAuto;
    }
  }

  void write(YAML::Emitter& out) const override {
    const char* mode = settings.mode == EvalMode::kWalk ? "walk" : settings.mode == EvalMode::kCompiled ? "compiled" : "auto";
    out << YAML::BeginMap << YAML::Key << "chunk" << YAML::Value << settings.chunk << YAML::Key << "mode" << YAML::Value
        << mode << YAML::EndMap;
  }

  // The driver streams the matrix to /eval chunk by chunk (experiments/driver.cpp):
  // there is nothing left to do once it has.
  bool reads_matrix() const override { return false; }
  void run(const StageInput& /*input*/, H5Writer& /*h5*/, RunResult& /*result*/) const override {}
};

}  // namespace

std::unique_ptr<Stage> make_eval_stage() { return std::make_unique<EvalStage>(); }

}  // namespace proxysim
