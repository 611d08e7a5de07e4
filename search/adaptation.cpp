#include "search/adaptation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <set>

#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/nnls.hpp"
#include "search/python_random.hpp"
#include "base/error.hpp"

namespace proxysim {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_samples(const TargetSamples& s, const char* what, Index n, std::set<int64_t>& seen) {
  if (static_cast<Index>(s.rows.size()) != s.latency_ms.size()) {
    throw UserError(std::string("adaptation input: ") + what + " has " + std::to_string(s.rows.size()) +
                    " rows but " + std::to_string(s.latency_ms.size()) + " latencies");
  }
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const int64_t r = s.rows[i];
    if (r < 0 || r >= n) {
      throw UserError(std::string("adaptation input: ") + what + " row " + std::to_string(r) +
                      " is outside the " + std::to_string(n) + " architectures");
    }
    if (!seen.insert(r).second) {
      throw UserError(std::string("adaptation input: ") + what + " row " + std::to_string(r) +
                      " is sampled twice");
    }
    const double v = s.latency_ms[static_cast<Index>(i)];
    if (!(std::isfinite(v) && v > 0)) {
      throw UserError(std::string("adaptation input: ") + what + " latency of row " + std::to_string(r) + " is " +
                      std::to_string(v) + " (a latency must be positive and finite)");
    }
  }
}

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

// Spearman's rho through the rank kernel (float input: latencies are float32 data,
// and every candidate is compared the same way).
double srcc(const VectorXd& a, const VectorXd& b) {
  std::vector<float> fa(a.data(), a.data() + a.size());
  std::vector<float> fb(b.data(), b.data() + b.size());
  const double r = spearman_pair(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
  return std::isnan(r) ? -kInf : r;  // a constant prediction ranks nothing
}

// Every scheme's prediction is proxy_scale * anchor + X w, the anchor being the
// proxy's latency or (multi_proxy) a mix of candidate proxies' latencies.
struct LinearPredictor {
  VectorXd w;
  double proxy_scale = 0;
  double lambda = kInf;
  int anchor = -1;  // index into the scheme's anchors; -1 = the proxy
};

VectorXd apply(const LinearPredictor& f, const MatrixXd& x, const VectorXd& proxy) {
  VectorXd out = x * f.w;
  if (f.proxy_scale != 0) out += f.proxy_scale * proxy;
  return out;
}

// Candidates come simplest first; a later one replaces the best only when its
// validation SRCC is strictly higher, so ties keep the simpler model.
LinearPredictor choose(const std::vector<LinearPredictor>& candidates, const AdaptationInput& in,
                       AdaptationChoice& choice, const std::vector<VectorXd>& anchors = {}) {
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
  return candidates[best];
}

// Least squares with the minimum-norm solution where columns are dependent (the
// one-hot groups each sum to the constant column).
VectorXd least_squares(const MatrixXd& a, const VectorXd& y) { return a.completeOrthogonalDecomposition().solve(y); }

// argmin (1/m)||y - A t||^2 + lambda sum_{j >= first_penalised} t_j^2.
VectorXd ridge(const MatrixXd& a, const VectorXd& y, double lambda, Index first_penalised) {
  const double m = static_cast<double>(a.rows());
  MatrixXd g = a.transpose() * a / m;
  for (Index j = first_penalised; j < g.cols(); ++j) g(j, j) += lambda;
  return g.completeOrthogonalDecomposition().solve(a.transpose() * y / m);
}

// lambda_max * 10^(-j/2), j = 1..8: the group penalty's scale is set by the data,
// and lambda_max itself (b = 0) is the first candidate of each scheme.
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

// w_P as the caller cached it, or computed here.
VectorXd proxy_weights_of(const AdaptationInput& in) {
  if (in.proxy_weights == nullptr) return least_squares(in.features, in.proxy_ms);
  if (in.proxy_weights->size() != in.features.cols()) {
    throw UserError("adaptation input: " + std::to_string(in.proxy_weights->size()) + " proxy weights for " +
                    std::to_string(in.features.cols()) + " features");
  }
  return *in.proxy_weights;
}

class NoneScheme final : public AdaptationScheme {
 public:
  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    choice_ = AdaptationChoice{};
    choice_.lambda = kInf;
    choice_.validation_srcc = std::numeric_limits<double>::quiet_NaN();
    return in.proxy_ms;
  }
  std::string name() const override { return "none"; }
};

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

// Anchored adaptation: AdaProxy's fits, adopted only where the samples show that one
// ranks the target better than the proxy does; otherwise the proxy, rescaled (a
// positive s * proxy + c: rank-identical to no adaptation).
//
// The candidates are AdaProxy's operator-level correction on two bases: the proxy's
// measured latency, s * proxy + c + Z b (the measurements stay the anchor and the
// features only correct them), and AdaProxy's own model, its linear fit,
// s * X w_P + c + Z b (the better anchor where the measurements carry rank noise the
// target does not share); Z = X diag(w_P). Each is taken at the ridge weights
// mu = t * 10^(0.5 - j/4), j = 1..24 (t = top_weight(), the largest squared singular
// value of the correction's design; a ridge weight is a point of AdaProxy's
// group-lasso path, CorrectionPath), and the linear fit with b = 0 is a candidate too.
//
// The decision uses all N = n + v samples at once and has a stated statistical basis:
//  1. Each candidate predicts every sample from the other N - 1 (exact leave-one-out,
//     CorrectionPath), so its SRCC with the target on the samples is out of sample.
//  2. A candidate may spend at most half of the N - 2 degrees of freedom that the
//     scale and intercept leave (effective degrees of freedom of the ridge fit): past
//     that, N samples no longer estimate its error (generalised cross-validation's
//     denominator (1 - df/N)^2 goes to zero, and so does the information in each LOO
//     residual). On the oneproxy table, uncapped, a near-interpolating fit of 20
//     samples could score 0.84 out of sample and 0.06 on all architectures.
//  3. The candidate with the highest leave-one-out SRCC is compared with the proxy on
//     the same samples by Williams' test for two dependent correlations sharing the
//     target (Steiger 1980), one-sided at level 0.05: H0 is that it ranks the target no
//     better than the proxy. It is adopted only when H0 is rejected, and then refitted
//     on all N samples (the same mu).
// The two constants (the level 0.05 and the half of the residual degrees of freedom)
// are conventional values, checked on one table only (the paper's oneproxy release,
// every device as the proxy of every other: 306 pairs) before any other table was
// run; results/checks/ADAPTATION.md reports every shared table.
class AnchoredScheme final : public AdaptationScheme {
 public:
  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    const VectorXd w_p = proxy_weights_of(in);
    const VectorXd& proxy = in.proxy_ms;
    std::vector<int64_t> rows = in.train.rows;
    rows.insert(rows.end(), in.validation.rows.begin(), in.validation.rows.end());
    VectorXd y(static_cast<Index>(rows.size()));
    y << in.train.latency_ms, in.validation.latency_ms;
    const auto n = static_cast<int64_t>(rows.size());
    const MatrixXd x_s = gather_rows(in.features, rows);
    const MatrixXd z_s = x_s * w_p.asDiagonal();
    const VectorXd proxy_s = gather(proxy, rows);
    const VectorXd linear = in.features * w_p;
    const double proxy_srcc = srcc(proxy_s, y);

    choice_ = AdaptationChoice{};
    choice_.lambda = kInf;
    choice_.validation_srcc = proxy_srcc;
    struct Best {
      int base = -1;  // 0: the proxy, 1: its linear fit
      double mu = kInf, srcc = -kInf, srcc_with_proxy = 0;
    } best;
    const double max_df = kMaxDfFraction * static_cast<double>(n - 2);
    const std::array<CorrectionPath, 2> paths = {CorrectionPath(proxy_s, z_s, y),
                                                 CorrectionPath(gather(linear, rows), z_s, y)};
    for (int base = 0; base < 2 && n > 3; ++base) {
      const CorrectionPath& path = paths[static_cast<size_t>(base)];
      // The proxy with b = 0 is the default, not a candidate; its linear fit is one.
      for (int j = base == 0 ? 1 : 0; j <= kGridSteps; ++j) {
        const double mu = j == 0 ? kInf : path.top_weight() * std::pow(10.0, 0.5 - 0.25 * j);
        if (j > 0 && !(path.top_weight() > 0)) break;
        const CorrectionPath::Point pt = path.at(mu);
        if (!pt.loo_defined || pt.df > max_df) continue;
        const double s = srcc(pt.loo, y);
        if (s > best.srcc) best = {base, mu, s, srcc(pt.loo, proxy_s)};
      }
    }
    bool adapt = false;
    if (best.base >= 0 && std::isfinite(best.srcc)) {
      const double r_proxy = std::isfinite(proxy_srcc) ? proxy_srcc : 0.0;
      const double r_both = std::isfinite(best.srcc_with_proxy) ? best.srcc_with_proxy : 0.0;
      const double t = williams_t(best.srcc, r_proxy, r_both, n);
      adapt = 1.0 - student_t_cdf(t, static_cast<double>(n - 3)) < kLevel;
    }
    if (!adapt) {
      choice_.kept_proxy = true;
      // The proxy rescaled: least squares on [proxy, 1] over the samples, with a
      // non-positive slope (it would reverse the proxy's ranking) replaced by the ratio
      // of means.
      VectorXd uv = least_squares(with_columns(proxy_s, n), y);
      if (!(uv[0] > 0)) {
        uv[0] = y.mean() / proxy_s.mean();
        uv[1] = 0;
      }
      return uv[0] * proxy + VectorXd::Constant(proxy.size(), uv[1]);
    }
    const VectorXd base_all = best.base == 0 ? proxy : linear;
    const CorrectionPath::Point fit = paths[static_cast<size_t>(best.base)].at(best.mu);
    choice_.lambda = fit.lambda;
    choice_.validation_srcc = best.srcc;
    VectorXd out = fit.scale * base_all + in.features * w_p.cwiseProduct(fit.b);
    out.array() += fit.intercept;
    return out;
  }
  std::string name() const override { return "anchored"; }

 private:
  static constexpr double kLevel = 0.05;          // Williams' test, one-sided
  static constexpr double kMaxDfFraction = 0.5;   // of the N - 2 residual degrees of freedom
  static constexpr int kGridSteps = 24;           // mu from 10^0.25 to 10^-5.5 of top_weight()
};

// multi_proxy: the best non-negative mix of up to K proxies' measured latencies (the
// proxy and the candidate proxies), q = c + sum_j w_j P_j with w >= 0, and AdaProxy's
// operator-level correction on top, anchored on the mix as `anchored` is on the proxy:
// s q + c' + Z b, Z = X diag(w_Q), w_Q the least-squares operator weights of q.
// Non-negative weights keep every proxy's ranking pointing the same way, so ten noisy
// samples cannot turn one upside down. Proxies enter by forward stepwise NNLS on the
// training samples (each step adds the proxy that lowers the residual most and refits
// the whole mix by NNLS; columns are centred and scaled to unit norm first, so the
// choice compares shapes, not milliseconds); each step's mix and the corrections of
// the last one are the candidates validation SRCC chooses from, smallest mix first.
class MultiProxyScheme final : public AdaptationScheme {
 public:
  explicit MultiProxyScheme(int k) : k_(k) {
    if (k_ < 1) throw UserError("multi_proxy: k = " + std::to_string(k_) + ", expected at least 1");
  }

  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    const Index f = in.features.cols(), total = in.features.rows();
    const Index c = 1 + in.candidate_proxies_ms.cols();
    const VectorXd& y = in.train.latency_ms;
    const Index m = y.size();
    auto proxy_at = [&](int64_t row, Index j) { return j == 0 ? in.proxy_ms[row] : in.candidate_proxies_ms(row, j - 1); };

    MatrixXd centred(m, c);
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < c; ++j) centred(i, j) = proxy_at(in.train.rows[static_cast<size_t>(i)], j);
    const Eigen::RowVectorXd mean = centred.colwise().mean();
    centred.rowwise() -= mean;
    const VectorXd norm = centred.colwise().norm().transpose();
    for (Index j = 0; j < c; ++j)
      if (norm[j] > 0) centred.col(j) /= norm[j];
    // The intercept is free: for fixed weights its best value is the mean residual, so
    // centring eliminates it exactly.
    const VectorXd yc = y.array() - y.mean();

    struct Mix {
      std::vector<int64_t> cols;
      std::vector<double> w;
      double intercept = 0;
    };
    std::vector<Mix> mixes;
    std::vector<Index> chosen;
    double residual = yc.norm();
    const double exact = 1e-12 * yc.norm();
    for (int step = 0; step < k_ && residual > exact; ++step) {
      Index best = -1;
      double best_residual = residual;
      VectorXd best_x;
      MatrixXd a(m, static_cast<Index>(chosen.size()) + 1);
      for (size_t i = 0; i < chosen.size(); ++i) a.col(static_cast<Index>(i)) = centred.col(chosen[i]);
      for (Index j = 0; j < c; ++j) {
        if (!(norm[j] > 0) || std::find(chosen.begin(), chosen.end(), j) != chosen.end()) continue;
        a.col(a.cols() - 1) = centred.col(j);
        const NnlsResult r = nnls(a, yc);
        // A proxy the mix gives no weight adds nothing.
        if (r.x[a.cols() - 1] > 0 && r.residual_norm < best_residual) {
          best = j;
          best_residual = r.residual_norm;
          best_x = r.x;
        }
      }
      if (best < 0) break;
      chosen.push_back(best);
      residual = best_residual;
      Mix mix;
      mix.intercept = y.mean();
      for (size_t i = 0; i < chosen.size(); ++i) {
        const double x = best_x[static_cast<Index>(i)];
        if (!(x > 0)) continue;
        const double w = x / norm[chosen[i]];
        mix.cols.push_back(chosen[i]);
        mix.w.push_back(w);
        mix.intercept -= w * mean[chosen[i]];
      }
      mixes.push_back(std::move(mix));
    }
    if (mixes.empty()) {
      // No proxy rises with the target on the samples: the proxy, rescaled to the
      // target's mean, which ranks as no adaptation does.
      Mix mix;
      mix.cols = {0};
      mix.w = {mean[0] > 0 ? y.mean() / mean[0] : 1.0};
      mixes.push_back(std::move(mix));
    }

    std::vector<VectorXd> anchors;
    for (const Mix& mix : mixes) {
      VectorXd q = VectorXd::Constant(total, mix.intercept);
      for (size_t i = 0; i < mix.cols.size(); ++i) {
        const Index j = mix.cols[i];
        if (j == 0) {
          q += mix.w[i] * in.proxy_ms;
        } else {
          q += mix.w[i] * in.candidate_proxies_ms.col(j - 1);
        }
      }
      anchors.push_back(std::move(q));
    }
    std::vector<LinearPredictor> candidates;
    for (size_t k = 0; k < anchors.size(); ++k) {
      LinearPredictor p;
      p.w = VectorXd::Zero(f);
      p.proxy_scale = 1;
      p.anchor = static_cast<int>(k);
      candidates.push_back(std::move(p));
    }
    {
      const int last = static_cast<int>(anchors.size()) - 1;
      const VectorXd& q = anchors.back();
      const VectorXd w_q = least_squares(in.features, q);
      const MatrixXd xt = gather_rows(in.features, in.train.rows);
      const MatrixXd z = xt * w_q.asDiagonal();
      const MatrixXd u = with_columns(gather(q, in.train.rows), m);
      for (double lambda : group_grid(group_lasso_lambda_max(u, z, y))) {
        const GroupLassoFit fit = group_lasso(u, z, y, lambda);
        if (!(fit.u[0] > 0)) continue;  // a reversed mix is no adaptation of it
        LinearPredictor p;
        p.w = w_q.cwiseProduct(fit.b);
        p.w[f - 1] += fit.u[1];
        p.proxy_scale = fit.u[0];
        p.lambda = lambda;
        p.anchor = last;
        candidates.push_back(std::move(p));
      }
    }
    // The plain choice: unlike `anchored`, the simplest candidate here is no safe
    // default (a single proxy picked on ten samples), and the one-standard-error rule
    // measured lower on HELP's six targets at n = 10 (mean SRCC 0.934 against 0.937).
    const LinearPredictor best = choose(candidates, in, choice_, anchors);
    const Mix& mix = mixes[static_cast<size_t>(best.anchor)];
    choice_.proxy_columns = mix.cols;
    choice_.proxy_weights.clear();
    for (double w : mix.w) choice_.proxy_weights.push_back(best.proxy_scale * w);
    return apply(best, in.features, anchors[static_cast<size_t>(best.anchor)]);
  }
  std::string name() const override { return "multi_proxy"; }

 private:
  int k_;
};

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

// twin: the proxy's calibrated simulated twin, recalibrated toward the target on the
// training samples (search/calibration.hpp, recalibrate_device) with the prior weight mu
// chosen on validation SRCC; mu = +infinity, the unchanged twin, comes first and keeps
// ties. Where the linear schemes can only reweight one-hot operators, the twin moves
// physical parameters (op-class efficiencies, bandwidths, dispatch cost) that act
// across every architecture, so ten samples have fewer, better-shaped degrees of
// freedom to fit.
class TwinScheme final : public AdaptationScheme {
 public:
  TwinScheme(std::vector<double> mu, int max_evaluations) : mu_(std::move(mu)), max_evaluations_(max_evaluations) {
    for (double m : mu_) {
      if (!(m >= 0)) throw UserError("twin: mu = " + std::to_string(m) + ", expected >= 0");
    }
    if (max_evaluations_ < 1) throw UserError("twin: max_evaluations must be at least 1");
  }

  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    if (in.proxy_twin == nullptr) {
      throw UserError("adaptation scheme 'twin' needs the proxy's calibrated twin, and this input has none");
    }
    const ProxyTwin& tw = *in.proxy_twin;
    const Index total = in.features.rows();
    if (!tw.archs || (tw.arch_of_row.empty() ? static_cast<Index>(tw.archs->size())
                                             : static_cast<Index>(tw.arch_of_row.size())) != total) {
      throw UserError("adaptation input: the twin '" + tw.name + "' of proxy '" + tw.proxy +
                      "' covers other architectures than the " + std::to_string(total) + " rows");
    }
    auto arch = [&](int64_t row) { return tw.arch_of_row.empty() ? row : tw.arch_of_row[static_cast<size_t>(row)]; };
    auto archs_of = [&](const std::vector<int64_t>& rows) {
      std::vector<int64_t> a;
      a.reserve(rows.size());
      for (int64_t r : rows) a.push_back(arch(r));
      return a;
    };
    require_positive(in.train, "twin", "training");
    require_positive(in.validation, "twin", "validation");
    const std::vector<int64_t> train = archs_of(in.train.rows), valid = archs_of(in.validation.rows);
    const std::vector<double> y(in.train.latency_ms.data(), in.train.latency_ms.data() + in.train.latency_ms.size());

    const ValidatedRecalibration best =
        recalibrate_on_validation(tw.params, *tw.archs, train, y, valid, in.validation.latency_ms, mu_, max_evaluations_);
    choice_ = AdaptationChoice{};
    choice_.lambda = best.mu;
    choice_.validation_srcc = best.validation_srcc;
    VectorXd out(total);
    // With mu = infinity the parameters are the twin's own, so the prediction is the
    // twin's latency, scaled to the target's level (a rank-preserving factor).
    const double scale = std::exp(best.fit.log_scale);
    for (Index r = 0; r < total; ++r)
      out[r] = scale * lowered_latency_ms(*tw.archs, static_cast<size_t>(arch(r)), best.fit.params);
    return out;
  }
  std::string name() const override { return "twin"; }

 private:
  std::vector<double> mu_;
  int max_evaluations_;
};

// target_twin: a twin of the target itself, from its own few measurements and no
// proxy. The start is the device of the target's class (input.target_starts, none
// fitted on the target's data) that fits the training samples best after a scale
// (choose_target_start); it is then recalibrated toward the training samples with the
// prior weight mu chosen on validation SRCC, mu = +infinity (the start unchanged, at
// the target's level) first, as in `twin`. target_start stops after the choice of
// start: the unfitted start the recalibration is measured against. Neither reads
// proxy_ms or the features beyond their row count.
class TargetTwinScheme final : public AdaptationScheme {
 public:
  TargetTwinScheme(std::vector<double> mu, int max_evaluations, bool fit)
      : mu_(std::move(mu)), max_evaluations_(max_evaluations), fit_(fit) {
    for (double m : mu_) {
      if (!(m >= 0)) throw UserError(name() + ": mu = " + std::to_string(m) + ", expected >= 0");
    }
    if (max_evaluations_ < 1) throw UserError(name() + ": max_evaluations must be at least 1");
  }

  VectorXd predict(const AdaptationInput& in) override {
    check_adaptation_input(in);
    if (in.target_starts == nullptr || in.target_starts->params.empty()) {
      throw UserError("adaptation scheme '" + name() +
                      "' needs start devices of the target's class (adapt.target_class), and this input has none");
    }
    const TargetTwinStarts& st = *in.target_starts;
    const Index total = in.features.rows();
    if (!st.archs || st.names.size() != st.params.size() ||
        (st.arch_of_row.empty() ? static_cast<Index>(st.archs->size())
                                : static_cast<Index>(st.arch_of_row.size())) != total) {
      throw UserError("adaptation input: the starts of target '" + st.target + "' cover other architectures than the " +
                      std::to_string(total) + " rows");
    }
    auto arch = [&](int64_t row) { return st.arch_of_row.empty() ? row : st.arch_of_row[static_cast<size_t>(row)]; };
    auto archs_of = [&](const std::vector<int64_t>& rows) {
      std::vector<int64_t> a;
      a.reserve(rows.size());
      for (int64_t r : rows) a.push_back(arch(r));
      return a;
    };
    require_positive(in.train, name(), "training");
    require_positive(in.validation, name(), "validation");
    const std::vector<int64_t> train = archs_of(in.train.rows), valid = archs_of(in.validation.rows);
    const std::vector<double> y(in.train.latency_ms.data(), in.train.latency_ms.data() + in.train.latency_ms.size());

    const TargetStartChoice start = choose_target_start(st, train, y);
    ValidatedRecalibration best;
    if (fit_) {
      best = recalibrate_on_validation(start.params, *st.archs, train, y, valid, in.validation.latency_ms, mu_,
                                       max_evaluations_);
    } else {
      best.fit = recalibrate_device(start.params, *st.archs, train, y, kInf, max_evaluations_);
    }
    choice_ = AdaptationChoice{};
    choice_.lambda = best.mu;
    choice_.validation_srcc = fit_ ? best.validation_srcc : std::numeric_limits<double>::quiet_NaN();
    choice_.start_index = start.index;
    choice_.start = st.names[static_cast<size_t>(start.index)] +
                    (start.measurement == Measurement::kBlockSum ? " (block_sum)" : "");
    VectorXd out(total);
    const double scale = std::exp(best.fit.log_scale);
    for (Index r = 0; r < total; ++r)
      out[r] = scale * lowered_latency_ms(*st.archs, static_cast<size_t>(arch(r)), best.fit.params);
    return out;
  }
  std::string name() const override { return fit_ ? "target_twin" : "target_start"; }

 private:
  std::vector<double> mu_;
  int max_evaluations_;
  bool fit_;
};

}  // namespace

ProxyTwin make_proxy_twin(std::string proxy, const DeviceSpec& twin, const SearchSpace& space,
                          const std::vector<ArchCode>& codes) {
  ProxyTwin t;
  t.proxy = std::move(proxy);
  t.name = twin.name;
  t.params = twin.params;
  t.archs = std::make_shared<const LoweredArchs>(lower_archs(space, codes));
  return t;
}

TargetTwinStarts make_target_twin_starts(std::string target, const std::vector<const DeviceSpec*>& devices,
                                         const SearchSpace& space, const std::vector<ArchCode>& codes) {
  TargetTwinStarts t;
  t.target = std::move(target);
  for (const DeviceSpec* d : devices) {
    t.names.push_back(d->name);
    t.params.push_back(d->params);
  }
  t.archs = std::make_shared<const LoweredArchs>(lower_archs(space, codes));
  return t;
}

TargetStartChoice choose_target_start(const TargetTwinStarts& starts, const std::vector<int64_t>& archs,
                                      const std::vector<double>& latency_ms) {
  if (archs.size() != latency_ms.size() || archs.empty()) {
    throw UserError("target_twin: the start is chosen on at least one training sample, one latency each");
  }
  TargetStartChoice best;
  best.loss = kInf;
  const auto n = static_cast<double>(archs.size());
  const int space = static_cast<int>(starts.archs->space);
  for (size_t k = 0; k < starts.params.size(); ++k) {
    for (Measurement m : {Measurement::kEndToEnd, Measurement::kBlockSum}) {
      if (starts.measurement_known && m != starts.measurement) continue;
      DeviceParams p = starts.params[k];
      p.measurement[space] = m;
      double sum = 0, sum_sq = 0;
      bool ok = true;
      for (size_t i = 0; i < archs.size() && ok; ++i) {
        const double t = lowered_latency_ms(*starts.archs, static_cast<size_t>(archs[i]), p);
        ok = t > 0 && std::isfinite(t);
        const double r = std::log(latency_ms[i]) - std::log(t);
        sum += r;
        sum_sq += r * r;
      }
      if (!ok) continue;
      const double loss = std::max(0.0, sum_sq / n - (sum / n) * (sum / n));
      if (loss < best.loss) {
        best.index = static_cast<int64_t>(k);
        best.measurement = m;
        best.params = p;
        best.loss = loss;
      }
    }
  }
  if (best.index < 0) {
    throw UserError("target_twin: no start of target '" + starts.target + "' predicts a positive latency for every training sample");
  }
  return best;
}

const MatrixXd& no_candidate_proxies() {
  static const MatrixXd empty(0, 0);
  return empty;
}

void check_adaptation_input(const AdaptationInput& in) {
  const Index n = in.features.rows();
  if (in.proxy_ms.size() != n) {
    throw UserError("adaptation input: " + std::to_string(in.proxy_ms.size()) + " proxy latencies for " +
                    std::to_string(n) + " architectures");
  }
  if (!in.proxy_ms.allFinite() || !(in.proxy_ms.array() > 0).all()) {
    throw UserError("adaptation input: a proxy latency is not positive and finite");
  }
  std::set<int64_t> seen;
  if (in.candidate_proxies_ms.cols() > 0) {
    if (in.candidate_proxies_ms.rows() != n) {
      throw UserError("adaptation input: " + std::to_string(in.candidate_proxies_ms.rows()) +
                      " rows of candidate proxy latencies for " + std::to_string(n) + " architectures");
    }
    if (!in.candidate_proxies_ms.allFinite() || !(in.candidate_proxies_ms.array() > 0).all()) {
      throw UserError("adaptation input: a candidate proxy latency is not positive and finite");
    }
  }
  check_samples(in.train, "train", n, seen);
  check_samples(in.validation, "validation", n, seen);
  if (in.train.rows.size() < 3) {
    throw UserError("adaptation input: " + std::to_string(in.train.rows.size()) +
                    " training samples, expected at least 3");
  }
}

VectorXd proxy_operator_weights(const Eigen::Ref<const MatrixXd>& features, const Eigen::Ref<const VectorXd>& proxy_ms) {
  return least_squares(features, proxy_ms);
}

TargetSamples gather_target_samples(const std::vector<int64_t>& rows, const float* target_ms) {
  TargetSamples s;
  s.rows = rows;
  s.latency_ms.resize(static_cast<Index>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) s.latency_ms[static_cast<Index>(i)] = target_ms[rows[i]];
  return s;
}

std::vector<int64_t> draw_rows(uint64_t seed, const std::vector<int64_t>& pool, int64_t count) {
  if (count < 0 || count > static_cast<int64_t>(pool.size())) {
    throw UserError("draw_rows: " + std::to_string(count) + " samples from a pool of " +
                    std::to_string(pool.size()));
  }
  std::vector<int64_t> p = pool;
  for (int64_t i = 0; i < count; ++i) {
    const auto left = static_cast<uint32_t>(p.size() - static_cast<size_t>(i));
    const int64_t j = i + bounded(counter_hash(seed ^ 0x6a09e667f3bcc908ull, 0, static_cast<uint64_t>(i)), left);
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  p.resize(static_cast<size_t>(count));
  return p;
}

std::vector<int64_t> draw_rows_stratified(uint64_t seed, const std::vector<int64_t>& pool,
                                          const std::vector<double>& key, int64_t count) {
  if (key.size() != pool.size()) {
    throw UserError("draw_rows_stratified: " + std::to_string(key.size()) + " keys for a pool of " +
                    std::to_string(pool.size()));
  }
  if (count < 0 || count > static_cast<int64_t>(pool.size())) {
    throw UserError("draw_rows_stratified: " + std::to_string(count) + " samples from a pool of " +
                    std::to_string(pool.size()));
  }
  for (double k : key) {
    if (std::isnan(k)) throw UserError("draw_rows_stratified: a key is NaN");
  }
  std::vector<size_t> order(pool.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key[a] < key[b]; });
  const auto m = static_cast<int64_t>(pool.size());
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  for (int64_t s = 0; s < count; ++s) {
    // Stratum s holds sorted positions [s m / count, (s + 1) m / count): sizes differ by one at most.
    const int64_t lo = s * m / count, hi = (s + 1) * m / count;
    const auto width = static_cast<uint32_t>(hi - lo);
    const int64_t at = lo + bounded(counter_hash(seed ^ 0xbb67ae8584caa73bull, 1, static_cast<uint64_t>(s)), width);
    out.push_back(pool[order[static_cast<size_t>(at)]]);
  }
  return out;
}

const std::vector<std::string>& lambda_grid_names() {
  static const std::vector<std::string> names = {"authors", "proxysim"};
  return names;
}

const std::vector<std::string>& lambda_tie_names() {
  static const std::vector<std::string> names = {"least_penalised", "most_penalised"};
  return names;
}

LambdaGrid lambda_grid_from_name(std::string_view name) {
  if (name == "authors") return LambdaGrid::kAuthors;
  if (name == "proxysim") return LambdaGrid::kProxysim;
  throw UserError("unknown lambda grid '" + std::string(name) + "', expected authors or proxysim");
}

LambdaTie lambda_tie_from_name(std::string_view name) {
  if (name == "least_penalised") return LambdaTie::kLeastPenalised;
  if (name == "most_penalised") return LambdaTie::kMostPenalised;
  throw UserError("unknown lambda tie-break '" + std::string(name) + "', expected least_penalised or most_penalised");
}

const std::vector<std::string>& sampling_names() {
  static const std::vector<std::string> names = {"random", "stratified"};
  return names;
}

const std::vector<std::string>& adaptation_sampling_names() {
  static const std::vector<std::string> names = {"random", "stratified", "authors"};
  return names;
}

Sampling sampling_from_name(std::string_view name) {
  if (name == "random") return Sampling::kRandom;
  if (name == "stratified") return Sampling::kStratified;
  if (name == "authors") return Sampling::kAuthors;
  throw UserError("unknown sampling '" + std::string(name) + "', expected random, stratified or authors");
}

SampleSplit draw_adaptation_samples(Sampling sampling, uint64_t seed, const std::vector<double>& proxy_ms, int64_t n,
                                    int64_t v) {
  const auto m = static_cast<int64_t>(proxy_ms.size());
  if (n < 0 || v < 0 || n + v > m) {
    throw UserError("adaptation samples: " + std::to_string(n) + " training + " + std::to_string(v) +
                    " validation from " + std::to_string(m) + " architectures");
  }
  std::vector<int64_t> pool(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) pool[static_cast<size_t>(i)] = i;
  SampleSplit out;
  if (sampling == Sampling::kRandom || sampling == Sampling::kAuthors) {
    const std::vector<int64_t> drawn = sampling == Sampling::kRandom ? draw_rows(seed, pool, n + v) : python_sample(seed, m, n + v);
    out.train.assign(drawn.begin(), drawn.begin() + n);
    out.validation.assign(drawn.begin() + n, drawn.end());
    return out;
  }
  out.train = draw_rows_stratified(seed, pool, proxy_ms, n);
  std::vector<uint8_t> taken(static_cast<size_t>(m), 0);
  for (int64_t i : out.train) taken[static_cast<size_t>(i)] = 1;
  std::vector<int64_t> rest;
  std::vector<double> rest_key;
  for (int64_t i = 0; i < m; ++i) {
    if (taken[static_cast<size_t>(i)]) continue;
    rest.push_back(i);
    rest_key.push_back(proxy_ms[static_cast<size_t>(i)]);
  }
  out.validation = draw_rows_stratified(counter_hash(seed, 2, 0x7a11d), rest, rest_key, v);
  return out;
}

std::unique_ptr<AdaptationScheme> make_adaptation_scheme(std::string_view name, const AdaptationOptions& options) {
  if (name == "none") return std::make_unique<NoneScheme>();
  if (name == "target_only") return std::make_unique<TargetOnlyScheme>();
  if (name == "adaproxy") return std::make_unique<AdaProxyScheme>(false, options.adaproxy_grid, options.adaproxy_tie);
  if (name == "adaproxy_sq") return std::make_unique<AdaProxyScheme>(true, options.adaproxy_grid, options.adaproxy_tie);
  if (name == "anchored") return std::make_unique<AnchoredScheme>();
  if (name == "multi_proxy") return std::make_unique<MultiProxyScheme>(options.multi_proxy_k);
  if (name == "twin") return std::make_unique<TwinScheme>(options.twin_mu, options.twin_max_evaluations);
  if (name == "target_twin") return std::make_unique<TargetTwinScheme>(options.twin_mu, options.twin_max_evaluations, true);
  if (name == "target_start") return std::make_unique<TargetTwinScheme>(options.twin_mu, options.twin_max_evaluations, false);
  std::string known;
  for (const auto& n : adaptation_scheme_names()) known += (known.empty() ? "" : ", ") + n;
  throw UserError("unknown adaptation scheme '" + std::string(name) + "', expected one of " + known);
}

std::vector<std::string> adaptation_scheme_names() {
  return {"none", "target_only", "adaproxy", "adaproxy_sq", "anchored", "multi_proxy", "twin", "target_twin", "target_start"};
}

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

namespace {

// The continued fraction of the incomplete beta function (modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
  double h = d;
  for (int m = 1; m <= 300; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    d = 1 / (std::fabs(d) < kTiny ? kTiny : d);
    c = 1 + aa / c;
    c = std::fabs(c) < kTiny ? kTiny : c;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < 1e-15) break;
  }
  return h;
}

// The regularised incomplete beta function I_x(a, b).
double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(a, b, x) / a;
  return 1 - front * beta_continued_fraction(b, a, 1 - x) / b;
}

}  // namespace

double student_t_cdf(double t, double dof) {
  if (!(dof > 0)) throw UserError("student_t_cdf: " + std::to_string(dof) + " degrees of freedom, expected > 0");
  if (std::isnan(t)) return t;
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = 0.5 * incomplete_beta(0.5 * dof, 0.5, dof / (dof + t * t));
  return t > 0 ? 1 - tail : tail;
}

double williams_t(double r_ya, double r_yb, double r_ab, int64_t n) {
  if (n < 4) throw UserError("williams_t: " + std::to_string(n) + " samples, expected at least 4");
  const double m = static_cast<double>(n);
  const double det = 1 - r_ya * r_ya - r_yb * r_yb - r_ab * r_ab + 2 * r_ya * r_yb * r_ab;
  const double mean = 0.5 * (r_ya + r_yb);
  const double den = 2 * (m - 1) / (m - 3) * det + mean * mean * std::pow(1 - r_ab, 3);
  const double diff = r_ya - r_yb;
  if (!(den > 0)) return diff > 0 ? kInf : diff < 0 ? -kInf : 0.0;  // a perfect correlation: no sampling error left
  return diff * std::sqrt((m - 1) * (1 + r_ab) / den);
}

}  // namespace proxysim
