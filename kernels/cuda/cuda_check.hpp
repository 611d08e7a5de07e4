// Every CUDA runtime call goes through PROXYSIM_CUDA_CHECK, which throws with the
// expression, file and line.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define PROXYSIM_CUDA_CHECK(expr)                                                                       \
  do {                                                                                                  \
    const cudaError_t proxysim_err_ = (expr);                                                          \
    if (proxysim_err_ != cudaSuccess) {                                                                 \
      throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(proxysim_err_) + " in " + \
                               #expr + " at " + __FILE__ + ":" + std::to_string(__LINE__));             \
    }                                                                                                   \
  } while (0)
