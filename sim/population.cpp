#include "sim/population.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>

#include "base/rng.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

// Stream salts: one per use, so the center pick, the perturbations and the discrete
// draws of one device never share random bits.
constexpr uint64_t kPopulationSalt = 0x706f70756c617431ull;
constexpr uint64_t kTwinSalt = 0x7477696e7363726full;
enum Stream : uint64_t {
  kCenter = 0,
  kTiling,
  kUnits,
  kPixels,
  kAsync,
  kFuseBnAct,
  kFuseElementwise,
  kPruneDead,
  kFoldZeroInputs,
  kFirstNormal = 64,  // each continuous parameter j draws from kFirstNormal + 2j, + 2j + 1
};
enum Param : uint64_t { kPeak = 0, kDram, kOnchipGbps, kOnchipBytes, kHalfUtil, kLaunch, kEfficiency0 };

uint64_t bits(uint64_t seed, uint64_t salt, uint64_t index, uint64_t stream) {
  return counter_hash(seed ^ salt, index, stream);
}

// Standard normal by Box-Muller from two counter-based uniforms.
double normal(uint64_t seed, uint64_t index, uint64_t param) {
  const double u1 = unit_open(bits(seed, kPopulationSalt, index, kFirstNormal + 2 * param));
  const double u2 = unit_open(bits(seed, kPopulationSalt, index, kFirstNormal + 2 * param + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

float clamp_to(double v, ParamRange r) { return static_cast<float>(std::clamp(v, r.lo, r.hi)); }

// An on-chip buffer slower than DRAM is not a plausible design.
void keep_onchip_fast(DeviceParams& p) {
  p.onchip_gbps = std::max(p.onchip_gbps, p.dram_gbps);
  p.onchip_gbps = clamp_to(p.onchip_gbps, kOnchipGbpsRange);
}

void check_centers(const std::vector<DeviceSpec>& centers, DeviceClass cls) {
  if (centers.empty()) {
    throw UserError("population of class '" + std::string(device_class_name(cls)) + "': no center devices");
  }
  for (const auto& c : centers) {
    if (c.params.device_class != cls) {
      throw UserError("population of class '" + std::string(device_class_name(cls)) + "': center device '" + c.name +
                      "' is of class '" + std::string(device_class_name(c.params.device_class)) + "'");
    }
  }
}

std::string four_digits(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04llu", static_cast<unsigned long long>(i));
  return buf;
}

double log_mix(double a, double b, double t) {
  if (a <= 0.0 || b <= 0.0) return a + (b - a) * t;
  return std::exp(std::log(a) + (std::log(b) - std::log(a)) * t);
}

}  // namespace

std::optional<DeviceClass> parse_device_class(std::string_view name) {
  for (int i = 0; i < kNumDeviceClasses; ++i) {
    const auto c = static_cast<DeviceClass>(i);
    if (device_class_name(c) == name) return c;
  }
  return std::nullopt;
}

DeviceSpec population_device(const std::vector<DeviceSpec>& centers, const PopulationOptions& o, uint64_t index) {
  check_centers(centers, o.device_class);
  const auto nc = static_cast<uint32_t>(centers.size());
  auto pick = [&](uint64_t stream) -> const DeviceParams& {
    return centers[bounded(bits(o.seed, kPopulationSalt, index, stream), nc)].params;
  };
  const DeviceSpec& center = centers[bounded(bits(o.seed, kPopulationSalt, index, kCenter), nc)];
  const DeviceParams& c = center.params;
  const double s = o.spread_scale;
  auto perturb = [&](double value, double sigma, uint64_t param, ParamRange r) {
    return clamp_to(value * std::exp(s * sigma * normal(o.seed, index, param)), r);
  };

  DeviceSpec d;
  const std::string prefix = o.prefix.empty() ? "pop_" + std::string(device_class_name(o.device_class)) : o.prefix;
  d.name = prefix + "_" + four_digits(index);
  d.imitates = "a device sampled around " + center.name;
  d.source = "proxysim population of class " + std::string(device_class_name(o.device_class)) + ", seed " +
             std::to_string(o.seed) + ", device " + std::to_string(index) + ", log-normal around " + center.name;
  d.file = "population:" + std::string(device_class_name(o.device_class)) + ":seed" + std::to_string(o.seed);
  DeviceParams& p = d.params;
  p = c;
  p.peak_gflops = perturb(c.peak_gflops, o.spread.peak_gflops, kPeak, kPeakGflopsRange);
  p.dram_gbps = perturb(c.dram_gbps, o.spread.dram_gbps, kDram, kDramGbpsRange);
  p.onchip_gbps = perturb(c.onchip_gbps, o.spread.onchip_gbps, kOnchipGbps, kOnchipGbpsRange);
  p.onchip_bytes = perturb(c.onchip_bytes, o.spread.onchip_bytes, kOnchipBytes, kOnchipBytesRange);
  p.half_util_macs = perturb(c.half_util_macs, o.spread.half_util_macs, kHalfUtil, kHalfUtilMacsRange);
  p.launch_us = perturb(c.launch_us, o.spread.launch_us, kLaunch, kLaunchUsRange);
  for (int k = 0; k < kNumOpClasses; ++k) {
    p.efficiency[k] = perturb(c.efficiency[k], o.spread.efficiency, kEfficiency0 + k, kEfficiencyRange);
  }
  keep_onchip_fast(p);

  const DeviceParams& tiling = pick(kTiling);
  p.lanes_out = tiling.lanes_out;
  p.lanes_in = tiling.lanes_in;
  p.units = pick(kUnits).units;
  p.pixels_per_unit = pick(kPixels).pixels_per_unit;
  p.async_launch = pick(kAsync).async_launch;
  p.fuse_bn_act = pick(kFuseBnAct).fuse_bn_act;
  p.fuse_elementwise = pick(kFuseElementwise).fuse_elementwise;
  p.prune_dead = pick(kPruneDead).prune_dead;
  p.fold_zero_inputs = pick(kFoldZeroInputs).fold_zero_inputs;
  return d;
}

std::vector<DeviceSpec> sample_population(const std::vector<DeviceSpec>& centers, const PopulationOptions& options) {
  check_centers(centers, options.device_class);
  std::vector<DeviceSpec> out;
  out.reserve(options.count);
  for (uint64_t i = 0; i < options.count; ++i) out.push_back(population_device(centers, options, i));
  return out;
}

DeviceSpec scrambled_twin(const DeviceSpec& proxy, uint64_t seed) {
  DeviceSpec d = proxy;
  d.name = proxy.name + "_scrambled_s" + std::to_string(seed);
  d.imitates = "the proxy " + proxy.name + " with scrambled op costs";
  d.source = "proxysim scrambled twin of " + proxy.name + ", seed " + std::to_string(seed);
  d.file = "scrambled:" + proxy.name;
  DeviceParams& p = d.params;
  uint64_t stream = 0;
  // Log-uniform factor in [1/max, max].
  auto factor = [&](double max) {
    const double u = 2.0 * unit_open(bits(seed, kTwinSalt, 0, stream++)) - 1.0;
    return std::exp(u * std::log(max));
  };
  for (int k = 0; k < kNumOpClasses; ++k) p.efficiency[k] = clamp_to(p.efficiency[k] * factor(32.0), kEfficiencyRange);
  p.dram_gbps = clamp_to(p.dram_gbps * factor(4.0), kDramGbpsRange);
  p.onchip_gbps = clamp_to(p.onchip_gbps * factor(4.0), kOnchipGbpsRange);
  p.half_util_macs = clamp_to(p.half_util_macs * factor(8.0), kHalfUtilMacsRange);
  p.launch_us = clamp_to(p.launch_us * factor(8.0), kLaunchUsRange);
  keep_onchip_fast(p);
  return d;
}

DeviceParams mix_devices(const DeviceParams& proxy, const DeviceParams& far, double mix) {
  DeviceParams p = proxy;
  p.peak_gflops = clamp_to(log_mix(proxy.peak_gflops, far.peak_gflops, mix), kPeakGflopsRange);
  p.dram_gbps = clamp_to(log_mix(proxy.dram_gbps, far.dram_gbps, mix), kDramGbpsRange);
  p.onchip_gbps = clamp_to(log_mix(proxy.onchip_gbps, far.onchip_gbps, mix), kOnchipGbpsRange);
  p.onchip_bytes = clamp_to(log_mix(proxy.onchip_bytes, far.onchip_bytes, mix), kOnchipBytesRange);
  p.half_util_macs = clamp_to(log_mix(proxy.half_util_macs, far.half_util_macs, mix), kHalfUtilMacsRange);
  p.launch_us = clamp_to(log_mix(proxy.launch_us, far.launch_us, mix), kLaunchUsRange);
  for (int k = 0; k < kNumOpClasses; ++k) {
    p.efficiency[k] = clamp_to(log_mix(proxy.efficiency[k], far.efficiency[k], mix), kEfficiencyRange);
  }
  keep_onchip_fast(p);
  return p;
}

SrccDevice device_with_srcc(const DeviceSpec& proxy, const DeviceSpec& far, double target_srcc,
                            const SrccToProxy& srcc_of, std::string name, double tolerance) {
  // The SRCC over a finite architecture set is a step function of the mix, so the
  // bisection aims well inside the tolerance and stops once there.
  const double aim = tolerance / 4.0;
  constexpr int kGrid = 16;
  constexpr int kBisections = 40;
  auto make = [&](double mix, double srcc) {
    SrccDevice out;
    out.spec = proxy;
    out.spec.name = name;
    out.spec.imitates = "a device at SRCC " + std::to_string(srcc) + " to " + proxy.name;
    out.spec.source = "proxysim: " + proxy.name + " mixed with " + far.name + " at " + std::to_string(mix) +
                      " (log-parameter interpolation), requested SRCC " + std::to_string(target_srcc);
    out.spec.file = "srcc_to:" + proxy.name;
    out.spec.params = mix_devices(proxy.params, far.params, mix);
    out.mix = mix;
    out.srcc = srcc;
    return out;
  };
  std::vector<double> mixes(kGrid + 1), srcc(kGrid + 1);
  double lo = 2.0, hi = -2.0;
  for (int g = 0; g <= kGrid; ++g) {
    mixes[g] = static_cast<double>(g) / kGrid;
    srcc[g] = srcc_of(mix_devices(proxy.params, far.params, mixes[g]));
    if (std::isfinite(srcc[g])) {
      lo = std::min(lo, srcc[g]);
      hi = std::max(hi, srcc[g]);
    }
    if (std::abs(srcc[g] - target_srcc) <= aim) return make(mixes[g], srcc[g]);
  }
  double best_mix = 0.0, best_srcc = std::nan("");
  auto offer = [&](double m, double s) {
    if (std::isfinite(s) && !(std::abs(s - target_srcc) >= std::abs(best_srcc - target_srcc))) {
      best_mix = m;
      best_srcc = s;
    }
  };
  for (int g = 0; g <= kGrid; ++g) offer(mixes[g], srcc[g]);
  for (int g = 0; g < kGrid; ++g) {
    // The first bracket: the target lies between two neighbouring grid points.
    const double a = srcc[g] - target_srcc, b = srcc[g + 1] - target_srcc;
    if (!(std::isfinite(a) && std::isfinite(b)) || a * b > 0.0) continue;
    double ma = mixes[g], mb = mixes[g + 1];
    double fa = a;
    for (int it = 0; it < kBisections; ++it) {
      const double mm = 0.5 * (ma + mb);
      const double s = srcc_of(mix_devices(proxy.params, far.params, mm));
      offer(mm, s);
      if (std::abs(s - target_srcc) <= aim) return make(mm, s);
      if ((s - target_srcc) * fa > 0.0) {
        ma = mm;
        fa = s - target_srcc;
      } else {
        mb = mm;
      }
    }
    break;
  }
  if (std::isfinite(best_srcc) && std::abs(best_srcc - target_srcc) <= tolerance) return make(best_mix, best_srcc);
  char range[160];
  std::snprintf(range, sizeof range, "[%.3f, %.3f]", lo, hi);
  char want[32];
  std::snprintf(want, sizeof want, "%.3f", target_srcc);
  throw UserError("no device at SRCC " + std::string(want) + " to '" + proxy.name + "' on the path to '" + far.name +
                  "': SRCC along the path spans " + range +
                  (lo <= target_srcc && target_srcc <= hi ? " but jumps over the target" : "") +
                  "; ask for a value in that range or a farther device");
}

}  // namespace proxysim
