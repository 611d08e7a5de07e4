// FBNet lowering against hand-computed MACs, parameters and op lists per block type, a reference loop written here over the 5000 real HELP architectures, and the string encoding; counts are exact integers below 2^53, so exact equality.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/rng.hpp"
#include "base/error.hpp"
#include "sim/fbnet.hpp"
#include "sim/space.hpp"
#include "tests/support/ops.hpp"
#include "tests/support/refusals.hpp"

using namespace proxysim;
using proxysim::test::Collect;
using proxysim::test::parse_error_of;
using proxysim::test::sum_macs;
using proxysim::test::sum_params;

namespace {

// One searchable layer lowered alone on an input of the given shape.
std::vector<Op> layer_ops(int layer, int choice, uint16_t hw, uint16_t c) {
  Collect sink;
  Emitter<Collect> em(sink);
  Tensor x = em.input(hw, hw, c);
  fbnet::lower_layer(layer, choice, em, x);
  return sink.ops;
}


// FBNet's macro-architecture for CIFAR (HW-NAS-Bench's fbnet_get_metrics: stage
// strides 1, 1, 2, 2, 1, 2, 1 after a stride-1 stem): per searchable layer, input
// channels, output channels and stride; the first layer of each stage changes shape.
struct Shape {
  int in_c, out_c, stride;
};
constexpr Shape kShapes[22] = {
    {16, 16, 1},                                            // stage 1: 16, s1
    {16, 24, 1},   {24, 24, 1},   {24, 24, 1},   {24, 24, 1},    // 24, s1
    {24, 32, 2},   {32, 32, 1},   {32, 32, 1},   {32, 32, 1},    // 32, s2
    {32, 64, 2},   {64, 64, 1},   {64, 64, 1},   {64, 64, 1},    // 64, s2
    {64, 112, 1},  {112, 112, 1}, {112, 112, 1}, {112, 112, 1},  // 112, s1
    {112, 184, 2}, {184, 184, 1}, {184, 184, 1}, {184, 184, 1},  // 184, s2
    {184, 352, 1}};                                         // 352, s1
// Block choice -> kernel, expansion, groups (skip = 8).
constexpr int kKernel[8] = {3, 3, 3, 3, 5, 5, 5, 5};
constexpr int kExpand[8] = {1, 1, 3, 6, 1, 1, 3, 6};
constexpr int kGroups[8] = {1, 2, 1, 1, 1, 2, 1, 1};

struct Counts {
  double macs = 0, params = 0;
  int ops = 0;
};

// Reference: the whole network counted from the formulas, layer by layer.
Counts reference(const uint8_t* code) {
  Counts r;
  int h = 32;
  r.macs += 32.0 * 32 * 16 * (3 * 3 * 3);  // stem conv3x3 3->16, BN, ReLU
  r.params += 16 * 27 + 2 * 16;
  r.ops += 1;
  for (int l = 0; l < 22; ++l) {
    const Shape s = kShapes[l];
    const int ho = (h + s.stride - 1) / s.stride;
    if (code[l] == 8) {
      if (s.stride != 1 || s.in_c != s.out_c) {
        r.macs += double(ho) * ho * s.out_c * s.in_c;
        r.params += double(s.out_c) * s.in_c + 2 * s.out_c;
        r.ops += 1;
      }
    } else {
      const int k = kKernel[code[l]], e = kExpand[code[l]], g = kGroups[code[l]];
      const int mid = s.in_c * e;
      r.macs += double(h) * h * mid * (s.in_c / g) + double(ho) * ho * mid * k * k + double(ho) * ho * s.out_c * (mid / g);
      r.params += double(mid) * (s.in_c / g) + 2 * mid + double(mid) * k * k + 2 * mid + double(s.out_c) * (mid / g) + 2 * s.out_c;
      r.ops += 3 + (g > 1 ? 1 : 0) + (s.stride == 1 && s.in_c == s.out_c ? 1 : 0);
    }
    h = ho;
  }
  r.macs += double(h) * h * 1504 * 352 + 1504.0 * 100;  // head 1x1 352->1504, pool, FC 1504->100
  r.params += 1504.0 * 352 + 2 * 1504 + 1504.0 * 100 + 100;
  r.ops += 3;
  return r;
}

}  // namespace

TEST(Fbnet, LayerShapesMatchTheMacroArchitecture) {
  for (int l = 0; l < 22; ++l) {
    const fbnet::LayerShape s = fbnet::layer_shape(l);
    EXPECT_EQ(s.in_c, kShapes[l].in_c) << "layer " << l;
    EXPECT_EQ(s.out_c, kShapes[l].out_c) << "layer " << l;
    EXPECT_EQ(s.stride, kShapes[l].stride) << "layer " << l;
  }
}

// Layer 5 (24 -> 32, stride 2) as k5_e6 on its 32x32 input:
//   expand 1x1 24->144 @32x32:   1024*144*24 = 3,538,944 MACs; 144*24 + 2*144 = 3,744 params
//   depthwise 5x5 s2 @16x16:     256*144*25  =   921,600 MACs; 144*25 + 2*144 = 3,888 params
//   project 1x1 144->32 @16x16:  256*32*144  = 1,179,648 MACs; 32*144 + 2*32  = 4,672 params
//   no residual across the shape change.
TEST(Fbnet, K5E6StridedBlock) {
  const auto ops = layer_ops(5, 7, 32, 24);
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].kind, OpKind::kConv);
  EXPECT_EQ(ops[0].kernel, 1);
  EXPECT_EQ(ops[0].out_c, 144);
  EXPECT_EQ(ops[0].out_h, 32);
  EXPECT_EQ(ops[1].kind, OpKind::kDepthwiseConv);
  EXPECT_EQ(ops[1].kernel, 5);
  EXPECT_EQ(ops[1].stride, 2);
  EXPECT_EQ(ops[1].groups, 144);
  EXPECT_EQ(ops[1].out_h, 16);
  EXPECT_EQ(ops[2].kind, OpKind::kConv);
  EXPECT_EQ(ops[2].in_c, 144);
  EXPECT_EQ(ops[2].out_c, 32);
  EXPECT_EQ(ops[2].out_h, 16);
  EXPECT_EQ(sum_macs(ops), 1024.0 * 144 * 24 + 256.0 * 144 * 25 + 256.0 * 32 * 144);
  EXPECT_EQ(sum_macs(ops), 5640192.0);
  EXPECT_EQ(sum_params(ops), (144 * 24 + 288) + (144 * 25 + 288) + (32 * 144 + 64));
  EXPECT_EQ(sum_params(ops), 12304.0);
}

// Layer 3 (24 -> 24, stride 1) as k3_e1_g2 on 32x32: grouped 1x1 convs with a channel shuffle, residual add.
//   expand 1x1 g2 24->24: 1024*24*12 = 294,912 MACs; 24*12 + 48 = 336 params
//   shuffle; depthwise 3x3: 1024*24*9 = 221,184 MACs; 24*9 + 48 = 264 params
//   project 1x1 g2 24->24: 294,912 MACs; 336 params; add
TEST(Fbnet, GroupedBlockWithShuffleAndResidual) {
  const auto ops = layer_ops(3, 1, 32, 24);
  ASSERT_EQ(ops.size(), 5u);
  const OpKind kinds[5] = {OpKind::kConv, OpKind::kChannelShuffle, OpKind::kDepthwiseConv, OpKind::kConv, OpKind::kAdd};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ops[i].kind, kinds[i]) << "op " << i;
  EXPECT_EQ(ops[0].groups, 2);
  EXPECT_EQ(ops[3].groups, 2);
  EXPECT_EQ(ops[2].kernel, 3);
  EXPECT_EQ(sum_macs(ops), 2 * 294912.0 + 221184.0);
  EXPECT_EQ(sum_params(ops), 336.0 + 264.0 + 336.0);
  // k5_e1_g2 on the same layer: only the depthwise kernel changes, 1024*24*25 = 614,400 MACs, 24*25 + 48 = 648 params.
  const auto ops5 = layer_ops(3, 5, 32, 24);
  ASSERT_EQ(ops5.size(), 5u);
  EXPECT_EQ(sum_macs(ops5), 2 * 294912.0 + 614400.0);
  EXPECT_EQ(sum_params(ops5), 336.0 + 648.0 + 336.0);
}

// Layer 17 (112 -> 184, stride 2) as k3_e3 on 8x8:
//   expand 112->336 @8x8: 64*336*112 = 2,408,448; depthwise 3x3 s2 @4x4: 16*336*9 = 48,384; project 336->184: 16*184*336 = 989,184
//   params 336*112+672 + 336*9+672 + 184*336+368 = 38,304 + 3,696 + 62,192 = 104,192
TEST(Fbnet, K3E3Block) {
  const auto ops = layer_ops(17, 2, 8, 112);
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(sum_macs(ops), 2408448.0 + 48384.0 + 989184.0);
  EXPECT_EQ(sum_params(ops), 104192.0);
  EXPECT_EQ(ops[2].out_h, 4);
}

// Skip: the identity where the shape is kept, a 1x1 conv with BN and ReLU (HW-NAS-Bench's
// Skip module) where it changes.
//   layer 1, 16 -> 24 s1 @32x32: 32*32*24*16 = 393,216 MACs; 24*16 + 48 = 432 params
//   layer 5, 24 -> 32 s2 @32x32: 16*16*32*24 = 196,608 MACs; 32*24 + 64 = 832 params
//   layer 13, 64 -> 112 s1 @8x8: 8*8*112*64 = 458,752 MACs; 112*64 + 224 = 7,392 params
TEST(Fbnet, SkipIsIdentityOrProjection) {
  EXPECT_TRUE(layer_ops(2, 8, 32, 24).empty());
  EXPECT_TRUE(layer_ops(0, 8, 32, 16).empty());
  const auto widen1 = layer_ops(1, 8, 32, 16);
  ASSERT_EQ(widen1.size(), 1u);
  EXPECT_EQ(widen1[0].kind, OpKind::kConv);
  EXPECT_EQ(widen1[0].kernel, 1);
  EXPECT_EQ(widen1[0].stride, 1);
  EXPECT_EQ(widen1[0].out_h, 32);
  EXPECT_NE(widen1[0].flags & kOpBn, 0);
  EXPECT_NE(widen1[0].flags & kOpAct, 0);
  EXPECT_EQ(sum_macs(widen1), 32.0 * 32 * 24 * 16);
  EXPECT_EQ(sum_params(widen1), 432.0);
  const auto down = layer_ops(5, 8, 32, 24);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].stride, 2);
  EXPECT_EQ(down[0].out_h, 16);
  EXPECT_EQ(sum_macs(down), 196608.0);
  EXPECT_EQ(sum_params(down), 832.0);
  const auto widen = layer_ops(13, 8, 8, 64);
  ASSERT_EQ(widen.size(), 1u);
  EXPECT_EQ(widen[0].stride, 1);
  EXPECT_EQ(sum_macs(widen), 458752.0);
  EXPECT_EQ(sum_params(widen), 7392.0);
}

// All skips: stem + the six shape-changing 1x1 convs + head; maps 32, 32, 16, 8, 8, 4, 4 by stage.
//   stem 1024*16*27 = 442,368 MACs, 464 params
//   skips: L1 393,216 + L5 196,608 + L9 64*64*32 = 131,072 + L13 458,752 + L17 16*184*112 = 329,728 + L21 16*352*184 = 1,036,288
//          = 2,545,664 MACs; params 432 + 832 + 2,176 + 7,392 + 20,976 + 65,472 = 97,280
//   head 1x1 352->1504 @4x4: 16*1504*352 = 8,470,528 MACs, 529,408 + 3,008 params; FC 1504->100: 150,400 MACs, 150,500 params
TEST(Fbnet, AllSkipNetwork) {
  const SearchSpace s = make_space("fbnet");
  EXPECT_EQ(s.params().input_hw, 32);
  EXPECT_EQ(s.params().classes, 100);
  const ArchCode code(22, 8);
  const std::vector<Op> ops = s.lower(code);
  ASSERT_EQ(ops.size(), 10u);
  EXPECT_EQ(ops[0].kind, OpKind::kConv);
  EXPECT_EQ(ops[0].kernel, 3);
  EXPECT_EQ(ops[0].out_c, 16);
  EXPECT_EQ(ops[7].out_c, 1504);
  EXPECT_EQ(ops[7].in_h, 4);
  EXPECT_EQ(ops[8].kind, OpKind::kGlobalPool);
  EXPECT_EQ(ops[9].kind, OpKind::kFullyConnected);
  EXPECT_EQ(ops[9].out_c, 100);
  const OpTotals t = s.totals(code);
  EXPECT_EQ(t.macs, 442368.0 + 2545664.0 + 8470528.0 + 150400.0);
  EXPECT_EQ(t.params, 464.0 + 97280.0 + (529408.0 + 3008.0) + 150500.0);
  EXPECT_EQ(t.ops, 10);
}

TEST(Fbnet, SampledArchitecturesMatchTheReferenceLoop) {
  const SearchSpace s = make_space("fbnet");
  for (uint64_t i = 0; i < 3000; ++i) {
    const ArchCode code = s.sample(11, i);
    const Counts r = reference(code.data());
    const OpTotals t = s.totals(code);
    ASSERT_EQ(t.macs, r.macs) << s.to_string(code);
    ASSERT_EQ(t.params, r.params) << s.to_string(code);
    ASSERT_EQ(t.ops, r.ops) << s.to_string(code);
  }
}

// The HELP release's 5000 FBNet architectures (L0..L21 = op choice per layer) encode,
// print, parse back and lower to the counts of the reference loop.
TEST(Fbnet, HelpDataEncodingRoundTripsAndLowers) {
  const SearchSpace s = make_space("fbnet");
  std::ifstream in(std::string(PROXYSIM_SHARED_DATA) + "/help_fbnet_latency.csv");
  ASSERT_TRUE(in.good());
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) header.push_back(cell);
  }
  ASSERT_GE(header.size(), 23u);
  for (int l = 0; l < 22; ++l) ASSERT_EQ(header[1 + l], "L" + std::to_string(l));
  const char* names[9] = {"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip"};
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    std::getline(ss, cell, ',');  // arch_id
    ArchCode code(22);
    std::string expected;
    for (int l = 0; l < 22; ++l) {
      std::getline(ss, cell, ',');
      const int v = std::stoi(cell);
      ASSERT_GE(v, 0);
      ASSERT_LE(v, 8);
      code[l] = static_cast<uint8_t>(v);
      expected += (l ? "-" : "") + std::string(names[v]);
    }
    ASSERT_EQ(s.to_string(code), expected);
    ASSERT_EQ(s.from_string(expected), code);
    const Counts r = reference(code.data());
    const OpTotals t = s.totals(code);
    ASSERT_EQ(t.macs, r.macs) << expected;
    ASSERT_EQ(t.params, r.params) << expected;
    ASSERT_EQ(t.ops, r.ops) << expected;
    ++rows;
  }
  EXPECT_EQ(rows, 5000);
}

TEST(Fbnet, FromStringErrorsNameTheBadPart) {
  const SearchSpace s = make_space("fbnet");
  std::string ok;
  for (int l = 0; l < 22; ++l) ok += (l ? "-" : "") + std::string("k3_e1");
  EXPECT_EQ(s.from_string(ok), ArchCode(22, 0));

  std::string bad_op = ok;
  bad_op.replace(4 * 6, 5, "k7_e6");  // layer 4
  const std::string e1 = parse_error_of(s, bad_op);
  EXPECT_NE(e1.find("'k7_e6'"), std::string::npos) << e1;
  EXPECT_NE(e1.find("layer 4"), std::string::npos) << e1;

  const std::string short_list = ok.substr(0, ok.size() - 6);  // 21 ops
  const std::string e2 = parse_error_of(s, short_list);
  EXPECT_NE(e2.find("found 21"), std::string::npos) << e2;

  const std::string e3 = parse_error_of(s, ok + "-skip");
  EXPECT_NE(e3.find("found 23"), std::string::npos) << e3;
  EXPECT_THROW(s.validate(ArchCode(22, 9)), UserError);
  EXPECT_THROW(s.validate(ArchCode(21, 0)), UserError);
}

TEST(Fbnet, StringsRoundTrip) {
  const SearchSpace s = make_space("fbnet");
  for (uint64_t i = 0; i < 2000; ++i) {
    const ArchCode code = s.sample(3, i);
    ASSERT_EQ(s.from_string(s.to_string(code)), code);
  }
}
