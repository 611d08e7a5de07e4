#include "io/run_info.hpp"

#include <omp.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

#include "git_info.hpp"

namespace proxysim {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

std::string format_time(const char* fmt) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

}  // namespace

std::string compiled_isa() {
  std::string s;
#if defined(__x86_64__)
  s = "x86-64";
#if defined(__AVX512F__)
  s += "+avx512f";
#elif defined(__AVX2__)
  s += "+avx2";
#elif defined(__AVX__)
  s += "+avx";
#endif
#if defined(__FMA__)
  s += "+fma";
#endif
#elif defined(__aarch64__)
  s = "aarch64";
#else
  s = "unknown";
#endif
  return s;
}

std::string utc_timestamp_compact() { return format_time("%Y%m%dT%H%M%SZ"); }

RunInfo collect_run_info(const std::string& backend, const std::string& gpu_name) {
  RunInfo info;
  info.version = PROXYSIM_VERSION;
  info.git_commit = PROXYSIM_GIT_COMMIT;  // recorded at build time (cmake/git_info.cmake)
  info.backend = backend;
  info.device_name = backend == "cuda" ? gpu_name
                                       : cpu_model() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  info.created_utc = format_time("%Y-%m-%dT%H:%M:%SZ");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  info.hostname = host;
  info.build_isa = compiled_isa();
  return info;
}

}  // namespace proxysim
