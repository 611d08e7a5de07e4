// A faulted kernel leaves a sticky CUDA error: every later CUDA call fails the same
// way, cudaFree included. The device buffers alive at the fault must be released
// without throwing (a throw from a destructor while the error unwinds the stack ends
// the process in std::terminate and loses the error), and what runs next must fail
// with an error that names the fault, not as "GPU out of memory". Each case runs in a
// child process, since the fault ruins the CUDA context for the rest of the process.
// Built with the CUDA backend only; skipped, visibly, without a GPU.
#include <gtest/gtest.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/cuda/gpu_memory.hpp"
#include "kernels/engine.hpp"
#include "kernels/rank_stats.hpp"
#include "base/error.hpp"
#include "sim/space.hpp"

using namespace proxysim;

namespace {

struct WriteThroughNull {
  float* p;
  __device__ void operator()(int i) const { p[i] = 1.0f; }
};

// Faults a kernel while device buffers are held and catches its error as a caller would;
// the buffers are released after the fault, on the way out of this scope.
void fault_with_buffers_held() {
  GpuVector<float> held(size_t{1} << 20);
  GpuVector<int> more(size_t{1} << 10);
  try {
    thrust::for_each(gpu_par(), thrust::counting_iterator<int>(0), thrust::counting_iterator<int>(1 << 20),
                     WriteThroughNull{nullptr});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "the fault: %s\n", e.what());
    return;
  }
  std::fprintf(stderr, "no fault\n");
  std::_Exit(10);
}

// After a fault, runs `then`, which must throw an error naming the fault: exit 0 when it
// does, 2 when it is a UserError (out of memory, say), 3 for another message, 4 when
// nothing is thrown.
template <class F>
[[noreturn]] void after_fault(F then) {
  fault_with_buffers_held();
  try {
    then();
  } catch (const UserError& e) {
    std::fprintf(stderr, "a user error: %s\n", e.what());
    std::_Exit(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "after the fault: %s\n", e.what());
    std::_Exit(std::string(e.what()).find("illegal memory access") != std::string::npos ? 0 : 3);
  }
  std::_Exit(4);
}

}  // namespace

TEST(GpuStickyError, RankStatisticsReportTheFault) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: sticky-error handling untested";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(after_fault([] {
                std::vector<float> m(1000 * 3, 1.0f);
                spearman_matrix(Backend::kCuda, LatencyMatrix{m.data(), 1000, 3});
              }),
              testing::ExitedWithCode(0), "after the fault: .*illegal memory access");
}

TEST(GpuStickyError, EvaluationReportsTheFault) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: sticky-error handling untested";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(after_fault([] {
                const SearchSpace space = make_space("fbnet");
                std::vector<EvalDevice> devices;
                for (const auto& d : builtin_devices()) devices.push_back({d.name, d.params});
                auto engine = make_engine(Backend::kCuda, space, devices, EngineOptions{});
                std::vector<uint8_t> codes(100 * static_cast<size_t>(space.decisions()));
                std::vector<float> latency(100 * devices.size()), macs(100), params(100);
                ArchBatch b;
                b.count = 100;
                engine->evaluate(b, codes.data(), latency.data(), macs.data(), params.data());
              }),
              testing::ExitedWithCode(0), "after the fault: .*illegal memory access");
}
