// A named simulated device: its latency-model parameters and where they come from.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/device.hpp"

namespace proxysim {

enum class SpaceId : uint8_t;  // sim/space_kernels.hpp

struct DeviceSpec {
  std::string name;      // e.g. pixel3_cpu
  std::string imitates;  // the real device and runtime it stands for
  std::string source;    // datasheets the numbers come from
  std::string file;      // where the spec was read from
  DeviceParams params;   // every space without its own set below
  // A calibrated twin's parameters fitted to one space's table alone (`spaces:` in
  // device YAML): each table was measured with its own runtime, and often its own
  // method (HW-NAS-Bench's FBNet tables are sums of blocks timed one at a time), so
  // one parameter set fitted to both trades one space's ranking for the other's.
  std::array<std::optional<DeviceParams>, kNumSpaces> space_params;

  // The parameters the device is evaluated with in `space`.
  const DeviceParams& params_for(SpaceId space) const {
    const auto& own = space_params[static_cast<size_t>(space)];
    return own ? *own : params;
  }
  bool has_space_params() const {
    for (const auto& p : space_params) {
      if (p) return true;
    }
    return false;
  }
};

// The spec as evaluated in `space`: its parameters there as the only set.
inline DeviceSpec in_space(DeviceSpec spec, SpaceId space) {
  spec.params = spec.params_for(space);
  spec.space_params = {};
  return spec;
}

std::string_view device_class_name(DeviceClass c);
std::string_view op_class_name(OpClass c);

}  // namespace proxysim
