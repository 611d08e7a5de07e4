// Checks the Lawson-Hanson NNLS solver against scipy.optimize.nnls on fixtures from
// scripts/dev/make_nnls_fixtures.py (residual norm to 1e-9 relative on every case; x
// to 1e-8 where A has full column rank, since otherwise the minimiser is not unique),
// its KKT conditions (gradient scale times 1e-9), and against brute force over every
// active set on tiny problems, which shares nothing with the active-set method.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "base/rng.hpp"
#include "search/nnls.hpp"
#include "base/error.hpp"

using namespace proxysim;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

struct Fixture {
  MatrixXd a;
  VectorXd b, x;
  double residual = 0;
};

Fixture read_fixture(int k) {
  const std::string path = std::string(PROXYSIM_TEST_DATA) + "/nnls/case_" + std::to_string(k) + ".txt";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  Fixture f;
  int m = 0, n = 0;
  in >> m >> n;
  f.a.resize(m, n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) in >> f.a(i, j);
  f.b.resize(m);
  for (int i = 0; i < m; ++i) in >> f.b[i];
  f.x.resize(n);
  for (int j = 0; j < n; ++j) in >> f.x[j];
  in >> f.residual;
  EXPECT_FALSE(in.fail()) << path;
  return f;
}

void expect_kkt(const MatrixXd& a, const VectorXd& b, const VectorXd& x) {
  const VectorXd g = a.transpose() * (b - a * x);
  const double scale = (a.transpose() * b).cwiseAbs().maxCoeff() + a.cwiseAbs().maxCoeff();
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    EXPECT_GE(x[j], 0.0) << j;
    EXPECT_LE(g[j], 1e-9 * scale) << j;                               // no descent direction into x_j > 0
    if (x[j] > 0) EXPECT_NEAR(g[j], 0.0, 1e-9 * scale) << j;          // stationary on the support
  }
}

// Every support S: unconstrained least squares on S; the best one that is strictly
// positive is the NNLS minimiser (a convex problem's optimum is the LS solution on its
// own support). The empty support is x = 0.
VectorXd brute_force(const MatrixXd& a, const VectorXd& b) {
  const auto n = static_cast<int>(a.cols());
  VectorXd best = VectorXd::Zero(n);
  double best_r = b.norm();
  for (int mask = 1; mask < (1 << n); ++mask) {
    MatrixXd as(a.rows(), __builtin_popcount(mask));
    int k = 0;
    for (int j = 0; j < n; ++j)
      if (mask >> j & 1) as.col(k++) = a.col(j);
    const VectorXd s = as.colPivHouseholderQr().solve(b);
    if (!(s.array() > 0).all()) continue;
    VectorXd x = VectorXd::Zero(n);
    k = 0;
    for (int j = 0; j < n; ++j)
      if (mask >> j & 1) x[j] = s[k++];
    const double r = (a * x - b).norm();
    if (r < best_r) {
      best_r = r;
      best = x;
    }
  }
  return best;
}

}  // namespace

TEST(Nnls, MatchesScipyFixtures) {
  for (int k = 0; k < 7; ++k) {
    SCOPED_TRACE("case " + std::to_string(k));
    const Fixture f = read_fixture(k);
    const NnlsResult r = nnls(f.a, f.b);
    ASSERT_TRUE(r.converged);
    EXPECT_NEAR(r.residual_norm, f.residual, 1e-9 * std::max(1.0, f.b.norm()));
    EXPECT_NEAR(r.residual_norm, (f.a * r.x - f.b).norm(), 1e-12 * std::max(1.0, f.b.norm()));
    expect_kkt(f.a, f.b, r.x);
    const Eigen::CompleteOrthogonalDecomposition<MatrixXd> cod(f.a);
    if (cod.rank() == f.a.cols()) {
      EXPECT_LT((r.x - f.x).cwiseAbs().maxCoeff(), 1e-8 * std::max(1.0, f.x.cwiseAbs().maxCoeff()));
    }
  }
}

TEST(Nnls, MatchesBruteForceOverActiveSets) {
  for (int n = 1; n <= 5; ++n) {
    for (int m : {3, 8}) {
      for (uint64_t seed = 0; seed < 10; ++seed) {
        MatrixXd a(m, n);
        VectorXd b(m);
        for (int i = 0; i < m; ++i) {
          for (int j = 0; j < n; ++j) a(i, j) = 2.0 * unit_open(counter_hash(seed, 10 * n + m, i * 8 + j)) - 1.0;
          b[i] = 2.0 * unit_open(counter_hash(seed ^ 0x5eedull, 10 * n + m, i)) - 1.0;
        }
        SCOPED_TRACE("m " + std::to_string(m) + " n " + std::to_string(n) + " seed " + std::to_string(seed));
        const NnlsResult r = nnls(a, b);
        ASSERT_TRUE(r.converged);
        const VectorXd brute = brute_force(a, b);
        // Both are the unique minimiser when m >= n (random A has full rank); for wide A
        // only the residual is unique.
        EXPECT_NEAR(r.residual_norm, (a * brute - b).norm(), 1e-10);
        if (m >= n) EXPECT_LT((r.x - brute).cwiseAbs().maxCoeff(), 1e-9);
        expect_kkt(a, b, r.x);
      }
    }
  }
}

TEST(Nnls, RecoversAnExactNonNegativeMix) {
  MatrixXd a(12, 4);
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 4; ++j) a(i, j) = 1.0 + 100.0 * unit_open(counter_hash(3, i, j));
  const VectorXd truth = (VectorXd(4) << 0.7, 0.0, 0.3, 0.0).finished();
  const NnlsResult r = nnls(a, a * truth);
  EXPECT_LT((r.x - truth).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LT(r.residual_norm, 1e-10);
}

TEST(Nnls, RefusesMismatchedOrNonFiniteInput) {
  EXPECT_THROW(nnls(MatrixXd::Ones(3, 2), VectorXd::Ones(4)), UserError);
  MatrixXd a = MatrixXd::Ones(3, 2);
  a(1, 1) = std::nan("");
  EXPECT_THROW(nnls(a, VectorXd::Ones(3)), UserError);
}
