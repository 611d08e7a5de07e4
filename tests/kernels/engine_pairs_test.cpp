// The CUDA backend's evaluation loops (evaluate_pairs in kernels/engine_impl.hpp: the
// chain rows and network hash once per architecture, then one item per architecture-
// device pair) run here on Thrust's sequential host system against the CPU engine: the
// same codes, MACs and params, and the same latencies (the same float operations in the
// same order; 1e-6 relative allows for a compiler's different contraction, and one timer
// step where that moved a value across a rounding boundary). What only a GPU can check,
// the kernels as nvcc compiles them, is tests/gpu/engine_gpu_test.cpp.
#include <gtest/gtest.h>
#include <thrust/system/cpp/execution_policy.h>

#include <cmath>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/chain_tables.hpp"
#include "kernels/engine.hpp"
#include "kernels/engine_impl.hpp"
#include "sim/space.hpp"

using namespace proxysim;

namespace {

struct Evaluated {
  std::vector<uint8_t> codes;
  std::vector<float> latency_ms, macs, params;
};

void compare(const char* space_name, EvalMode mode, ArchBatch::Kind kind, uint64_t first, uint64_t n) {
  const SearchSpace space = make_space(space_name);
  std::vector<EvalDevice> devices;
  for (const auto& d : builtin_devices()) devices.push_back({d.name, d.params});
  const int D = static_cast<int>(devices.size());
  const int K = space.decisions();
  EngineOptions o;
  o.mode = mode;
  o.noise_seed = 21;
  ArchBatch b;
  b.kind = kind;
  b.first = first;
  b.count = n;
  b.seed = 99;

  Evaluated cpu{std::vector<uint8_t>(n * K), std::vector<float>(n * D), std::vector<float>(n), std::vector<float>(n)};
  auto engine = make_engine(Backend::kCpu, space, devices, o);
  engine->evaluate(b, cpu.codes.data(), cpu.latency_ms.data(), cpu.macs.data(), cpu.params.data());

  std::vector<DeviceParams> params;
  std::vector<uint64_t> keys;
  std::vector<float> sigma, resolution, level;
  for (const auto& d : devices) {
    params.push_back(d.params);
    keys.push_back(device_noise_key(d.name, o.noise_seed));
    sigma.push_back(d.params.noise_sigma);
    resolution.push_back(d.params.resolution_ms);
    level.push_back(d.params.level);
  }
  const bool compiled = engine->compiled();
  ChainTables tables;
  if (compiled) tables = compile_chain(space.id(), space.params(), params);
  const detail::EngineView v{space.id(),   space.params(),   K,        D,        params.data(), keys.data(),
                             sigma.data(), resolution.data(), level.data(), nb201_official_order().data(), compiled,
                             tables.view()};
  const detail::BatchView bv{static_cast<int>(kind), first, b.seed, nullptr};
  Evaluated wide{std::vector<uint8_t>(n * K), std::vector<float>(n * D), std::vector<float>(n), std::vector<float>(n)};
  std::vector<uint32_t> rows(n * detail::chain_prep_words(v));
  std::vector<uint64_t> net(n);
  detail::evaluate_pairs(thrust::cpp::par, v, bv, n, wide.codes.data(), wide.latency_ms.data(), wide.macs.data(),
                         wide.params.data(), rows.data(), net.data());

  ASSERT_EQ(cpu.codes, wide.codes) << space_name;
  EXPECT_EQ(cpu.macs, wide.macs) << space_name;
  EXPECT_EQ(cpu.params, wide.params) << space_name;
  int failures = 0;
  for (size_t at = 0; at < cpu.latency_ms.size() && failures < 10; ++at) {
    const double want = cpu.latency_ms[at], got = wide.latency_ms[at];
    const double q = devices[at % D].params.resolution_ms;
    const double diff = std::abs(want - got);
    if (diff <= 1e-6 * std::abs(want) || (q > 0 && std::abs(diff - q) <= 1e-6 * q)) continue;
    ADD_FAILURE() << space_name << " pair " << at << ": cpu " << want << " ms, pair loops " << got << " ms";
    ++failures;
  }
}

}  // namespace

TEST(EnginePairLoops, FbnetCompiled) { compare("fbnet", EvalMode::kCompiled, ArchBatch::Kind::kSample, 500, 2000); }
TEST(EnginePairLoops, FbnetWalk) { compare("fbnet", EvalMode::kWalk, ArchBatch::Kind::kSample, 7, 100); }
TEST(EnginePairLoops, Nb201EnumeratedWalk) { compare("nb201", EvalMode::kWalk, ArchBatch::Kind::kEnumerate, 1000, 300); }
