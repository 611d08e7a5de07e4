#include "search/schemes/support.hpp"

#include <cmath>

#include "base/error.hpp"

namespace proxysim::adaptation_detail {

namespace {

// twin: the proxy's calibrated simulated twin, recalibrated toward the target on the
// training samples (search/calibration.hpp, recalibrate_device) with the prior weight mu
// chosen on validation SRCC; mu = +infinity, the unchanged twin, comes first and keeps
// ties. Where the linear schemes can only reweight one-hot operators, the twin moves
// physical parameters (op-class efficiencies, bandwidths, dispatch cost) that act
// across every architecture, so ten samples have fewer, better-shaped degrees of
// freedom to fit.
class TwinScheme final : public AdaptationScheme {
 public:
  TwinScheme(std::vector<double> mu, int max_evaluations) : mu_(std::move(mu)), max_evaluations_(max_evaluations) {
    for (double m : mu_) {
      if (!(m >= 0)) throw UserError("twin: mu = " + std::to_string(m) + ", expected >= 0");
    }
    if (max_evaluations_ < 1) throw UserError("twin: max_evaluations must be at least 1");
  }

  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    if (in.proxy_twin == nullptr) {
      throw UserError("adaptation scheme 'twin' needs the proxy's calibrated twin, and this input has none");
    }
    const ProxyTwin& tw = *in.proxy_twin;
    const Index total = in.features.rows();
    if (!tw.archs || (tw.arch_of_row.empty() ? static_cast<Index>(tw.archs->size())
                                             : static_cast<Index>(tw.arch_of_row.size())) != total) {
      throw UserError("adaptation input: the twin '" + tw.name + "' of proxy '" + tw.proxy +
                      "' covers other architectures than the " + std::to_string(total) + " rows");
    }
    const RowArchs arch{tw.arch_of_row};
    require_positive(in.train, "twin", "training");
    require_positive(in.validation, "twin", "validation");
    const std::vector<int64_t> train = arch.of(in.train.rows), valid = arch.of(in.validation.rows);
    const std::vector<double> y(in.train.latency_ms.data(), in.train.latency_ms.data() + in.train.latency_ms.size());

    const ValidatedRecalibration best =
        recalibrate_on_validation(tw.params, *tw.archs, train, y, valid, in.validation.latency_ms, mu_, max_evaluations_);
    choice_ = AdaptationChoice{};
    choice_.lambda = best.mu;
    choice_.validation_srcc = best.validation_srcc;
    VectorXd out(total);
    // With mu = infinity the parameters are the twin's own, so the prediction is the
    // twin's latency, scaled to the target's level (a rank-preserving factor).
    const double scale = std::exp(best.fit.log_scale);
    for (Index r = 0; r < total; ++r)
      out[r] = scale * lowered_latency_ms(*tw.archs, static_cast<size_t>(arch(r)), best.fit.params);
    return out;
  }
  std::string name() const override { return "twin"; }

 private:
  std::vector<double> mu_;
  int max_evaluations_;
};

}  // namespace

std::unique_ptr<AdaptationScheme> make_twin_scheme(std::vector<double> mu, int max_evaluations) {
  return std::make_unique<TwinScheme>(std::move(mu), max_evaluations);
}

}  // namespace proxysim::adaptation_detail
