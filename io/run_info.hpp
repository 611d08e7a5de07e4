// What makes a result file reproducible on its own (docs/ARCHITECTURE.md, "Conventions").
#pragma once
#include <string>

namespace proxysim {

struct RunInfo {
  std::string version;      // proxysim version
  std::string git_commit;   // of the source tree the binary was built from, "+dirty" if modified
  std::string backend;      // cpu | cuda
  std::string device_name;  // GPU name, or the CPU model with its thread count
  std::string created_utc;  // ISO 8601
  std::string hostname;
  // The vector instructions the CPU code was compiled for ("x86-64+avx512f+fma"): with
  // -march=native (PROXYSIM_NATIVE) they are the build machine's, and the width changes
  // the order of floating-point sums, so a result's last digits depend on it.
  std::string build_isa;
};

// `gpu_name`: the GPU's name when the backend is cuda (kernels/engine.hpp,
// cuda_device_name(); io/ sits below the engine and does not ask it).
RunInfo collect_run_info(const std::string& backend, const std::string& gpu_name = "");
std::string utc_timestamp_compact();  // 20261127T235959Z, for run folders

}  // namespace proxysim
