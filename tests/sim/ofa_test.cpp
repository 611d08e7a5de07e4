// OFA MobileNetV3 lowering against hand-computed MBConv blocks (with and without squeeze-excitation), a reference loop written here over sampled and the 5000 real HELP architectures, resolution and unused-slot behaviour, and the string encoding; counts are exact integers below 2^53, so exact equality.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "sim/ofa_mbv3.hpp"
#include "sim/space.hpp"
#include "tests/support/ops.hpp"
#include "tests/support/refusals.hpp"

using namespace proxysim;
using proxysim::test::Collect;
using proxysim::test::parse_error_of;
using proxysim::test::sum_macs;
using proxysim::test::sum_params;

namespace {

std::vector<Op> slot_ops(int slot, int kernel_idx, int expand_idx, uint16_t hw, uint16_t c) {
  Collect sink;
  Emitter<Collect> em(sink);
  Tensor x = em.input(hw, hw, c);
  ofa::lower_slot(slot, kernel_idx * 3 + expand_idx, em, x);
  return sink.ops;
}


// make_divisible from the MobileNet / OFA reference code:
//   new_v = max(divisor, int(v + divisor / 2) // divisor * divisor); if new_v < 0.9 * v: new_v += divisor
int ref_make_divisible(double v) {
  int n = static_cast<int>(v + 4.0) / 8 * 8;
  if (n < 8) n = 8;
  if (n < 0.9 * v) n += 8;
  return n;
}

struct Counts {
  double macs = 0, params = 0;
  int ops = 0;
};

// Reference: OFA MobileNetV3 w1.0 counted from the formulas. Stages (width, stride, SE):
// (24, 2, no), (40, 2, yes), (80, 2, no), (112, 1, yes), (160, 2, yes).
Counts reference(const ArchCode& code) {
  const int widths[5] = {24, 40, 80, 112, 160};
  const int strides[5] = {2, 2, 2, 1, 2};
  const bool se[5] = {false, true, false, true, true};
  const int kernels[3] = {3, 5, 7};
  const int expands[3] = {3, 4, 6};
  Counts r;
  const int res = 128 + 4 * code[0];
  int h = (res + 1) / 2;
  r.macs += double(h) * h * 16 * 27;                  // stem conv3x3 s2 3->16
  r.params += 16 * 27 + 32;
  r.macs += double(h) * h * 16 * 9 + double(h) * h * 16 * 16;  // first block: dw3x3, 1x1 16->16, add
  r.params += 16 * 9 + 32 + 16 * 16 + 32;
  r.ops += 4;
  int in_c = 16;
  for (int s = 0; s < 5; ++s) {
    const int depth = 2 + code[1 + s];
    for (int j = 0; j < depth; ++j) {
      const int slot = 4 * s + j;
      const int k = kernels[code[6 + slot]];
      const int e = expands[code[26 + slot]];
      const int stride = j == 0 ? strides[s] : 1;
      const int out = widths[s];
      const int mid = ref_make_divisible(double(in_c) * e);
      const int ho = (h + stride - 1) / stride;
      r.macs += double(h) * h * mid * in_c + double(ho) * ho * mid * k * k + double(ho) * ho * out * mid;
      r.params += double(mid) * in_c + 2 * mid + double(mid) * k * k + 2 * mid + double(out) * mid + 2 * out;
      r.ops += 3;
      if (se[s]) {
        const int sq = ref_make_divisible(mid / 4);
        r.macs += 2.0 * mid * sq;
        r.params += double(mid) * sq + sq + double(sq) * mid + mid;
        r.ops += 4;  // global pool, reduce FC, expand FC, scale
      }
      if (stride == 1 && in_c == out) r.ops += 1;
      in_c = out;
      h = ho;
    }
  }
  // final expand 1x1 160->960 (BN), pool, feature mix 1x1 960->1280 (no BN), classifier 1280->1000
  r.macs += double(h) * h * 960 * 160 + 960.0 * 1280 + 1280.0 * 1000;
  r.params += 960.0 * 160 + 2 * 960 + 960.0 * 1280 + 1280.0 * 1000 + 1000;
  r.ops += 4;
  return r;
}

const std::string kK20 = "3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3";
const std::string kE20 = "3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3-3";

}  // namespace

TEST(Ofa, MakeDivisible) {
  EXPECT_EQ(ofa::make_divisible(72), 72);
  EXPECT_EQ(ofa::make_divisible(18), 24);  // int(22)//8*8 = 16 < 0.9*18 = 16.2, so 16 + 8
  EXPECT_EQ(ofa::make_divisible(30), 32);  // int(34)//8*8 = 32
  EXPECT_EQ(ofa::make_divisible(20), 24);  // int(24)//8*8 = 24
  EXPECT_EQ(ofa::make_divisible(3), 8);    // at least the divisor
  for (int v = 1; v < 2000; ++v) EXPECT_EQ(ofa::make_divisible(v), ref_make_divisible(v)) << v;
}

// Stage 0, second slot (24 -> 24, stride 1, no SE) at 56x56 (resolution 224), k3 e3: mid 72.
//   expand 1x1 24->72:  3136*72*24 = 5,419,008 MACs; 72*24 + 144 = 1,872 params
//   depthwise 3x3:      3136*72*9  = 2,032,128 MACs; 72*9 + 144  =   792 params
//   project 1x1 72->24: 3136*24*72 = 5,419,008 MACs; 24*72 + 48  = 1,776 params; residual add
TEST(Ofa, MbconvWithoutSe) {
  const auto ops = slot_ops(1, 0, 0, 56, 24);
  ASSERT_EQ(ops.size(), 4u);
  const OpKind kinds[4] = {OpKind::kConv, OpKind::kDepthwiseConv, OpKind::kConv, OpKind::kAdd};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ops[i].kind, kinds[i]) << "op " << i;
  EXPECT_EQ(ops[0].out_c, 72);
  EXPECT_EQ(ops[1].kernel, 3);
  EXPECT_EQ(ops[1].stride, 1);
  EXPECT_EQ(sum_macs(ops), 5419008.0 + 2032128.0 + 5419008.0);
  EXPECT_EQ(sum_params(ops), 1872.0 + 792.0 + 1776.0);
}

// Stage 1, first slot (24 -> 40, stride 2, SE) on 56x56, k3 e3: mid 72, SE width make_divisible(72 // 4 = 18) = 24.
//   expand 24->72 @56x56:      3136*72*24 = 5,419,008 MACs; 1,872 params
//   depthwise 3x3 s2 @28x28:   784*72*9   =   508,032 MACs;   792 params
//   SE: pool, FC 72->24 (bias): 1,728 MACs, 1,752 params; FC 24->72 (bias): 1,728 MACs, 1,800 params; scale
//   project 72->40 @28x28:     784*40*72  = 2,257,920 MACs; 40*72 + 80 = 2,960 params; no residual
TEST(Ofa, MbconvWithSeStrided) {
  const auto ops = slot_ops(4, 0, 0, 56, 24);
  ASSERT_EQ(ops.size(), 7u);
  const OpKind kinds[7] = {OpKind::kConv,           OpKind::kDepthwiseConv, OpKind::kGlobalPool, OpKind::kFullyConnected,
                           OpKind::kFullyConnected, OpKind::kMul,           OpKind::kConv};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(ops[i].kind, kinds[i]) << "op " << i;
  EXPECT_EQ(ops[1].stride, 2);
  EXPECT_EQ(ops[1].out_h, 28);
  EXPECT_EQ(ops[3].in_c, 72);
  EXPECT_EQ(ops[3].out_c, 24);
  EXPECT_EQ(ops[4].out_c, 72);
  EXPECT_EQ(ops[5].out_h, 28);
  EXPECT_EQ(ops[5].out_c, 72);
  EXPECT_EQ(ops[6].out_c, 40);
  EXPECT_EQ(sum_macs(ops), 5419008.0 + 508032.0 + 1728.0 + 1728.0 + 2257920.0);
  EXPECT_EQ(sum_params(ops), 1872.0 + 792.0 + 1752.0 + 1800.0 + 2960.0);
}

// Stage 1, second slot (40 -> 40, stride 1, SE) on 28x28, k7 e3: mid 120, SE width make_divisible(30) = 32.
//   expand 40->120: 784*120*40 = 3,763,200; depthwise 7x7: 784*120*49 = 4,609,920; SE 120*32*2 = 7,680; project 3,763,200
//   params 4,800+240 + 5,880+240 + 3,840+32 + 3,840+120 + 4,800+80 = 23,872; residual add
TEST(Ofa, MbconvWithSeResidual) {
  const auto ops = slot_ops(5, 2, 0, 28, 40);
  ASSERT_EQ(ops.size(), 8u);
  EXPECT_EQ(ops[1].kernel, 7);
  EXPECT_EQ(ops[3].out_c, 32);
  EXPECT_EQ(ops.back().kind, OpKind::kAdd);
  EXPECT_EQ(sum_macs(ops), 3763200.0 + 4609920.0 + 7680.0 + 3763200.0);
  EXPECT_EQ(sum_params(ops), 23872.0);
}

// Expansion 6 in stage 3 (80 -> 112, stride 1, SE) on 14x14, k5: mid 480, SE 120.
//   3x1x1 convs: 196*480*80 = 7,526,400; dw 196*480*25 = 2,352,000; SE 2*480*120 = 115,200; project 196*112*480 = 10,536,960
TEST(Ofa, ExpandSixInSeStage) {
  const auto ops = slot_ops(12, 1, 2, 14, 80);
  ASSERT_EQ(ops.size(), 7u);  // no residual: 80 -> 112
  EXPECT_EQ(ops[0].out_c, 480);
  EXPECT_EQ(ops[1].stride, 1);
  EXPECT_EQ(sum_macs(ops), 7526400.0 + 2352000.0 + 115200.0 + 10536960.0);
  EXPECT_EQ(sum_params(ops), (480.0 * 80 + 960) + (480.0 * 25 + 960) + (480.0 * 120 + 120) + (120.0 * 480 + 480) +
                                 (112.0 * 480 + 224));
}

TEST(Ofa, SampledArchitecturesMatchTheReferenceLoop) {
  const SearchSpace s = make_space("ofa_mbv3");
  for (uint64_t i = 0; i < 3000; ++i) {
    const ArchCode code = s.sample(5, i);
    const Counts r = reference(code);
    const OpTotals t = s.totals(code);
    ASSERT_EQ(t.macs, r.macs) << s.to_string(code);
    ASSERT_EQ(t.params, r.params) << s.to_string(code);
    ASSERT_EQ(t.ops, r.ops) << s.to_string(code);
  }
}

// Resolution changes spatial sizes ("same" padding rounds up: 132 -> 66 -> 33 -> 17 -> 9 -> 9 -> 5)
// and MACs, never parameters.
TEST(Ofa, ResolutionEffect) {
  const SearchSpace s = make_space("ofa_mbv3");
  const std::string tail = ":d4-4-4-4-4:k" + kK20 + ":e" + kE20;
  const int res[4] = {128, 132, 224, 176};
  const int last_hw[4] = {4, 5, 7, 6};  // 176 -> 88 -> 44 -> 22 -> 11 -> 11 -> 6
  double prev_macs = 0;
  double params = -1;
  for (int r = 0; r < 4; ++r) {
    const ArchCode code = s.from_string("r" + std::to_string(res[r]) + tail);
    const std::vector<Op> ops = s.lower(code);
    EXPECT_EQ(ops.front().in_h, res[r]);
    EXPECT_EQ(ops.front().out_h, (res[r] + 1) / 2);
    // Final expand conv, pool, feature mix, classifier.
    const Op& final_expand = ops[ops.size() - 4];
    EXPECT_EQ(final_expand.out_c, 960);
    EXPECT_EQ(final_expand.in_h, last_hw[r]) << "resolution " << res[r];
    EXPECT_EQ(ops.back().out_c, 1000);
    const OpTotals t = s.totals(code);
    if (params < 0) params = t.params;
    EXPECT_EQ(t.params, params);
    EXPECT_EQ(t.macs, reference(code).macs);
    if (r == 1 || r == 2) EXPECT_GT(t.macs, prev_macs);
    prev_macs = t.macs;
  }
  // Stem at 224: 112*112*16*27 = 5,419,008 MACs; at 128: 64*64*16*27 = 1,769,472.
  EXPECT_EQ(op_macs(s.lower(s.from_string("r224" + tail)).front()), 5419008.0);
  EXPECT_EQ(op_macs(s.lower(s.from_string("r128" + tail)).front()), 1769472.0);
}

// Slots past a stage's depth are not executed: two codes that differ only there lower
// to the same ops and share the measurement-noise key.
TEST(Ofa, UnusedSlotsAreIgnored) {
  const SearchSpace s = make_space("ofa_mbv3");
  const ArchCode a = s.from_string(
      "r160:d2-3-4-2-3:k3-5-3-3-7-5-3-3-3-5-7-3-5-3-3-3-7-7-5-3:e4-6-3-3-3-4-6-3-6-4-3-6-3-4-3-3-6-4-3-3");
  // Same choices in used slots (stage 0 slots 0-1, stage 1 slots 4-6, stage 2 all, stage 3 slots 12-13,
  // stage 4 slots 16-18); different kernels and expansions in slots 2, 3, 7, 14, 15, 19.
  const ArchCode b = s.from_string(
      "r160:d2-3-4-2-3:k3-5-7-5-7-5-3-7-3-5-7-3-5-3-5-7-7-7-5-7:e4-6-6-4-3-4-6-6-6-4-3-6-3-4-6-4-6-4-3-6");
  ASSERT_NE(a, b);
  const std::vector<Op> oa = s.lower(a), ob = s.lower(b);
  ASSERT_EQ(oa.size(), ob.size());
  for (size_t i = 0; i < oa.size(); ++i) {
    EXPECT_EQ(oa[i].kind, ob[i].kind) << i;
    EXPECT_EQ(oa[i].kernel, ob[i].kernel) << i;
    EXPECT_EQ(oa[i].stride, ob[i].stride) << i;
    EXPECT_EQ(oa[i].flags, ob[i].flags) << i;
    EXPECT_EQ(oa[i].groups, ob[i].groups) << i;
    EXPECT_EQ(oa[i].in_h, ob[i].in_h) << i;
    EXPECT_EQ(oa[i].in_c, ob[i].in_c) << i;
    EXPECT_EQ(oa[i].out_h, ob[i].out_h) << i;
    EXPECT_EQ(oa[i].out_c, ob[i].out_c) << i;
  }
  EXPECT_EQ(network_hash(SpaceId::kOfaMbv3, a.data()), network_hash(SpaceId::kOfaMbv3, b.data()));
  // A used slot that differs does change the network.
  ArchCode c = a;
  c[ofa::kKernelOffset + 1] = 2;  // stage 0, slot 1: kernel 5 -> 7
  EXPECT_NE(network_hash(SpaceId::kOfaMbv3, a.data()), network_hash(SpaceId::kOfaMbv3, c.data()));
  EXPECT_NE(s.totals(a).macs, s.totals(c).macs);
}

TEST(Ofa, StringsRoundTrip) {
  const SearchSpace s = make_space("ofa_mbv3");
  const std::string text =
      "r204:d2-2-2-2-3:k7-5-5-5-7-7-5-7-5-7-3-7-5-3-7-3-5-3-5-3:e6-4-4-6-6-3-4-3-3-6-3-3-3-6-3-4-6-4-3-6";
  const ArchCode code = s.from_string(text);
  EXPECT_EQ(code[0], (204 - 128) / 4);
  EXPECT_EQ(code[ofa::kDepthOffset + 4], 1);       // depth 3
  EXPECT_EQ(code[ofa::kKernelOffset + 0], 2);      // kernel 7
  EXPECT_EQ(code[ofa::kExpandOffset + 1], 1);      // expand 4
  EXPECT_EQ(s.to_string(code), text);
  for (uint64_t i = 0; i < 2000; ++i) {
    const ArchCode c = s.sample(9, i);
    ASSERT_EQ(s.from_string(s.to_string(c)), c);
  }
}

TEST(Ofa, FromStringErrorsNameTheBadPart) {
  const SearchSpace s = make_space("ofa_mbv3");
  const std::string d = ":d2-2-2-2-2";
  auto expect_mentions = [&](const std::string& text, const std::string& part) {
    const std::string msg = parse_error_of(s, text);
    EXPECT_NE(msg.find(part), std::string::npos) << "input " << text << "\nmessage " << msg;
  };
  expect_mentions("r130" + d + ":k" + kK20 + ":e" + kE20, "found 130");
  expect_mentions("r256" + d + ":k" + kK20 + ":e" + kE20, "found 256");
  expect_mentions("rabc" + d + ":k" + kK20 + ":e" + kE20, "'abc'");
  expect_mentions("r224:d2-2-2-2:k" + kK20 + ":e" + kE20, "expected 5 depths, found 4");
  expect_mentions("r224:d2-2-5-2-2:k" + kK20 + ":e" + kE20, "found 5");
  std::string k_bad = kK20;
  k_bad[2 * 7] = '9';  // kernel of slot 7
  expect_mentions("r224" + d + ":k" + k_bad + ":e" + kE20, "kernel sizes 7 must be 3, 5 or 7, found 9");
  std::string e_bad = kE20;
  e_bad[2 * 19] = '5';  // expansion of slot 19
  expect_mentions("r224" + d + ":k" + kK20 + ":e" + e_bad, "expand ratios 19 must be 3, 4 or 6, found 5");
  expect_mentions("r224" + d + ":k" + kK20, "expected r<resolution>");
  expect_mentions("r224" + d + ":x" + kK20 + ":e" + kE20, "expected r<resolution>");
  expect_mentions("r224" + d + ":k" + kK20 + "-3:e" + kE20, "expected 20 kernel sizes, found 21");
}

// The HELP release's 5000 OFA architectures (resolution, depths, kernel_sizes,
// expand_ratios columns) parse, print back identically and lower to the reference counts.
TEST(Ofa, HelpDataParsesAndLowers) {
  const SearchSpace s = make_space("ofa_mbv3");
  std::ifstream in(std::string(PROXYSIM_SHARED_DATA) + "/help_ofa_latency.csv");
  ASSERT_TRUE(in.good());
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line.rfind("arch_id,resolution,depths,kernel_sizes,expand_ratios,", 0), 0u) << line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string id, res, depths, kernels, expands;
    std::getline(ss, id, ',');
    std::getline(ss, res, ',');
    std::getline(ss, depths, ',');
    std::getline(ss, kernels, ',');
    std::getline(ss, expands, ',');
    const std::string text = "r" + res + ":d" + depths + ":k" + kernels + ":e" + expands;
    const ArchCode code = s.from_string(text);
    ASSERT_EQ(s.to_string(code), text);
    ASSERT_EQ(ofa::resolution(code[0]), std::stoi(res));
    const Counts r = reference(code);
    const OpTotals t = s.totals(code);
    ASSERT_EQ(t.macs, r.macs) << text;
    ASSERT_EQ(t.params, r.params) << text;
    ASSERT_EQ(t.ops, r.ops) << text;
    ++rows;
  }
  EXPECT_EQ(rows, 5000);
}

TEST(Ofa, SpaceDefaults) {
  const SearchSpace s = make_space("ofa_mbv3");
  EXPECT_EQ(s.decisions(), 1 + 5 + 20 + 20);
  EXPECT_EQ(s.params().classes, 1000);
  EXPECT_EQ(s.choices(0), 25);
  EXPECT_EQ(s.choices(1), 3);
  EXPECT_FALSE(s.size().has_value());
  EXPECT_THROW(s.code_at(0), UserError);
}
