// A named simulated device: its latency-model parameters and where they come from.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "sim/device.hpp"

namespace proxysim {

struct DeviceSpec {
  std::string name;      // e.g. pixel3_cpu
  std::string imitates;  // the real device and runtime it stands for
  std::string source;    // datasheets the numbers come from
  std::string file;      // where the spec was read from
  DeviceParams params;
};

std::string_view device_class_name(DeviceClass c);
std::string_view op_class_name(OpClass c);

}  // namespace proxysim
