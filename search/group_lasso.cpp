#include "search/group_lasso.hpp"

#include <cmath>
#include <limits>

#include "search/schemes/support.hpp"

namespace proxysim {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using adaptation_detail::least_squares;
using adaptation_detail::with_columns;

using adaptation_detail::kInf;

double group_lasso_objective(const MatrixXd& u_cols, const MatrixXd& z, const VectorXd& y, double lambda,
                             const VectorXd& u, const VectorXd& b) {
  const VectorXd r = y - u_cols * u - z * b;
  return r.squaredNorm() / static_cast<double>(y.size()) + lambda * b.norm();
}

double group_lasso_lambda_max(const MatrixXd& u_cols, const MatrixXd& z, const VectorXd& y) {
  const VectorXd r = y - u_cols * least_squares(u_cols, y);
  return (2.0 / static_cast<double>(y.size()) * (z.transpose() * r)).norm();
}

GroupLassoPath::GroupLassoPath(const MatrixXd& u_cols, const MatrixXd& z, const VectorXd& y)
    : u_cols_(u_cols), z_(z), y_(y) {
  const Index m = y.size();
  // Orthonormal basis of U's columns: (u, b) -> b alone, with u fitted for each b.
  const Eigen::ColPivHouseholderQR<MatrixXd> qr(u_cols);
  const MatrixXd q = qr.householderQ() * MatrixXd::Identity(m, qr.rank());
  const MatrixXd a = z - q * (q.transpose() * z);
  const VectorXd r = y - q * (q.transpose() * y);
  const double two_over_m = 2.0 / static_cast<double>(m);
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eig(two_over_m * (a.transpose() * a));
  eigenvalues_ = eig.eigenvalues().cwiseMax(0.0);
  eigenvectors_ = eig.eigenvectors();
  coefficients_ = eigenvectors_.transpose() * (two_over_m * (a.transpose() * r));
  // g lies in the range of A^T A in exact arithmetic; what rounding leaves along its
  // null directions (the one-hot groups' dependencies) would blow up as mu -> 0.
  const double cut = 1e-10 * std::max(eigenvalues_.maxCoeff(), 1e-300);
  for (Index i = 0; i < eigenvalues_.size(); ++i) {
    if (eigenvalues_[i] <= cut) coefficients_[i] = 0;
  }
  lambda_max_ = coefficients_.norm();
}

// mu ||b(mu)|| with b(mu) = (G + mu I)^{-1} g: rises from 0 to lambda_max as mu goes
// from 0 to infinity.
double GroupLassoPath::penalty_gradient(double mu) const {
  double s = 0;
  for (Index i = 0; i < eigenvalues_.size(); ++i) {
    const double t = coefficients_[i] * mu / (eigenvalues_[i] + mu);
    s += t * t;
  }
  return std::sqrt(s);
}

GroupLassoFit GroupLassoPath::solve(double lambda) const {
  GroupLassoFit fit;
  fit.b = VectorXd::Zero(z_.cols());
  if (lambda < lambda_max_) {
    // Stationarity for b != 0: (G + mu I) b = g with mu = lambda / ||b||, so mu is the
    // root of mu ||b(mu)|| = lambda (the trust-region subproblem's secular equation).
    double lo = 1.0, hi = 1.0;
    while (penalty_gradient(hi) < lambda && hi < 1e300) hi *= 2;
    while (penalty_gradient(lo) > lambda && lo > 1e-300) lo *= 0.5;
    for (int it = 0; it < 200 && hi > lo * (1 + 4e-16); ++it) {
      const double mid = std::sqrt(lo * hi);
      (penalty_gradient(mid) < lambda ? lo : hi) = mid;
      fit.iterations = it + 1;
    }
    const double mu = std::sqrt(lo * hi);
    const VectorXd scaled = coefficients_.array() / (eigenvalues_.array() + mu);
    fit.b = eigenvectors_ * scaled;
  }
  fit.u = least_squares(u_cols_, y_ - z_ * fit.b);
  fit.objective = group_lasso_objective(u_cols_, z_, y_, lambda, fit.u, fit.b);
  fit.converged = true;
  return fit;
}

GroupLassoFit group_lasso(const MatrixXd& u_cols, const MatrixXd& z, const VectorXd& y, double lambda) {
  return GroupLassoPath(u_cols, z, y).solve(lambda);
}

CorrectionPath::CorrectionPath(const VectorXd& base_s, const MatrixXd& z_s, const VectorXd& y) : z_(z_s), y_(y) {
  const Index n = y.size();
  const Eigen::HouseholderQR<MatrixXd> qr(with_columns(base_s, n));
  q_ = qr.householderQ() * MatrixXd::Identity(n, 2);
  r_ = qr.matrixQR().topRows(2).triangularView<Eigen::Upper>();
  const MatrixXd a = z_s - q_ * (q_.transpose() * z_s);
  const Eigen::JacobiSVD<MatrixXd> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const VectorXd& sv = svd.singularValues();
  // Directions of Z inside [B, 1] or along the one-hot groups' dependencies are zero
  // in exact arithmetic; what rounding leaves there is dropped.
  Index k = 0;
  while (k < sv.size() && sv[k] > 1e-7 * sv[0]) ++k;
  s_ = sv.head(k);
  v_ = svd.matrixU().leftCols(k);
  w_ = svd.matrixV().leftCols(k);
  vr_ = v_.transpose() * (y - q_ * (q_.transpose() * y));
  hq_ = q_.rowwise().squaredNorm();
}

CorrectionPath::Point CorrectionPath::at(double mu) const {
  const Index n = y_.size();
  Point p;
  VectorXd shrink = VectorXd::Zero(s_.size());  // s_k^2 / (s_k^2 + mu)
  p.b = VectorXd::Zero(z_.cols());
  if (std::isfinite(mu)) {
    shrink = s_.array().square() / (s_.array().square() + mu);
    p.b = w_ * (s_.array() / (s_.array().square() + mu) * vr_.array()).matrix();
  }
  p.df = shrink.sum();
  const VectorXd leverage = hq_ + v_.array().square().matrix() * shrink;
  const VectorXd fitted = q_ * (q_.transpose() * y_) + v_ * shrink.cwiseProduct(vr_);
  p.loo.resize(n);
  for (Index i = 0; i < n; ++i) {
    const double keep = 1.0 - leverage[i];
    if (!(keep > 1e-10)) p.loo_defined = false;
    p.loo[i] = y_[i] - (y_[i] - fitted[i]) / std::max(keep, 1e-10);
  }
  const VectorXd u = r_.triangularView<Eigen::Upper>().solve(q_.transpose() * (y_ - z_ * p.b));
  p.scale = u[0];
  p.intercept = u[1];
  const double norm = p.b.norm();
  p.lambda = norm > 0 ? 2.0 * mu * norm / static_cast<double>(n) : kInf;
  return p;
}

}  // namespace proxysim
