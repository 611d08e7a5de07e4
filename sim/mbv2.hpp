// A MobileNetV2-based search space on ImageNet 224x224: MobileNetV2-1.0's macro-
// architecture (Sandler et al., CVPR 2018; channels, strides and head as torchvision's
// mobilenet_v2) made elastic the way Once-for-All's MobileNetV2-based super-network
// (ofa_proxyless_d234_e346_k357, Cai et al., ICLR 2020) is: five stages of 2..4
// blocks and a last stage of one, every block's depthwise kernel 3/5/7 and expansion
// 3/4/6. Lu et al. (SIGMETRICS 2022) name a MobileNetV2 space without a definition
// that could be found in public; this is the common super-network their description
// fits (docs/ARCHITECTURE.md, "The MobileNetV2 space").
//
//   stem      3x3 conv stride 2 to 32 channels, BN, ReLU6
//   block 0   fixed (t = 1): 3x3 depthwise, 1x1 projection to 16
//   stage s   s = 0..4: channels 24, 32, 64, 96, 160; first block's stride 2, 2, 2, 1, 2;
//             depth 2, 3 or 4
//   stage 5   one block to 320 channels, stride 1
//   head      1x1 conv to 1280, BN, ReLU6; global pool; classifier 1280 -> 1000
//
// A block: 1x1 expand to c_in * e (BN, ReLU6), k x k depthwise (BN, ReLU6), 1x1 linear
// projection (BN), residual when the stride is 1 and c_in == c_out. Every c_in * e is a
// multiple of 8, so OFA's make_divisible changes nothing. MobileNetV2-1.0 itself is
// d2-3-4-3-3 with every kernel 3 and expansion 6 (300.8 M multiply-adds, 3,504,872
// parameters; tests/sim/mbv2_test.cpp counts it by hand).
//
// Code: [depth x5, kernel x21, expand x21], one byte each; slot 4 s + j is block j of
// stage s, slot 20 the last stage's block.
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "sim/lowering.hpp"

namespace proxysim::mbv2 {

inline constexpr int kStages = 5;    // elastic stages; the 320-channel stage is fixed at one block
inline constexpr int kMaxDepth = 4;
inline constexpr int kSlots = kStages * kMaxDepth + 1;
inline constexpr int kLastSlot = kSlots - 1;
inline constexpr int kDecisions = kStages + 2 * kSlots;
inline constexpr int kDepthOffset = 0;
inline constexpr int kKernelOffset = kStages;
inline constexpr int kExpandOffset = kStages + kSlots;
inline constexpr int kKernelChoices[3] = {3, 5, 7};  // host-side tables for parsing
inline constexpr int kExpandChoices[3] = {3, 4, 6};
inline constexpr int kDepthChoices[3] = {2, 3, 4};
PROXYSIM_HD constexpr int kernel_choice(int i) { return 3 + 2 * i; }
PROXYSIM_HD constexpr int expand_choice(int i) { return i == 2 ? 6 : 3 + i; }
PROXYSIM_HD constexpr int stage_channels(int s) { constexpr int t[kStages + 1] = {24, 32, 64, 96, 160, 320}; return t[s]; }
PROXYSIM_HD constexpr int stage_stride(int s) { constexpr int t[kStages + 1] = {2, 2, 2, 1, 2, 1}; return t[s]; }
inline constexpr int kStemChannels = 32;
inline constexpr int kFirstBlockChannels = 16;
inline constexpr int kHeadChannels = 1280;
inline constexpr int kInput = 224;
// Slot choices as a chain: 3 kernels x 3 expansions, or 9 = slot unused (identity).
inline constexpr int kSlotChoices = 10;
inline constexpr int kUnusedSlot = 9;

PROXYSIM_HD inline int slot_stage(int slot) { return slot == kLastSlot ? kStages : slot / kMaxDepth; }

PROXYSIM_HD inline int slot_choice(const uint8_t* code, int slot) {
  if (slot != kLastSlot) {
    const int depth = 2 + code[kDepthOffset + slot / kMaxDepth];
    if (slot % kMaxDepth >= depth) return kUnusedSlot;
  }
  return code[kKernelOffset + slot] * 3 + code[kExpandOffset + slot];
}

PROXYSIM_HD inline bool is_identity(int slot, int choice) {
  (void)slot;
  return choice == kUnusedSlot;
}

// Blocks, for devices whose latencies are sums of blocks timed alone: the stem with
// the fixed first block, each slot, the head.
template <class Sink>
PROXYSIM_HD Tensor lower_prefix(const SpaceParams& p, Emitter<Sink>& em) {
  Tensor x = em.input(p.input_hw, p.input_hw, 3);
  em.begin_block();
  x = em.conv(x, kStemChannels, 3, 2, 1, kOpBn | kOpAct);
  x = em.conv(x, kStemChannels, 3, 1, kStemChannels, kOpBn | kOpAct);
  return em.conv(x, kFirstBlockChannels, 1, 1, 1, kOpBn);
}

template <class Sink>
PROXYSIM_HD Tensor lower_slot(int slot, int choice, Emitter<Sink>& em, Tensor x) {
  if (choice == kUnusedSlot) return x;
  em.begin_block();
  const int stage = slot_stage(slot);
  const bool first = slot == kLastSlot || slot % kMaxDepth == 0;
  const int stride = first ? stage_stride(stage) : 1;
  const uint16_t out_c = static_cast<uint16_t>(stage_channels(stage));
  const int k = kernel_choice(choice / 3);
  const uint16_t mid = static_cast<uint16_t>(x.c * expand_choice(choice % 3));
  Tensor y = em.conv(x, mid, 1, 1, 1, kOpBn | kOpAct);
  y = em.conv(y, mid, k, stride, mid, kOpBn | kOpAct);
  y = em.conv(y, out_c, 1, 1, 1, kOpBn);
  if (stride == 1 && x.c == out_c) y = em.elementwise(y, OpKind::kAdd);
  return y;
}

template <class Sink>
PROXYSIM_HD void lower_suffix(const SpaceParams& p, Emitter<Sink>& em, Tensor x) {
  em.begin_block();
  x = em.conv(x, kHeadChannels, 1, 1, 1, kOpBn | kOpAct);
  x = em.pool(x, OpKind::kGlobalPool, 0, 1);
  em.fully_connected(x, p.classes);
}

template <class Sink>
PROXYSIM_HD void lower(const uint8_t* code, const SpaceParams& p, Sink& sink) {
  Emitter<Sink> em(sink);
  Tensor x = lower_prefix(p, em);
  for (int s = 0; s < kSlots; ++s) x = lower_slot(s, slot_choice(code, s), em, x);
  lower_suffix(p, em, x);
}

}  // namespace proxysim::mbv2
