// What the adaptation schemes (search/schemes/*.cpp) share: gathering sampled rows,
// the SRCC every choice is scored by, linear predictors and their choice on the
// validation samples, least squares and ridge, and the recalibration that the twin
// schemes choose on validation. Internal to search/; the schemes' interface is
// search/adaptation.hpp.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "search/adaptation.hpp"
#include "search/calibration.hpp"

namespace proxysim::adaptation_detail {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

inline constexpr double kInf = std::numeric_limits<double>::infinity();

MatrixXd gather_rows(const Eigen::Ref<const MatrixXd>& x, const std::vector<int64_t>& rows);
VectorXd gather(const Eigen::Ref<const VectorXd>& v, const std::vector<int64_t>& rows);

// Spearman's rho through the rank kernel (float input: latencies are float32 data,
// and every candidate is compared the same way); -infinity for a constant prediction.
double srcc(const VectorXd& a, const VectorXd& b);

// Every scheme's prediction is proxy_scale * anchor + X w, the anchor being the
// proxy's latency or (multi_proxy) a mix of candidate proxies' latencies.
struct LinearPredictor {
  VectorXd w;
  double proxy_scale = 0;
  double lambda = kInf;
  int anchor = -1;  // index into the scheme's anchors; -1 = the proxy
};

VectorXd apply(const LinearPredictor& f, const MatrixXd& x, const VectorXd& proxy);

// Candidates come simplest first; a later one replaces the best only when its
// validation SRCC is strictly higher, so ties keep the simpler model.
LinearPredictor choose(const std::vector<LinearPredictor>& candidates, const AdaptationInput& in,
                       AdaptationChoice& choice, const std::vector<VectorXd>& anchors = {});

// Least squares with the minimum-norm solution where columns are dependent (the
// one-hot groups each sum to the constant column).
VectorXd least_squares(const MatrixXd& a, const VectorXd& y);

// argmin (1/m)||y - A t||^2 + lambda sum_{j >= first_penalised} t_j^2.
VectorXd ridge(const MatrixXd& a, const VectorXd& y, double lambda, Index first_penalised);

// lambda_max * 10^(-j/2), j = 1..8: the group penalty's scale is set by the data,
// and lambda_max itself (b = 0) is the first candidate of each scheme.
std::vector<double> group_grid(double lambda_max);

// [first, 1]: a base and the constant column.
MatrixXd with_columns(const VectorXd& first, Index rows);

// w_P as the caller cached it, or computed here.
VectorXd proxy_weights_of(const AdaptationInput& in);

// The recalibration of `start` toward the training samples with the prior weight mu
// that ranks the validation samples best, over mu = +infinity (the start unchanged,
// first, so it keeps ties) and `mu`.
struct ValidatedRecalibration {
  Recalibration fit;
  double mu = kInf, validation_srcc = -kInf;
};
ValidatedRecalibration recalibrate_on_validation(const DeviceParams& start, const LoweredArchs& archs,
                                                 const std::vector<int64_t>& train, const std::vector<double>& y,
                                                 const std::vector<int64_t>& valid, const VectorXd& valid_ms,
                                                 const std::vector<double>& mu, int max_evaluations);

// UserError unless every sampled latency is positive (recalibration fits log latency).
void require_positive(const TargetSamples& s, const std::string& scheme, const char* what);

// The lowered architecture behind each row for the twin schemes: row r is
// archs[arch_of_row[r]], or archs[r] when arch_of_row is empty.
struct RowArchs {
  const std::vector<int64_t>& arch_of_row;
  int64_t operator()(int64_t row) const { return arch_of_row.empty() ? row : arch_of_row[static_cast<size_t>(row)]; }
  std::vector<int64_t> of(const std::vector<int64_t>& rows) const;
};

// One factory per scheme file, called by make_adaptation_scheme.
std::unique_ptr<AdaptationScheme> make_none_scheme();
std::unique_ptr<AdaptationScheme> make_target_only_scheme();
std::unique_ptr<AdaptationScheme> make_adaproxy_scheme(bool squared, LambdaGrid grid, LambdaTie tie);
std::unique_ptr<AdaptationScheme> make_anchored_scheme();
std::unique_ptr<AdaptationScheme> make_multi_proxy_scheme(int k);
std::unique_ptr<AdaptationScheme> make_twin_scheme(std::vector<double> mu, int max_evaluations);
std::unique_ptr<AdaptationScheme> make_target_twin_scheme(std::vector<double> mu, int max_evaluations, bool fit);

}  // namespace proxysim::adaptation_detail
