// Device specs in YAML: parsed and validated up front, every field required and
// range-checked; errors name the file, the field and the allowed range.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "sim/device_spec.hpp"

namespace proxysim {

DeviceSpec parse_device_yaml(const std::string& text, const std::string& file);
DeviceSpec load_device_file(const std::string& path);
// The library shipped in sim/devices/, compiled into the binary.
const std::vector<DeviceSpec>& builtin_devices();
// "all", or a comma-separated list of built-in names and .yaml paths.
std::vector<DeviceSpec> select_devices(std::string_view list);
const DeviceSpec& builtin_device(std::string_view name);

}  // namespace proxysim
