#include "io/run_info.hpp"

#include <omp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "kernels/engine.hpp"

namespace proxysim {

namespace {

std::string run_command(const std::string& cmd) {
  std::array<char, 256> buf{};
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

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

std::string utc_timestamp_compact() { return format_time("%Y%m%dT%H%M%SZ"); }

RunInfo collect_run_info(const std::string& backend) {
  RunInfo info;
  info.version = PROXYSIM_VERSION;
  const std::string src = PROXYSIM_SOURCE_DIR;
  info.git_commit = run_command("git -C '" + src + "' rev-parse HEAD 2>/dev/null");
  if (info.git_commit.empty()) {
    info.git_commit = "unknown";
  } else if (!run_command("git -C '" + src + "' status --porcelain --untracked-files=no 2>/dev/null").empty()) {
    info.git_commit += "+dirty";
  }
  info.backend = backend;
  info.device_name = backend == "cuda" ? cuda_device_name()
                                       : cpu_model() + " (" + std::to_string(omp_get_max_threads()) + " threads)";
  info.created_utc = format_time("%Y-%m-%dT%H:%M:%SZ");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  info.hostname = host;
  return info;
}

}  // namespace proxysim
