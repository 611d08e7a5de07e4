// Field-by-field equality of two devices' model parameters, exact (a YAML round trip
// at 9 significant digits restores a float exactly), naming the first field that
// differs so a failure says where.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "sim/device.hpp"
#include "sim/device_spec.hpp"

namespace proxysim::test {

inline ::testing::AssertionResult same_device_params(const DeviceParams& a, const DeviceParams& b) {
  auto differ = [](const char* field, auto x, auto y) {
    return ::testing::AssertionFailure() << field << " differs: " << static_cast<double>(x) << " vs "
                                         << static_cast<double>(y);
  };
#define PROXYSIM_SAME_FIELD(f) \
  if (!(a.f == b.f)) return differ(#f, a.f, b.f);
  if (a.device_class != b.device_class) {
    return differ("device_class", static_cast<int>(a.device_class), static_cast<int>(b.device_class));
  }
  PROXYSIM_SAME_FIELD(peak_gflops)
  PROXYSIM_SAME_FIELD(dram_gbps)
  PROXYSIM_SAME_FIELD(onchip_gbps)
  PROXYSIM_SAME_FIELD(onchip_bytes)
  PROXYSIM_SAME_FIELD(bytes_per_element)
  PROXYSIM_SAME_FIELD(lanes_out)
  PROXYSIM_SAME_FIELD(lanes_in)
  PROXYSIM_SAME_FIELD(units)
  PROXYSIM_SAME_FIELD(pixels_per_unit)
  PROXYSIM_SAME_FIELD(half_util_macs)
  PROXYSIM_SAME_FIELD(launch_us)
  PROXYSIM_SAME_FIELD(async_launch)
  PROXYSIM_SAME_FIELD(fuse_bn_act)
  PROXYSIM_SAME_FIELD(fuse_elementwise)
  PROXYSIM_SAME_FIELD(prune_dead)
  PROXYSIM_SAME_FIELD(fold_zero_inputs)
  PROXYSIM_SAME_FIELD(batch)
  PROXYSIM_SAME_FIELD(level)
  PROXYSIM_SAME_FIELD(noise_sigma)
  PROXYSIM_SAME_FIELD(resolution_ms)
#undef PROXYSIM_SAME_FIELD
  for (int i = 0; i < kNumSpaces; ++i) {
    if (a.measurement[i] != b.measurement[i]) {
      return differ(("measurement[" + std::to_string(i) + "]").c_str(), static_cast<int>(a.measurement[i]),
                    static_cast<int>(b.measurement[i]));
    }
  }
  for (int i = 0; i < kNumOpClasses; ++i) {
    if (a.efficiency[i] != b.efficiency[i]) {
      return differ(("efficiency." + std::string(op_class_name(static_cast<OpClass>(i)))).c_str(), a.efficiency[i],
                    b.efficiency[i]);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace proxysim::test
