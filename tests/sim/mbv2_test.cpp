// The MobileNetV2-based space (sim/mbv2.hpp) against hand counts: MobileNetV2-1.0 itself
// (torchvision's published 3,504,872 parameters and about 300 M multiply-adds), the
// smallest and the largest architecture, one block op by op; unused slots, the string
// form and the one-hot features. Counts are exact integers below 2^53, so exact equality.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/error.hpp"
#include "search/features.hpp"
#include "sim/mbv2.hpp"
#include "sim/space.hpp"
#include "tests/support/ops.hpp"
#include "tests/support/refusals.hpp"

using namespace proxysim;
using proxysim::test::Collect;
using proxysim::test::parse_error_of;
using proxysim::test::sum_macs;
using proxysim::test::sum_params;

namespace {

std::string repeat(const char* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? "-" : "") + std::string(v);
  return s;
}

}  // namespace

// Counting rules (sim/op.hpp): a convolution's multiply-adds are Ho*Wo*Cout*(Cin/groups)*k*k,
// its parameters Cout*(Cin/groups)*k*k plus 2*Cout for its BN; the classifier has a bias.
// Pools and residual adds have no multiply-adds. A block with input H x H x c, expansion
// e (mid = c e), kernel k, output h x h x c':
//   MACs   = H^2 c mid + h^2 mid k^2 + h^2 mid c'
//   params = c mid + 2 mid + mid k^2 + 2 mid + mid c' + 2 c'
//
// The fixed part, every architecture:
//   stem 3x3 s2 3->32 @112:        112^2*32*27 = 10,838,016 MACs;  864 + 64 =       928 params
//   block 0 dw 3x3 @112:           112^2*32*9  =  3,612,672;       288 + 64 =       352
//   block 0 project 32->16 @112:   112^2*16*32 =  6,422,528;       512 + 32 =       544
//   head 1x1 320->1280 @7:         49*1280*320 = 20,070,400;   409,600 + 2,560 = 412,160
//   classifier 1280->1000:                        1,280,000; 1,280,000 + 1,000 = 1,281,000
//   total                                        42,223,616 MACs;             1,694,984 params
constexpr double kFixedMacs = 42223616.0, kFixedParams = 1694984.0;

// MobileNetV2-1.0 (Sandler et al. 2018, Table 2): t = 6, k = 3 everywhere, depths 2, 3, 4, 3, 3, 1.
//   stage 24:  112->56 16->96->24: 112^2*16*96 + 56^2*96*9 + 56^2*96*24 = 19,267,584 + 2,709,504 + 7,225,344
//              56 24->144->24: 56^2*24*144*2 + 56^2*144*9 = 21,676,032 + 4,064,256
//              = 54,942,720 MACs; params 1,728+1,056+2,352 + 3,744+1,584+3,504 = 13,968
//   stage 32:  56->28 24->144->32: 10,838,016 + 1,016,064 + 3,612,672; then 2 x (28 32->192->32):
//              2 x (4,816,896*2 + 1,354,752) = 37,443,840 MACs; params 3,744+1,584+4,672 + 2 x 14,848 = 39,696
//   stage 64:  28->14 32->192->64: 4,816,896 + 338,688 + 2,408,448; 3 x (14 64->384->64):
//              3 x (4,816,896*2 + 677,376) = 38,497,536 MACs; params 6,528+2,112+12,416 + 3 x 54,272 = 183,872
//   stage 96:  14 64->384->96: 4,816,896 + 677,376 + 7,225,344; 2 x (14 96->576->96):
//              2 x (10,838,016*2 + 1,016,064) = 58,103,808 MACs; params 25,344+4,224+37,056 + 2 x 118,272 = 303,168
//   stage 160: 14->7 96->576->160: 10,838,016 + 254,016 + 4,515,840; 2 x (7 160->960->160):
//              2 x (7,526,400*2 + 423,360) = 46,560,192 MACs; params 56,448+6,336+92,480 + 2 x 320,000 = 795,264
//   stage 320: 7 160->960->320: 7,526,400 + 423,360 + 15,052,800 = 23,002,560 MACs;
//              params 155,520 + 10,560 + 307,840 = 473,920
//   blocks 258,550,656 MACs, 1,809,888 params; with the fixed part 300,774,272 MACs and
//   3,504,872 params: torchvision's mobilenet_v2 has 3,504,872 parameters (BN's weight and
//   bias counted), and the paper's 300 M multiply-adds.
TEST(Mbv2, MobileNetV2OnePointZeroByHand) {
  const SearchSpace s = make_space("mbv2");
  const ArchCode code = s.from_string("d2-3-4-3-3:k" + repeat("3", 21) + ":e" + repeat("6", 21));
  const OpTotals t = s.totals(code);
  EXPECT_EQ(t.macs, 300774272.0);
  EXPECT_EQ(t.macs, kFixedMacs + 54942720.0 + 37443840.0 + 38497536.0 + 58103808.0 + 46560192.0 + 23002560.0);
  EXPECT_EQ(t.params, 3504872.0);
  EXPECT_EQ(t.params, kFixedParams + 13968.0 + 39696.0 + 183872.0 + 303168.0 + 795264.0 + 473920.0);
  // 3 fixed ops (MobileNetV2's 17th bottleneck, t = 1, is the fixed block), 2 + 3 + 4 +
  // 3 + 3 + 1 = 16 searchable blocks x 3 convolutions, 10 residual adds (every stride-1
  // block with c_in = c_out: 1 + 2 + 3 + 2 + 2 + 0), head conv, pool and classifier.
  EXPECT_EQ(t.ops, 3 + 48 + 10 + 3);
  const std::vector<Op> ops = s.lower(code);
  EXPECT_EQ(ops.front().in_h, 224);
  EXPECT_EQ(ops.front().out_h, 112);
  EXPECT_EQ(ops[ops.size() - 3].in_h, 7);   // the head runs at 7x7
  EXPECT_EQ(ops[ops.size() - 3].in_c, 320);
  EXPECT_EQ(ops.back().out_c, 1000);
}

// The smallest architecture: depth 2 everywhere, k = 3, e = 3.
//   stage 24:  112->56 16->48->24: 112^2*16*48 + 56^2*48*9 + 56^2*48*24 = 9,633,792 + 1,354,752 + 3,612,672;
//              56 24->72->24: 56^2*24*72*2 + 56^2*72*9 = 10,838,016 + 2,032,128 -> 27,471,360 MACs;
//              params 768+96+432+96+1,152+48 + 1,728+144+648+144+1,728+48 = 7,032
//   stage 32:  56->28 24->72->32: 5,419,008 + 508,032 + 1,806,336; 28 32->96->32: 2,408,448*2 + 677,376
//              -> 13,227,648 MACs; params 1,728+144+648+144+2,304+64 + 3,072+192+864+192+3,072+64 = 12,488
//   stage 64:  28->14 32->96->64: 2,408,448 + 169,344 + 1,204,224; 14 64->192->64: 2,408,448*2 + 338,688
//              -> 8,937,600 MACs; params 3,072+192+864+192+6,144+128 + 12,288+384+1,728+384+12,288+128 = 37,792
//   stage 96:  14 64->192->96: 2,408,448 + 338,688 + 3,612,672; 14 96->288->96: 5,419,008*2 + 508,032
//              -> 17,705,856 MACs; params 12,288+384+1,728+384+18,432+192 + 27,648+576+2,592+576+27,648+192 = 92,640
//   stage 160: 14->7 96->288->160: 5,419,008 + 127,008 + 2,257,920; 7 160->480->160: 3,763,200*2 + 211,680
//              -> 15,542,016 MACs; params 27,648+576+2,592+576+46,080+320 + 76,800+960+4,320+960+76,800+320 = 237,952
//   stage 320: 7 160->480->320: 3,763,200 + 211,680 + 7,526,400 = 11,501,280 MACs;
//              params 76,800+960+4,320+960+153,600+640 = 237,280
//   blocks 94,385,760 MACs and 625,184 params; in all 136,609,376 MACs and 2,320,168 params.
TEST(Mbv2, SmallestByHand) {
  const SearchSpace s = make_space("mbv2");
  const ArchCode code = s.from_string("d2-2-2-2-2:k" + repeat("3", 21) + ":e" + repeat("3", 21));
  const OpTotals t = s.totals(code);
  EXPECT_EQ(t.macs, 136609376.0);
  EXPECT_EQ(t.macs, kFixedMacs + 27471360.0 + 13227648.0 + 8937600.0 + 17705856.0 + 15542016.0 + 11501280.0);
  EXPECT_EQ(t.params, 2320168.0);
  EXPECT_EQ(t.params, kFixedParams + 7032.0 + 12488.0 + 37792.0 + 92640.0 + 237952.0 + 237280.0);
  // 3 fixed ops, 11 blocks x 3, 5 residual adds (the second block of each elastic stage), 3 head ops.
  EXPECT_EQ(t.ops, 3 + 33 + 5 + 3);
  // Every sampled architecture lies between the smallest and the largest.
  const ArchCode largest = s.from_string("d4-4-4-4-4:k" + repeat("7", 21) + ":e" + repeat("6", 21));
  const OpTotals big = s.totals(largest);
  for (uint64_t i = 0; i < 2000; ++i) {
    const OpTotals x = s.totals(s.sample(3, i));
    ASSERT_GE(x.macs, t.macs);
    ASSERT_LE(x.macs, big.macs);
    ASSERT_GE(x.params, t.params);
    ASSERT_LE(x.params, big.params);
  }
}

// The largest: depth 4 everywhere, k = 7, e = 6. Per stage, first block then three
// stride-1 blocks (depthwise 7x7: mid*49 per output pixel):
//   stage 24:  19,267,584 + 56^2*96*49 + 7,225,344 = 41,244,672; 3 x (21,676,032 + 56^2*144*49 = 22,127,616)
//              -> 172,655,616 MACs; params 1,728 + 4,896 + 2,352 + 3 x (3,744 + 7,344 + 3,504) = 52,752
//   stage 32:  10,838,016 + 28^2*144*49 + 3,612,672 = 19,982,592; 3 x (9,633,792 + 28^2*192*49 = 7,375,872)
//              -> 71,011,584 MACs; params 3,744 + 7,344 + 4,672 + 3 x (6,528 + 9,792 + 6,208) = 83,344
//   stage 64:  4,816,896 + 14^2*192*49 + 2,408,448 = 9,069,312; 3 x (9,633,792 + 14^2*384*49 = 3,687,936)
//              -> 49,034,496 MACs; params 6,528 + 9,792 + 12,416 + 3 x (25,344 + 19,584 + 24,704) = 237,632
//   stage 96:  4,816,896 + 3,687,936 + 7,225,344 = 15,730,176; 3 x (21,676,032 + 14^2*576*49 = 5,531,904)
//              -> 97,353,984 MACs; params 25,344 + 19,584 + 37,056 + 3 x (56,448 + 29,376 + 55,488) = 505,920
//   stage 160: 10,838,016 + 7^2*576*49 + 4,515,840 = 16,736,832; 3 x (15,052,800 + 7^2*960*49 = 2,304,960)
//              -> 68,810,112 MACs; params 56,448 + 29,376 + 92,480 + 3 x (155,520 + 48,960 + 153,920) = 1,253,504
//   stage 320: 7,526,400 + 2,304,960 + 15,052,800 = 24,884,160 MACs; params 155,520 + 48,960 + 307,840 = 512,320
//   blocks 483,749,952 MACs and 2,645,472 params; in all 525,973,568 MACs and 4,340,456 params.
TEST(Mbv2, LargestByHand) {
  const SearchSpace s = make_space("mbv2");
  const OpTotals t = s.totals(s.from_string("d4-4-4-4-4:k" + repeat("7", 21) + ":e" + repeat("6", 21)));
  EXPECT_EQ(t.macs, 525973568.0);
  EXPECT_EQ(t.macs, kFixedMacs + 172655616.0 + 71011584.0 + 49034496.0 + 97353984.0 + 68810112.0 + 24884160.0);
  EXPECT_EQ(t.params, 4340456.0);
  EXPECT_EQ(t.params, kFixedParams + 52752.0 + 83344.0 + 237632.0 + 505920.0 + 1253504.0 + 512320.0);
}

// One block op by op: stage 1's first slot (slot 4) on 56x56x24, k5 e4: mid 96, stride 2.
//   expand 24->96 @56:  3136*96*24 = 7,225,344 MACs; 2,304 + 192 params
//   dw 5x5 s2 @28:      784*96*25  = 1,881,600;      2,400 + 192
//   project 96->32 @28: 784*32*96  = 2,408,448;      3,072 + 64; no residual (stride 2)
TEST(Mbv2, OneBlock) {
  Collect sink;
  Emitter<Collect> em(sink);
  Tensor x = em.input(56, 56, 24);
  mbv2::lower_slot(4, 1 * 3 + 1, em, x);
  const auto& ops = sink.ops;
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].kind, OpKind::kConv);
  EXPECT_EQ(ops[0].out_c, 96);
  EXPECT_EQ(ops[1].kind, OpKind::kDepthwiseConv);
  EXPECT_EQ(ops[1].kernel, 5);
  EXPECT_EQ(ops[1].stride, 2);
  EXPECT_EQ(ops[1].out_h, 28);
  EXPECT_EQ(ops[2].out_c, 32);
  EXPECT_EQ(sum_macs(ops), 7225344.0 + 1881600.0 + 2408448.0);
  EXPECT_EQ(sum_params(ops), 2496.0 + 2592.0 + 3136.0);
  // The last stage's block (slot 20, 160 -> 320, stride 1) on 7x7, k3 e3: mid 480, no residual.
  Collect last;
  Emitter<Collect> el(last);
  mbv2::lower_slot(mbv2::kLastSlot, 0, el, el.input(7, 7, 160));
  ASSERT_EQ(last.ops.size(), 3u);
  EXPECT_EQ(last.ops[1].stride, 1);
  EXPECT_EQ(last.ops[2].out_c, 320);
  EXPECT_EQ(sum_macs(last.ops), 3763200.0 + 211680.0 + 7526400.0);  // as in the smallest's stage 320
}

// Slots past a stage's depth are not executed: codes that differ only there lower to the
// same ops, share the measurement-noise key and get one synthetic accuracy's features.
TEST(Mbv2, UnusedSlotsAreIgnored) {
  const SearchSpace s = make_space("mbv2");
  const ArchCode a = s.from_string("d2-3-4-2-3:k3-5-3-3-7-5-3-3-3-5-7-3-5-3-3-3-7-7-5-3-5:e4-6-3-3-3-4-6-3-6-4-3-6-3-4-3-3-6-4-3-3-4");
  // Used: slots 0-1, 4-6, 8-11, 12-13, 16-18, 20. Different in 2, 3, 7, 14, 15, 19.
  const ArchCode b = s.from_string("d2-3-4-2-3:k3-5-7-5-7-5-3-7-3-5-7-3-5-3-5-7-7-7-5-7-5:e4-6-6-4-3-4-6-6-6-4-3-6-3-4-6-4-6-4-3-6-4");
  ASSERT_NE(a, b);
  const std::vector<Op> oa = s.lower(a), ob = s.lower(b);
  ASSERT_EQ(oa.size(), ob.size());
  for (size_t i = 0; i < oa.size(); ++i) {
    EXPECT_EQ(oa[i].kind, ob[i].kind) << i;
    EXPECT_EQ(oa[i].kernel, ob[i].kernel) << i;
    EXPECT_EQ(oa[i].in_h, ob[i].in_h) << i;
    EXPECT_EQ(oa[i].in_c, ob[i].in_c) << i;
    EXPECT_EQ(oa[i].out_c, ob[i].out_c) << i;
  }
  EXPECT_EQ(network_hash(SpaceId::kMbv2, a.data()), network_hash(SpaceId::kMbv2, b.data()));
  EXPECT_EQ(one_hot_features(SpaceId::kMbv2, {a}), one_hot_features(SpaceId::kMbv2, {b}));
  ArchCode c = a;
  c[mbv2::kKernelOffset + mbv2::kLastSlot] = 2;  // the last stage's block is always used: kernel 5 -> 7
  EXPECT_NE(network_hash(SpaceId::kMbv2, a.data()), network_hash(SpaceId::kMbv2, c.data()));
  EXPECT_GT(s.totals(c).macs, s.totals(a).macs);
}

// 21 slots x (3 kernels + 3 expansions) + 5 stages x 3 depths + 1 = 142 columns; a
// depth-2 stage leaves two slots' columns at zero.
TEST(Mbv2, OneHotFeatures) {
  EXPECT_EQ(feature_count(SpaceId::kMbv2), 142);
  const SearchSpace s = make_space("mbv2");
  const ArchCode code = s.from_string("d2-3-4-3-3:k" + repeat("3", 21) + ":e" + repeat("6", 21));
  const Eigen::MatrixXd x = one_hot_features(SpaceId::kMbv2, {code});
  // 16 used slots x 2 + 5 depths + the constant.
  EXPECT_EQ(x.sum(), 16 * 2 + 5 + 1);
  EXPECT_EQ(x(0, 6 * 0 + 0), 1.0);      // slot 0 kernel 3
  EXPECT_EQ(x(0, 6 * 0 + 3 + 2), 1.0);  // slot 0 expansion 6
  EXPECT_EQ(x(0, 6 * 2 + 0), 0.0);      // slot 2 unused (stage 0 depth 2)
  EXPECT_EQ(x(0, 6 * 20 + 5), 1.0);     // the last block, expansion 6
  EXPECT_EQ(x(0, kMbv2DepthColumn + 3 * 2 + 2), 1.0);  // stage 2 depth 4
  EXPECT_EQ(x(0, 141), 1.0);
}

TEST(Mbv2, StringsRoundTripAndRefuse) {
  const SearchSpace s = make_space("mbv2");
  EXPECT_EQ(s.decisions(), 47);
  EXPECT_FALSE(s.size().has_value());
  const std::string text = "d4-2-3-2-4:k7-5-5-5-7-7-5-7-5-7-3-7-5-3-7-3-5-3-5-3-7:e6-4-4-6-6-3-4-3-3-6-3-3-3-6-3-4-6-4-3-6-3";
  const ArchCode code = s.from_string(text);
  EXPECT_EQ(code[mbv2::kDepthOffset + 0], 2);  // depth 4
  EXPECT_EQ(code[mbv2::kKernelOffset + 20], 2);  // kernel 7
  EXPECT_EQ(code[mbv2::kExpandOffset + 1], 1);   // expansion 4
  EXPECT_EQ(s.to_string(code), text);
  for (uint64_t i = 0; i < 200; ++i) {
    const ArchCode c = s.sample(9, i);
    EXPECT_EQ(s.from_string(s.to_string(c)), c);
  }
  EXPECT_NE(parse_error_of(s, "r224:" + text).find("expected d<5 depths>:k<21 kernels>:e<21 expansions>"), std::string::npos);
  EXPECT_NE(parse_error_of(s, "d2-2-2-2:k" + repeat("3", 21) + ":e" + repeat("3", 21)).find("expected 5 depths, found 4"),
            std::string::npos);
  EXPECT_NE(parse_error_of(s, "d2-2-2-2-2:k" + repeat("3", 20) + ":e" + repeat("3", 21)).find("expected 21 kernel sizes"),
            std::string::npos);
  EXPECT_NE(parse_error_of(s, "d2-2-2-2-5:k" + repeat("3", 21) + ":e" + repeat("3", 21)).find("depths 4 must be 2, 3 or 4"),
            std::string::npos);
  EXPECT_THROW(make_space("mbv2", "cifar10"), UserError);
  EXPECT_EQ(make_space("mbv2").params().input_hw, 224);
  EXPECT_EQ(make_space("mbv2").params().classes, 1000);
}
