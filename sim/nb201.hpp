// NAS-Bench-201 (Dong & Yang, ICLR 2020): a 4-node cell with 6 edges x 5 ops,
// stacked 5 cells x 3 stages with two ResNet reduction blocks, lowered as the
// official TinyNetwork executes it (xautodl's InferCell, ResNetBasicblock).
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "sim/lowering.hpp"

namespace proxysim::nb201 {

inline constexpr int kEdges = 6;
inline constexpr int kOps = 5;
inline constexpr int kArchs = 15625;
inline constexpr int kCellsPerStage = 5;
inline constexpr int kStemChannels = 16;
enum Nb201Op : uint8_t { kNone = 0, kSkip = 1, kConv1x1 = 2, kConv3x3 = 3, kAvgPool = 4 };
// Edge e joins node edge_from(e) to node edge_to(e), in the official string order.
PROXYSIM_HD constexpr int edge_from(int e) { return e == 2 || e == 4 ? 1 : e == 5 ? 2 : 0; }
PROXYSIM_HD constexpr int edge_to(int e) { return e == 0 ? 1 : e <= 2 ? 2 : 3; }

// How an edge's op fares under dead-branch removal. `used`: a non-'none' edge whose
// target reaches the output (its result is consumed). `fed`: its source is reachable
// from the input (else it only ever sees constant zeros). Every pruning runtime drops
// unused ops; only constant-folding ones also drop ops fed by zeros (the HW-NAS-Bench
// TFLite exports measured in help_nb201 keep them: see DeviceParams::fold_zero_inputs).
// Returns whether the output is reachable at all (15625 - 341 architectures are).
PROXYSIM_HD inline bool edge_liveness(const uint8_t* code, bool used[kEdges], bool fed[kEdges]) {
  bool on[kEdges];
  for (int e = 0; e < kEdges; ++e) on[e] = code[e] != kNone;
  bool fwd[4] = {true, false, false, false};
  for (int e = 0; e < kEdges; ++e) fwd[edge_to(e)] = fwd[edge_to(e)] || (on[e] && fwd[edge_from(e)]);
  bool bwd[4] = {false, false, false, true};
  for (int e = kEdges - 1; e >= 0; --e) bwd[edge_from(e)] = bwd[edge_from(e)] || (on[e] && bwd[edge_to(e)]);
  for (int e = 0; e < kEdges; ++e) {
    used[e] = on[e] && bwd[edge_to(e)];
    fed[e] = fwd[edge_from(e)];
  }
  return fwd[3];
}

PROXYSIM_HD inline bool connected(const uint8_t* code) {
  bool used[kEdges], fed[kEdges];
  return edge_liveness(code, used, fed);
}

template <class Sink>
PROXYSIM_HD Tensor lower_cell(const uint8_t* code, const bool used[kEdges], const bool fed[kEdges], Emitter<Sink>& em,
                              Tensor x) {
  Tensor node[4];
  node[0] = x;
  int e = 0;
  for (int j = 1; j < 4; ++j) {
    Tensor acc;
    bool acc_used = false;  // some operand so far survives a pruning runtime
    bool acc_live = false;  // ... and a constant-folding one
    for (int i = 0; i < j; ++i, ++e) {
      const bool live = used[e] && fed[e];
      const uint8_t dead = !used[e] ? kOpDead : !fed[e] ? kOpZeroFed : 0;
      Tensor y;
      switch (code[e]) {
        case kNone: y = em.elementwise(node[i], OpKind::kMul, kOpZero | kOpDead); break;
        case kSkip: y = node[i]; break;
        case kConv1x1: y = em.conv(node[i], node[i].c, 1, 1, 1, kOpAct | kOpBn | dead); break;
        case kConv3x3: y = em.conv(node[i], node[i].c, 3, 1, 1, kOpAct | kOpBn | dead); break;
        default: y = em.pool(node[i], OpKind::kAvgPool, 3, 1, dead); break;
      }
      if (i == 0) {
        acc = y;
      } else {
        // A pruning runtime keeps an add only where two surviving operands meet.
        const uint8_t add_dead = !(used[e] && acc_used) ? kOpDead : !(live && acc_live) ? kOpZeroFed : 0;
        acc = em.elementwise(y, OpKind::kAdd, add_dead);
      }
      acc_used = acc_used || used[e];
      acc_live = acc_live || live;
    }
    node[j] = acc;
  }
  return node[3];
}

// ResNet basic block with stride 2 (the two fixed reduction cells).
template <class Sink>
PROXYSIM_HD Tensor lower_reduction(Emitter<Sink>& em, Tensor x, uint16_t out_c) {
  Tensor a = em.conv(x, out_c, 3, 2, 1, kOpAct | kOpBn);
  Tensor b = em.conv(a, out_c, 3, 1, 1, kOpAct | kOpBn);
  Tensor p = em.pool(x, OpKind::kAvgPool, 2, 2);
  Tensor q = em.conv(p, out_c, 1, 1, 1, 0);
  (void)b;
  return em.elementwise(q, OpKind::kAdd);
}

template <class Sink>
PROXYSIM_HD void lower(const uint8_t* code, const SpaceParams& p, Sink& sink) {
  Emitter<Sink> em(sink);
  // Per-block measurements of NB201 are layer-wise (HW-NAS-Bench's Eyeriss and FPGA
  // estimates are exactly additive over edge operators): every op is a block.
  em.op_blocks = true;
  bool used[kEdges], fed[kEdges];
  // A pruning runtime folds a constant-zero cell output back through everything
  // upstream of it: only the head survives (HW-NAS-Bench's near-zero latencies).
  if (!edge_liveness(code, used, fed)) em.extra_flags = kOpDead;
  Tensor x = em.input(p.input_hw, p.input_hw, 3);
  x = em.conv(x, kStemChannels, 3, 1, 1, kOpBn);
  uint16_t c = kStemChannels;
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      c = static_cast<uint16_t>(c * 2);
      x = lower_reduction(em, x, c);
    }
    for (int cell = 0; cell < kCellsPerStage; ++cell) x = lower_cell(code, used, fed, em, x);
  }
  em.extra_flags = 0;
  x = em.elementwise(x, OpKind::kBatchNorm, kOpAct | kOpKeepAlive);
  x = em.pool(x, OpKind::kGlobalPool, 0, 1, kOpKeepAlive);
  em.fully_connected(x, p.classes, kOpKeepAlive);
}

}  // namespace proxysim::nb201
