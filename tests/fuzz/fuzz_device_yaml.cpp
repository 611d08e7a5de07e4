// Fuzz target: the device-spec YAML loader. Contract: any text either parses into a
// validated DeviceSpec or throws UserError; a spec that parses must survive the
// writer/reader round trip unchanged (device_yaml is exact). Anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sim/device_yaml.hpp"
#include "base/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const proxysim::DeviceSpec spec = proxysim::parse_device_yaml(text, "fuzz.yaml");
    const std::string written = proxysim::device_yaml(spec);
    const proxysim::DeviceSpec again = proxysim::parse_device_yaml(written, "written.yaml");
    if (proxysim::device_yaml(again) != written) std::abort();
  } catch (const proxysim::UserError&) {
  }
  return 0;
}
