// Every CUDA runtime call goes through PROXYSIM_CUDA_CHECK, which throws CudaError with
// the error, the expression, file and line. After a sticky error (a kernel faulted:
// the context is unusable and every later call returns the same error) the message is
// also written to stderr at once, before any buffer unwinds, so that nothing that fails
// while the stack unwinds can hide it.
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

namespace proxysim {

class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  cudaError_t code() const { return code_; }

 private:
  cudaError_t code_;
};

// The errors the CUDA runtime documents as leaving the process in an inconsistent state,
// with every later CUDA call failing the same way until the process ends.
inline bool cuda_error_is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable:
      return true;
    default:
      return false;
  }
}

// "CUDA error: <text> (<name>) <where>", with what a sticky error means for the run;
// a sticky error is written to stderr here too.
inline std::string cuda_error_message(cudaError_t e, const std::string& where) {
  std::string msg = std::string("CUDA error: ") + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ") " + where;
  if (cuda_error_is_sticky(e)) {
    msg += "; the GPU context is unusable after this error, so every later CUDA call fails too (rerun with "
           "--backend cpu, or under compute-sanitizer to find the kernel)";
    std::fprintf(stderr, "proxysim: %s\n", msg.c_str());
    std::fflush(stderr);
  }
  return msg;
}

[[noreturn]] inline void cuda_fail(cudaError_t e, const char* expr, const char* file, int line) {
  throw CudaError(e, cuda_error_message(e, std::string("in ") + expr + " at " + file + ":" + std::to_string(line)));
}

}  // namespace proxysim

#define PROXYSIM_CUDA_CHECK(expr)                                                 \
  do {                                                                            \
    const cudaError_t proxysim_err_ = (expr);                                     \
    if (proxysim_err_ != cudaSuccess) {                                           \
      ::proxysim::cuda_fail(proxysim_err_, #expr, __FILE__, __LINE__);            \
    }                                                                             \
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
