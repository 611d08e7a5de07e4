#include "search/schemes/support.hpp"

#include <cmath>

#include "search/group_lasso.hpp"

namespace proxysim::adaptation_detail {

namespace {

// AdaProxy (Lu et al. 2022): w_T = w_P * (a + b) + c e_const, w_P the least-squares
// proxy weights on all architectures. With d = w_P * b the prediction is
// a (X w_P) + c + Z b, Z = X diag(w_P). The plain-norm penalty on b, the lambda range
// and the tie-break follow the authors' released solver and notebook by default
// (AdaptationOptions; docs/ARCHITECTURE.md says where proxysim's own choices differ).
class AdaProxyScheme final : public AdaptationScheme {
 public:
  AdaProxyScheme(bool squared, LambdaGrid grid, LambdaTie tie) : squared_(squared), grid_(grid), tie_(tie) {}

  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    const Index f = in.features.cols();
    const VectorXd w_p = proxy_weights_of(in);
    const MatrixXd xt = gather_rows(in.features, in.train.rows);
    const MatrixXd z = xt * w_p.asDiagonal();
    const MatrixXd u = with_columns(xt * w_p, xt.rows());
    const VectorXd& y = in.train.latency_ms;

    auto predictor = [&](const VectorXd& uv, const VectorXd& b, double lambda) {
      LinearPredictor p;
      p.w = w_p.cwiseProduct(b + VectorXd::Constant(f, uv[0]));
      p.w[f - 1] += uv[1];
      p.lambda = lambda;
      return p;
    };
    std::vector<LinearPredictor> candidates;
    if (squared_) {
      candidates.push_back(predictor(least_squares(u, y), VectorXd::Zero(f), kInf));
      MatrixXd a(xt.rows(), 2 + f);
      a << u, z;
      const double scale = z.squaredNorm() / static_cast<double>(z.rows() * f);
      for (int k = 3; k >= -4; --k) {
        const double lambda = scale * std::pow(10.0, k);
        const VectorXd t = ridge(a, y, lambda, 2);
        candidates.push_back(predictor(t.head(2), t.tail(f), lambda));
      }
    } else {
      const GroupLassoPath path(u, z, y);
      std::vector<double> lambdas;
      if (grid_ == LambdaGrid::kAuthors) {
        for (int k = 24; k >= 0; --k) lambdas.push_back(path.lambda_max() * std::pow(10.0, -0.25 * k));
      } else {
        lambdas = group_grid(path.lambda_max());
        lambdas.push_back(kInf);
      }
      std::sort(lambdas.begin(), lambdas.end());
      if (tie_ == LambdaTie::kMostPenalised) std::reverse(lambdas.begin(), lambdas.end());
      for (double lambda : lambdas) {
        const GroupLassoFit fit = path.solve(lambda);
        candidates.push_back(predictor(fit.u, fit.b, lambda));
      }
    }
    // choose() keeps the first of tied candidates: the order above is the tie-break.
    const LinearPredictor best = choose(candidates, in, choice_);
    return apply(best, in.features, in.proxy_ms);
  }
  std::string name() const override { return squared_? "adaproxy_sq" : "adaproxy"; }

 private:
  bool squared_;
  LambdaGrid grid_;
  LambdaTie tie_;
};

}  // namespace

std::unique_ptr<AdaptationScheme> make_adaproxy_scheme(bool squared, LambdaGrid grid, LambdaTie tie) {
  return std::make_unique<AdaProxyScheme>(squared, grid, tie);
}

}  // namespace proxysim::adaptation_detail
