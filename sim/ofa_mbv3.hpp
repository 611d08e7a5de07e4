// Once-for-All MobileNetV3 (Cai et al., ICLR 2020), ofa_mbv3_d234_e346_k357_w1.0:
// 5 elastic stages of 2..4 blocks, kernel 3/5/7, expansion 3/4/6, input 128..224.
// Code: [resolution, depth x5, kernel x20, expand x20], one byte each.
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "sim/lowering.hpp"

namespace proxysim::ofa {

inline constexpr int kStages = 5;
inline constexpr int kMaxDepth = 4;
inline constexpr int kSlots = kStages * kMaxDepth;
inline constexpr int kResolutions = 25;  // 128, 132, ..., 224
inline constexpr int kDecisions = 1 + kStages + 2 * kSlots;
inline constexpr int kDepthOffset = 1;
inline constexpr int kKernelOffset = 1 + kStages;
inline constexpr int kExpandOffset = 1 + kStages + kSlots;
inline constexpr int kKernelChoices[3] = {3, 5, 7};  // host-side tables for parsing
inline constexpr int kExpandChoices[3] = {3, 4, 6};
PROXYSIM_HD constexpr int kernel_choice(int i) { return 3 + 2 * i; }
PROXYSIM_HD constexpr int expand_choice(int i) { return i == 2 ? 6 : 3 + i; }
PROXYSIM_HD constexpr int stage_channels(int s) { constexpr int t[kStages] = {24, 40, 80, 112, 160}; return t[s]; }
PROXYSIM_HD constexpr int stage_stride(int s) { return s == 3 ? 1 : 2; }
PROXYSIM_HD constexpr bool stage_se(int s) { return s == 1 || s == 3 || s == 4; }
inline constexpr int kStemChannels = 16;
inline constexpr int kFinalExpand = 960;
inline constexpr int kFeatureMix = 1280;
// Slot choices as a chain: 3 kernels x 3 expansions, or 9 = slot unused (identity).
inline constexpr int kSlotChoices = 10;
inline constexpr int kUnusedSlot = 9;

PROXYSIM_HD inline int resolution(int index) { return 128 + 4 * index; }

// OFA's make_divisible(v, 8), from the MobileNet reference code.
PROXYSIM_HD inline int make_divisible(double v, int divisor = 8) {
  int n = static_cast<int>(v + divisor / 2.0) / divisor * divisor;
  if (n < divisor) n = divisor;
  if (n < 0.9 * v) n += divisor;
  return n;
}

PROXYSIM_HD inline int slot_choice(const uint8_t* code, int slot) {
  const int stage = slot / kMaxDepth;
  const int depth = 2 + code[kDepthOffset + stage];
  if (slot % kMaxDepth >= depth) return kUnusedSlot;
  return code[kKernelOffset + slot] * 3 + code[kExpandOffset + slot];
}

PROXYSIM_HD inline bool is_identity(int slot, int choice) {
  (void)slot;
  return choice == kUnusedSlot;
}

template <class Sink>
PROXYSIM_HD Tensor lower_prefix(int res_index, Emitter<Sink>& em) {
  const uint16_t r = static_cast<uint16_t>(resolution(res_index));
  Tensor x = em.input(r, r, 3);
  em.begin_block();  // blocks: the stem with the fixed first block, each slot, the head
  x = em.conv(x, kStemChannels, 3, 2, 1, kOpBn | kOpAct);
  // The fixed first block: depthwise 3x3 and a 1x1 projection, identity shortcut.
  Tensor y = em.conv(x, kStemChannels, 3, 1, kStemChannels, kOpBn | kOpAct);
  y = em.conv(y, kStemChannels, 1, 1, 1, kOpBn);
  return em.elementwise(y, OpKind::kAdd);
}

// One MBConv block: 1x1 expand, kxk depthwise, squeeze-excitation where the stage
// has it, 1x1 project, residual when the shape is kept.
template <class Sink>
PROXYSIM_HD Tensor lower_slot(int slot, int choice, Emitter<Sink>& em, Tensor x) {
  if (choice == kUnusedSlot) return x;
  em.begin_block();
  const int stage = slot / kMaxDepth;
  const bool first = slot % kMaxDepth == 0;
  const int stride = first ? stage_stride(stage) : 1;
  const uint16_t out_c = static_cast<uint16_t>(stage_channels(stage));
  const int k = kernel_choice(choice / 3);
  const uint16_t mid = static_cast<uint16_t>(make_divisible(x.c * static_cast<double>(expand_choice(choice % 3))));
  Tensor y = em.conv(x, mid, 1, 1, 1, kOpBn | kOpAct);
  y = em.conv(y, mid, k, stride, mid, kOpBn | kOpAct);
  if (stage_se(stage)) {
    Tensor s = em.pool(y, OpKind::kGlobalPool, 0, 1);
    const int se_channels = mid / 4;  // OFA's SEModule: make_divisible(channel // 4), the floor first
    s = em.fully_connected(s, static_cast<uint16_t>(make_divisible(se_channels)), kOpAct);
    s = em.fully_connected(s, mid, kOpAct);
    (void)s;
    y = em.elementwise(y, OpKind::kMul);
  }
  const bool residual = stride == 1 && x.c == out_c;
  y = em.conv(y, out_c, 1, 1, 1, kOpBn);
  if (residual) y = em.elementwise(y, OpKind::kAdd);
  return y;
}

template <class Sink>
PROXYSIM_HD void lower_suffix(const SpaceParams& p, Emitter<Sink>& em, Tensor x) {
  em.begin_block();
  x = em.conv(x, kFinalExpand, 1, 1, 1, kOpBn | kOpAct);
  x = em.pool(x, OpKind::kGlobalPool, 0, 1);
  x = em.conv(x, kFeatureMix, 1, 1, 1, kOpAct);
  em.fully_connected(x, p.classes);
}

template <class Sink>
PROXYSIM_HD void lower(const uint8_t* code, const SpaceParams& p, Sink& sink) {
  Emitter<Sink> em(sink);
  Tensor x = lower_prefix(code[0], em);
  for (int s = 0; s < kSlots; ++s) x = lower_slot(s, slot_choice(code, s), em, x);
  lower_suffix(p, em, x);
}

}  // namespace proxysim::ofa
