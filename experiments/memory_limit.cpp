#include "experiments/memory_limit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "base/error.hpp"

namespace proxysim {

double available_memory_bytes() {
  double best = 0;
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    double kib = 0;
    std::string unit;
    while (in >> key >> kib >> unit) {
      if (key == "MemAvailable:") {
        best = kib * 1024.0;
        break;
      }
    }
  }
  // cgroup v2: memory.max ("max" = none) less memory.current; v1: limit_in_bytes.
  auto read_number = [](const char* path) -> double {
    std::ifstream in(path);
    std::string v;
    if (!(in >> v) || v == "max") return 0;
    try {
      return std::stod(v);
    } catch (const std::exception&) {
      return 0;
    }
  };
  const double v2_max = read_number("/sys/fs/cgroup/memory.max");
  if (v2_max > 0) {
    const double room = v2_max - read_number("/sys/fs/cgroup/memory.current");
    if (room > 0 && (best == 0 || room < best)) best = room;
  }
  const double v1_max = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (v1_max > 0 && v1_max < 1e18) {
    const double room = v1_max - read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    if (room > 0 && (best == 0 || room < best)) best = room;
  }
  return best;
}

double parse_memory_size(const std::string& text, const std::string& what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  double scale = 1;
  const std::string rest = text.substr(used);
  if (rest == "K" || rest == "KiB") scale = 1024.0;
  else if (rest == "M" || rest == "MiB") scale = 1024.0 * 1024;
  else if (rest == "G" || rest == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (rest == "T" || rest == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!rest.empty()) used = 0;
  if (used == 0 || !std::isfinite(v) || v <= 0) {
    throw UserError(what + ": '" + text + "' is not a memory size (a positive number of bytes, or with K, M, G or T)");
  }
  return v * scale;
}

double memory_limit(const SweepOptions& options, const World& world, std::string& source) {
  if (options.max_memory_bytes > 0) {
    source = "--max-memory";
    return options.max_memory_bytes;
  }
  const int local = std::max(1, world.local_size);
  source = local > 1 ? fmt::format("available on this node, shared by {} ranks", local) : "available on this machine";
  return available_memory_bytes() / local;
}

double resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      in >> kib;
      return kib * 1024.0;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

}  // namespace proxysim
