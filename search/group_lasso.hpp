// The solvers behind AdaProxy's fits (docs/ARCHITECTURE.md, "AdaProxy as its authors
// ran it" and "anchored: adapt only on evidence"): the one-group lasso solved exactly
// along its whole path, and the ridge path of the same correction with exact
// leave-one-out predictions.
#pragma once
#include <Eigen/Dense>

namespace proxysim {

// The convex problem behind adaproxy.
//
// minimise (1/m) ||y - U u - Z b||^2 + lambda ||b||_2   (the norm, not its square)
// over u (unpenalised) and b: a group lasso with one group. Solved exactly: with u
// eliminated (projecting out U's columns, A = P Z, r = P y), b = 0 when lambda >=
// lambda_max = ||(2/m) A^T r||, and otherwise b = (G + mu I)^{-1} g with G = (2/m) A^T A,
// g = (2/m) A^T r and mu > 0 the root of mu ||b(mu)|| = lambda, which rises
// monotonically in mu (the secular equation of a trust-region subproblem, Nocedal &
// Wright Sec. 4.3). One eigendecomposition of G serves every lambda of a path, and the
// root is bracketed and bisected to machine precision, so no fit can crawl: a target
// that is exactly linear in the proxy's operator weights (HW-NAS-Bench's Eyeriss and
// FPGA) costs what any other does.
struct GroupLassoFit {
  Eigen::VectorXd u;
  Eigen::VectorXd b;
  double objective = 0;
  int iterations = 0;  // bisection steps on mu (0 when b = 0)
  bool converged = true;
};
double group_lasso_objective(const Eigen::MatrixXd& u_cols, const Eigen::MatrixXd& z, const Eigen::VectorXd& y,
                             double lambda, const Eigen::VectorXd& u, const Eigen::VectorXd& b);
// Smallest lambda at which b = 0 is optimal: ||(2/m) Z^T r0||, r0 the residual of
// y regressed on U alone.
double group_lasso_lambda_max(const Eigen::MatrixXd& u_cols, const Eigen::MatrixXd& z, const Eigen::VectorXd& y);

// The problem's data factored once; solve() is then O(F^2) per lambda.
class GroupLassoPath {
 public:
  GroupLassoPath(const Eigen::MatrixXd& u_cols, const Eigen::MatrixXd& z, const Eigen::VectorXd& y);
  double lambda_max() const { return lambda_max_; }
  GroupLassoFit solve(double lambda) const;

 private:
  double penalty_gradient(double mu) const;
  Eigen::MatrixXd u_cols_, z_;
  Eigen::VectorXd y_;
  Eigen::VectorXd eigenvalues_, coefficients_;  // of G, and g in G's eigenbasis
  Eigen::MatrixXd eigenvectors_;
  double lambda_max_ = 0;
};
GroupLassoFit group_lasso(const Eigen::MatrixXd& u_cols, const Eigen::MatrixXd& z, const Eigen::VectorXd& y,
                          double lambda);

// The path behind anchored's decision.
//
// AdaProxy's correction on a base B (the proxy's latency or its linear fit X w_P) over
// N samples: y ~ s B + c + Z b, Z = X diag(w_P), (s, c) unpenalised and b penalised by
// mu ||b||^2 on the sum of squares. For one group the ridge path and the group-lasso
// path are the same set of fits: the ridge fit at mu is the group-lasso fit (objective
// (1/N) ||.||^2 + lambda ||b||) at lambda = 2 mu ||b(mu)|| / N. At a fixed mu the fit is
// linear in y, y_hat = H y with H = P_U + V diag(s_k^2 / (s_k^2 + mu)) V^T (P_U the
// projection on [B, 1], A = (I - P_U) Z = V diag(s_k) W^T), so its leave-one-out
// predictions are exact without refitting: y_i - (y_i - y_hat_i) / (1 - H_ii). The
// correction's effective degrees of freedom are sum_k s_k^2 / (s_k^2 + mu).
class CorrectionPath {
 public:
  // base_s, z_s, y: the N samples' base values, Z rows and target latencies.
  CorrectionPath(const Eigen::VectorXd& base_s, const Eigen::MatrixXd& z_s, const Eigen::VectorXd& y);
  // Largest s_k^2 (0 when Z adds nothing beyond [B, 1]): the scale of the mu grid.
  double top_weight() const { return s_.size() > 0 ? s_[0] * s_[0] : 0.0; }
  struct Point {
    Eigen::VectorXd loo;  // leave-one-out prediction of each sample
    double df = 0;        // effective degrees of freedom of the correction
    bool loo_defined = true;  // false when a sample has leverage 1 (its LOO prediction is undefined)
    double scale = 0, intercept = 0;
    Eigen::VectorXd b;    // the correction, one value per feature
    double lambda = 0;    // the group-lasso lambda with the same fit (+infinity when b = 0)
  };
  // mu = +infinity: no correction (b = 0).
  Point at(double mu) const;

 private:
  Eigen::MatrixXd q_, r_, v_, w_, z_;
  Eigen::VectorXd s_, vr_, hq_, y_;
};

}  // namespace proxysim
