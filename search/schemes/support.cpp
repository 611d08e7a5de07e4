#include "search/schemes/support.hpp"

#include <cmath>

#include "base/error.hpp"
#include "kernels/rank_stats.hpp"

namespace proxysim::adaptation_detail {

MatrixXd gather_rows(const Eigen::Ref<const MatrixXd>& x, const std::vector<int64_t>& rows) {
  MatrixXd out(static_cast<Index>(rows.size()), x.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(static_cast<Index>(i)) = x.row(rows[i]);
  return out;
}

VectorXd gather(const Eigen::Ref<const VectorXd>& v, const std::vector<int64_t>& rows) {
  VectorXd out(static_cast<Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) out[static_cast<Index>(i)] = v[rows[i]];
  return out;
}

double srcc(const VectorXd& a, const VectorXd& b) {
  std::vector<float> fa(a.data(), a.data() + a.size());
  std::vector<float> fb(b.data(), b.data() + b.size());
  const double r = spearman_pair(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
  return std::isnan(r) ? -kInf : r;  // a constant prediction ranks nothing
}


VectorXd apply(const LinearPredictor& f, const MatrixXd& x, const VectorXd& proxy) {
  VectorXd out = x * f.w;
  if (f.proxy_scale != 0) out += f.proxy_scale * proxy;
  return out;
}


LinearPredictor choose(const std::vector<LinearPredictor>& candidates, const AdaptationInput& in,
                       AdaptationChoice& choice, const std::vector<VectorXd>& anchors) {
  const MatrixXd xv = gather_rows(in.features, in.validation.rows);
  const VectorXd pv = gather(in.proxy_ms, in.validation.rows);
  std::vector<VectorXd> av;
  av.reserve(anchors.size());
  for (const auto& a : anchors) av.push_back(gather(a, in.validation.rows));
  size_t best = 0;
  double best_srcc = -kInf;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const VectorXd& anchor = candidates[i].anchor >= 0 ? av[static_cast<size_t>(candidates[i].anchor)] : pv;
    const double s = srcc(apply(candidates[i], xv, anchor), in.validation.latency_ms);
    if (i == 0 || s > best_srcc) {
      best = i;
      best_srcc = s;
    }
  }
  choice.lambda = candidates[best].lambda;
  choice.validation_srcc = best_srcc;
  choice.proxy_columns.clear();
  choice.proxy_weights.clear();
  choice.affine.reset();
  if (candidates[best].anchor < 0) choice.affine = AdaptationChoice::Affine{candidates[best].proxy_scale, candidates[best].w};
  return candidates[best];
}

// Least squares with the minimum-norm solution where columns are dependent (the one-hot
// groups of every space are).
VectorXd least_squares(const MatrixXd& a, const VectorXd& y) {
  // The rank cut is explicit: at Eigen's default (epsilon x columns) the one-hot
  // features' exactly dependent directions survive as rounding-noise pivots on large
  // tables, and the "minimum-norm" solution grows by their inverse (docs/ARCHITECTURE.md,
  // "AdaProxy as its authors ran it").
  Eigen::CompleteOrthogonalDecomposition<MatrixXd> cod(a.rows(), a.cols());
  cod.setThreshold(1e-10);
  cod.compute(a);
  return cod.solve(y);
}

VectorXd ridge(const MatrixXd& a, const VectorXd& y, double lambda, Index first_penalised) {
  const double m = static_cast<double>(a.rows());
  MatrixXd g = a.transpose() * a / m;
  for (Index j = first_penalised; j < g.cols(); ++j) g(j, j) += lambda;
  return g.completeOrthogonalDecomposition().solve(a.transpose() * y / m);
}


std::vector<double> group_grid(double lambda_max) {
  std::vector<double> g;
  for (int j = 1; j <= 8; ++j) g.push_back(lambda_max * std::pow(10.0, -0.5 * j));
  return g;
}

MatrixXd with_columns(const VectorXd& first, Index rows) {
  MatrixXd u(rows, 2);
  u.col(0) = first;
  u.col(1).setOnes();
  return u;
}

VectorXd proxy_weights_of(const AdaptationInput& in) {
  if (in.proxy_weights == nullptr) return least_squares(in.features, in.proxy_ms);
  if (in.proxy_weights->size() != in.features.cols()) {
    throw UserError("adaptation input: " + std::to_string(in.proxy_weights->size()) + " proxy weights for " +
                    std::to_string(in.features.cols()) + " features");
  }
  return *in.proxy_weights;
}

ValidatedRecalibration recalibrate_on_validation(const DeviceParams& start, const LoweredArchs& archs,
                                                 const std::vector<int64_t>& train, const std::vector<double>& y,
                                                 const std::vector<int64_t>& valid, const VectorXd& valid_ms,
                                                 const std::vector<double>& mu, int max_evaluations) {
  std::vector<double> grid = {kInf};
  grid.insert(grid.end(), mu.begin(), mu.end());
  ValidatedRecalibration best;
  for (double m : grid) {
    const Recalibration fit = recalibrate_device(start, archs, train, y, m, max_evaluations);
    VectorXd pv(static_cast<Index>(valid.size()));
    for (size_t i = 0; i < valid.size(); ++i)
      pv[static_cast<Index>(i)] = lowered_latency_ms(archs, static_cast<size_t>(valid[i]), fit.params);
    const double s = srcc(pv, valid_ms);
    if (s > best.validation_srcc) {
      best.fit = fit;
      best.validation_srcc = s;
      best.mu = m;
    }
  }
  return best;
}

void require_positive(const TargetSamples& s, const std::string& scheme, const char* what) {
  for (Index i = 0; i < s.latency_ms.size(); ++i) {
    if (!(s.latency_ms[i] > 0)) {
      throw UserError(scheme + ": a " + what + " latency is " + std::to_string(s.latency_ms[i]) +
                      " ms; recalibration fits log latency and needs latencies > 0");
    }
  }
}

std::vector<int64_t> RowArchs::of(const std::vector<int64_t>& rows) const {
  std::vector<int64_t> a;
  a.reserve(rows.size());
  for (int64_t r : rows) a.push_back((*this)(r));
  return a;
}

}  // namespace proxysim::adaptation_detail
