// CPU engine against a serial reference loop written here (lower, walk, measure), compiled chain tables against the walk, sampling and chunking invariance, and the noise model's bounds; the reference does the same double-precision arithmetic, so 1e-6 relative covers only the float output, and compiled tables sum float entries, so 1e-5.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/engine.hpp"
#include "base/rng.hpp"
#include "base/error.hpp"
#include "sim/latency_model.hpp"
#include "sim/space.hpp"
#include "sim/space_kernels.hpp"
#include "tests/support/sanitized.hpp"

using namespace proxysim;

namespace {

std::vector<EvalDevice> builtin_eval_devices() {
  std::vector<EvalDevice> out;
  for (const auto& d : builtin_devices()) out.push_back({d.name, d.params});
  return out;
}

struct Matrix {
  uint64_t n = 0;
  int k = 0, d = 0;
  std::vector<uint8_t> codes;
  std::vector<float> latency_ms, macs, params;
};

// Evaluates architectures [0, n) of `kind` in chunks of `chunk`.
Matrix evaluate(Engine& engine, const SearchSpace& space, ArchBatch::Kind kind, uint64_t n, uint64_t seed,
                uint64_t chunk, const uint8_t* list = nullptr) {
  Matrix m;
  m.n = n;
  m.k = space.decisions();
  m.d = engine.devices();
  m.codes.resize(n * m.k);
  m.latency_ms.resize(n * m.d);
  m.macs.resize(n);
  m.params.resize(n);
  for (uint64_t first = 0; first < n; first += chunk) {
    ArchBatch b;
    b.kind = kind;
    b.first = first;
    b.count = std::min(chunk, n - first);
    b.seed = seed;
    b.codes = list ? list + first * m.k : nullptr;
    engine.evaluate(b, m.codes.data() + first * m.k, m.latency_ms.data() + first * m.d, m.macs.data() + first,
                    m.params.data() + first);
  }
  return m;
}

// The serial reference: lower the code into a latency walk on one device, then apply
// the measurement model with the engine's noise key (network hash ^ device key).
float reference_ms(const SearchSpace& space, const uint8_t* code, const EvalDevice& dev, uint64_t noise_seed) {
  LatencyWalk w(dev.params);
  lower_code(space.id(), code, space.params(), w);
  const uint64_t bits = pair_noise_bits(network_hash(space.id(), code), device_noise_key(dev.name, noise_seed));
  return measured_ms(w.total_s, dev.params, bits);
}

double rel_diff(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

void expect_matches_reference(const SearchSpace& space, const std::vector<EvalDevice>& devices, const Matrix& m,
                              uint64_t noise_seed, double tol) {
  int failures = 0;
  for (uint64_t i = 0; i < m.n && failures < 10; ++i) {
    const uint8_t* code = &m.codes[i * m.k];
    for (int d = 0; d < m.d; ++d) {
      const float want = reference_ms(space, code, devices[d], noise_seed);
      const float got = m.latency_ms[i * m.d + d];
      if (!(rel_diff(got, want) <= tol)) {
        ADD_FAILURE() << space.name() << " arch " << i << " (" << space.to_string(ArchCode(code, code + m.k))
                      << ") on " << devices[d].name << ": engine " << got << " ms, reference " << want << " ms";
        ++failures;
      }
    }
  }
}

void expect_same(const Matrix& a, const Matrix& b) {
  ASSERT_EQ(a.codes, b.codes);
  ASSERT_EQ(a.latency_ms, b.latency_ms);
  ASSERT_EQ(a.macs, b.macs);
  ASSERT_EQ(a.params, b.params);
}

EngineOptions opts(EvalMode mode, uint64_t noise_seed = 0) {
  EngineOptions o;
  o.mode = mode;
  o.noise_seed = noise_seed;
  return o;
}

// The built-in devices plus, for each that rounds to a timer resolution, an unrounded
// copy under the same name (so with the same noise); copy_of[d] is that copy's column.
struct DeviceSet {
  std::vector<EvalDevice> devices;
  int builtin = 0;
  std::vector<int> copy_of;
};

const DeviceSet& devices_with_unrounded_copies() {
  static const DeviceSet set = [] {
    DeviceSet s;
    s.devices = builtin_eval_devices();
    s.builtin = static_cast<int>(s.devices.size());
    s.copy_of.assign(s.builtin, -1);
    for (int d = 0; d < s.builtin; ++d) {
      if (s.devices[d].params.resolution_ms <= 0.0f) continue;
      EvalDevice copy = s.devices[d];
      copy.params.resolution_ms = 0.0f;
      s.copy_of[d] = static_cast<int>(s.devices.size());
      s.devices.push_back(copy);
    }
    return s;
  }();
  return set;
}

// Compiling OFA's tables for every device takes seconds: one engine per (space, mode),
// shared by the tests below.
Engine& chain_engine(const std::string& space_name, EvalMode mode) {
  static std::map<std::pair<std::string, int>, std::unique_ptr<Engine>> cache;
  auto& e = cache[{space_name, static_cast<int>(mode)}];
  if (!e) e = make_engine(Backend::kCpu, make_space(space_name), devices_with_unrounded_copies().devices, opts(mode, 5));
  return *e;
}

}  // namespace

TEST(Engine, HasBuiltinDevices) {
  ASSERT_FALSE(builtin_devices().empty());
  EXPECT_THROW(make_engine(Backend::kCpu, make_space("nb201"), {}), UserError);
}

// Architecture i of seed s is a pure function of (s, i): the same in any chunking and
// equal to sample_code called directly.
TEST(Engine, SamplingIsDeterministicAndChunkFree) {
  for (const char* name : {"nb201", "fbnet", "ofa_mbv3", "mbv2"}) {
    const SearchSpace space = make_space(name);
    const int K = space.decisions();
    // Which architectures are drawn does not depend on the devices: one keeps it quick.
    auto engine = make_engine(Backend::kCpu, space, {builtin_eval_devices().front()}, opts(EvalMode::kWalk));
    const uint64_t n = 5000;
    const Matrix whole = evaluate(*engine, space, ArchBatch::Kind::kSample, n, 42, n);
    const Matrix pieces = evaluate(*engine, space, ArchBatch::Kind::kSample, n, 42, 333);
    expect_same(whole, pieces);
    std::vector<uint8_t> direct(K);
    std::vector<std::vector<int>> histogram(K);
    for (int k = 0; k < K; ++k) histogram[k].assign(space.choices(k), 0);
    for (uint64_t i = 0; i < n; ++i) {
      sample_code(space.id(), 42, i, direct.data());
      ASSERT_TRUE(std::equal(direct.begin(), direct.end(), whole.codes.begin() + i * K)) << name << " arch " << i;
      ASSERT_EQ(space.sample(42, i), ArchCode(direct.begin(), direct.end()));
      for (int k = 0; k < K; ++k) ++histogram[k][direct[k]];
    }
    // Every decision uniform: each choice within 30% of n / choices (at least 200 expected draws: over 4 sigma).
    for (int k = 0; k < K; ++k) {
      const double expected = double(n) / space.choices(k);
      for (int c = 0; c < space.choices(k); ++c) {
        EXPECT_NEAR(histogram[k][c], expected, 0.3 * expected) << name << " decision " << k << " choice " << c;
      }
    }
    // Another seed draws other architectures.
    const Matrix other = evaluate(*engine, space, ArchBatch::Kind::kSample, 100, 43, 100);
    EXPECT_NE(std::vector<uint8_t>(whole.codes.begin(), whole.codes.begin() + 100 * K), other.codes);
  }
}

// Every architecture in the release build; under the sanitizers (whose checks are on
// code paths, all of which the first 3125 run) a fifth, so the suite stays in budget.
constexpr uint64_t kNb201Checked = test::kSanitized ? 3125 : 15625;

TEST(Engine, Nb201AllArchitecturesMatchTheReferenceLoop) {
  const SearchSpace space = make_space("nb201");
  const auto devices = builtin_eval_devices();
  auto engine = make_engine(Backend::kCpu, space, devices, opts(EvalMode::kAuto, 7));
  EXPECT_FALSE(engine->compiled());
  const Matrix m = evaluate(*engine, space, ArchBatch::Kind::kEnumerate, kNb201Checked, 0, 4096);
  for (uint64_t i = 0; i < m.n; ++i) {
    ASSERT_EQ(ArchCode(m.codes.begin() + i * m.k, m.codes.begin() + (i + 1) * m.k), space.code_at(i)) << i;
  }
  expect_matches_reference(space, devices, m, 7, 1e-6);
  for (uint64_t i = 0; i < m.n; ++i) {
    const OpTotals t = space.totals(space.code_at(i));
    ASSERT_LE(rel_diff(m.macs[i], t.macs), 1e-6) << i;
    ASSERT_LE(rel_diff(m.params[i], t.params), 1e-6) << i;
  }
}

class ChainSpace : public ::testing::TestWithParam<const char*> {};

TEST_P(ChainSpace, WalkModeMatchesTheReferenceLoop) {
  const SearchSpace space = make_space(GetParam());
  const auto devices = builtin_eval_devices();
  auto engine = make_engine(Backend::kCpu, space, devices, opts(EvalMode::kWalk, 3));
  EXPECT_FALSE(engine->compiled());
  const Matrix m = evaluate(*engine, space, ArchBatch::Kind::kSample, 3000, 17, 3000);
  expect_matches_reference(space, devices, m, 3, 1e-6);
  for (uint64_t i = 0; i < m.n; ++i) {
    const OpTotals t = space.totals(ArchCode(m.codes.begin() + i * m.k, m.codes.begin() + (i + 1) * m.k));
    ASSERT_LE(rel_diff(m.macs[i], t.macs), 1e-6) << i;
    ASSERT_LE(rel_diff(m.params[i], t.params), 1e-6) << i;
  }
}

// Compiled chain tables against the walk on every device. A device with a timer
// resolution q rounds both to a multiple of q, so there they may differ by exactly
// one q, and only where the unrounded walk lies within 1e-5 of a rounding boundary;
// the device's unrounded copy is compared strictly.
TEST_P(ChainSpace, CompiledModeMatchesWalkMode) {
  const SearchSpace space = make_space(GetParam());
  const DeviceSet& set = devices_with_unrounded_copies();
  const int D = set.builtin;
  const int E = static_cast<int>(set.devices.size());
  const uint64_t n = test::kSanitized ? 400 : 4000;  // same paths; the sanitizers cost 10-20x
  Engine& walk = chain_engine(GetParam(), EvalMode::kWalk);
  Engine& compiled = chain_engine(GetParam(), EvalMode::kCompiled);
  EXPECT_FALSE(walk.compiled());
  EXPECT_TRUE(compiled.compiled());
  EXPECT_TRUE(make_engine(Backend::kCpu, space, {set.devices.front()}, opts(EvalMode::kAuto))->compiled());
  const Matrix w = evaluate(walk, space, ArchBatch::Kind::kSample, n, 23, 1024);
  const Matrix c = evaluate(compiled, space, ArchBatch::Kind::kSample, n, 23, 1024);
  ASSERT_EQ(w.codes, c.codes);
  int failures = 0;
  for (uint64_t i = 0; i < n && failures < 10; ++i) {
    for (int d = 0; d < E && failures < 10; ++d) {
      const float cv = c.latency_ms[i * E + d], wv = w.latency_ms[i * E + d];
      if (rel_diff(cv, wv) <= 1e-5) continue;
      bool boundary = false;
      if (d < D && set.copy_of[d] >= 0) {
        const double q = set.devices[d].params.resolution_ms;
        const double u = w.latency_ms[i * E + set.copy_of[d]];
        const double frac = u / q - std::floor(u / q);
        boundary = std::abs(std::abs(cv - wv) - q) <= 1e-6 * q && std::abs(frac - 0.5) <= 1e-5 * u / q;
      }
      if (!boundary) {
        ADD_FAILURE() << GetParam() << " arch " << i << " ("
                      << space.to_string(ArchCode(&c.codes[i * c.k], &c.codes[(i + 1) * c.k])) << ") on "
                      << set.devices[d].name << (d >= D ? " (unrounded)" : "") << ": compiled " << cv << " ms, walk "
                      << wv << " ms";
        ++failures;
      }
    }
    ASSERT_LE(rel_diff(c.macs[i], w.macs[i]), 1e-6) << i;
    ASSERT_LE(rel_diff(c.params[i], w.params[i]), 1e-6) << i;
  }
  // The compiled totals also equal SearchSpace::totals.
  for (uint64_t i = 0; i < n; ++i) {
    const OpTotals t = space.totals(ArchCode(c.codes.begin() + i * c.k, c.codes.begin() + (i + 1) * c.k));
    ASSERT_LE(rel_diff(c.macs[i], t.macs), 1e-6) << i;
    ASSERT_LE(rel_diff(c.params[i], t.params), 1e-6) << i;
  }
}

// A list of codes gives the same results as sampling those codes, and the chunk size
// changes nothing, in both evaluation modes.
TEST_P(ChainSpace, ListsAndChunksDoNotChangeResults) {
  const SearchSpace space = make_space(GetParam());
  for (EvalMode mode : {EvalMode::kWalk, EvalMode::kCompiled}) {
    Engine& engine = chain_engine(GetParam(), mode);
    const uint64_t n = test::kSanitized ? 300 : 2500;
    const Matrix one = evaluate(engine, space, ArchBatch::Kind::kSample, n, 8, n);
    const Matrix many = evaluate(engine, space, ArchBatch::Kind::kSample, n, 8, 97);
    const Matrix single = evaluate(engine, space, ArchBatch::Kind::kSample, 50, 8, 1);
    expect_same(one, many);
    EXPECT_TRUE(std::equal(single.latency_ms.begin(), single.latency_ms.end(), one.latency_ms.begin()));
    EXPECT_TRUE(std::equal(single.codes.begin(), single.codes.end(), one.codes.begin()));
    const Matrix listed = evaluate(engine, space, ArchBatch::Kind::kList, n, 0, std::min<uint64_t>(400, n / 2), one.codes.data());
    expect_same(one, listed);
  }
}

INSTANTIATE_TEST_SUITE_P(Spaces, ChainSpace, ::testing::Values("fbnet", "ofa_mbv3", "mbv2"));

TEST(Engine, Nb201ChunkSizeDoesNotChangeResults) {
  const SearchSpace space = make_space("nb201");
  auto engine = make_engine(Backend::kCpu, space, builtin_eval_devices(), opts(EvalMode::kAuto, 4));
  const Matrix one = evaluate(*engine, space, ArchBatch::Kind::kEnumerate, kNb201Checked, 0, kNb201Checked);
  const Matrix many = evaluate(*engine, space, ArchBatch::Kind::kEnumerate, kNb201Checked, 0, 1000);
  expect_same(one, many);
  // The enumerated and the listed architectures agree too (the first 3000 suffice).
  const Matrix listed = evaluate(*engine, space, ArchBatch::Kind::kList, 3000, 0, 1000, one.codes.data());
  EXPECT_TRUE(std::equal(listed.codes.begin(), listed.codes.end(), one.codes.begin()));
  EXPECT_TRUE(std::equal(listed.latency_ms.begin(), listed.latency_ms.end(), one.latency_ms.begin()));
  EXPECT_TRUE(std::equal(listed.macs.begin(), listed.macs.end(), one.macs.begin()));
}

TEST(Engine, RejectsImpossibleRequests) {
  const SearchSpace nb201 = make_space("nb201");
  EXPECT_THROW(make_engine(Backend::kCpu, nb201, builtin_eval_devices(), opts(EvalMode::kCompiled)), UserError);
  auto engine = make_engine(Backend::kCpu, nb201, builtin_eval_devices());
  std::vector<uint8_t> codes(10 * 6);
  std::vector<float> lat(10 * engine->devices()), macs(10), params(10);
  ArchBatch b;
  b.kind = ArchBatch::Kind::kEnumerate;
  b.first = 15620;
  b.count = 10;
  EXPECT_THROW(engine->evaluate(b, codes.data(), lat.data(), macs.data(), params.data()), UserError);
  EXPECT_EQ(resolve_backend("cpu"), Backend::kCpu);
  EXPECT_THROW(resolve_backend("tpu"), UserError);
  if (cuda_device_count() == 0) {
    EXPECT_THROW(resolve_backend("cuda"), UserError);
    EXPECT_EQ(resolve_backend("auto"), Backend::kCpu);
  }
}

// Measurement noise is multiplicative: exp(sigma * z) with z an Irwin-Hall sum of four
// uniforms scaled to unit variance, so |z| <= 2 sqrt(3). Switching noise on changes each
// value by at most that factor, with ln-ratios of mean ~0 and standard deviation ~sigma.
TEST(Engine, NoiseStaysWithinItsBounds) {
  const SearchSpace space = make_space("fbnet");
  const auto builtin = builtin_eval_devices();
  const double sigma = 0.05;
  std::vector<EvalDevice> off = builtin, on = builtin;
  for (auto& d : off) {
    d.params.noise_sigma = 0.0f;
    d.params.resolution_ms = 0.0f;
  }
  for (auto& d : on) {
    d.params.noise_sigma = static_cast<float>(sigma);
    d.params.resolution_ms = 0.0f;
  }
  const uint64_t n = 5000;
  auto e_off = make_engine(Backend::kCpu, space, off, opts(EvalMode::kWalk, 11));
  auto e_on = make_engine(Backend::kCpu, space, on, opts(EvalMode::kWalk, 11));
  const Matrix a = evaluate(*e_off, space, ArchBatch::Kind::kSample, n, 1, n);
  const Matrix b = evaluate(*e_on, space, ArchBatch::Kind::kSample, n, 1, n);
  const double zmax = 2.0 * std::sqrt(3.0);
  for (int d = 0; d < a.d; ++d) {
    double sum = 0, sum2 = 0;
    int changed = 0;
    for (uint64_t i = 0; i < n; ++i) {
      const double r = std::log(double(b.latency_ms[i * a.d + d]) / a.latency_ms[i * a.d + d]);
      ASSERT_LE(std::abs(r), sigma * zmax + 1e-6) << on[d].name << " arch " << i;
      sum += r;
      sum2 += r * r;
      changed += r != 0.0;
    }
    const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_GT(changed, int(n) - 10) << on[d].name;
    EXPECT_NEAR(mean, 0.0, 4.0 * sigma / std::sqrt(double(n))) << on[d].name;
    EXPECT_NEAR(sd, sigma, 0.1 * sigma) << on[d].name;
  }
  // The built-in devices' own noise, against the noise-free values, likewise.
  std::vector<EvalDevice> own = builtin;
  for (auto& d : own) d.params.resolution_ms = 0.0f;
  auto e_own = make_engine(Backend::kCpu, space, own, opts(EvalMode::kWalk, 11));
  const Matrix c = evaluate(*e_own, space, ArchBatch::Kind::kSample, n, 1, n);
  for (int d = 0; d < a.d; ++d) {
    for (uint64_t i = 0; i < n; ++i) {
      const double r = std::log(double(c.latency_ms[i * a.d + d]) / a.latency_ms[i * a.d + d]);
      ASSERT_LE(std::abs(r), own[d].params.noise_sigma * zmax + 1e-6) << own[d].name << " arch " << i;
    }
  }
}

// Each device's noise is keyed by its name and the run's noise seed: reordering or
// dropping devices leaves a device's values alone; another noise seed changes them.
TEST(Engine, NoiseIsKeyedPerDevice) {
  const SearchSpace space = make_space("ofa_mbv3");
  const auto all = builtin_eval_devices();
  ASSERT_GE(all.size(), 2u);
  std::vector<EvalDevice> reversed(all.rbegin(), all.rend());
  std::vector<EvalDevice> first_only = {all.front()};
  const uint64_t n = 500;
  auto e_all = make_engine(Backend::kCpu, space, all, opts(EvalMode::kWalk, 21));
  auto e_rev = make_engine(Backend::kCpu, space, reversed, opts(EvalMode::kWalk, 21));
  auto e_one = make_engine(Backend::kCpu, space, first_only, opts(EvalMode::kWalk, 21));
  auto e_seed = make_engine(Backend::kCpu, space, all, opts(EvalMode::kWalk, 22));
  const Matrix m_all = evaluate(*e_all, space, ArchBatch::Kind::kSample, n, 6, n);
  const Matrix m_rev = evaluate(*e_rev, space, ArchBatch::Kind::kSample, n, 6, n);
  const Matrix m_one = evaluate(*e_one, space, ArchBatch::Kind::kSample, n, 6, n);
  const Matrix m_seed = evaluate(*e_seed, space, ArchBatch::Kind::kSample, n, 6, n);
  const int D = static_cast<int>(all.size());
  for (uint64_t i = 0; i < n; ++i) {
    for (int d = 0; d < D; ++d) ASSERT_EQ(m_all.latency_ms[i * D + d], m_rev.latency_ms[i * D + (D - 1 - d)]);
    ASSERT_EQ(m_all.latency_ms[i * D], m_one.latency_ms[i]);
  }
  for (int d = 0; d < D; ++d) {
    if (all[d].params.noise_sigma == 0.0f) continue;
    int differ = 0;
    for (uint64_t i = 0; i < n; ++i) differ += m_all.latency_ms[i * D + d] != m_seed.latency_ms[i * D + d];
    EXPECT_GT(differ, int(n) / 2) << all[d].name;
  }
}

// A device's level multiplies every latency last: on every path (NB201's walk, FBNet's
// walk and compiled tables) each latency is the level-1 device's times the level (to
// float rounding), and the order of the architectures is the level-1 device's, ties
// included (a positive float factor is monotone).
TEST(Engine, LevelScalesEveryLatencyAndKeepsEveryRanking) {
  const float k = 1.37f;
  for (const auto& [space_name, mode] : {std::pair{"nb201", EvalMode::kWalk}, std::pair{"fbnet", EvalMode::kWalk},
                                         std::pair{"fbnet", EvalMode::kCompiled}}) {
    const SearchSpace space = make_space(space_name);
    EvalDevice base{"pixel3_cpu", builtin_device("pixel3_cpu").params};
    base.params.noise_sigma = 0;
    EvalDevice scaled = base;
    scaled.params.level = k;
    auto engine = make_engine(Backend::kCpu, space, {base, scaled}, opts(mode));
    const uint64_t n = 4000;
    const Matrix m = evaluate(*engine, space, ArchBatch::Kind::kSample, n, 3, n);
    std::vector<uint64_t> order(n);
    for (uint64_t i = 0; i < n; ++i) {
      order[i] = i;
      ASSERT_LE(rel_diff(m.latency_ms[2 * i + 1], static_cast<double>(k) * m.latency_ms[2 * i]), 1e-6) << space_name << " " << i;
    }
    std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) { return m.latency_ms[2 * a] < m.latency_ms[2 * b]; });
    int ties = 0;
    for (uint64_t j = 1; j < n; ++j) {
      const uint64_t a = order[j - 1], b = order[j];
      ASSERT_LE(m.latency_ms[2 * a + 1], m.latency_ms[2 * b + 1]) << space_name;
      if (m.latency_ms[2 * a] == m.latency_ms[2 * b]) {
        ++ties;
        ASSERT_EQ(m.latency_ms[2 * a + 1], m.latency_ms[2 * b + 1]) << "a tie stays a tie";
      }
    }
    if (std::string(space_name) == "nb201") EXPECT_GT(ties, 100) << "NB201's isomorphic cells tie";
  }
  // And the reference walk agrees: measured_ms applies the level to the float milliseconds.
  DeviceParams p = builtin_device("pixel3_cpu").params;
  p.noise_sigma = 0;
  p.level = k;
  EXPECT_EQ(measured_ms(0.002, p, 0), static_cast<float>(0.002 * 1e3) * k);
}
