// Checks the one-hot features (by hand), the group-lasso solver behind AdaProxy (against
// an exhaustive grid search and its KKT conditions: tolerances are the grid's
// resolution and 1e-6 of the gradient's scale, well above the exact solver's
// rounding), recovery of a known linear proxy-to-target model (noise-free data, so 1e-6),
// that no scheme (twin included) can see target latencies outside its samples
// (bit-for-bit); the statistics behind `anchored`'s decision (Student's t against
// scipy to 1e-12, Williams' t against its determinant form, the exact leave-one-out of
// its correction path against refits to 1e-7 of the latencies, and the path's points
// against the group-lasso solver), and its behaviour at both ends: on a target that is
// the proxy with 1 % noise it mostly keeps the proxy and never loses 0.001, on an
// exactly linear one unrelated to the proxy it mostly adapts, gaining > 0.2 on average
// (`anchored` on every pair of every shared table: tests/experiments/adaptation_checks_test.cpp).
// multi_proxy must recover an exact non-negative mix of proxies (noise-free, so 1e-6
// on the weights); the stratified draw is checked against the quantile bins it
// promises, computed here from the key alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "experiments/adapt.hpp"
#include "sim/device_yaml.hpp"
#include "io/measured_csv.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "search/group_lasso.hpp"
#include "search/williams.hpp"
#include "base/error.hpp"
#include "sim/space.hpp"

using namespace proxysim;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

double srcc(const VectorXd& a, const std::vector<float>& b, const std::vector<int64_t>& rows) {
  std::vector<float> fa, fb;
  for (int64_t r : rows) {
    fa.push_back(static_cast<float>(a[r]));
    fb.push_back(b[static_cast<size_t>(r)]);
  }
  return spearman_pair(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
}

double gaussian(uint64_t seed, uint64_t a, uint64_t b) {
  // Box-Muller from two counter-based uniforms.
  const double u1 = unit_open(counter_hash(seed, a, 2 * b));
  const double u2 = unit_open(counter_hash(seed, a, 2 * b + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace

// ---------------------------------------------------------------- features

TEST(Feature, Nb201OneHotByHand) {
  EXPECT_EQ(feature_count(SpaceId::kNb201), 31);
  const MatrixXd x = one_hot_features(SpaceId::kNb201, {{0, 1, 2, 3, 4, 0}, {3, 3, 3, 3, 3, 3}});
  ASSERT_EQ(x.rows(), 2);
  ASSERT_EQ(x.cols(), 31);
  // Edge e with op o sets column 5e + o; the last column is the constant.
  for (int c = 0; c < 31; ++c) {
    const bool row0 = c == 0 || c == 6 || c == 12 || c == 18 || c == 24 || c == 25 || c == 30;
    const bool row1 = c == 3 || c == 8 || c == 13 || c == 18 || c == 23 || c == 28 || c == 30;
    EXPECT_EQ(x(0, c), row0 ? 1.0 : 0.0) << c;
    EXPECT_EQ(x(1, c), row1 ? 1.0 : 0.0) << c;
  }
}

TEST(Feature, FbnetOneHotByHand) {
  EXPECT_EQ(feature_count(SpaceId::kFbnet), 199);
  ArchCode code(22, 8);  // every layer skipped
  code[0] = 0;
  code[21] = 7;
  const MatrixXd x = one_hot_features(SpaceId::kFbnet, {code});
  ASSERT_EQ(x.cols(), 199);
  EXPECT_EQ(x.sum(), 23.0);
  EXPECT_EQ(x(0, 0), 1.0);
  for (int l = 1; l < 21; ++l) EXPECT_EQ(x(0, 9 * l + 8), 1.0) << l;
  EXPECT_EQ(x(0, 9 * 21 + 7), 1.0);
  EXPECT_EQ(x(0, 198), 1.0);
}

TEST(Feature, OfaOneHotByHandWithUnusedSlotsZero) {
  EXPECT_EQ(feature_count(SpaceId::kOfaMbv3), 161);
  ArchCode code(46, 0);
  code[0] = 24;                                              // resolution 224
  const int depth_idx[5] = {0, 2, 1, 0, 2};                 // depths 2, 4, 3, 2, 4
  for (int t = 0; t < 5; ++t) code[1 + t] = static_cast<uint8_t>(depth_idx[t]);
  for (int s = 0; s < 20; ++s) {
    code[6 + s] = static_cast<uint8_t>(s % 3);               // kernel idx, set even on unused slots
    code[26 + s] = static_cast<uint8_t>((s + 1) % 3);        // expand idx
  }
  const MatrixXd x = one_hot_features(SpaceId::kOfaMbv3, {code});
  ASSERT_EQ(x.cols(), 161);
  int used = 0;
  for (int s = 0; s < 20; ++s) {
    const bool in_use = s % 4 < 2 + depth_idx[s / 4];
    used += in_use;
    for (int j = 0; j < 6; ++j) {
      const bool hot = in_use && (j == s % 3 || j == 3 + (s + 1) % 3);
      EXPECT_EQ(x(0, 6 * s + j), hot ? 1.0 : 0.0) << "slot " << s << " column " << j;
    }
  }
  EXPECT_EQ(used, 2 + 4 + 3 + 2 + 4);
  for (int t = 0; t < 5; ++t)
    for (int d = 0; d < 3; ++d) EXPECT_EQ(x(0, 120 + 3 * t + d), d == depth_idx[t] ? 1.0 : 0.0);
  for (int r = 0; r < 25; ++r) EXPECT_EQ(x(0, 135 + r), r == 24 ? 1.0 : 0.0);
  EXPECT_EQ(x(0, 160), 1.0);
  EXPECT_EQ(x.sum(), 2.0 * used + 5 + 1 + 1);
}

TEST(Feature, RefusesCodesOutsideTheSpace) {
  EXPECT_THROW(one_hot_features(SpaceId::kNb201, {{0, 1, 2, 3, 5, 0}}), UserError);
  EXPECT_THROW(one_hot_features(SpaceId::kNb201, {{0, 1, 2}}), UserError);
}

// ---------------------------------------------------------------- group lasso solver

namespace {

struct TinyProblem {
  MatrixXd u, z;
  VectorXd y;
};

TinyProblem tiny_problem(uint64_t seed, int m, int q) {
  TinyProblem p;
  p.u.resize(m, 2);
  p.z.resize(m, q);
  p.y.resize(m);
  for (int i = 0; i < m; ++i) {
    p.u(i, 0) = 5.0 + gaussian(seed, 1, i);
    p.u(i, 1) = 1.0;
    for (int j = 0; j < q; ++j) p.z(i, j) = gaussian(seed, 2 + j, i);
    p.y(i) = 2.0 * p.u(i, 0) + 1.0 + 0.8 * p.z(i, 0) - 0.5 * p.z(i, q - 1) + 0.3 * gaussian(seed, 99, i);
  }
  return p;
}

// Objective with u eliminated exactly (y and Z projected off U's columns), so the
// brute force searches over b alone.
struct Profile {
  VectorXd ry;
  MatrixXd rz;
  double m, lambda;
  Profile(const TinyProblem& p, double lambda_) : m(static_cast<double>(p.y.size())), lambda(lambda_) {
    const MatrixXd proj = MatrixXd::Identity(p.u.rows(), p.u.rows()) -
                          p.u * (p.u.transpose() * p.u).inverse() * p.u.transpose();
    ry = proj * p.y;
    rz = proj * p.z;
  }
  double operator()(const VectorXd& b) const { return (ry - rz * b).squaredNorm() / m + lambda * b.norm(); }
};

// Exhaustive search over a grid of b, zoomed around the best point twelve times
// (final spacing below 1e-8): no gradients, no prox, nothing shared with the solver.
VectorXd brute_force(const TinyProblem& p, double lambda) {
  const Profile profile(p, lambda);
  const int q = static_cast<int>(p.z.cols());
  VectorXd centre = VectorXd::Zero(q);
  double half = 4.0;
  const int steps = q == 2 ? 100 : 40;
  for (int zoom = 0; zoom < 12; ++zoom) {
    VectorXd best = centre;
    double best_value = profile(centre);
    std::vector<int> idx(static_cast<size_t>(q), 0);
    VectorXd b(q);
    while (true) {
      for (int j = 0; j < q; ++j) b[j] = centre[j] - half + 2.0 * half * idx[static_cast<size_t>(j)] / steps;
      const double v = profile(b);
      if (v < best_value) {
        best_value = v;
        best = b;
      }
      int j = 0;
      while (j < q && ++idx[static_cast<size_t>(j)] > steps) idx[static_cast<size_t>(j++)] = 0;
      if (j == q) break;
    }
    centre = best;
    half *= 8.0 / steps;  // two grid cells either side of the best point
  }
  return centre;
}

}  // namespace

TEST(AdaptGroupLasso, MatchesExhaustiveSearchAndKkt) {
  for (int q : {2, 3}) {
    for (uint64_t seed : {1ull, 2ull, 3ull}) {
      const TinyProblem p = tiny_problem(seed, 8, q);
      const double lambda_max = group_lasso_lambda_max(p.u, p.z, p.y);
      for (double frac : {0.05, 0.3, 0.8, 1.5}) {
        const double lambda = frac * lambda_max;
        const GroupLassoFit fit = group_lasso(p.u, p.z, p.y, lambda);
        ASSERT_TRUE(fit.converged) << "q " << q << " seed " << seed << " frac " << frac;
        const VectorXd brute = brute_force(p, lambda);
        const double brute_value = Profile(p, lambda)(brute);
        SCOPED_TRACE("q " + std::to_string(q) + " seed " + std::to_string(seed) + " lambda/max " +
                     std::to_string(frac));
        // The solver must be as good as the grid up to rounding (1e-10 relative), and
        // near the grid's point: the
        // objective is flat at its minimum, so an objective gap e moves b by about
        // sqrt(e), hence 1e-5.
        EXPECT_LE(fit.objective, brute_value * (1 + 1e-10));
        EXPECT_LT((fit.b - brute).cwiseAbs().maxCoeff(), 1e-5);
        // KKT: U^T r = 0; (2/m) Z^T r = lambda b/||b|| when b != 0, else its norm <= lambda.
        const VectorXd r = p.y - p.u * fit.u - p.z * fit.b;
        const double m = static_cast<double>(p.y.size());
        const double scale = (2.0 / m * (p.z.transpose() * p.y)).norm();
        EXPECT_LT((p.u.transpose() * r).cwiseAbs().maxCoeff() * 2.0 / m, 1e-6 * scale);
        const VectorXd g = 2.0 / m * (p.z.transpose() * r);
        if (frac >= 1.0) {
          EXPECT_EQ(fit.b.norm(), 0.0);
          EXPECT_LE(g.norm(), lambda * (1 + 1e-9));
        } else {
          ASSERT_GT(fit.b.norm(), 0.0);
          EXPECT_LT((g - lambda * fit.b / fit.b.norm()).norm(), 1e-6 * scale);
        }
      }
    }
  }
}

// ---------------------------------------------------------------- known linear model

TEST(AdaptAdaProxy, RecoversAKnownLinearTargetModel) {
  // Full-rank features (10 random binary + constant) so the proxy weights are
  // identifiable; the target rescales them per feature, which reorders architectures.
  const int n = 600, f = 11;
  MatrixXd x(n, f);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < f - 1; ++j) x(i, j) = counter_hash(7, i, j) >> 63 ? 1.0 : 0.0;
    x(i, f - 1) = 1.0;
  }
  VectorXd w_p(f), b(f);
  for (int j = 0; j < f; ++j) {
    w_p[j] = 1.0 + 2.0 * unit_open(counter_hash(8, 0, j));
    b[j] = 0.8 * gaussian(9, 0, j);
  }
  const double a = 0.7, c = 3.0;
  const VectorXd proxy = x * w_p;
  const VectorXd target = x * w_p.cwiseProduct(b + VectorXd::Constant(f, a)) + VectorXd::Constant(n, c);
  std::vector<float> target_f(target.data(), target.data() + n);
  std::vector<int64_t> all(n);
  for (int i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  const std::vector<int64_t> rows = draw_rows(11, all, 70);
  const AdaptationInput in{x, proxy,
                           gather_target_samples({rows.begin(), rows.begin() + 60}, target_f.data()),
                           gather_target_samples({rows.begin() + 60, rows.end()}, target_f.data())};
  const double none = srcc(proxy, target_f, all);
  auto scheme = make_adaptation_scheme("adaproxy");
  const VectorXd pred = scheme->predict(in);
  const double adapted = srcc(pred, target_f, all);
  std::printf("known model: SRCC none %.4f adaproxy %.4f (lambda %.3g), max |error| %.3g ms of %.3g\n", none,
              adapted, scheme->last_choice().lambda, (pred - target).cwiseAbs().maxCoeff(), target.mean());
  EXPECT_LT(none, 0.9);  // the model really reorders, or the test proves nothing
  EXPECT_GT(adapted, 0.999);
  // The penalty chosen on validation shrinks b a little: within 1% of the mean latency.
  EXPECT_LT((pred - target).cwiseAbs().maxCoeff(), 0.01 * target.mean());
  // The solver itself at a vanishing penalty returns the generating model.
  const MatrixXd xt = x(Eigen::seqN(0, 60), Eigen::all);
  MatrixXd u(60, 2);
  u.col(0) = xt * w_p;
  u.col(1).setOnes();
  const MatrixXd z = xt * w_p.asDiagonal();
  const GroupLassoFit fit = group_lasso(u, z, target.head(60), 1e-10);
  // Only the effective weights are identified: a trades with b along the all-ones
  // direction, and c with the constant feature's weight.
  VectorXd w_t = w_p.cwiseProduct(fit.b + VectorXd::Constant(f, fit.u[0]));
  w_t[f - 1] += fit.u[1];
  VectorXd w_true = w_p.cwiseProduct(b + VectorXd::Constant(f, a));
  w_true[f - 1] += c;
  EXPECT_LT((w_t - w_true).cwiseAbs().maxCoeff(), 1e-6);
}

// ---------------------------------------------------------------- none, leakage, input checks

namespace {

struct OneProxy {
  MeasuredTable table;
  MatrixXd x;
  int device(const std::string& name) const {
    for (size_t d = 0; d < table.devices.size(); ++d)
      if (table.devices[d] == name) return static_cast<int>(d);
    return -1;
  }
  std::vector<float> column(int d) const {
    std::vector<float> v(table.rows());
    for (uint64_t r = 0; r < table.rows(); ++r) v[r] = table.latency_ms[r * table.devices.size() + d];
    return v;
  }
};

const OneProxy& oneproxy() {
  static const OneProxy data = [] {
    OneProxy o{read_measured_csv(shared("oneproxy_nb201_1999_latency.csv")), {}};
    o.x = one_hot_features(SpaceId::kNb201, o.table.codes);
    return o;
  }();
  return data;
}

// Connected architectures measured on the target: the population of the reference
// SRCC tables.
std::vector<int64_t> measured_rows(const std::vector<float>& target, const MeasuredTable& t) {
  std::vector<int64_t> rows;
  for (uint64_t r = 0; r < t.rows(); ++r)
    if (t.connected[r] && !std::isnan(target[r])) rows.push_back(static_cast<int64_t>(r));
  return rows;
}

// Two targets at the ends for a proxy `base` of the oneproxy table: the proxy with 1 %
// measurement noise (nothing to gain, SRCC 0.999), and one exactly linear in the
// one-hot features with weights unrelated to the proxy's (3x3 convolutions nearly free,
// pooling dear: SRCC about 0).
std::pair<std::vector<float>, std::vector<float>> anchored_targets(const OneProxy& o, const std::vector<float>& base) {
  std::vector<float> noisy(base.size()), linear(base.size());
  for (size_t r = 0; r < base.size(); ++r) {
    noisy[r] = base[r] * static_cast<float>(1.0 + 0.01 * gaussian(77, 0, r));
    double v = 1.0;
    for (int e = 0; e < 6; ++e) {
      const int op = o.table.codes[r][static_cast<size_t>(e)];
      v += op == 3 ? 0.1 : op == 4 ? 3.0 : op == 2 ? 1.0 : 0.2;
    }
    linear[r] = static_cast<float>(v);
  }
  return {noisy, linear};
}

VectorXd as_vector(const std::vector<float>& v) {
  VectorXd out(static_cast<Eigen::Index>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) out[static_cast<Eigen::Index>(i)] = v[i];
  return out;
}

}  // namespace

TEST(AdaptNone, ReturnsTheProxyAndItsSrcc) {
  const OneProxy& o = oneproxy();
  const std::vector<float> proxy = o.column(o.device("true_a76"));
  const std::vector<float> target = o.column(o.device("true_630"));
  const VectorXd p = as_vector(proxy);
  const std::vector<int64_t> pool = measured_rows(target, o.table);
  const std::vector<int64_t> s = draw_rows(1, pool, 20);
  const AdaptationInput in{o.x, p, gather_target_samples({s.begin(), s.begin() + 10}, target.data()),
                           gather_target_samples({s.begin() + 10, s.end()}, target.data())};
  const VectorXd pred = make_adaptation_scheme("none")->predict(in);
  EXPECT_EQ(pred, p);
  // srcc_oneproxy_nb201_1999.csv: true_a76 vs true_630 = 0.9711 (4 decimals).
  EXPECT_NEAR(srcc(pred, target, pool), 0.9711, 5e-5);
}

TEST(AdaptInput, SchemesCannotSeeTargetsOutsideTheirSamples) {
  const OneProxy& o = oneproxy();
  const VectorXd p = as_vector(o.column(o.device("true_a76")));
  const std::vector<float> target = o.column(o.device("rice_edgegpu"));
  const std::vector<int64_t> pool = measured_rows(target, o.table);
  const std::vector<int64_t> s = draw_rows(5, pool, 20);
  // Two full target vectors that agree only on the 20 samples: garbage elsewhere.
  std::vector<float> poisoned_nan(target.size(), std::numeric_limits<float>::quiet_NaN());
  std::vector<float> poisoned_huge(target.size(), 1e30f);
  for (int64_t r : s) poisoned_nan[static_cast<size_t>(r)] = poisoned_huge[static_cast<size_t>(r)] = target[static_cast<size_t>(r)];
  // multi_proxy's candidates: every other device measured on all architectures (not
  // the proxy, not the target).
  std::vector<int> others;
  for (size_t d = 0; d < o.table.devices.size(); ++d) {
    const std::vector<float> col = o.column(static_cast<int>(d));
    const bool complete = std::none_of(col.begin(), col.end(), [](float v) { return std::isnan(v); });
    if (complete && o.table.devices[d] != "true_a76" && o.table.devices[d] != "rice_edgegpu") others.push_back(static_cast<int>(d));
  }
  ASSERT_GE(others.size(), 10u);
  MatrixXd candidates(p.size(), static_cast<Eigen::Index>(others.size()));
  for (size_t c = 0; c < others.size(); ++c) candidates.col(static_cast<Eigen::Index>(c)) = as_vector(o.column(others[c]));
  // The twin scheme's context: the proxy's twin over the table's architectures.
  const ProxyTwin twin = make_proxy_twin("true_a76", builtin_device("twin_true_a76"), make_space("nb201"), o.table.codes);
  // target_twin's context: the starts of rice_edgegpu's class (mobile GPUs) but its own.
  std::vector<const DeviceSpec*> start_devices = resolve_target_starts("rice_edgegpu", AdaptSettings{}).starts;
  ASSERT_GE(start_devices.size(), 2u);
  const TargetTwinStarts starts = make_target_twin_starts("rice_edgegpu", start_devices, make_space("nb201"), o.table.codes);
  auto input = [&](const std::vector<float>& full) {
    return AdaptationInput{o.x, p, gather_target_samples({s.begin(), s.begin() + 10}, full.data()),
                           gather_target_samples({s.begin() + 10, s.end()}, full.data()), candidates, &twin, &starts};
  };
  for (const char* needed : {"multi_proxy", "twin", "target_twin", "target_start"}) {
    ASSERT_NE(std::find(adaptation_scheme_names().begin(), adaptation_scheme_names().end(), needed),
              adaptation_scheme_names().end());
  }
  for (const std::string& name : adaptation_scheme_names()) {
    const VectorXd clean = make_adaptation_scheme(name)->predict(input(target));
    const VectorXd nan = make_adaptation_scheme(name)->predict(input(poisoned_nan));
    const VectorXd huge = make_adaptation_scheme(name)->predict(input(poisoned_huge));
    ASSERT_EQ(clean.size(), static_cast<Eigen::Index>(target.size())) << name;
    EXPECT_TRUE(clean.allFinite()) << name;
    EXPECT_EQ(0, std::memcmp(clean.data(), nan.data(), sizeof(double) * clean.size())) << name;
    EXPECT_EQ(0, std::memcmp(clean.data(), huge.data(), sizeof(double) * clean.size())) << name;
  }
}

TEST(AdaptInput, RefusesInconsistentSamples) {
  const MatrixXd x = MatrixXd::Ones(6, 2);
  const VectorXd p = VectorXd::LinSpaced(6, 1, 6);
  auto samples = [](std::vector<int64_t> rows) {
    TargetSamples s{rows, VectorXd::Constant(static_cast<Eigen::Index>(rows.size()), 1.0)};
    return s;
  };
  auto scheme = make_adaptation_scheme("anchored");
  EXPECT_THROW(scheme->predict({x, p, samples({0, 1, 2}), samples({2, 3})}), UserError);  // overlap
  EXPECT_THROW(scheme->predict({x, p, samples({0, 1, 6}), samples({3})}), UserError);     // out of range
  EXPECT_THROW(scheme->predict({x, p, samples({0, 1}), samples({3})}), UserError);        // too few
  TargetSamples bad = samples({0, 1, 2});
  bad.latency_ms[1] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(scheme->predict({x, p, bad, samples({3})}), UserError);
  // Zero, negative and infinite latencies are bad numbers too, named at the boundary.
  for (const double v : {0.0, -1.0, std::numeric_limits<double>::infinity()}) {
    bad.latency_ms[1] = v;
    EXPECT_THROW(scheme->predict({x, p, bad, samples({3})}), UserError) << v;
    VectorXd q = p;
    q[4] = v;
    EXPECT_THROW(scheme->predict({x, q, samples({0, 1, 2}), samples({3})}), UserError) << v;
  }
  EXPECT_THROW(make_adaptation_scheme("adaproxy2"), UserError);
  // Candidate proxies: one row per architecture, all finite.
  const MatrixXd short_candidates = MatrixXd::Ones(5, 2);
  EXPECT_THROW(scheme->predict({x, p, samples({0, 1, 2}), samples({3}), short_candidates}), UserError);
  MatrixXd holey = MatrixXd::Ones(6, 2);
  holey(4, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(make_adaptation_scheme("multi_proxy")->predict({x, p, samples({0, 1, 2}), samples({3}), holey}), UserError);
  AdaptationOptions no_proxies;
  no_proxies.multi_proxy_k = 0;
  EXPECT_THROW(make_adaptation_scheme("multi_proxy", no_proxies), UserError);
}

TEST(AdaptInput, DrawRowsIsDistinctAndReproducible) {
  std::vector<int64_t> pool(50);
  for (int i = 0; i < 50; ++i) pool[static_cast<size_t>(i)] = 100 + i;
  const auto a = draw_rows(3, pool, 50), b = draw_rows(3, pool, 20), c = draw_rows(4, pool, 20);
  EXPECT_EQ(std::vector<int64_t>(a.begin(), a.begin() + 20), b);  // a prefix of the longer draw
  EXPECT_NE(b, c);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, pool);
}

// ---------------------------------------------------------------- anchored's decision

namespace {

// Rows of tests/data/adapt/anchored_stats.csv (scripts/dev/make_anchored_fixtures.py:
// scipy.stats.t.cdf, and Williams' t from numpy's determinant of the correlation matrix).
std::vector<std::vector<std::string>> anchored_stats(const std::string& kind) {
  std::ifstream in(std::string(PROXYSIM_TEST_DATA) + "/adapt/anchored_stats.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) c.push_back(cell);
    if (!c.empty() && c[0] == kind) rows.push_back(c);
  }
  return rows;
}

// argmin ||y - U u - Z b||^2 + mu ||b||^2 by least squares on the stacked system, the
// sample `skip` left out (-1: none). Returns the predictions for every row.
VectorXd ridge_refit(const VectorXd& base, const MatrixXd& z, const VectorXd& y, double mu, Eigen::Index skip) {
  const Eigen::Index n = y.size(), f = z.cols();
  const Eigen::Index kept = skip < 0 ? n : n - 1;
  MatrixXd a = MatrixXd::Zero(kept + f, 2 + f);
  VectorXd rhs = VectorXd::Zero(kept + f);
  for (Eigen::Index i = 0, k = 0; i < n; ++i) {
    if (i == skip) continue;
    a(k, 0) = base[i];
    a(k, 1) = 1;
    a.row(k).tail(f) = z.row(i);
    rhs[k++] = y[i];
  }
  a.bottomRightCorner(f, f) = std::sqrt(mu) * MatrixXd::Identity(f, f);
  const VectorXd t = a.colPivHouseholderQr().solve(rhs);
  return t[0] * base + VectorXd::Constant(n, t[1]) + z * t.tail(f);
}

// Random one-hot rows (6 groups of 5, NB201's shape) with positive weights, so Z has
// the one-hot groups' dependencies; fewer samples than features, as at n = 10 and 20.
struct PathProblem {
  MatrixXd z;
  VectorXd base, y;
};
PathProblem path_problem(uint64_t seed, int n) {
  PathProblem p;
  const int f = 31;
  VectorXd w(f);
  for (int j = 0; j < f; ++j) w[j] = 0.2 + unit_open(counter_hash(seed, 1, j));
  p.z = MatrixXd::Zero(n, f);
  for (int i = 0; i < n; ++i) {
    for (int e = 0; e < 6; ++e) p.z(i, 5 * e + static_cast<int>(counter_hash(seed, 2, 6 * i + e) % 5)) = w[5 * e];
    p.z(i, f - 1) = w[f - 1];
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < f - 1; ++j)
      if (p.z(i, j) != 0) p.z(i, j) = w[j];
  p.base = p.z.rowwise().sum() + 0.3 * VectorXd::NullaryExpr(n, [&](Eigen::Index i) { return gaussian(seed, 3, i); });
  p.y = 2.0 * p.base + p.z * VectorXd::NullaryExpr(f, [&](Eigen::Index j) { return gaussian(seed, 4, j); }) +
        VectorXd::Constant(n, 5.0);
  return p;
}

}  // namespace

TEST(AdaptAnchored, StudentTDistributionMatchesScipy) {
  const auto rows = anchored_stats("student_t");
  ASSERT_GE(rows.size(), 10u);
  for (const auto& c : rows) {
    const double t = std::stod(c[1]), dof = std::stod(c[2]), want = std::stod(c[5]);
    EXPECT_NEAR(student_t_cdf(t, dof), want, 1e-12) << "t " << t << " dof " << dof;
  }
  EXPECT_EQ(student_t_cdf(std::numeric_limits<double>::infinity(), 7), 1.0);
  EXPECT_EQ(student_t_cdf(-std::numeric_limits<double>::infinity(), 7), 0.0);
  EXPECT_THROW(student_t_cdf(1.0, 0.0), UserError);
}

TEST(AdaptAnchored, WilliamsTestMatchesItsDeterminantForm) {
  const auto rows = anchored_stats("williams");
  ASSERT_GE(rows.size(), 5u);
  for (const auto& c : rows) {
    const double want = std::stod(c[5]);
    EXPECT_NEAR(williams_t(std::stod(c[1]), std::stod(c[2]), std::stod(c[3]), std::stoll(c[4])), want,
                1e-10 * std::max(1.0, std::fabs(want)))
        << c[1] << " " << c[2] << " " << c[3] << " " << c[4];
  }
  // Symmetric: swapping the two correlations with y flips the sign.
  EXPECT_NEAR(williams_t(0.6, 0.8, 0.7, 25), -williams_t(0.8, 0.6, 0.7, 25), 1e-12);
  EXPECT_THROW(williams_t(0.5, 0.4, 0.3, 3), UserError);
}

TEST(AdaptAnchored, LeaveOneOutIsExactAndIsAGroupLassoFit) {
  for (int n : {12, 20, 30}) {
    const PathProblem p = path_problem(40 + static_cast<uint64_t>(n), n);
    const CorrectionPath path(p.base, p.z, p.y);
    ASSERT_GT(path.top_weight(), 0.0);
    for (double frac : {3.0, 0.1, 1e-3, 1e-5}) {
      const double mu = frac * path.top_weight();
      SCOPED_TRACE("n " + std::to_string(n) + " mu/top " + std::to_string(frac));
      const CorrectionPath::Point pt = path.at(mu);
      ASSERT_TRUE(pt.loo_defined);
      // The fit on all samples: the same predictions as a direct solve.
      const VectorXd all = ridge_refit(p.base, p.z, p.y, mu, -1);
      const VectorXd mine = pt.scale * p.base + VectorXd::Constant(n, pt.intercept) + p.z * pt.b;
      EXPECT_LT((mine - all).cwiseAbs().maxCoeff(), 1e-8 * p.y.cwiseAbs().maxCoeff());
      // Leave-one-out: each sample predicted by a refit without it.
      for (Eigen::Index i = 0; i < n; ++i) {
        const double refit = ridge_refit(p.base, p.z, p.y, mu, i)[i];
        EXPECT_NEAR(pt.loo[i], refit, 1e-7 * p.y.cwiseAbs().maxCoeff()) << "sample " << i;
      }
      // Effective degrees of freedom: the trace of the hat matrix less the two
      // unpenalised columns, by finite differences of the (linear) fit in y.
      double trace = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        PathProblem q = p;
        q.y[i] += 1.0;
        trace += ridge_refit(q.base, q.z, q.y, mu, -1)[i] - all[i];
      }
      EXPECT_NEAR(pt.df, trace - 2.0, 1e-6);
      EXPECT_LE(pt.df, n - 2 + 1e-9);
      // The ridge fit at mu is AdaProxy's group-lasso fit at lambda = 2 mu ||b|| / N.
      MatrixXd u(n, 2);
      u.col(0) = p.base;
      u.col(1).setOnes();
      const GroupLassoFit g = GroupLassoPath(u, p.z, p.y).solve(pt.lambda);
      EXPECT_LT((p.z * (g.b - pt.b)).cwiseAbs().maxCoeff(), 1e-6 * p.y.cwiseAbs().maxCoeff());
    }
    // No correction: the least-squares fit on [base, 1] and lambda = infinity.
    const CorrectionPath::Point none = path.at(std::numeric_limits<double>::infinity());
    EXPECT_EQ(none.b.norm(), 0.0);
    EXPECT_EQ(none.df, 0.0);
    EXPECT_TRUE(std::isinf(none.lambda));
  }
}

TEST(AdaptAnchored, KeepsTheProxyWithoutEvidenceAndAdaptsWhereTheSamplesShowIt) {
  const OneProxy& o = oneproxy();
  const std::vector<float> base = o.column(o.device("true_a76"));
  const VectorXd p = as_vector(base);
  // Two targets at the ends (anchored_targets).
  const auto [noisy, linear] = anchored_targets(o, base);
  std::vector<int64_t> all(base.size());
  for (size_t r = 0; r < all.size(); ++r) all[r] = static_cast<int64_t>(r);
  int kept_noisy = 0, kept_linear = 0;
  double worst_noisy = 1, gain = 0;
  constexpr int kSeeds = 10;
  for (int seed = 0; seed < kSeeds; ++seed) {
    const std::vector<int64_t> s = draw_rows(static_cast<uint64_t>(seed), all, 20);
    auto input = [&](const std::vector<float>& t) {
      return AdaptationInput{o.x, p, gather_target_samples({s.begin(), s.begin() + 10}, t.data()),
                             gather_target_samples({s.begin() + 10, s.end()}, t.data())};
    };
    auto scheme = make_adaptation_scheme("anchored");
    const VectorXd same = scheme->predict(input(noisy));
    if (scheme->last_choice().kept_proxy) {
      ++kept_noisy;
      // Kept: a positive rescaling of the proxy, so exactly its ranking.
      EXPECT_NEAR(srcc(same, noisy, all), srcc(p, noisy, all), 1e-12);
    }
    worst_noisy = std::min(worst_noisy, srcc(same, noisy, all) - srcc(p, noisy, all));
    const VectorXd adapted = scheme->predict(input(linear));
    kept_linear += scheme->last_choice().kept_proxy ? 1 : 0;
    gain += (srcc(adapted, linear, all) - srcc(p, linear, all)) / kSeeds;
  }
  std::printf("anchored, 10 + 10 samples, %d seeds: noisy proxy kept %d times, worst %+.5f; linear target kept %d "
              "times, mean gain %+.3f\n",
              kSeeds, kept_noisy, worst_noisy, kept_linear, gain);
  // Nothing to gain: the proxy mostly kept, and never a loss worth a thousandth.
  EXPECT_GE(kept_noisy, kSeeds / 2);
  EXPECT_GT(worst_noisy, -1e-3);
  // Much to gain: adapted on most seeds, and a large mean gain (20 samples do not
  // always show it: the fits may spend 9 degrees of freedom on a 25-dimensional model).
  EXPECT_LE(kept_linear, kSeeds / 2);
  EXPECT_GT(gain, 0.2);
}

// A search on a space too large to tabulate predicts the architectures it proposes
// from a scheme's affine form (AdaptationChoice::affine): on every row of the table the
// form must give what predict() gave, for every scheme that has one and for both of
// anchored's outcomes (the noisy target keeps the proxy, the linear one adapts).
TEST(AdaptAffine, TheAffineFormPredictsWhatPredictGave) {
  const OneProxy& o = oneproxy();
  const std::vector<float> base = o.column(o.device("true_a76"));
  const VectorXd p = as_vector(base);
  const auto [noisy, linear] = anchored_targets(o, base);
  const std::vector<float> other = o.column(o.device("true_630"));
  std::vector<int64_t> all(base.size());
  for (size_t r = 0; r < all.size(); ++r) all[r] = static_cast<int64_t>(r);
  std::map<std::string, int> outcomes;
  for (const std::string name : {"none", "target_only", "adaproxy", "adaproxy_sq", "anchored"}) {
    for (int seed = 0; seed < 4; ++seed) {
      for (const std::vector<float>* t : std::vector<const std::vector<float>*>{&noisy, &linear, &other}) {
        const std::vector<int64_t> s = draw_rows(static_cast<uint64_t>(seed), all, 20);
        const AdaptationInput in{o.x, p, gather_target_samples({s.begin(), s.begin() + 10}, t->data()),
                                 gather_target_samples({s.begin() + 10, s.end()}, t->data())};
        auto scheme = make_adaptation_scheme(name);
        const VectorXd pred = scheme->predict(in);
        const auto& affine = scheme->last_choice().affine;
        ASSERT_TRUE(affine.has_value()) << name;
        ASSERT_EQ(affine->feature_weights.size(), o.x.cols());
        const VectorXd again = affine->proxy_scale * p + o.x * affine->feature_weights;
        const double scale = pred.cwiseAbs().maxCoeff();
        EXPECT_LE((again - pred).cwiseAbs().maxCoeff(), 1e-12 * scale) << name << " seed " << seed;
        if (name == "anchored") ++outcomes[scheme->last_choice().kept_proxy ? "kept" : "adapted"];
      }
    }
  }
  // Both of anchored's branches were checked.
  EXPECT_GT(outcomes["kept"], 0);
  EXPECT_GT(outcomes["adapted"], 0);
}

// Schemes whose prediction is not an affine map of the proxy and the features say so.
TEST(AdaptAffine, MultiProxyHasNoAffineForm) {
  const OneProxy& o = oneproxy();
  const VectorXd p = as_vector(o.column(o.device("true_a76")));
  const std::vector<float> target = o.column(o.device("true_630"));
  const std::vector<int64_t> s = draw_rows(3, measured_rows(target, o.table), 20);
  MatrixXd candidates(p.size(), 2);
  // Two other devices of the table (neither the proxy nor the target).
  int filled = 0;
  for (size_t d = 0; d < o.table.devices.size() && filled < 2; ++d) {
    if (o.table.devices[d] == "true_a76" || o.table.devices[d] == "true_630") continue;
    candidates.col(filled++) = as_vector(o.column(static_cast<int>(d)));
  }
  AdaptationInput in{o.x, p, gather_target_samples({s.begin(), s.begin() + 10}, target.data()),
                     gather_target_samples({s.begin() + 10, s.end()}, target.data()), candidates};
  auto scheme = make_adaptation_scheme("multi_proxy");
  scheme->predict(in);
  EXPECT_FALSE(scheme->last_choice().affine.has_value());
}

// ---------------------------------------------------------------- multi_proxy

TEST(AdaptMultiProxy, RecoversAKnownNonNegativeMixOfProxies) {
  // Four candidate proxies with independent latencies; the target is 0.7 P1 + 0.3 P3
  // exactly, the proxy itself is unrelated to it.
  const int n = 500, f = 11;
  MatrixXd x(n, f);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < f - 1; ++j) x(i, j) = counter_hash(17, i, j) >> 63 ? 1.0 : 0.0;
    x(i, f - 1) = 1.0;
  }
  VectorXd proxy(n);
  MatrixXd candidates(n, 4);
  for (int i = 0; i < n; ++i) {
    proxy[i] = 5.0 + 20.0 * unit_open(counter_hash(18, 0, i));
    for (int j = 0; j < 4; ++j) candidates(i, j) = (1.0 + j) * (2.0 + 30.0 * unit_open(counter_hash(19, j, i)));
  }
  const VectorXd target = 0.7 * candidates.col(0) + 0.3 * candidates.col(2);
  std::vector<float> target_f(target.data(), target.data() + n);
  std::vector<int64_t> all(n);
  for (int i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  for (uint64_t seed : {1ull, 2ull, 3ull}) {
    const std::vector<int64_t> rows = draw_rows(seed, all, 20);
    const AdaptationInput in{x, proxy, gather_target_samples({rows.begin(), rows.begin() + 10}, target_f.data()),
                             gather_target_samples({rows.begin() + 10, rows.end()}, target_f.data()), candidates};
    auto scheme = make_adaptation_scheme("multi_proxy");
    const VectorXd pred = scheme->predict(in);
    const AdaptationChoice& c = scheme->last_choice();
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_NEAR(srcc(pred, target_f, all), 1.0, 1e-12);
    ASSERT_EQ(c.proxy_columns.size(), 2u);
    ASSERT_EQ(c.proxy_weights.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
      // Column 0 is the proxy, 1 + j candidate j: P1 and P3 are columns 1 and 3.
      ASSERT_TRUE(c.proxy_columns[k] == 1 || c.proxy_columns[k] == 3) << c.proxy_columns[k];
      EXPECT_NEAR(c.proxy_weights[k], c.proxy_columns[k] == 1 ? 0.7 : 0.3, 1e-6);
    }
    // The float32 target samples are all the error left: well under a microsecond.
    EXPECT_LT((pred - target).cwiseAbs().maxCoeff(), 1e-4);
  }
}

TEST(AdaptMultiProxy, WithoutCandidatesMixesTheProxyAlone) {
  const OneProxy& o = oneproxy();
  const VectorXd p = as_vector(o.column(o.device("true_a76")));
  const std::vector<float> target = o.column(o.device("true_630"));
  const std::vector<int64_t> pool = measured_rows(target, o.table);
  const std::vector<int64_t> s = draw_rows(3, pool, 20);
  const AdaptationInput in{o.x, p, gather_target_samples({s.begin(), s.begin() + 10}, target.data()),
                           gather_target_samples({s.begin() + 10, s.end()}, target.data())};
  auto scheme = make_adaptation_scheme("multi_proxy");
  const VectorXd pred = scheme->predict(in);
  EXPECT_TRUE(pred.allFinite());
  EXPECT_EQ(scheme->last_choice().proxy_columns, std::vector<int64_t>{0});
  ASSERT_EQ(scheme->last_choice().proxy_weights.size(), 1u);
  EXPECT_GT(scheme->last_choice().proxy_weights[0], 0.0);
}

// ---------------------------------------------------------------- stratified sampling

TEST(AdaptSampling, StratifiedDrawIsDeterministicDistinctAndCoversEveryStratum) {
  const int m = 503;
  std::vector<int64_t> pool(m);
  std::vector<double> key(m);
  for (int i = 0; i < m; ++i) {
    pool[static_cast<size_t>(i)] = 1000 + 3 * i;
    key[static_cast<size_t>(i)] = 100.0 * unit_open(counter_hash(21, 0, i));  // distinct with certainty here
  }
  std::vector<double> sorted_key = key;
  std::sort(sorted_key.begin(), sorted_key.end());
  for (int64_t count : {1, 7, 10, 50, 503}) {
    for (uint64_t seed : {0ull, 1ull, 2ull}) {
      SCOPED_TRACE("count " + std::to_string(count) + " seed " + std::to_string(seed));
      const std::vector<int64_t> a = draw_rows_stratified(seed, pool, key, count);
      EXPECT_EQ(a, draw_rows_stratified(seed, pool, key, count));
      ASSERT_EQ(static_cast<int64_t>(a.size()), count);
      std::vector<int64_t> u = a;
      std::sort(u.begin(), u.end());
      EXPECT_EQ(std::unique(u.begin(), u.end()), u.end());
      // Bin s holds the keys of sorted positions [s m / count, (s + 1) m / count): one draw each.
      std::vector<int> per_bin(static_cast<size_t>(count), 0);
      for (int64_t row : a) {
        ASSERT_EQ((row - 1000) % 3, 0);
        const double k = key[static_cast<size_t>((row - 1000) / 3)];
        const auto pos = std::lower_bound(sorted_key.begin(), sorted_key.end(), k) - sorted_key.begin();
        int64_t bin = 0;
        while ((bin + 1) * m / count <= pos) ++bin;
        ++per_bin[static_cast<size_t>(bin)];
      }
      for (int64_t b = 0; b < count; ++b) EXPECT_EQ(per_bin[static_cast<size_t>(b)], 1) << "stratum " << b;
    }
  }
  EXPECT_NE(draw_rows_stratified(0, pool, key, 10), draw_rows_stratified(1, pool, key, 10));
  // Ties (whole milliseconds) still give distinct rows.
  std::vector<double> coarse(m);
  for (int i = 0; i < m; ++i) coarse[static_cast<size_t>(i)] = std::floor(key[static_cast<size_t>(i)] / 25.0);
  std::vector<int64_t> t = draw_rows_stratified(4, pool, coarse, 100);
  std::sort(t.begin(), t.end());
  EXPECT_EQ(std::unique(t.begin(), t.end()), t.end());
  EXPECT_THROW(draw_rows_stratified(0, pool, key, m + 1), UserError);
  EXPECT_THROW(draw_rows_stratified(0, pool, std::vector<double>(3, 1.0), 2), UserError);
}

TEST(AdaptSampling, AdaptationSplitsUseTheProxyAlone) {
  const OneProxy& o = oneproxy();
  const std::vector<float> proxy = o.column(o.device("true_a76"));
  const std::vector<double> key(proxy.begin(), proxy.end());
  // No target enters the draw: the split is a function of (sampling, seed, proxy, n, v).
  for (Sampling sampling : {Sampling::kRandom, Sampling::kStratified}) {
    const SampleSplit a = draw_adaptation_samples(sampling, 9, key, 10, 10);
    const SampleSplit b = draw_adaptation_samples(sampling, 9, key, 10, 10);
    EXPECT_EQ(a.train, b.train);
    EXPECT_EQ(a.validation, b.validation);
    ASSERT_EQ(a.train.size(), 10u);
    ASSERT_EQ(a.validation.size(), 10u);
    std::vector<int64_t> all = a.train;
    all.insert(all.end(), a.validation.begin(), a.validation.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::unique(all.begin(), all.end()), all.end());
  }
  // Random keeps the draw the stage always made: draw_rows of n + v, training first.
  std::vector<int64_t> pool(key.size());
  for (size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<int64_t>(i);
  const std::vector<int64_t> drawn = draw_rows(9, pool, 20);
  const SampleSplit r = draw_adaptation_samples(Sampling::kRandom, 9, key, 10, 10);
  EXPECT_EQ(r.train, std::vector<int64_t>(drawn.begin(), drawn.begin() + 10));
  EXPECT_EQ(r.validation, std::vector<int64_t>(drawn.begin() + 10, drawn.end()));
  // Stratified training samples span the proxy's range: one in each tenth of it.
  const SampleSplit st = draw_adaptation_samples(Sampling::kStratified, 9, key, 10, 10);
  std::vector<double> sorted_key = key;
  std::sort(sorted_key.begin(), sorted_key.end());
  const auto m = static_cast<int64_t>(key.size());
  EXPECT_LE(key[static_cast<size_t>(st.train.front())], sorted_key[static_cast<size_t>(m / 10)]);
  EXPECT_GE(key[static_cast<size_t>(st.train.back())], sorted_key[static_cast<size_t>(9 * m / 10 - 1)]);
  EXPECT_EQ(sampling_from_name("stratified"), Sampling::kStratified);
  EXPECT_THROW(sampling_from_name("quantile"), UserError);
}
