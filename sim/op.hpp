// Operators with real shapes: what a lowered network executes, in order.
#pragma once
#include <cstdint>

#include "base/hd.hpp"

namespace proxysim {

enum class OpKind : uint8_t {
  kConv = 0,        // dense or grouped convolution (groups == 1 or 1 < groups < in_c)
  kDepthwiseConv,   // groups == in_c == out_c
  kAvgPool,         // k x k window
  kMaxPool,
  kGlobalPool,      // H x W -> 1 x 1
  kAdd,             // elementwise sum of two tensors of the output shape
  kMul,             // elementwise product (squeeze-excitation scaling, NB201's zero op)
  kActivation,      // standalone ReLU / h-swish / sigmoid
  kBatchNorm,       // standalone BN (only when not folded into its convolution)
  kFullyConnected,  // in_c -> out_c on a 1 x 1 map
  kChannelShuffle,  // FBNet's grouped blocks: a pure data movement
  kCount
};

inline constexpr int kNumOpKinds = static_cast<int>(OpKind::kCount);

// Op flags.
enum : uint8_t {
  kOpBn = 1u << 0,          // followed by batch norm (foldable into the conv)
  kOpAct = 1u << 1,         // followed by an activation (fusable into the conv)
  kOpFromPrev = 1u << 2,    // its (first) input is the output of the op executed just before
  kOpDead = 1u << 3,        // output never used on the way to the network output (NB201 pruning)
  kOpZero = 1u << 4,        // NB201 'none': multiplies by zero, constant-folded by pruning runtimes
  kOpKeepAlive = 1u << 5,   // survives even when the whole cell stack upstream is dead (head)
  kOpZeroFed = 1u << 6,     // its result is used but its inputs are constant zeros (NB201 'none' upstream)
  kOpBlockStart = 1u << 7,  // first op of a block, the unit a per-block measurement times alone
};

struct Op {
  OpKind kind = OpKind::kConv;
  uint8_t kernel = 1;
  uint8_t stride = 1;
  uint8_t flags = 0;
  uint16_t groups = 1;
  uint16_t in_h = 0, in_w = 0, in_c = 0;
  uint16_t out_h = 0, out_w = 0, out_c = 0;
};

PROXYSIM_HD inline double op_in_elems(const Op& op) {
  return static_cast<double>(op.in_h) * op.in_w * op.in_c;
}
PROXYSIM_HD inline double op_out_elems(const Op& op) {
  return static_cast<double>(op.out_h) * op.out_w * op.out_c;
}

// Multiply-accumulates of one inference at batch 1, counted as published NAS
// benchmarks count "FLOPs": convolutions and fully connected layers only.
PROXYSIM_HD inline double op_macs(const Op& op) {
  switch (op.kind) {
    case OpKind::kConv:
      return op_out_elems(op) * (static_cast<double>(op.in_c) / op.groups) * op.kernel * op.kernel;
    case OpKind::kDepthwiseConv:
      return op_out_elems(op) * op.kernel * op.kernel;
    case OpKind::kFullyConnected:
      return static_cast<double>(op.in_c) * op.out_c;
    default:
      return 0.0;
  }
}

// Arithmetic of the ops that op_macs leaves out (one per window element for
// pooling, one per element otherwise): what a latency model charges them.
PROXYSIM_HD inline double op_vector_work(const Op& op) {
  switch (op.kind) {
    case OpKind::kConv:
    case OpKind::kDepthwiseConv:
    case OpKind::kFullyConnected:
      return 0.0;
    case OpKind::kAvgPool:
    case OpKind::kMaxPool:
      return op_out_elems(op) * op.kernel * op.kernel;
    case OpKind::kGlobalPool:
      return op_in_elems(op);
    default:
      return op_out_elems(op);
  }
}

// Learned parameters: conv and FC weights, FC bias, and the two affine BN vectors.
PROXYSIM_HD inline double op_params(const Op& op) {
  double p = 0.0;
  switch (op.kind) {
    case OpKind::kConv:
      p = static_cast<double>(op.out_c) * (static_cast<double>(op.in_c) / op.groups) * op.kernel *
          op.kernel;
      break;
    case OpKind::kDepthwiseConv:
      p = static_cast<double>(op.out_c) * op.kernel * op.kernel;
      break;
    case OpKind::kFullyConnected:
      p = static_cast<double>(op.in_c) * op.out_c + op.out_c;
      break;
    case OpKind::kBatchNorm:
      p = 2.0 * op.out_c;
      break;
    default:
      break;
  }
  if ((op.flags & kOpBn) != 0) p += 2.0 * op.out_c;
  return p;
}

// Weight elements an op streams from memory (BN vectors are negligible and folded).
PROXYSIM_HD inline double op_weight_elems(const Op& op) {
  switch (op.kind) {
    case OpKind::kConv:
    case OpKind::kDepthwiseConv:
    case OpKind::kFullyConnected:
      return op_params(op) - ((op.flags & kOpBn) != 0 ? 2.0 * op.out_c : 0.0);
    default:
      return 0.0;
  }
}

// Activation elements read: a residual add reads two full tensors, everything else one.
PROXYSIM_HD inline double op_input_elems_read(const Op& op) {
  return op.kind == OpKind::kAdd ? 2.0 * op_in_elems(op) : op_in_elems(op);
}

// Elements moved by one unfused execution, the "bytes moved" at one byte per element.
PROXYSIM_HD inline double op_elems_moved(const Op& op) {
  return op_input_elems_read(op) + op_out_elems(op) + op_weight_elems(op);
}

}  // namespace proxysim
