#include "search/schemes/support.hpp"

#include <cmath>
#include <limits>

#include "base/error.hpp"

namespace proxysim::adaptation_detail {

namespace {

// target_twin: a twin of the target itself, from its own few measurements and no
// proxy. The start is the device of the target's class (input.target_starts, none
// fitted on the target's data) that fits the training samples best after a scale
// (choose_target_start); it is then recalibrated toward the training samples with the
// prior weight mu chosen on validation SRCC, mu = +infinity (the start unchanged, at
// the target's level) first, as in `twin`. target_start stops after the choice of
// start: the unfitted start the recalibration is measured against. Neither reads
// proxy_ms or the features beyond their row count.
class TargetTwinScheme final : public AdaptationScheme {
 public:
  TargetTwinScheme(std::vector<double> mu, int max_evaluations, bool fit)
      : mu_(std::move(mu)), max_evaluations_(max_evaluations), fit_(fit) {
    for (double m : mu_) {
      if (!(m >= 0)) throw UserError(name() + ": mu = " + std::to_string(m) + ", expected >= 0");
    }
    if (max_evaluations_ < 1) throw UserError(name() + ": max_evaluations must be at least 1");
  }

  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    if (in.target_starts == nullptr || in.target_starts->params.empty()) {
      throw UserError("adaptation scheme '" + name() +
                      "' needs start devices of the target's class (adapt.target_class), and this input has none");
    }
    const TargetTwinStarts& st = *in.target_starts;
    const Index total = in.features.rows();
    if (!st.archs || st.names.size() != st.params.size() ||
        (st.arch_of_row.empty() ? static_cast<Index>(st.archs->size())
                                : static_cast<Index>(st.arch_of_row.size())) != total) {
      throw UserError("adaptation input: the starts of target '" + st.target + "' cover other architectures than the " +
                      std::to_string(total) + " rows");
    }
    const RowArchs arch{st.arch_of_row};
    require_positive(in.train, name(), "training");
    require_positive(in.validation, name(), "validation");
    const std::vector<int64_t> train = arch.of(in.train.rows), valid = arch.of(in.validation.rows);
    const std::vector<double> y(in.train.latency_ms.data(), in.train.latency_ms.data() + in.train.latency_ms.size());

    const TargetStartChoice start = choose_target_start(st, train, y);
    ValidatedRecalibration best;
    if (fit_) {
      best = recalibrate_on_validation(start.params, *st.archs, train, y, valid, in.validation.latency_ms, mu_,
                                       max_evaluations_);
    } else {
      best.fit = recalibrate_device(start.params, *st.archs, train, y, kInf, max_evaluations_);
    }
    choice_ = AdaptationChoice{};
    choice_.lambda = best.mu;
    choice_.validation_srcc = fit_ ? best.validation_srcc : std::numeric_limits<double>::quiet_NaN();
    choice_.start_index = start.index;
    choice_.start = st.names[static_cast<size_t>(start.index)] +
                    (start.measurement == Measurement::kBlockSum ? " (block_sum)" : "");
    VectorXd out(total);
    const double scale = std::exp(best.fit.log_scale);
    for (Index r = 0; r < total; ++r)
      out[r] = scale * lowered_latency_ms(*st.archs, static_cast<size_t>(arch(r)), best.fit.params);
    return out;
  }
  std::string name() const override { return fit_ ? "target_twin" : "target_start"; }

 private:
  std::vector<double> mu_;
  int max_evaluations_;
  bool fit_;
};

}  // namespace

std::unique_ptr<AdaptationScheme> make_target_twin_scheme(std::vector<double> mu, int max_evaluations, bool fit) {
  return std::make_unique<TargetTwinScheme>(std::move(mu), max_evaluations, fit);
}

}  // namespace proxysim::adaptation_detail

namespace proxysim {

using adaptation_detail::kInf;

TargetTwinStarts make_target_twin_starts(std::string target, const std::vector<const DeviceSpec*>& devices,
                                         const SearchSpace& space, const std::vector<ArchCode>& codes) {
  TargetTwinStarts t;
  t.target = std::move(target);
  for (const DeviceSpec* d : devices) {
    t.names.push_back(d->name);
    t.params.push_back(d->params);
  }
  t.archs = std::make_shared<const LoweredArchs>(lower_archs(space, codes));
  return t;
}

TargetStartChoice choose_target_start(const TargetTwinStarts& starts, const std::vector<int64_t>& archs,
                                      const std::vector<double>& latency_ms) {
  if (archs.size() != latency_ms.size() || archs.empty()) {
    throw UserError("target_twin: the start is chosen on at least one training sample, one latency each");
  }
  TargetStartChoice best;
  best.loss = kInf;
  const auto n = static_cast<double>(archs.size());
  const int space = static_cast<int>(starts.archs->space);
  for (size_t k = 0; k < starts.params.size(); ++k) {
    for (Measurement m : {Measurement::kEndToEnd, Measurement::kBlockSum}) {
      if (starts.measurement_known && m != starts.measurement) continue;
      DeviceParams p = starts.params[k];
      p.measurement[space] = m;
      double sum = 0, sum_sq = 0;
      bool ok = true;
      for (size_t i = 0; i < archs.size() && ok; ++i) {
        const double t = lowered_latency_ms(*starts.archs, static_cast<size_t>(archs[i]), p);
        ok = t > 0 && std::isfinite(t);
        const double r = std::log(latency_ms[i]) - std::log(t);
        sum += r;
        sum_sq += r * r;
      }
      if (!ok) continue;
      const double loss = std::max(0.0, sum_sq / n - (sum / n) * (sum / n));
      if (loss < best.loss) {
        best.index = static_cast<int64_t>(k);
        best.measurement = m;
        best.params = p;
        best.loss = loss;
      }
    }
  }
  if (best.index < 0) {
    throw UserError("target_twin: no start of target '" + starts.target + "' predicts a positive latency for every training sample");
  }
  return best;
}

}  // namespace proxysim
