// Checks the `twin` adaptation scheme and the recalibration behind it against things
// computed here independently: a simulated target made by perturbing the twin's
// parameters by known factors (latencies from the reference walk of search/calibration,
// model_latency_ms, not from the scheme's lowered cache), the unchanged twin's own
// latencies (mu = infinity must return them times the geometric-mean ratio to the
// training samples, to 1e-12 relative: only the order of the sums may differ), and a
// rerun (bit for bit). The recovery bound is a margin of 0.02 in mean SRCC over ten
// seeds, several times the spread of that mean, against the unadapted twin's SRCC;
// the target is of the twin's own model family, so the scheme must also reach 0.95.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/rank_stats.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "search/calibration.hpp"
#include "base/error.hpp"
#include "sim/space.hpp"

using namespace proxysim;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// 1500 distinct connected-or-not NB201 architectures in a fixed scattered order.
std::vector<ArchCode> archs(const SearchSpace& space) {
  std::vector<ArchCode> codes;
  for (uint64_t i = 0; i < 1500; ++i) codes.push_back(space.code_at((i * 7919) % 15625));
  return codes;
}

double srcc(const VectorXd& a, const std::vector<double>& b) {
  std::vector<float> fa(a.data(), a.data() + a.size()), fb(b.begin(), b.end());
  return spearman_pair(Backend::kCpu, fa.data(), fb.data(), static_cast<int64_t>(fa.size()));
}

VectorXd as_vector(const std::vector<double>& v) { return Eigen::Map<const VectorXd>(v.data(), static_cast<Eigen::Index>(v.size())); }

struct TwinData {
  SearchSpace space = make_space("nb201");
  std::vector<ArchCode> codes = archs(space);
  MatrixXd x = one_hot_features(SpaceId::kNb201, codes);
  const DeviceSpec& twin = builtin_device("twin_true_a76");
  ProxyTwin context = make_proxy_twin("true_a76", twin, space, codes);
  // The proxy's latencies: any proxy-side vector will do, the twin scheme ignores them.
  VectorXd proxy = as_vector(model_latency_ms(space, codes, twin.params));
};

const TwinData& twin_data() {
  static const TwinData s;
  return s;
}

AdaptationInput input(const TwinData& s, const std::vector<double>& target, uint64_t seed, int n, int v) {
  std::vector<int64_t> pool(s.codes.size());
  for (size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<int64_t>(i);
  const std::vector<int64_t> rows = draw_rows(seed, pool, n + v);
  auto samples = [&](size_t from, size_t to) {
    TargetSamples t;
    t.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(from), rows.begin() + static_cast<std::ptrdiff_t>(to));
    t.latency_ms.resize(static_cast<Eigen::Index>(t.rows.size()));
    for (size_t i = 0; i < t.rows.size(); ++i) t.latency_ms[static_cast<Eigen::Index>(i)] = target[static_cast<size_t>(t.rows[i])];
    return t;
  };
  return AdaptationInput{s.x, s.proxy, samples(0, static_cast<size_t>(n)), samples(static_cast<size_t>(n), rows.size()),
                         no_candidate_proxies(), &s.context};
}

}  // namespace

TEST(AdaptTwin, RecoversAPerturbedTwinBetterThanTheUnadaptedTwin) {
  const TwinData& s = twin_data();
  // A different device of the same structure: 3x3 convolutions 3x as efficient (a
  // Winograd kernel), pointwise ones a tenth, pooling 5x slower, less off-chip
  // bandwidth, a dearer dispatch. NB201 latency ranks mostly by the count of 3x3
  // convolutions, so only changes that reorder the op costs reorder architectures.
  DeviceParams moved = s.twin.params;
  moved.efficiency[static_cast<int>(OpClass::kDense3)] *= 3.0f;
  moved.efficiency[static_cast<int>(OpClass::kPointwise)] *= 0.1f;
  moved.efficiency[static_cast<int>(OpClass::kPool)] *= 0.2f;
  moved.dram_gbps *= 0.5f;
  moved.launch_us = moved.launch_us * 3.0f + 50.0f;
  const std::vector<double> target = model_latency_ms(s.space, s.codes, moved);
  const double unadapted = srcc(s.proxy, target);
  ASSERT_LT(unadapted, 0.95) << "the perturbation must change the ranking for the test to mean anything";
  double adapted = 0;
  constexpr int kSeeds = 10;
  double seconds = 0;
  for (int seed = 0; seed < kSeeds; ++seed) {
    const AdaptationInput in = input(s, target, static_cast<uint64_t>(seed), 10, 10);
    const auto start = std::chrono::steady_clock::now();
    const VectorXd pred = make_adaptation_scheme("twin")->predict(in);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    adapted += srcc(pred, target) / kSeeds;
  }
  std::printf("perturbed twin: unadapted SRCC %.4f, twin scheme n = 10 %.4f, %.3f s per adaptation\n", unadapted,
              adapted, seconds / kSeeds);
  EXPECT_GT(adapted, unadapted + 0.02);
  // The target is a device of the twin's own model, so ten samples nearly recover it.
  EXPECT_GT(adapted, 0.95);
}

TEST(AdaptTwin, RecalibrationWithoutPriorFitsManySamplesOfThePerturbedTwin) {
  // With 200 samples and mu = 0 the fit must come close to the known device: the
  // starting misfit is the perturbation's, the end one a small fraction of it.
  const TwinData& s = twin_data();
  DeviceParams moved = s.twin.params;
  moved.efficiency[static_cast<int>(OpClass::kDense3)] *= 0.5f;
  moved.efficiency[static_cast<int>(OpClass::kPool)] *= 0.4f;
  const std::vector<double> target = model_latency_ms(s.space, s.codes, moved);
  std::vector<int64_t> rows;
  std::vector<double> y;
  for (int64_t i = 0; i < 200; ++i) {
    rows.push_back(i * 7);
    y.push_back(target[static_cast<size_t>(i * 7)]);
  }
  const Recalibration before = recalibrate_device(s.twin.params, *s.context.archs, rows, y, INFINITY);
  const Recalibration after = recalibrate_device(s.twin.params, *s.context.archs, rows, y, 0.0, 2000);
  EXPECT_LE(after.evaluations, 2000);
  EXPECT_LT(after.loss, 0.05 * before.loss) << before.loss << " -> " << after.loss;
}

TEST(AdaptTwin, InfiniteMuReturnsTheTwinsLatenciesRescaled) {
  const TwinData& s = twin_data();
  DeviceParams moved = s.twin.params;
  moved.efficiency[static_cast<int>(OpClass::kDense3)] *= 0.5f;
  const std::vector<double> target = model_latency_ms(s.space, s.codes, moved);
  AdaptationOptions only_infinity;
  only_infinity.twin_mu.clear();
  const AdaptationInput in = input(s, target, 3, 10, 10);
  auto scheme = make_adaptation_scheme("twin", only_infinity);
  const VectorXd pred = scheme->predict(in);
  EXPECT_TRUE(std::isinf(scheme->last_choice().lambda));
  // exp(mean log(y / twin)) over the training samples, by hand.
  double log_ratio = 0;
  for (size_t i = 0; i < in.train.rows.size(); ++i)
    log_ratio += std::log(in.train.latency_ms[static_cast<Eigen::Index>(i)] / s.proxy[in.train.rows[i]]);
  const double scale = std::exp(log_ratio / static_cast<double>(in.train.rows.size()));
  ASSERT_EQ(pred.size(), s.proxy.size());
  for (Eigen::Index i = 0; i < pred.size(); ++i) EXPECT_NEAR(pred[i], scale * s.proxy[i], 1e-12 * scale * s.proxy[i]) << i;
}

TEST(AdaptTwin, DeterministicForASeed) {
  const TwinData& s = twin_data();
  DeviceParams moved = s.twin.params;
  moved.efficiency[static_cast<int>(OpClass::kPointwise)] *= 2.0f;
  moved.dram_gbps *= 0.5f;
  const std::vector<double> target = model_latency_ms(s.space, s.codes, moved);
  const VectorXd a = make_adaptation_scheme("twin")->predict(input(s, target, 7, 10, 10));
  const VectorXd b = make_adaptation_scheme("twin")->predict(input(s, target, 7, 10, 10));
  const VectorXd c = make_adaptation_scheme("twin")->predict(input(s, target, 8, 10, 10));
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<size_t>(a.size())));
  EXPECT_NE(a, c);  // another seed draws other samples
}

TEST(AdaptTwin, WithoutATwinItRefusesAndSaysWhy) {
  const TwinData& s = twin_data();
  const std::vector<double> target(s.codes.size(), 1.0);
  AdaptationInput in = input(s, target, 1, 10, 10);
  in.proxy_twin = nullptr;
  try {
    make_adaptation_scheme("twin")->predict(in);
    ADD_FAILURE() << "no UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("twin"), std::string::npos) << e.what();
  }
  // A twin over other architectures than the rows is refused, naming the proxy.
  ProxyTwin short_twin = s.context;
  short_twin.arch_of_row = {0, 1, 2};
  in.proxy_twin = &short_twin;
  try {
    make_adaptation_scheme("twin")->predict(in);
    ADD_FAILURE() << "no UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("true_a76"), std::string::npos) << e.what();
  }
}
