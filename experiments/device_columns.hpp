// Device names of a stage's config resolved to columns of the run's latency matrix,
// with errors naming where the names were given and the run's devices.
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "base/error.hpp"

namespace proxysim {

inline int32_t device_column(const std::vector<std::string>& names, const std::string& name, const std::string& where,
                             const char* role) {
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    throw UserError(where + ": unknown " + role + " device '" + name + "' (the run's devices are " + all + ")");
  }
  return static_cast<int32_t>(it - names.begin());
}

// The columns of `list`, in its order; an empty list means every column.
inline std::vector<int32_t> device_columns(const std::vector<std::string>& list, const std::vector<std::string>& names,
                                           const std::string& where, const char* role) {
  std::vector<int32_t> out;
  if (list.empty()) {
    out.resize(names.size());
    std::iota(out.begin(), out.end(), 0);
    return out;
  }
  for (const auto& name : list) {
    const int32_t c = device_column(names, name, where, role);
    if (std::find(out.begin(), out.end(), c) != out.end()) {
      throw UserError(where + ": " + role + " '" + name + "' is listed twice");
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace proxysim
