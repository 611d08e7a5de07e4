// The analytic per-operator latency model, and the walk that sums it over a
// network's operators in execution order so that effects between consecutive
// operators (launch hiding, an activation staying on chip, fused epilogues) count.
#pragma once
#include <cmath>
#include <cstdint>

#include "base/hd.hpp"
#include "base/rng.hpp"
#include "sim/device.hpp"
#include "sim/op.hpp"

namespace proxysim {

PROXYSIM_HD inline double round_up_to(double x, double q) { return std::ceil(x / q) * q; }

// Fraction of the lanes doing useful work when `n` items are cut into tiles of `lanes`.
PROXYSIM_HD inline double quantised_utilisation(double n, int32_t lanes) {
  return lanes <= 1 || n <= 0.0 ? 1.0 : n / round_up_to(n, static_cast<double>(lanes));
}

struct OpCost {
  double exec_s = 0.0;    // time on the device once started
  double launch_s = 0.0;  // dispatch cost the host pays before it starts
};

// Roofline time of one op on one device (Williams et al. 2009), with utilisation
// quantisation over output channels, reduction lanes and pixel waves, and a
// saturation curve u = w / (w + w_half) for layers too small to fill the machine.
// `input_on_chip` says the first input is read from on-chip memory.
PROXYSIM_HD inline double op_exec_seconds(const Op& op, const DeviceParams& dev, bool input_on_chip) {
  const double batch = dev.batch;
  const double bpe = dev.bytes_per_element;
  const OpClass cls = op_class(op);
  const double eff = dev.efficiency[static_cast<int>(cls)];
  const double peak = static_cast<double>(dev.peak_gflops) * 1e9;

  double compute_s = 0.0;
  const double macs = op_macs(op) * batch;
  if (macs > 0.0) {
    double reduction = 1.0;
    if (op.kind == OpKind::kConv) reduction = (static_cast<double>(op.in_c) / op.groups) * op.kernel * op.kernel;
    if (op.kind == OpKind::kDepthwiseConv) reduction = static_cast<double>(op.kernel) * op.kernel;
    if (op.kind == OpKind::kFullyConnected) reduction = op.in_c;
    const double pixels = static_cast<double>(op.out_h) * op.out_w * batch;
    const double tiles = std::ceil(pixels / dev.pixels_per_unit);
    const double waves = std::ceil(tiles / dev.units);
    const double u = quantised_utilisation(op.out_c, dev.lanes_out) *
                     quantised_utilisation(reduction, dev.lanes_in) * (tiles / (waves * dev.units));
    const double sat = macs / (macs + static_cast<double>(dev.half_util_macs));
    compute_s = 2.0 * macs / (peak * eff * u * sat);  // a multiply-add is two FLOPs of the datasheet peak
  } else {
    const double work = op_vector_work(op) * batch;
    const double sat = work / (work + 0.1 * static_cast<double>(dev.half_util_macs));
    compute_s = work / (peak * eff * sat);
  }

  const double first_in_bytes = op_in_elems(op) * batch * bpe;
  const double other_in_bytes = (op_input_elems_read(op) - op_in_elems(op)) * batch * bpe;
  const double out_bytes = op_out_elems(op) * batch * bpe;
  const double weight_bytes = op_weight_elems(op) * bpe;
  double dram_bytes = other_in_bytes + out_bytes + weight_bytes;
  double chip_bytes = 0.0;
  if (input_on_chip) {
    chip_bytes += first_in_bytes;
  } else {
    dram_bytes += first_in_bytes;
  }
  const double memory_s = dram_bytes / (static_cast<double>(dev.dram_gbps) * 1e9) +
                          chip_bytes / (static_cast<double>(dev.onchip_gbps) * 1e9);
  return compute_s > memory_s ? compute_s : memory_s;
}

// One elementwise pass over an op's output (an unfused BN or activation).
PROXYSIM_HD inline double elementwise_pass_seconds(double elems, const DeviceParams& dev) {
  const double bytes = 2.0 * elems * dev.batch * dev.bytes_per_element;
  const double bw = bytes * 0.5 <= dev.onchip_bytes ? dev.onchip_gbps : dev.dram_gbps;
  const double work = elems * dev.batch;
  const double peak = static_cast<double>(dev.peak_gflops) * 1e9 *
                      dev.efficiency[static_cast<int>(OpClass::kElementwise)];
  const double compute_s = work / peak;
  const double memory_s = bytes / (bw * 1e9);
  return compute_s > memory_s ? compute_s : memory_s;
}

// Walks a network's ops in execution order on one device and accumulates seconds.
// It is the sink the search-space lowerings call, so no op list is materialised.
// With `isolate_blocks` (a block_sum measurement, see Measurement) the walk starts
// afresh at every block: no launch hidden behind the previous block, input from
// memory, no fusion across the boundary, so the total is the sum of the blocks each
// walked alone.
struct LatencyWalk {
  const DeviceParams* dev;
  double total_s = 0.0;
  double prev_exec_s = 0.0;      // how long the last kernel ran (hides the next launch)
  double prev_out_bytes = -1.0;  // the last kernel's output, if it may still be on chip
  bool isolate_blocks = false;

  PROXYSIM_HD explicit LatencyWalk(const DeviceParams& d, bool isolate = false) : dev(&d), isolate_blocks(isolate) {}

  PROXYSIM_HD void launch_kernel(double exec_s) {
    const double launch_s = static_cast<double>(dev->launch_us) * 1e-6;
    double cost = launch_s;
    if (dev->async_launch) cost = launch_s > prev_exec_s ? launch_s - prev_exec_s : 0.0;
    total_s += cost + exec_s;
    prev_exec_s = exec_s;
  }

  PROXYSIM_HD void operator()(const Op& op) {
    const DeviceParams& d = *dev;
    if (isolate_blocks && (op.flags & kOpBlockStart) != 0) {
      prev_exec_s = 0.0;
      prev_out_bytes = -1.0;
    }
    if (d.prune_dead) {
      const unsigned zero_fed = d.fold_zero_inputs ? static_cast<unsigned>(kOpZeroFed) : 0u;
      const unsigned pruned = kOpDead | kOpZero | zero_fed;
      if ((op.flags & pruned) != 0) return;
    }
    const bool from_prev = (op.flags & kOpFromPrev) != 0 && prev_out_bytes >= 0.0;
    const double out_bytes = op_out_elems(op) * d.batch * d.bytes_per_element;

    if (op.kind == OpKind::kAdd && d.fuse_elementwise && from_prev) {
      // Residual add in the producer's epilogue: no launch, one more operand read.
      const double extra_s = op_in_elems(op) * d.batch * d.bytes_per_element / (static_cast<double>(d.dram_gbps) * 1e9);
      total_s += extra_s;
      prev_exec_s += extra_s;
      prev_out_bytes = out_bytes;
      return;
    }

    const bool on_chip = from_prev && prev_out_bytes <= static_cast<double>(d.onchip_bytes);
    launch_kernel(op_exec_seconds(op, d, on_chip));
    if (!d.fuse_bn_act) {
      const double elems = op_out_elems(op);
      if ((op.flags & kOpBn) != 0) launch_kernel(elementwise_pass_seconds(elems, d));
      if ((op.flags & kOpAct) != 0) launch_kernel(elementwise_pass_seconds(elems, d));
    }
    prev_out_bytes = out_bytes;
  }
};

// Noise bits of one (network, device) pair from the network's hash and the device's
// key: one multiply and a fold, enough to decorrelate devices (the inputs are hashes).
PROXYSIM_HD inline uint64_t pair_noise_bits(uint64_t network_hash, uint64_t device_key) {
  uint64_t x = (network_hash ^ device_key) * 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 29);
}

// Largest noise sigma the measurement model accepts: it keeps |sigma z| <= 0.35,
// where exp's degree-6 Taylor polynomial is exact to 1.3e-7 relative.
inline constexpr float kMaxNoiseSigma = 0.1f;

// Measurement model: multiplicative log-normal noise with a standard normal drawn by
// the Irwin-Hall sum of four 16-bit uniforms (bounded, cheap and identical on every
// backend), then the timer's resolution `q` (phones report whole ms). Branch-free,
// so a loop over devices vectorises.
PROXYSIM_HD inline float apply_measurement(float ms, float sigma, float q, uint64_t noise_bits) {
  const uint32_t s = static_cast<uint32_t>((noise_bits & 0xffff) + ((noise_bits >> 16) & 0xffff) +
                                           ((noise_bits >> 32) & 0xffff) + (noise_bits >> 48));
  const float z = (static_cast<float>(s) * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
  const float x = sigma * z;
  // exp(x) by its Taylor series in Horner form (|x| <= 0.35, see kMaxNoiseSigma).
  ms *= 1.0f + x * (1.0f + x * (0.5f + x * (1.0f / 6 + x * (1.0f / 24 + x * (1.0f / 120 + x * (1.0f / 720))))));
  const float safe_q = q > 0.0f ? q : 1.0f;
  float r = std::floor(ms / safe_q + 0.5f) * safe_q;
  r = r < safe_q ? safe_q : r;
  return q > 0.0f ? r : ms;
}

PROXYSIM_HD inline float measured_ms(double total_s, const DeviceParams& dev, uint64_t noise_bits) {
  return apply_measurement(static_cast<float>(total_s * 1e3) * dev.level, dev.noise_sigma, dev.resolution_ms, noise_bits);
}

}  // namespace proxysim
