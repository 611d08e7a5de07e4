// A simulated device: the parameters of its analytic per-operator latency model.
// Plain data, usable inside kernels; the values live in sim/devices/*.yaml.
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "sim/op.hpp"

namespace proxysim {

enum class DeviceClass : uint8_t { kCpu, kMobileCpu, kGpu, kMobileGpu, kDsp, kNpu, kTpu, kFpga, kAsic };
inline constexpr int kNumDeviceClasses = 9;

// Operator classes with their own efficiency: the fraction of the datasheet FLOP peak
// an op reaches when it fills the machine (a multiply-add counts two FLOPs). Real
// kernels differ by op type and kernel size; above 1 means the runtime beats the
// direct algorithm's count (Winograd 3x3, FFT) or the clock boosts past the datasheet.
enum class OpClass : uint8_t {
  kPointwise,   // 1x1 dense conv
  kDense3,      // 3x3 dense conv (Winograd-friendly on CPUs and GPUs)
  kDense5,      // 5x5 and larger dense conv
  kDepthwise3,
  kDepthwise5,  // 5x5 and 7x7 depthwise
  kGrouped,     // grouped conv, 1 < groups < channels
  kPool,
  kElementwise,
  kFullyConnected,
  kCount
};
inline constexpr int kNumOpClasses = static_cast<int>(OpClass::kCount);

PROXYSIM_HD inline OpClass op_class(const Op& op) {
  switch (op.kind) {
    case OpKind::kConv:
      if (op.groups > 1) return OpClass::kGrouped;
      if (op.kernel == 1) return OpClass::kPointwise;
      return op.kernel <= 3 ? OpClass::kDense3 : OpClass::kDense5;
    case OpKind::kDepthwiseConv:
      return op.kernel <= 3 ? OpClass::kDepthwise3 : OpClass::kDepthwise5;
    case OpKind::kAvgPool:
    case OpKind::kMaxPool:
    case OpKind::kGlobalPool:
      return OpClass::kPool;
    case OpKind::kFullyConnected:
      return OpClass::kFullyConnected;
    default:
      return OpClass::kElementwise;
  }
}

// How a device's latencies in one search space were measured: each network end to
// end, or as the sum of its blocks, each block timed alone (its own launch, input
// read from memory, nothing overlapped with or fused across its neighbours; the
// HW-NAS-Bench FBNet tables are such sums of per-block lookups). Devices keep one per
// space, indexed by SpaceId (sim/space_kernels.hpp), since one device's tables may
// have been made either way.
enum class Measurement : uint8_t { kEndToEnd = 0, kBlockSum = 1 };
inline constexpr int kNumSpaces = 4;

// The physical range of each continuous parameter: the device YAML validator
// accepts exactly these, and populations and calibration never leave them.
struct ParamRange {
  double lo, hi;
};
inline constexpr ParamRange kPeakGflopsRange{0.1, 1e6};
inline constexpr ParamRange kDramGbpsRange{0.05, 1e5};
inline constexpr ParamRange kOnchipGbpsRange{0.05, 1e6};
inline constexpr ParamRange kOnchipBytesRange{0.0, 1e10};
inline constexpr ParamRange kHalfUtilMacsRange{0.0, 1e12};
inline constexpr ParamRange kEfficiencyRange{1e-4, 2.0};
inline constexpr ParamRange kLaunchUsRange{0.0, 1e5};
inline constexpr ParamRange kLevelRange{1e-4, 1e4};

struct DeviceParams {
  DeviceClass device_class = DeviceClass::kCpu;
  // Roofline (Williams, Waterman, Patterson, CACM 2009).
  float peak_gflops = 1.0f;       // at the precision the device runs
  float dram_gbps = 1.0f;         // off-chip bandwidth
  float onchip_gbps = 1.0f;       // cache / SRAM / scratchpad bandwidth
  float onchip_bytes = 0.0f;      // capacity an activation must fit to stay on chip
  float bytes_per_element = 4.0f; // 4 fp32, 2 fp16, 1 int8
  // Utilisation quantisation: work is cut into tiles of these widths, a partial
  // tile costs a full one (systolic arrays: Jouppi et al., ISCA 2017; SIMD lanes).
  int32_t lanes_out = 1;          // output channels per step (SIMD width, array columns)
  int32_t lanes_in = 1;           // reduction lanes (array rows), 1 for SIMD machines
  int32_t units = 1;              // cores / SMs / PE clusters sharing the output pixels
  int32_t pixels_per_unit = 1;    // output pixels one unit handles per wave
  // Saturation: small layers leave the machine idle, u = w / (w + w_half).
  float half_util_macs = 0.0f;
  float efficiency[kNumOpClasses] = {};
  // Dispatch: a fixed cost per executed op; asynchronous launch queues (GPUs) hide
  // it behind the previous op's execution.
  float launch_us = 0.0f;
  bool async_launch = false;
  // Graph-level behaviour of the runtime.
  bool fuse_bn_act = true;        // conv + BN + activation as one kernel
  bool fuse_elementwise = false;  // residual add folded into its producer's epilogue
  bool prune_dead = false;        // TFLite-style dead-branch and constant-zero removal
  // With prune_dead: also fold ops whose inputs are constant zeros. nn-Meter's and
  // Eagle's runtimes do; the HW-NAS-Bench TFLite exports do not (on help_nb201, Pixel 3
  // latency ranks with the conv count of used edges at SRCC 0.93, of used-and-fed
  // edges at 0.87; nn-Meter's Cortex-A76 the other way round, 0.92 and 0.96).
  bool fold_zero_inputs = true;
  int32_t batch = 1;
  Measurement measurement[kNumSpaces] = {};  // per space; end to end unless said otherwise
  // Measurement: multiplicative log-normal noise and the timer's resolution.
  float noise_sigma = 0.0f;
  float resolution_ms = 0.0f;
  // Every latency times this factor, applied last (before noise and the timer): a
  // calibrated twin's correction of level. Multiplying by one positive float is
  // monotone, so it keeps every ranking exactly, which no rescaling of peak,
  // bandwidths and dispatch by a factor other than a power of two does in floats.
  float level = 1.0f;
};

}  // namespace proxysim
