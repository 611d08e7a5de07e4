#include "search/schemes/support.hpp"

#include <cmath>

namespace proxysim::adaptation_detail {

namespace {

// Ridge regression of the target on the features alone: the proxy plays no part, the
// baseline that shows what the proxy is worth. The constant column is unpenalised.
class TargetOnlyScheme final : public AdaptationScheme {
 public:
  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    const Index f = in.features.cols();
    // Move the constant to the front so the penalty starts at column 1.
    MatrixXd xt = gather_rows(in.features, in.train.rows);
    MatrixXd a(xt.rows(), f);
    a.col(0) = xt.col(f - 1);
    a.rightCols(f - 1) = xt.leftCols(f - 1);
    std::vector<LinearPredictor> candidates;
    for (int k = 3; k >= -4; --k) {  // 1e3 .. 1e-4, strongest first
      const double lambda = std::pow(10.0, k);
      const VectorXd t = ridge(a, in.train.latency_ms, lambda, 1);
      LinearPredictor p;
      p.w.resize(f);
      p.w[f - 1] = t[0];
      p.w.head(f - 1) = t.tail(f - 1);
      p.lambda = lambda;
      candidates.push_back(std::move(p));
    }
    const LinearPredictor best = choose(candidates, in, choice_);
    return apply(best, in.features, in.proxy_ms);
  }
  std::string name() const override { return "target_only"; }
};

}  // namespace

std::unique_ptr<AdaptationScheme> make_target_only_scheme() { return std::make_unique<TargetOnlyScheme>(); }

}  // namespace proxysim::adaptation_detail
