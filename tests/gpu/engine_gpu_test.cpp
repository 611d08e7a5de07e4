// CPU (the reference backend) against CUDA: equal latency matrices within 1e-5 relative (nvcc contracts multiply-adds and has its own exp, a few ulp of float), identical codes, and MACs/params within 1e-6; skipped, visibly, without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/engine.hpp"
#include "sim/space.hpp"

using namespace proxysim;

namespace {

struct Matrix {
  uint64_t n = 0;
  int k = 0, d = 0;
  std::vector<uint8_t> codes;
  std::vector<float> latency_ms, macs, params;
};

// Evaluates n architectures in batches of `chunk`; a kList batch takes its codes from
// `list` (n x decisions).
Matrix evaluate(Backend backend, const SearchSpace& space, const std::vector<EvalDevice>& devices, EvalMode mode,
                ArchBatch::Kind kind, uint64_t n, uint64_t chunk, const std::vector<uint8_t>* list = nullptr) {
  EngineOptions o;
  o.mode = mode;
  o.noise_seed = 13;
  auto engine = make_engine(backend, space, devices, o);
  Matrix m;
  m.n = n;
  m.k = space.decisions();
  m.d = engine->devices();
  m.codes.resize(n * m.k);
  m.latency_ms.resize(n * m.d);
  m.macs.resize(n);
  m.params.resize(n);
  for (uint64_t first = 0; first < n; first += chunk) {
    ArchBatch b;
    b.kind = kind;
    b.first = first;
    b.count = std::min(chunk, n - first);
    b.seed = 2024;
    if (kind == ArchBatch::Kind::kList) b.codes = list->data() + first * m.k;
    engine->evaluate(b, m.codes.data() + first * m.k, m.latency_ms.data() + first * m.d, m.macs.data() + first,
                     m.params.data() + first);
  }
  return m;
}

double rel_diff(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-30); }

// Runs both backends on the built-in devices plus, for each that rounds to a timer
// resolution q, an unrounded copy under the same name (same noise). Unrounded values
// must agree within 1e-5; a rounding device may differ by exactly one q, and only
// where its unrounded value sits on a rounding boundary.
void compare_backends(const char* space_name, EvalMode mode, ArchBatch::Kind kind, uint64_t n, uint64_t chunk,
                      const std::vector<uint8_t>* list = nullptr) {
  const SearchSpace space = make_space(space_name);
  std::vector<EvalDevice> devices;
  for (const auto& d : builtin_devices()) devices.push_back({d.name, d.params});
  const int D = static_cast<int>(devices.size());
  std::vector<int> copy_of(D, -1);
  for (int d = 0; d < D; ++d) {
    if (devices[d].params.resolution_ms <= 0.0f) continue;
    EvalDevice copy = devices[d];
    copy.params.resolution_ms = 0.0f;
    copy_of[d] = static_cast<int>(devices.size());
    devices.push_back(copy);
  }
  const int E = static_cast<int>(devices.size());
  const Matrix cpu = evaluate(Backend::kCpu, space, devices, mode, kind, n, chunk, list);
  const Matrix gpu = evaluate(Backend::kCuda, space, devices, mode, kind, n, chunk, list);
  ASSERT_EQ(cpu.codes, gpu.codes) << space_name;
  int failures = 0;
  double worst = 0.0;
  for (uint64_t i = 0; i < n && failures < 10; ++i) {
    ASSERT_LE(rel_diff(gpu.macs[i], cpu.macs[i]), 1e-6) << space_name << " arch " << i;
    ASSERT_LE(rel_diff(gpu.params[i], cpu.params[i]), 1e-6) << space_name << " arch " << i;
    for (int d = 0; d < E && failures < 10; ++d) {
      const size_t at = i * E + d;
      const double diff = rel_diff(gpu.latency_ms[at], cpu.latency_ms[at]);
      if (d >= D || copy_of[d] < 0) worst = std::max(worst, diff);
      if (diff <= 1e-5) continue;
      bool boundary = false;
      if (d < D && copy_of[d] >= 0) {
        const double q = devices[d].params.resolution_ms;
        const double u = cpu.latency_ms[i * E + copy_of[d]];
        const double frac = u / q - std::floor(u / q);
        boundary = std::abs(std::abs(gpu.latency_ms[at] - cpu.latency_ms[at]) - q) <= 1e-6 * q &&
                   std::abs(frac - 0.5) <= 1e-5 * u / q;
      }
      if (!boundary) {
        ADD_FAILURE() << space_name << " arch " << i << " on " << devices[d].name << (d >= D ? " (unrounded)" : "")
                      << ": cuda " << gpu.latency_ms[at] << " ms, cpu " << cpu.latency_ms[at] << " ms";
        ++failures;
      }
    }
  }
  std::printf("[ info     ] %s %s: %llu archs x %d devices, worst relative CPU/CUDA difference %.3g\n", space_name,
              mode == EvalMode::kCompiled ? "compiled" : "walk", static_cast<unsigned long long>(n), E, worst);
}

}  // namespace

TEST(GpuEngine, Nb201AllWalk) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("nb201", EvalMode::kWalk, ArchBatch::Kind::kEnumerate, 15625, 15625);
}

TEST(GpuEngine, FbnetWalk) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("fbnet", EvalMode::kWalk, ArchBatch::Kind::kSample, 100000, 1u << 16);
}

TEST(GpuEngine, FbnetCompiled) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("fbnet", EvalMode::kCompiled, ArchBatch::Kind::kSample, 100000, 1u << 16);
}

TEST(GpuEngine, OfaWalk) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("ofa_mbv3", EvalMode::kWalk, ArchBatch::Kind::kSample, 10000, 4096);
}

TEST(GpuEngine, OfaCompiled) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("ofa_mbv3", EvalMode::kCompiled, ArchBatch::Kind::kSample, 10000, 4096);
}

TEST(GpuEngine, Mbv2Walk) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("mbv2", EvalMode::kWalk, ArchBatch::Kind::kSample, 10000, 4096);
}

TEST(GpuEngine, Mbv2Compiled) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("mbv2", EvalMode::kCompiled, ArchBatch::Kind::kSample, 10000, 4096);
}

TEST(GpuEngine, ReportsTheDevice) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  EXPECT_FALSE(cuda_device_name().empty());
  EXPECT_EQ(resolve_backend("auto"), Backend::kCuda);
  EXPECT_EQ(resolve_backend("cuda"), Backend::kCuda);
}

// Enumeration in chunks that start past index 0 (and past the official order's first
// entries): each chunk's codes come from its own indices.
TEST(GpuEngine, Nb201EnumeratedInChunks) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  compare_backends("nb201", EvalMode::kWalk, ArchBatch::Kind::kEnumerate, 15625, 3001);
}

// Architectures given as a list of codes (the kind `--archs FILE` and the NAS stage use),
// compiled and walked, in chunks; the CUDA result also equals the sampled evaluation of
// the same codes, since an architecture's noise comes from its code.
TEST(GpuEngine, FbnetListOfCodes) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: CPU-vs-CUDA comparison skipped";
  const uint64_t n = 20000, chunk = 6000;
  const SearchSpace space = make_space("fbnet");
  std::vector<EvalDevice> devices;
  for (const auto& d : builtin_devices()) devices.push_back({d.name, d.params});
  const Matrix sampled = evaluate(Backend::kCpu, space, devices, EvalMode::kCompiled, ArchBatch::Kind::kSample, n, chunk);
  compare_backends("fbnet", EvalMode::kCompiled, ArchBatch::Kind::kList, n, chunk, &sampled.codes);
  compare_backends("fbnet", EvalMode::kWalk, ArchBatch::Kind::kList, 2000, 700, &sampled.codes);
  const Matrix listed =
      evaluate(Backend::kCuda, space, devices, EvalMode::kCompiled, ArchBatch::Kind::kList, n, chunk, &sampled.codes);
  EXPECT_EQ(listed.codes, sampled.codes);
  int failures = 0;
  for (size_t at = 0; at < sampled.latency_ms.size() && failures < 10; ++at) {
    const double q = devices[at % devices.size()].params.resolution_ms;
    // Within 1e-5, or one timer step apart where rounding met a boundary.
    const double diff = std::abs(listed.latency_ms[at] - sampled.latency_ms[at]);
    if (diff <= 1e-5 * std::abs(sampled.latency_ms[at]) || (q > 0 && std::abs(diff - q) <= 1e-6 * q)) continue;
    ADD_FAILURE() << "pair " << at << ": listed on cuda " << listed.latency_ms[at] << " ms, sampled on cpu "
                  << sampled.latency_ms[at] << " ms";
    ++failures;
  }
}
