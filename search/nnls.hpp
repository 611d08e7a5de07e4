// Non-negative least squares, min ||A x - b||_2 subject to x >= 0, by the active-set
// method of Lawson & Hanson ("Solving Least Squares Problems", 1974, ch. 23, the
// algorithm scipy.optimize.nnls implements). Eigen has none; multi_proxy adaptation
// uses it to mix candidate proxies with non-negative weights, which keeps every
// candidate's ranking pointing the same way.
#pragma once
#include <Eigen/Dense>

namespace proxysim {

struct NnlsResult {
  Eigen::VectorXd x;
  double residual_norm = 0;  // ||A x - b||_2
  int iterations = 0;        // outer iterations (variables moved into the passive set)
  bool converged = false;    // false only when max_iterations ran out
};

// Throws UserError when A and b disagree in rows or hold a non-finite value.
// `max_iterations` <= 0 means 3 * columns, scipy's default.
NnlsResult nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b, int max_iterations = 0);

}  // namespace proxysim
