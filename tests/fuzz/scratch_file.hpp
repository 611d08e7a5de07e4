// For fuzz targets whose reader takes a path: each input is written to one scratch
// file per process (under /tmp, named by the process id), and its path returned.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace proxysim::fuzz {

inline const std::string& write_scratch_file(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string path = "/tmp/proxysim_fuzz_" + std::to_string(::getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace proxysim::fuzz
