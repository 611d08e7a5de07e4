#include "search/nnls.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace proxysim {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// Least squares on the passive columns only; the minimum-norm solution where they
// are dependent, so a degenerate A still gives a finite step.
VectorXd passive_solve(const MatrixXd& a, const VectorXd& b, const std::vector<uint8_t>& passive) {
  std::vector<Index> cols;
  for (Index j = 0; j < a.cols(); ++j)
    if (passive[static_cast<size_t>(j)]) cols.push_back(j);
  VectorXd z = VectorXd::Zero(a.cols());
  if (cols.empty()) return z;
  MatrixXd ap(a.rows(), static_cast<Index>(cols.size()));
  for (size_t k = 0; k < cols.size(); ++k) ap.col(static_cast<Index>(k)) = a.col(cols[k]);
  const VectorXd s = ap.completeOrthogonalDecomposition().solve(b);
  for (size_t k = 0; k < cols.size(); ++k) z[cols[k]] = s[static_cast<Index>(k)];
  return z;
}

}  // namespace

NnlsResult nnls(const MatrixXd& a, const VectorXd& b, int max_iterations) {
  if (a.rows() != b.size()) {
    throw UserError("nnls: A has " + std::to_string(a.rows()) + " rows but b has " + std::to_string(b.size()));
  }
  if (!a.allFinite() || !b.allFinite()) throw UserError("nnls: A or b holds a value that is not finite");
  const Index n = a.cols();
  if (max_iterations <= 0) max_iterations = static_cast<int>(3 * n);
  // scipy's tolerance on the dual (gradient) and on the primal's zero: 10 eps ||A||_1 max(m, n).
  const double tol = 10.0 * std::numeric_limits<double>::epsilon() *
                     (a.rows() > 0 && n > 0 ? a.cwiseAbs().colwise().sum().maxCoeff() : 0.0) *
                     static_cast<double>(std::max(a.rows(), n));
  NnlsResult r;
  r.x = VectorXd::Zero(n);
  std::vector<uint8_t> passive(static_cast<size_t>(n), 0);
  VectorXd w = a.transpose() * b;
  r.converged = true;
  while (true) {
    // The most promising zero variable: the largest gradient of -||Ax - b||^2 / 2.
    Index j = -1;
    double best = tol;
    for (Index i = 0; i < n; ++i) {
      if (!passive[static_cast<size_t>(i)] && w[i] > best) {
        best = w[i];
        j = i;
      }
    }
    if (j < 0) break;
    if (r.iterations >= max_iterations) {
      r.converged = false;
      break;
    }
    ++r.iterations;
    passive[static_cast<size_t>(j)] = 1;
    VectorXd z = passive_solve(a, b, passive);
    // Inner loop: step back toward the feasible set until the passive solution is positive.
    while (true) {
      double alpha = std::numeric_limits<double>::infinity();
      for (Index i = 0; i < n; ++i) {
        if (passive[static_cast<size_t>(i)] && z[i] <= tol) alpha = std::min(alpha, r.x[i] / (r.x[i] - z[i]));
      }
      if (!std::isfinite(alpha)) break;
      r.x += alpha * (z - r.x);
      bool moved = false;
      for (Index i = 0; i < n; ++i) {
        if (passive[static_cast<size_t>(i)] && r.x[i] <= tol) {
          passive[static_cast<size_t>(i)] = 0;
          r.x[i] = 0;
          moved = true;
        }
      }
      if (!moved) break;  // rounding: nothing left to drop
      z = passive_solve(a, b, passive);
    }
    for (Index i = 0; i < n; ++i) r.x[i] = passive[static_cast<size_t>(i)] ? z[i] : 0.0;
    w = a.transpose() * (b - a * r.x);
  }
  r.residual_norm = (a * r.x - b).norm();
  return r;
}

}  // namespace proxysim
