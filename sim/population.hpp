// Device populations: many plausible simulated devices of one class, sampled around
// the class's center devices (the built-in specs, later calibrated twins), and a
// device whose SRCC to a proxy is a requested value, for controlled ablations.
//
// A population device is a pure function of (seed, index, centers): a counter-based
// stream (base/rng.hpp) picks its center and its perturbations, so device i is the
// same whichever other devices are drawn, on any thread.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/device_spec.hpp"

namespace proxysim {


// Standard deviations of the natural log of each continuous parameter around its
// center's value (log-normal, median = the center's value). Why these sizes:
// - peak_gflops 0.35 (x1.42 at one sigma): a clock bin or a core more or fewer; the
//   spread between families comes from the choice among centers, not from here.
// - dram_gbps, onchip_gbps 0.35: one memory generation or channel count apart.
// - onchip_bytes, half_util_macs 0.5 (x1.65): cache sizes move in powers of two, and
//   the saturation knee with them.
// - efficiency 0.2 per op class, independently (x1.22): what a different kernel
//   library or runtime version does to one op type; the main source of rank changes.
// - launch_us 0.5: dispatch overheads differ widely between runtimes and drivers.
struct PopulationSpread {
  double peak_gflops = 0.35;
  double dram_gbps = 0.35;
  double onchip_gbps = 0.35;
  double onchip_bytes = 0.5;
  double half_util_macs = 0.5;
  double efficiency = 0.2;
  double launch_us = 0.5;
};

struct PopulationOptions {
  DeviceClass device_class = DeviceClass::kMobileCpu;
  uint64_t count = 0;
  uint64_t seed = 0;
  double spread_scale = 1.0;   // multiplies every sigma of `spread`; 0 gives copies of centers
  PopulationSpread spread;
  std::string prefix;          // device names are <prefix>_0007; "" = pop_<class>
};

// The class named as in device YAML (mobile_cpu, gpu, ...), or nothing.
std::optional<DeviceClass> parse_device_class(std::string_view name);

// Device `index` of the population. Continuous parameters are the chosen center's
// times exp(sigma z), clamped to the ranges above, with on-chip bandwidth kept at least
// the DRAM bandwidth (an on-chip buffer slower than DRAM is not a plausible design).
// The discrete ones each come from a center drawn for them alone, so every value is
// one seen among the centers: the tiling (lanes_out with lanes_in, which go together
// on systolic arrays), units, pixels_per_unit, and each runtime flag (async_launch,
// fuse_bn_act, fuse_elementwise, prune_dead, fold_zero_inputs). The workload and
// measurement settings (bytes_per_element, batch, noise_sigma, resolution_ms) stay
// the chosen center's.
// Throws UserError when there is no center or one is of another class.
DeviceSpec population_device(const std::vector<DeviceSpec>& centers, const PopulationOptions& options, uint64_t index);
// Devices 0 .. count-1.
std::vector<DeviceSpec> sample_population(const std::vector<DeviceSpec>& centers, const PopulationOptions& options);

// A far device for device_with_srcc: the proxy with each op class's efficiency, its
// bandwidths, saturation knee and launch cost scaled by seeded log-uniform factors
// (up to x32 either way for efficiencies, x8 for knee and launch, x4 for bandwidths):
// NB201's cost is mostly its 3x3 convs, which have 9x the MACs of a 1x1, so only
// factors this wide let op types trade places in cost. Same class and discrete
// parameters as the proxy.
DeviceSpec scrambled_twin(const DeviceSpec& proxy, uint64_t seed);

// SRCC of a candidate device's latencies to the proxy's on the caller's architecture
// set (the caller owns the engine: sim/ evaluates nothing itself).
using SrccToProxy = std::function<double(const DeviceParams&)>;

// The point at `mix` in [0, 1] on the path from the proxy (0) to the far device (1):
// continuous parameters interpolated in log space (linearly where either end is 0),
// discrete parameters, workload and measurement settings the proxy's throughout, so
// latencies and the SRCC move continuously with the mix.
DeviceParams mix_devices(const DeviceParams& proxy, const DeviceParams& far, double mix);

struct SrccDevice {
  DeviceSpec spec;
  double mix = 0.0;   // where on the path it sits
  double srcc = 0.0;  // its SRCC to the proxy as srcc_of measured it
};

// A device whose SRCC to the proxy is within `tolerance` of `target_srcc`: scans the
// path from proxy to far device on a grid of mixes, then bisects the first bracket of
// the target. Throws UserError naming the reachable SRCC range when the target lies
// outside what the path spans (or, the SRCC being a step function, no point of the
// path comes within the tolerance).
SrccDevice device_with_srcc(const DeviceSpec& proxy, const DeviceSpec& far, double target_srcc,
                            const SrccToProxy& srcc_of, std::string name, double tolerance = 0.02);

}  // namespace proxysim
