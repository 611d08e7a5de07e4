// Checks device populations and the requested-SRCC device: device i of seed s is the
// same however it is drawn and differs with the seed; every sampled device, even at
// four times the default spread, passes the real YAML validator (written by
// sim/device_yaml.cpp's device_yaml, parsed back) and reads back to exactly the same
// values; discrete values are among the centers';
// the log-normal draws have the documented median and sigma (2000 draws: 0.04 on the
// mean log ratio and 0.03 on its standard deviation are over four standard errors);
// and device_with_srcc lands within its 0.02 contract as measured independently by
// spearman_matrix on a fresh engine holding both devices.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/engine.hpp"
#include "kernels/rank_stats.hpp"
#include "base/error.hpp"
#include "sim/nb201.hpp"
#include "sim/population.hpp"
#include "tests/support/device_params.hpp"

namespace proxysim {
namespace {

std::vector<DeviceSpec> centers_of(DeviceClass cls) {
  std::vector<DeviceSpec> out;
  for (const auto& d : builtin_devices()) {
    if (d.params.device_class == cls) out.push_back(d);
  }
  return out;
}



TEST(Population, DeviceIIsAPureFunctionOfSeedIndexAndCenters) {
  const auto centers = centers_of(DeviceClass::kMobileCpu);
  PopulationOptions o;
  o.device_class = DeviceClass::kMobileCpu;
  o.count = 40;
  o.seed = 3;
  const auto a = sample_population(centers, o);
  const auto b = sample_population(centers, o);
  ASSERT_EQ(a.size(), 40u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_TRUE(test::same_device_params(a[i].params, b[i].params)) << a[i].name;
    EXPECT_TRUE(test::same_device_params(population_device(centers, o, i).params, a[i].params)) << "drawn alone: " << a[i].name;
  }
  EXPECT_EQ(a[7].name, "pop_mobile_cpu_0007");
  // A longer population starts with the same devices.
  o.count = 60;
  EXPECT_TRUE(test::same_device_params(sample_population(centers, o)[39].params, a[39].params));
  // Another seed: different devices (peak_gflops is continuous, so equal values would
  // mean the seed was ignored).
  o.seed = 4;
  o.count = 40;
  const auto c = sample_population(centers, o);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i].params.peak_gflops != c[i].params.peak_gflops;
  EXPECT_EQ(differ, 40);
  o.prefix = "mine";
  EXPECT_EQ(population_device(centers, o, 12).name, "mine_0012");
}

TEST(Population, EveryDeviceIsAValidDeviceYamlEvenAtFourTimesTheSpread) {
  for (int ci = 0; ci < kNumDeviceClasses; ++ci) {
    const auto cls = static_cast<DeviceClass>(ci);
    const auto centers = centers_of(cls);
    if (centers.empty()) continue;
    for (double scale : {1.0, 4.0}) {
      PopulationOptions o;
      o.device_class = cls;
      o.count = 150;
      o.seed = 11;
      o.spread_scale = scale;
      for (const auto& d : sample_population(centers, o)) {
        DeviceSpec back;
        try {
          back = parse_device_yaml(device_yaml(d), d.name + ".yaml");
        } catch (const UserError& e) {
          ADD_FAILURE() << "spread x" << scale << ": " << e.what();
          continue;
        }
        const DeviceParams &p = d.params, &q = back.params;
        EXPECT_EQ(q.device_class, cls);
        EXPECT_TRUE(test::same_device_params(q, p)) << d.name;
        EXPECT_GE(p.onchip_gbps, p.dram_gbps) << d.name;
        // Discrete values: each seen among the centers (lanes_out with its lanes_in).
        bool tiling = false, units = false, pixels = false;
        for (const auto& c : centers) {
          tiling = tiling || (c.params.lanes_out == p.lanes_out && c.params.lanes_in == p.lanes_in);
          units = units || c.params.units == p.units;
          pixels = pixels || c.params.pixels_per_unit == p.pixels_per_unit;
        }
        EXPECT_TRUE(tiling && units && pixels) << d.name;
      }
    }
  }
}

TEST(Population, ClampsAtTheValidatorsBounds) {
  // A center near the top of every range: four sigmas up must stop at the bound.
  DeviceSpec c = centers_of(DeviceClass::kGpu).front();
  c.params.peak_gflops = 9e5f;
  c.params.efficiency[0] = 1.9f;
  c.params.launch_us = 9e4f;
  PopulationOptions o;
  o.device_class = DeviceClass::kGpu;
  o.count = 400;
  o.seed = 5;
  o.spread_scale = 4.0;
  int at_peak_bound = 0;
  for (const auto& d : sample_population({c}, o)) {
    EXPECT_LE(d.params.peak_gflops, 1e6f);
    EXPECT_LE(d.params.efficiency[0], 2.0f);
    EXPECT_LE(d.params.launch_us, 1e5f);
    EXPECT_GE(d.params.peak_gflops, 0.1f);
    at_peak_bound += d.params.peak_gflops == 1e6f;
  }
  // P(z > ln(1e6 / 9e5) / 1.4) = P(z > 0.075), about 47% of 400.
  EXPECT_GT(at_peak_bound, 100);
}

TEST(Population, LogNormalAroundTheCenterWithTheDocumentedSigma) {
  const DeviceSpec c = builtin_device("pixel3_cpu");
  PopulationOptions o;
  o.device_class = DeviceClass::kMobileCpu;
  o.count = 2000;
  o.seed = 9;
  const PopulationSpread s;
  double sum = 0, sq = 0, esum = 0, esq = 0;
  for (const auto& d : sample_population({c}, o)) {
    const double x = std::log(d.params.peak_gflops / c.params.peak_gflops);
    const double e = std::log(d.params.efficiency[1] / c.params.efficiency[1]);
    sum += x;
    sq += x * x;
    esum += e;
    esq += e * e;
  }
  const double n = 2000.0;
  EXPECT_NEAR(sum / n, 0.0, 0.04);
  EXPECT_NEAR(std::sqrt(sq / n - (sum / n) * (sum / n)), s.peak_gflops, 0.03);
  EXPECT_NEAR(esum / n, 0.0, 0.04);
  EXPECT_NEAR(std::sqrt(esq / n - (esum / n) * (esum / n)), s.efficiency, 0.03);
}

TEST(Population, CentersMustExistAndBeOfTheClass) {
  PopulationOptions o;
  o.device_class = DeviceClass::kMobileCpu;
  o.count = 3;
  EXPECT_THROW(sample_population({}, o), UserError);
  try {
    sample_population({builtin_device("pixel3_cpu"), builtin_device("v100_b1")}, o);
    ADD_FAILURE() << "a gpu center in a mobile_cpu population was accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("v100_b1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parse_device_class("mobile_gpu"), DeviceClass::kMobileGpu);
  EXPECT_FALSE(parse_device_class("phone").has_value());
}

// The proxy's and a candidate's latencies on 600 sampled NB201 architectures, the
// disconnected ones left out, as the run's stages do.
struct Nb201Srcc {
  SearchSpace space = make_space("nb201");
  std::vector<uint8_t> codes;
  std::vector<float> proxy_ms;
  explicit Nb201Srcc(const DeviceSpec& proxy) {
    const auto m = eval({{proxy.name, proxy.params}}, &codes);
    proxy_ms = m;
  }
  // Latencies of `devices` on the kept architectures (row-major, rows x devices).
  std::vector<float> eval(std::vector<EvalDevice> devices, std::vector<uint8_t>* kept_codes = nullptr) const {
    const int K = space.decisions();
    const auto D = devices.size();
    auto engine = make_engine(Backend::kCpu, space, std::move(devices));
    ArchBatch b;
    b.kind = ArchBatch::Kind::kSample;
    b.count = 600;
    b.seed = 21;
    std::vector<uint8_t> c(b.count * K);
    std::vector<float> ms(b.count * D), macs(b.count), params(b.count), out;
    engine->evaluate(b, c.data(), ms.data(), macs.data(), params.data());
    for (uint64_t i = 0; i < b.count; ++i) {
      if (!nb201::connected(c.data() + i * K)) continue;
      out.insert(out.end(), ms.begin() + i * D, ms.begin() + (i + 1) * D);
      if (kept_codes) kept_codes->insert(kept_codes->end(), c.begin() + i * K, c.begin() + (i + 1) * K);
    }
    return out;
  }
};

TEST(SrccDevice, LandsWithinTwoHundredthsOfTheRequest) {
  const DeviceSpec proxy = builtin_device("pixel3_cpu");
  const Nb201Srcc data(proxy);
  // A far device on NB201: the scrambled twin with the lowest SRCC among a few seeds.
  DeviceSpec far;
  double lowest = 2.0;
  for (uint64_t s = 0; s < 8; ++s) {
    const DeviceSpec t = scrambled_twin(proxy, s);
    const auto ms = data.eval({{t.name, t.params}});
    const double v = spearman_pair(Backend::kCpu, data.proxy_ms.data(), ms.data(), static_cast<int64_t>(ms.size()));
    if (v < lowest) {
      lowest = v;
      far = t;
    }
  }
  ASSERT_LT(lowest, 0.5) << "no scrambled twin is far enough to test with";
  for (double target : {0.95, 0.8, 0.6}) {
    const std::string name = "at_" + std::to_string(static_cast<int>(target * 100));
    int calls = 0;
    const SrccDevice got = device_with_srcc(
        proxy, far, target,
        [&](const DeviceParams& p) {
          ++calls;
          const auto ms = data.eval({{name, p}});
          return spearman_pair(Backend::kCpu, data.proxy_ms.data(), ms.data(), static_cast<int64_t>(ms.size()));
        },
        name);
    EXPECT_EQ(got.spec.name, name);
    EXPECT_GT(got.mix, 0.0);
    EXPECT_LE(calls, 17 + 40);
    // Independent measurement: both devices in one engine, the whole SRCC matrix.
    const auto both = data.eval({{proxy.name, proxy.params}, {got.spec.name, got.spec.params}});
    const PairMatrix m = spearman_matrix(Backend::kCpu, {both.data(), static_cast<int64_t>(both.size() / 2), 2});
    EXPECT_NEAR(m.at(0, 1), target, 0.02) << name;
    EXPECT_NEAR(m.at(0, 1), got.srcc, 1e-9) << "the reported SRCC is the measured one";
  }
}

TEST(SrccDevice, OutOfReachIsAUserErrorNamingTheRange) {
  const DeviceSpec proxy = builtin_device("pixel3_cpu");
  const Nb201Srcc data(proxy);
  const DeviceSpec far = scrambled_twin(proxy, 0);
  auto srcc_of = [&](const DeviceParams& p) {
    const auto ms = data.eval({{"x", p}});
    return spearman_pair(Backend::kCpu, data.proxy_ms.data(), ms.data(), static_cast<int64_t>(ms.size()));
  };
  try {
    device_with_srcc(proxy, far, -0.9, srcc_of, "x");
    ADD_FAILURE() << "SRCC -0.9 to a scrambled twin's path was reported reachable";
  } catch (const UserError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pixel3_cpu"), std::string::npos) << what;
    EXPECT_NE(what.find("spans ["), std::string::npos) << what;
  }
}

TEST(SrccDevice, MixEndsAreTheTwoDevicesContinuousParameters) {
  const DeviceSpec a = builtin_device("pixel3_cpu"), b = builtin_device("snapdragon855_cpu");
  const DeviceParams at0 = mix_devices(a.params, b.params, 0.0), at1 = mix_devices(a.params, b.params, 1.0);
  EXPECT_NEAR(at0.peak_gflops, a.params.peak_gflops, 1e-4);
  EXPECT_NEAR(at0.efficiency[3], a.params.efficiency[3], 1e-7);
  EXPECT_NEAR(at1.peak_gflops, b.params.peak_gflops, 1e-3);
  EXPECT_NEAR(at1.efficiency[3], b.params.efficiency[3], 1e-6);
  // Halfway in log space: the geometric mean.
  EXPECT_NEAR(mix_devices(a.params, b.params, 0.5).peak_gflops, std::sqrt(44.8 * 161.6), 1e-3);
  // Discrete parameters stay the proxy's.
  EXPECT_EQ(at1.units, a.params.units);
  EXPECT_EQ(at1.pixels_per_unit, a.params.pixels_per_unit);
}

}  // namespace
}  // namespace proxysim
