// FBNet (Wu et al., CVPR 2019) as HW-NAS-Bench uses it on CIFAR-100: a fixed stem
// and head around 22 searchable layers, 9 block choices each. The CIFAR macro-
// architecture is HW-NAS-Bench's (hw_nas_bench_api, fbnet_get_metrics and its
// FBNet_Infer): stem 3x3 stride 1, stage strides 1, 1, 2, 2, 1, 2, 1 (the ImageNet
// setting's 1, 2, 2, 2, 1, 2, 1 with the second stage kept at 32x32), head 1x1 to
// 1504 channels; a skip across a shape change is a 1x1 conv with BN and ReLU.
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "sim/lowering.hpp"

namespace proxysim::fbnet {

inline constexpr int kLayers = 22;
inline constexpr int kChoices = 9;
inline constexpr int kSkip = 8;
inline constexpr int kStemChannels = 16;
inline constexpr int kHeadChannels = 1504;
inline constexpr int kStages = 7;
// Tables as functions: namespace-scope arrays are not visible in device code.
PROXYSIM_HD constexpr int stage_layers(int s) { constexpr int t[kStages] = {1, 4, 4, 4, 4, 4, 1}; return t[s]; }
PROXYSIM_HD constexpr int stage_channels(int s) { constexpr int t[kStages] = {16, 24, 32, 64, 112, 184, 352}; return t[s]; }
PROXYSIM_HD constexpr int stage_stride(int s) { constexpr int t[kStages] = {1, 1, 2, 2, 1, 2, 1}; return t[s]; }
// Block choice -> kernel, expansion, groups of its 1x1 convolutions.
PROXYSIM_HD constexpr int choice_kernel(int c) { return c < 4 ? 3 : 5; }
PROXYSIM_HD constexpr int choice_expand(int c) { constexpr int t[kChoices] = {1, 1, 3, 6, 1, 1, 3, 6, 0}; return t[c]; }
PROXYSIM_HD constexpr int choice_groups(int c) { return c == 1 || c == 5 ? 2 : 1; }

// Input channels, output channels and stride of searchable layer `l`.
struct LayerShape {
  int in_c, out_c, stride;
};
PROXYSIM_HD inline LayerShape layer_shape(int l) {
  int first = 0;
  int in_c = kStemChannels;
  for (int s = 0; s < kStages; ++s) {
    if (l < first + stage_layers(s)) {
      const bool head_of_stage = l == first;
      return {head_of_stage ? in_c : stage_channels(s), stage_channels(s), head_of_stage ? stage_stride(s) : 1};
    }
    first += stage_layers(s);
    in_c = stage_channels(s);
  }
  return {0, 0, 0};
}

PROXYSIM_HD inline bool is_identity(int l, int choice) {
  const LayerShape s = layer_shape(l);
  return choice == kSkip && s.stride == 1 && s.in_c == s.out_c;
}

// Blocks, as HW-NAS-Bench's lookup tables time them one at a time: the stem, each
// searchable layer, the head.
template <class Sink>
PROXYSIM_HD Tensor lower_prefix(const SpaceParams& p, Emitter<Sink>& em) {
  Tensor x = em.input(p.input_hw, p.input_hw, 3);
  em.begin_block();
  return em.conv(x, kStemChannels, 3, 1, 1, kOpBn | kOpAct);
}

// One searchable layer: FBNet's inverted-residual block (1x1 expand, channel
// shuffle when grouped, kxk depthwise, 1x1 project, residual when shapes match),
// or a skip that is the identity or, across a shape change, a 1x1 convolution.
template <class Sink>
PROXYSIM_HD Tensor lower_layer(int l, int choice, Emitter<Sink>& em, Tensor x) {
  const LayerShape s = layer_shape(l);
  const uint16_t out_c = static_cast<uint16_t>(s.out_c);
  em.begin_block();
  if (choice == kSkip) {
    if (is_identity(l, choice)) return x;
    return em.conv(x, out_c, 1, s.stride, 1, kOpBn | kOpAct);
  }
  const int g = choice_groups(choice);
  const uint16_t mid = static_cast<uint16_t>(s.in_c * choice_expand(choice));
  Tensor y = em.conv(x, mid, 1, 1, g, kOpBn | kOpAct);
  if (g > 1) y = em.elementwise(y, OpKind::kChannelShuffle);
  y = em.conv(y, mid, choice_kernel(choice), s.stride, mid, kOpBn | kOpAct);
  y = em.conv(y, out_c, 1, 1, g, kOpBn);
  if (s.stride == 1 && s.in_c == s.out_c) y = em.elementwise(y, OpKind::kAdd);
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
  for (int l = 0; l < kLayers; ++l) x = lower_layer(l, code[l], em, x);
  lower_suffix(p, em, x);
}

}  // namespace proxysim::fbnet
