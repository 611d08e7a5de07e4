// Checks the `target_twin` and `target_start` schemes against values computed here:
// targets made from one start's noise-free latencies (the reference walk of
// sim/calibration, model_latency_ms, not the schemes' lowered cache) times a known
// factor, the choice of start recomputed from its definition (variance of the log
// ratio on the training samples), and the scaled start's prediction recomputed from the
// geometric mean ratio. Also: neither scheme reads the proxy's latencies or the
// features' values, and both refuse an input without starts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "search/calibration.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"
#include "sim/space.hpp"

using namespace proxysim;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

struct StartsFixture {
  SearchSpace space = make_space("nb201");
  std::vector<ArchCode> codes;
  MatrixXd x;
  std::vector<const DeviceSpec*> devices;
  TargetTwinStarts starts;
  StartsFixture() {
    // Connected architectures only: a disconnected cell has no latency worth ranking.
    for (uint64_t i = 0; codes.size() < 1200; ++i) {
      const ArchCode c = space.code_at((i * 7919) % 15625);
      if (nb201::connected(c.data())) codes.push_back(c);
    }
    x = one_hot_features(SpaceId::kNb201, codes);
    for (const char* n : {"pixel2_cpu", "raspi4", "cortex_a76"}) devices.push_back(&builtin_device(n));
    starts = make_target_twin_starts("test_target", devices, space, codes);
  }
};

const StartsFixture& fixture() {
  static const StartsFixture s;
  return s;
}

std::vector<double> scaled(const std::vector<double>& v, double f) {
  std::vector<double> out(v);
  for (double& x : out) x *= f;
  return out;
}

AdaptationInput input(const StartsFixture& s, const VectorXd& proxy, const std::vector<double>& target, int n, int v) {
  TargetSamples train, valid;
  train.latency_ms.resize(n);
  valid.latency_ms.resize(v);
  for (int i = 0; i < n + v; ++i) {
    const int64_t row = 37 * i + 5;
    TargetSamples& t = i < n ? train : valid;
    t.rows.push_back(row);
    t.latency_ms[static_cast<Eigen::Index>(i < n ? i : i - n)] = target[static_cast<size_t>(row)];
  }
  return AdaptationInput{s.x, proxy, train, valid, no_candidate_proxies(), nullptr, &s.starts};
}

// Variance of log(y / t) over the rows: the definition the choice of start uses.
double log_ratio_variance(const std::vector<double>& y, const std::vector<double>& t, const std::vector<int64_t>& rows) {
  double mean = 0;
  for (int64_t r : rows) mean += std::log(y[static_cast<size_t>(r)] / t[static_cast<size_t>(r)]);
  mean /= static_cast<double>(rows.size());
  double var = 0;
  for (int64_t r : rows) {
    const double d = std::log(y[static_cast<size_t>(r)] / t[static_cast<size_t>(r)]) - mean;
    var += d * d;
  }
  return var / static_cast<double>(rows.size());
}

}  // namespace

TEST(TargetTwin, ChoosesTheStartAndMeasurementThatMadeTheTarget) {
  const StartsFixture& s = fixture();
  std::vector<int64_t> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(37 * i + 5);
  // raspi4 end to end, times 3.7.
  const std::vector<double> y1 = scaled(model_latency_ms(s.space, s.codes, s.devices[1]->params), 3.7);
  std::vector<double> ys1;
  for (int64_t r : rows) ys1.push_back(y1[static_cast<size_t>(r)]);
  const TargetStartChoice c1 = choose_target_start(s.starts, rows, ys1);
  EXPECT_EQ(c1.index, 1);
  EXPECT_EQ(c1.measurement, Measurement::kEndToEnd);
  EXPECT_LT(c1.loss, 1e-12);

  // cortex_a76 timed block by block (layer by layer on NB201), times 0.2.
  DeviceParams blocks = s.devices[2]->params;
  blocks.measurement[static_cast<int>(SpaceId::kNb201)] = Measurement::kBlockSum;
  const std::vector<double> y2 = scaled(model_latency_ms(s.space, s.codes, blocks), 0.2);
  // The test can fail: end to end, the same device misses these samples' shape.
  const std::vector<double> e2e = model_latency_ms(s.space, s.codes, s.devices[2]->params);
  ASSERT_GT(log_ratio_variance(y2, e2e, rows), 1e-4);
  std::vector<double> ys2;
  for (int64_t r : rows) ys2.push_back(y2[static_cast<size_t>(r)]);
  const TargetStartChoice c2 = choose_target_start(s.starts, rows, ys2);
  EXPECT_EQ(c2.index, 2);
  EXPECT_EQ(c2.measurement, Measurement::kBlockSum);
  EXPECT_LT(c2.loss, 1e-12);
}

TEST(TargetStart, IsTheBestStartOnTheTrainingSamplesScaledToThem) {
  const StartsFixture& s = fixture();
  // A target none of the starts is: the Pixel 3 model.
  const std::vector<double> y = model_latency_ms(s.space, s.codes, builtin_device("pixel3_cpu").params);
  const VectorXd proxy = VectorXd::Ones(static_cast<Eigen::Index>(s.codes.size()));
  const AdaptationInput in = input(s, proxy, y, 10, 10);
  auto scheme = make_adaptation_scheme("target_start");
  const VectorXd pred = scheme->predict(in);

  // Recomputed here: every start and measurement, scored on the 10 training rows.
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> best_t;
  size_t best_k = 0;
  for (size_t k = 0; k < s.devices.size(); ++k) {
    for (Measurement m : {Measurement::kEndToEnd, Measurement::kBlockSum}) {
      DeviceParams p = s.devices[k]->params;
      p.measurement[static_cast<int>(SpaceId::kNb201)] = m;
      const std::vector<double> t = model_latency_ms(s.space, s.codes, p);
      const double v = log_ratio_variance(y, t, in.train.rows);
      if (v < best) {
        best = v;
        best_t = t;
        best_k = k;
      }
    }
  }
  EXPECT_EQ(scheme->last_choice().start_index, static_cast<int64_t>(best_k));
  double log_scale = 0;
  for (int64_t r : in.train.rows) log_scale += std::log(y[static_cast<size_t>(r)] / best_t[static_cast<size_t>(r)]);
  const double scale = std::exp(log_scale / static_cast<double>(in.train.rows.size()));
  ASSERT_EQ(pred.size(), static_cast<Eigen::Index>(s.codes.size()));
  for (Eigen::Index i = 0; i < pred.size(); ++i) {
    EXPECT_NEAR(pred[i], scale * best_t[static_cast<size_t>(i)], 1e-9 * pred[i]) << i;
  }
}

TEST(TargetTwin, ReadsNeitherTheProxyNorTheFeatureValues) {
  const StartsFixture& s = fixture();
  const std::vector<double> y = model_latency_ms(s.space, s.codes, builtin_device("samsung_s7_cpu").params);
  const VectorXd proxy = VectorXd::LinSpaced(static_cast<Eigen::Index>(s.codes.size()), 1, 2);
  const VectorXd garbage = VectorXd::Constant(static_cast<Eigen::Index>(s.codes.size()), 1e30);
  for (const char* name : {"target_twin", "target_start"}) {
    const VectorXd a = make_adaptation_scheme(name)->predict(input(s, proxy, y, 10, 10));
    AdaptationInput in = input(s, garbage, y, 10, 10);
    const MatrixXd zeros = MatrixXd::Zero(s.x.rows(), s.x.cols());
    AdaptationInput other{zeros, garbage, in.train, in.validation, no_candidate_proxies(), nullptr, &s.starts};
    const VectorXd b = make_adaptation_scheme(name)->predict(other);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_TRUE(a.allFinite()) << name;
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size()))) << name;
  }
}

TEST(TargetTwin, RefusesAnInputWithoutStarts) {
  const StartsFixture& s = fixture();
  const std::vector<double> y = model_latency_ms(s.space, s.codes, s.devices[0]->params);
  const VectorXd proxy = VectorXd::Ones(static_cast<Eigen::Index>(s.codes.size()));
  AdaptationInput in = input(s, proxy, y, 10, 10);
  in.target_starts = nullptr;
  EXPECT_THROW(make_adaptation_scheme("target_twin")->predict(in), UserError);
  TargetTwinStarts none = s.starts;
  none.names.clear();
  none.params.clear();
  in.target_starts = &none;
  EXPECT_THROW(make_adaptation_scheme("target_start")->predict(in), UserError);
  TargetTwinStarts shorter = s.starts;
  shorter.arch_of_row.assign(10, 0);  // covers 10 rows, not the input's 1200
  in.target_starts = &shorter;
  EXPECT_THROW(make_adaptation_scheme("target_twin")->predict(in), UserError);
}
