// The proxy's operator weights w_P (least squares on the one-hot features, minimum norm
// where the features are dependent: every NB201 edge's five one-hot columns sum to the
// constant column) against an independent minimum-norm solution (a Jacobi SVD with an
// explicit rank cut), on every NB201 architecture: for a proxy that is exactly linear
// in the features (HW-NAS-Bench's per-layer devices are: their latencies are sums of
// per-operator costs) and for measured columns of HELP's NB201 and FBNet tables. Without a rank cut,
// singular values that are zero in exact arithmetic come out as rounding noise, and the
// "minimum-norm" solution picks up huge null-space components whose size depends on the
// vector width the solver was compiled for; they leave X w_P unchanged but not
// Z = X diag(w_P), the design AdaProxy's correction is fitted on.
#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "io/measured_csv.hpp"
#include "base/rng.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "sim/space.hpp"

namespace proxysim {
namespace {

Eigen::MatrixXd nb201_features() {
  const SearchSpace space = make_space("nb201");
  std::vector<ArchCode> codes;
  for (uint64_t i = 0; i < 15625; ++i) codes.push_back(space.code_at(i));
  return one_hot_features(SpaceId::kNb201, codes);
}

// Minimum-norm least squares by SVD, singular values below 1e-9 of the largest cut.
Eigen::VectorXd min_norm(const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(x, Eigen::ComputeThinU | Eigen::ComputeThinV);
  svd.setThreshold(1e-9);
  return svd.solve(y);
}

void expect_min_norm(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const std::string& what) {
  SCOPED_TRACE(what);
  const Eigen::VectorXd w = proxy_operator_weights(x, y);
  const Eigen::VectorXd ref = min_norm(x, y);
  EXPECT_LE((w - ref).norm(), 1e-7 * ref.norm()) << "|w_P| " << w.norm() << " against the minimum " << ref.norm();
  EXPECT_LE((x * w - x * ref).norm(), 1e-9 * (x * ref).norm());
}

TEST(ProxyWeights, MinimumNormOnAnExactlyLinearProxy) {
  const Eigen::MatrixXd x = nb201_features();
  ASSERT_GT(x.cols(), 25);
  Eigen::VectorXd w0(x.cols());
  for (Eigen::Index j = 0; j < w0.size(); ++j) w0[j] = 0.05 + unit_open(counter_hash(3, 1, static_cast<uint64_t>(j)));
  expect_min_norm(x, x * w0, "a proxy exactly linear in the features");
}

// Each named column of a shared table (every row measured) against the minimum-norm
// solution on that table's features.
void expect_min_norm_on_table(const std::string& file, const std::string& space, SpaceId id, int64_t min_rows,
                              const std::vector<std::string>& names) {
  const MeasuredTable t = read_measured_csv(std::string(PROXYSIM_SHARED_DATA) + "/" + file, space);
  const Eigen::MatrixXd x = one_hot_features(id, t.codes);
  const auto rows = static_cast<Eigen::Index>(t.codes.size());
  ASSERT_GT(rows, min_rows) << file;
  for (const std::string& name : names) {
    const auto it = std::find(t.devices.begin(), t.devices.end(), name);
    ASSERT_NE(it, t.devices.end()) << file << ": " << name;
    const auto d = static_cast<size_t>(it - t.devices.begin());
    Eigen::VectorXd y(rows);
    for (Eigen::Index i = 0; i < rows; ++i) y[i] = t.latency_ms[static_cast<size_t>(i) * t.devices.size() + d];
    ASSERT_TRUE(y.allFinite()) << file << ": " << name << " has unmeasured rows";
    expect_min_norm(x, y, file + ": " + name);
  }
}

TEST(ProxyWeights, MinimumNormOnMeasuredColumns) {
  expect_min_norm_on_table("help_nb201_latency.csv", "nb201", SpaceId::kNb201, 15000,
                           {"eyeriss", "fpga", "pixel3", "titan_rtx_256"});
}

// FBNet's 22 positions x 9 choices have the same structure (each position's one-hot
// columns sum to the constant column): HELP's FBNet table, a block-sum device and an
// end-to-end one.
TEST(ProxyWeights, MinimumNormOnFbnetColumns) {
  expect_min_norm_on_table("help_fbnet_latency.csv", "fbnet", SpaceId::kFbnet, 4000, {"pixel3", "1080ti_1"});
}

}  // namespace
}  // namespace proxysim
