#include "search/schemes/support.hpp"

#include <cmath>

#include "search/group_lasso.hpp"
#include "search/williams.hpp"

namespace proxysim::adaptation_detail {

namespace {

// Anchored adaptation: AdaProxy's fits, adopted only where the samples show that one
// ranks the target better than the proxy does; otherwise the proxy, rescaled (a
// positive s * proxy + c: rank-identical to no adaptation).
//
// The candidates are AdaProxy's operator-level correction on two bases: the proxy's
// measured latency, s * proxy + c + Z b (the measurements stay the anchor and the
// features only correct them), and AdaProxy's own model, its linear fit,
// s * X w_P + c + Z b (the better anchor where the measurements carry rank noise the
// target does not share); Z = X diag(w_P). Each is taken at the ridge weights
// mu = t * 10^(0.5 - j/4), j = 1..24 (t = top_weight(), the largest squared singular
// value of the correction's design; a ridge weight is a point of AdaProxy's
// group-lasso path, CorrectionPath), and the linear fit with b = 0 is a candidate too.
//
// The decision uses all N = n + v samples at once and has a stated statistical basis:
//  1. Each candidate predicts every sample from the other N - 1 (exact leave-one-out,
//     CorrectionPath), so its SRCC with the target on the samples is out of sample.
//  2. A candidate may spend at most half of the N - 2 degrees of freedom that the
//     scale and intercept leave (effective degrees of freedom of the ridge fit): past
//     that, N samples no longer estimate its error (generalised cross-validation's
//     denominator (1 - df/N)^2 goes to zero, and so does the information in each LOO
//     residual). On the oneproxy table, uncapped, a near-interpolating fit of 20
//     samples could score 0.84 out of sample and 0.06 on all architectures.
//  3. The candidate with the highest leave-one-out SRCC is compared with the proxy on
//     the same samples by Williams' test for two dependent correlations sharing the
//     target (Steiger 1980), one-sided at level 0.05: H0 is that it ranks the target no
//     better than the proxy. It is adopted only when H0 is rejected, and then refitted
//     on all N samples (the same mu).
// The two constants (the level 0.05 and the half of the residual degrees of freedom)
// are conventional values, checked on one table only (the paper's oneproxy release,
// every device as the proxy of every other: 306 pairs) before any other table was
// run; results/checks/ADAPTATION.md reports every shared table.
class AnchoredScheme final : public AdaptationScheme {
 public:
  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    const VectorXd w_p = proxy_weights_of(in);
    const VectorXd& proxy = in.proxy_ms;
    std::vector<int64_t> rows = in.train.rows;
    rows.insert(rows.end(), in.validation.rows.begin(), in.validation.rows.end());
    VectorXd y(static_cast<Index>(rows.size()));
    y << in.train.latency_ms, in.validation.latency_ms;
    const auto n = static_cast<int64_t>(rows.size());
    const MatrixXd x_s = gather_rows(in.features, rows);
    const MatrixXd z_s = x_s * w_p.asDiagonal();
    const VectorXd proxy_s = gather(proxy, rows);
    const VectorXd linear = in.features * w_p;
    const double proxy_srcc = srcc(proxy_s, y);

    choice_ = AdaptationChoice{};
    choice_.lambda = kInf;
    choice_.validation_srcc = proxy_srcc;
    struct Best {
      int base = -1;  // 0: the proxy, 1: its linear fit
      double mu = kInf, srcc = -kInf, srcc_with_proxy = 0;
    } best;
    const double max_df = kMaxDfFraction * static_cast<double>(n - 2);
    const std::array<CorrectionPath, 2> paths = {CorrectionPath(proxy_s, z_s, y),
                                                 CorrectionPath(gather(linear, rows), z_s, y)};
    for (int base = 0; base < 2 && n > 3; ++base) {
      const CorrectionPath& path = paths[static_cast<size_t>(base)];
      // The proxy with b = 0 is the default, not a candidate; its linear fit is one.
      for (int j = base == 0 ? 1 : 0; j <= kGridSteps; ++j) {
        const double mu = j == 0 ? kInf : path.top_weight() * std::pow(10.0, 0.5 - 0.25 * j);
        if (j > 0 && !(path.top_weight() > 0)) break;
        const CorrectionPath::Point pt = path.at(mu);
        if (!pt.loo_defined || pt.df > max_df) continue;
        const double s = srcc(pt.loo, y);
        if (s > best.srcc) best = {base, mu, s, srcc(pt.loo, proxy_s)};
      }
    }
    bool adapt = false;
    if (best.base >= 0 && std::isfinite(best.srcc)) {
      const double r_proxy = std::isfinite(proxy_srcc) ? proxy_srcc : 0.0;
      const double r_both = std::isfinite(best.srcc_with_proxy) ? best.srcc_with_proxy : 0.0;
      const double t = williams_t(best.srcc, r_proxy, r_both, n);
      adapt = 1.0 - student_t_cdf(t, static_cast<double>(n - 3)) < kLevel;
    }
    if (!adapt) {
      choice_.kept_proxy = true;
      // The proxy rescaled: least squares on [proxy, 1] over the samples, with a
      // non-positive slope (it would reverse the proxy's ranking) replaced by the ratio
      // of means.
      VectorXd uv = least_squares(with_columns(proxy_s, n), y);
      if (!(uv[0] > 0)) {
        uv[0] = y.mean() / proxy_s.mean();
        uv[1] = 0;
      }
      choice_.affine = AdaptationChoice::Affine{uv[0], VectorXd::Zero(in.features.cols())};
      choice_.affine->feature_weights[in.features.cols() - 1] = uv[1];
      return uv[0] * proxy + VectorXd::Constant(proxy.size(), uv[1]);
    }
    const VectorXd base_all = best.base == 0 ? proxy : linear;
    const CorrectionPath::Point fit = paths[static_cast<size_t>(best.base)].at(best.mu);
    choice_.lambda = fit.lambda;
    choice_.validation_srcc = best.srcc;
    VectorXd out = fit.scale * base_all + in.features * w_p.cwiseProduct(fit.b);
    out.array() += fit.intercept;
    // The same map in affine form: on base 1 the anchor X w_P is itself features.
    AdaptationChoice::Affine affine{best.base == 0 ? fit.scale : 0.0, w_p.cwiseProduct(fit.b)};
    if (best.base == 1) affine.feature_weights += fit.scale * w_p;
    affine.feature_weights[in.features.cols() - 1] += fit.intercept;
    choice_.affine = std::move(affine);
    return out;
  }
  std::string name() const override { return "anchored"; }

 private:
  static constexpr double kLevel = 0.05;          // Williams' test, one-sided
  static constexpr double kMaxDfFraction = 0.5;   // of the N - 2 residual degrees of freedom
  static constexpr int kGridSteps = 24;           // mu from 10^0.25 to 10^-5.5 of top_weight()
};

}  // namespace

std::unique_ptr<AdaptationScheme> make_anchored_scheme() { return std::make_unique<AnchoredScheme>(); }

}  // namespace proxysim::adaptation_detail
