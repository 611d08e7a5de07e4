// GPU out of memory, injected for real: the test takes all but a little of the GPU's
// memory, then asks for more than is left. Latency evaluation must finish in smaller
// pieces with the same results as an unhindered run; the rank statistics must refuse
// with a UserError naming the size asked, what is free, and how many rows would fit.
// Skipped, visibly, without a GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/engine.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "base/error.hpp"
#include "sim/space.hpp"

#if PROXYSIM_HAVE_CUDA
#include <cuda_runtime.h>
#endif

using namespace proxysim;

namespace {

#if PROXYSIM_HAVE_CUDA
// Holds every byte of GPU memory but about `leave` until destroyed.
class GpuHog {
 public:
  explicit GpuHog(size_t leave) {
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    for (size_t piece = size_t{1} << 30; piece >= (size_t{1} << 20); piece /= 2) {
      for (;;) {
        cudaMemGetInfo(&free_b, &total_b);
        if (free_b < leave + piece) break;
        void* p = nullptr;
        if (cudaMalloc(&p, piece) != cudaSuccess) {
          cudaGetLastError();
          break;
        }
        held_.push_back(p);
      }
    }
    cudaMemGetInfo(&free_b, &total_b);
    free_ = free_b;
  }
  ~GpuHog() {
    for (void* p : held_) cudaFree(p);
  }
  GpuHog(const GpuHog&) = delete;
  GpuHog& operator=(const GpuHog&) = delete;
  size_t free_bytes() const { return free_; }

 private:
  std::vector<void*> held_;
  size_t free_ = 0;
};
#endif

struct Evaluated {
  std::vector<uint8_t> codes;
  std::vector<float> latency_ms, macs, params;
};

Evaluated evaluate_once(const SearchSpace& space, const std::vector<EvalDevice>& devices, uint64_t n) {
  EngineOptions o;
  o.noise_seed = 5;
  auto engine = make_engine(Backend::kCuda, space, devices, o);
  Evaluated e;
  e.codes.resize(n * static_cast<uint64_t>(space.decisions()));
  e.latency_ms.resize(n * devices.size());
  e.macs.resize(n);
  e.params.resize(n);
  ArchBatch b;
  b.kind = ArchBatch::Kind::kSample;
  b.first = 1000;
  b.count = n;
  b.seed = 77;
  engine->evaluate(b, e.codes.data(), e.latency_ms.data(), e.macs.data(), e.params.data());
  return e;
}

}  // namespace

TEST(GpuOutOfMemory, EvaluationContinuesInSmallerPiecesWithTheSameResults) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: GPU out-of-memory handling untested";
#if PROXYSIM_HAVE_CUDA
  const SearchSpace space = make_space("fbnet");
  std::vector<EvalDevice> devices;
  for (const auto& d : builtin_devices()) devices.push_back({d.name, d.params});
  // 2^20 architectures x 43 devices: 180 MB of latencies alone.
  const uint64_t n = uint64_t{1} << 20;
  const Evaluated free_run = evaluate_once(space, devices, n);
  Evaluated tight;
  {
    GpuHog hog(size_t{96} << 20);
    ASSERT_LT(hog.free_bytes(), n * devices.size() * sizeof(float)) << "could not take enough GPU memory";
    testing::internal::CaptureStderr();
    tight = evaluate_once(space, devices, n);
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_NE(said.find("evaluating in pieces of"), std::string::npos) << said;
  }
  // Pieces change nothing: each architecture's code and noise come from its index.
  EXPECT_EQ(tight.codes, free_run.codes);
  EXPECT_EQ(tight.latency_ms, free_run.latency_ms);
  EXPECT_EQ(tight.macs, free_run.macs);
  EXPECT_EQ(tight.params, free_run.params);
#endif
}

TEST(GpuOutOfMemory, RankStatisticsRefuseNamingTheSizeThatWouldFit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: GPU out-of-memory handling untested";
#if PROXYSIM_HAVE_CUDA
  const int64_t rows = int64_t{1} << 23;
  const int32_t cols = 16;  // 512 MiB of latencies
  std::vector<float> m(static_cast<size_t>(rows) * cols);
  for (size_t i = 0; i < m.size(); ++i) m[i] = 1.0f + static_cast<float>(unit_open(counter_hash(3, i, 0)));
  GpuHog hog(size_t{64} << 20);
  try {
    spearman_matrix(Backend::kCuda, LatencyMatrix{m.data(), rows, cols});
    FAIL() << "an SRCC matrix of 512 MiB ran in " << hog.free_bytes() << " free bytes";
  } catch (const UserError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("GPU out of memory: the SRCC matrix of 8388608 x 16"), std::string::npos) << what;
    EXPECT_NE(what.find("rows would fit"), std::string::npos) << what;
    EXPECT_NE(what.find("--backend cpu"), std::string::npos) << what;
  }
#endif
}
