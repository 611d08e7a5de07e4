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
// The spec as YAML that parse_device_yaml reads back to the same parameters (floats
// to 9 significant digits, so float fields round-trip exactly); each line of
// `comment` becomes a leading '#' line.
std::string device_yaml(const DeviceSpec& spec, const std::string& comment = {});
// The library shipped in sim/devices/, compiled into the binary.
const std::vector<DeviceSpec>& builtin_devices();
// The calibrated twins of real devices shipped in sim/devices/twins/, also compiled in.
const std::vector<DeviceSpec>& twin_devices();
// "all" (the built-in library), "twins", or a comma-separated list of built-in or
// twin names and .yaml paths.
std::vector<DeviceSpec> select_devices(std::string_view list);
// A built-in device or a twin, by name.
const DeviceSpec& builtin_device(std::string_view name);

}  // namespace proxysim
