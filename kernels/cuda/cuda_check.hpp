// Every CUDA runtime call goes through PROXYSIM_CUDA_CHECK, which throws with the
// expression, file and line.
#pragma once
#include <cuda_runtime.h>

#include <cstdio>
#include <stdexcept>
#include <string>

// The .cu files include the same headers as the C++20 sources; compiled as C++17 they
// would see different code (CMakeLists.txt sets CMAKE_CUDA_STANDARD 20).
#if __cplusplus < 202002L
#error "proxysim's CUDA sources must be compiled as C++20"
#endif

#define PROXYSIM_CUDA_CHECK(expr)                                                                       \
  do {                                                                                                  \
    const cudaError_t proxysim_err_ = (expr);                                                          \
    if (proxysim_err_ != cudaSuccess) {                                                                 \
      throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(proxysim_err_) + " in " + \
                               #expr + " at " + __FILE__ + ":" + std::to_string(__LINE__));             \
    }                                                                                                   \
  } while (0)

namespace proxysim {

// The message of a GPU allocation that failed: what was asked, about how much it
// needs, and what the GPU has free and in all.
inline std::string gpu_out_of_memory(const std::string& what, double bytes_needed) {
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  cudaGetLastError();
  auto gib = [](double b) {
    char s[32];
    std::snprintf(s, sizeof s, "%.2f GiB", b / (1024.0 * 1024 * 1024));
    return std::string(s);
  };
  return "GPU out of memory: " + what + " needs about " + gib(bytes_needed) + "; the GPU has " +
         gib(static_cast<double>(free_b)) + " free of " + gib(static_cast<double>(total_b)) +
         " (use --backend cpu, fewer architectures per chunk, or a larger GPU)";
}

}  // namespace proxysim
