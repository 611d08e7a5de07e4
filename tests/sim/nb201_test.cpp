// NB201 encoding and lowering against the official index/string tables of three real data files and against hand-computed MACs, parameters and ops; counts are exact integers, so exact equality, except the paper's figures, which it truncates to two decimals.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "sim/nb201.hpp"
#include "sim/space.hpp"

using namespace proxysim;

namespace {

// Rows of a comma-separated file with a header line, as column name -> cell.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::map<std::string, std::string>> rows;
  std::string line;
  std::vector<std::string> header;
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string cell;
    while (std::getline(ss, cell, ',')) out.push_back(cell);
    if (!s.empty() && s.back() == ',') out.emplace_back();
    return out;
  };
  if (std::getline(in, line)) header = split(line);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto cells = split(line);
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string data(const char* file) { return std::string(PROXYSIM_SHARED_DATA) + "/" + file; }

}  // namespace

class Nb201Official : public ::testing::TestWithParam<const char*> {};

TEST_P(Nb201Official, IndexAndStringMatchEveryRow) {
  const SearchSpace s = make_space("nb201");
  const auto rows = read_csv(data(GetParam()));
  ASSERT_EQ(rows.size(), 15625u);
  for (const auto& row : rows) {
    const uint64_t index = std::stoull(row.at("arch_index"));
    const std::string& str = row.at("arch_str");
    const ArchCode code = s.code_at(index);
    ASSERT_EQ(s.to_string(code), str) << "arch_index " << index;
    const ArchCode parsed = s.from_string(str);
    ASSERT_EQ(parsed, code) << str;
    ASSERT_EQ(nb201_index(parsed), index) << str;
  }
}

INSTANTIATE_TEST_SUITE_P(DataFiles, Nb201Official,
                         ::testing::Values("nb201_accuracy.csv", "help_nb201_latency.csv",
                                           "hwnasbench_nb201_cifar10.csv"));

TEST(Nb201, ConnectedColumnMatches) {
  const SearchSpace s = make_space("nb201");
  const auto rows = read_csv(data("nb201_accuracy.csv"));
  ASSERT_EQ(rows.size(), 15625u);
  int disconnected = 0;
  for (const auto& row : rows) {
    const ArchCode code = s.code_at(std::stoull(row.at("arch_index")));
    const bool want = row.at("connected") == "1";
    ASSERT_EQ(nb201::connected(code.data()), want) << row.at("arch_str");
    if (!want) ++disconnected;
  }
  EXPECT_EQ(disconnected, 341);
}

TEST(Nb201, IndexTableIsAPermutationAndStringsRoundTrip) {
  const SearchSpace s = make_space("nb201");
  std::vector<bool> seen(15625, false);
  for (uint64_t i = 0; i < 15625; ++i) {
    const ArchCode code = s.code_at(i);
    uint32_t packed = 0;
    for (int e = 0; e < 6; ++e) packed = packed * 5 + code[e];
    ASSERT_FALSE(seen[packed]) << "index " << i;
    seen[packed] = true;
    const std::string str = s.to_string(code);
    EXPECT_EQ(s.to_string(s.from_string(str)), str);
    EXPECT_EQ(nb201_index(code), i);
  }
  EXPECT_THROW(s.code_at(15625), UserError);
}

TEST(Nb201, FromStringNamesTheBadPart) {
  const SearchSpace s = make_space("nb201");
  auto message = [&](const std::string& text) {
    try {
      s.from_string(text);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|").find("nor_conv_5x5~0"), std::string::npos);
  EXPECT_NE(message("|none~0|+|none~0|none~1|").find("3 nodes"), std::string::npos);
  EXPECT_NE(message("|none~0|+|none~0|none~1|+|none~0|none~2|none~2|").find("none~2"), std::string::npos);
  EXPECT_NE(message("|none~0|+|none~0|+|none~0|none~1|none~2|").find("node 2"), std::string::npos);
}

// Published extremes (Dong & Yang 2020, CIFAR-10): 7.78 to 220.11 M multiply-adds and
// 0.073 to 1.53 M parameters, truncated to the digits shown. Hand values, 16 stem channels:
//   fixed part (stem, two reduction blocks, head), the conv-free network:
//     stem conv3x3 3->16 @32x32        1024*16*27           =   442,368 MACs, 16*27 + 2*16       =    464 params
//     reduction 16->32 @16x16: 3x3 s2, 3x3, 1x1 on the pooled input
//       256*32*144 + 256*32*288 + 256*32*16                  = 3,670,016 MACs, 4608+64 + 9216+64 + 512 = 14,464
//     reduction 32->64 @8x8            64*64*288 + 64*64*576 + 64*64*32 = 3,670,016 MACs, 18432+128 + 36864+128 + 2048 = 57,600
//     head BN(64) + FC 64->10          640 MACs,  128 + 650 params
//     total 7,783,040 MACs, 73,306 params
//   all nor_conv_3x3: 6 convs per cell, H*W*C*C*9 = 2,359,296 MACs in every stage,
//     15 cells * 6 * 2,359,296 = 212,336,640 MACs; params 5*6*(256*9+32) + 5*6*(1024*9+64) + 5*6*(4096*9+128) = 1,458,240
constexpr double kFixedMacs = 442368 + 2 * 3670016 + 640;
constexpr double kFixedParams = 464 + 14464 + 57600 + 128 + 650;
constexpr double kAllConv3Macs = kFixedMacs + 15 * 6 * 2359296.0;
constexpr double kAllConv3Params = kFixedParams + 5 * 6 * (256 * 9 + 32) + 5 * 6 * (1024 * 9 + 64) + 5 * 6 * (4096 * 9 + 128);

TEST(Nb201Published, ExtremesOfMacsAndParams) {
  static_assert(kFixedMacs == 7783040 && kFixedParams == 73306);
  static_assert(kAllConv3Macs == 220119680 && kAllConv3Params == 1531546);
  const SearchSpace s = make_space("nb201", "cifar10");
  double min_macs = 1e30, max_macs = 0, min_params = 1e30, max_params = 0;
  uint64_t argmax_macs = 0, argmax_params = 0;
  for (uint64_t i = 0; i < 15625; ++i) {
    const ArchCode code = s.code_at(i);
    const OpTotals t = s.totals(code);
    bool has_conv = false;
    for (uint8_t op : code) has_conv = has_conv || op == nb201::kConv1x1 || op == nb201::kConv3x3;
    // Conv-free cells cost exactly the fixed part; any conv costs more.
    if (has_conv) {
      EXPECT_GT(t.macs, kFixedMacs) << s.to_string(code);
      EXPECT_GT(t.params, kFixedParams) << s.to_string(code);
    } else {
      EXPECT_EQ(t.macs, kFixedMacs) << s.to_string(code);
      EXPECT_EQ(t.params, kFixedParams) << s.to_string(code);
    }
    if (t.macs > max_macs) argmax_macs = i;
    if (t.params > max_params) argmax_params = i;
    min_macs = std::min(min_macs, t.macs);
    max_macs = std::max(max_macs, t.macs);
    min_params = std::min(min_params, t.params);
    max_params = std::max(max_params, t.params);
  }
  EXPECT_NEAR(min_macs / 1e6, 7.78, 0.01);
  EXPECT_NEAR(max_macs / 1e6, 220.11, 0.01);
  EXPECT_NEAR(min_params / 1e6, 0.073, 0.001);
  EXPECT_NEAR(max_params / 1e6, 1.53, 0.01);
  EXPECT_EQ(min_macs, kFixedMacs);
  EXPECT_EQ(max_macs, kAllConv3Macs);
  EXPECT_EQ(min_params, kFixedParams);
  EXPECT_EQ(max_params, kAllConv3Params);
  const std::string all3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|";
  EXPECT_EQ(s.to_string(s.code_at(argmax_macs)), all3);
  EXPECT_EQ(s.to_string(s.code_at(argmax_params)), all3);
}

// |nor_conv_1x1~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2| executes, per cell:
//   node 1: conv1x1 (live)
//   node 2: zero-mul, zero-mul, add (all dead: no live operand)
//   node 3: zero-mul, avgpool3x3 (live), add (dead: one live operand), zero-mul, add (dead)
// = 9 ops per cell; network: stem 1 + 15 cells * 9 + 2 reductions * 5 + head 3 = 149 ops.
// MACs: fixed 7,783,040 + per stage 5 * H*W*C*C = 5 * 262,144 (same in every stage) -> 7,783,040 + 3,932,160 = 11,715,200.
// Params: fixed 73,306 + 5*(16*16+32) + 5*(32*32+64) + 5*(64*64+128) = 73,306 + 1,440 + 5,440 + 21,120 = 101,306.
TEST(Nb201, HandComputedOpList) {
  const SearchSpace s = make_space("nb201");
  const ArchCode code = s.from_string("|nor_conv_1x1~0|+|none~0|none~1|+|none~0|avg_pool_3x3~1|none~2|");
  EXPECT_EQ(code, (ArchCode{2, 0, 0, 0, 4, 0}));
  EXPECT_TRUE(nb201::connected(code.data()));
  const std::vector<Op> ops = s.lower(code);
  ASSERT_EQ(ops.size(), 149u);

  // Stem.
  EXPECT_EQ(ops[0].kind, OpKind::kConv);
  EXPECT_EQ(ops[0].kernel, 3);
  EXPECT_EQ(ops[0].in_c, 3);
  EXPECT_EQ(ops[0].out_c, 16);
  EXPECT_EQ(ops[0].in_h, 32);
  EXPECT_EQ(ops[0].out_h, 32);

  // The 9 ops of every cell, with its stage's shape.
  const OpKind cell_kinds[9] = {OpKind::kConv, OpKind::kMul, OpKind::kMul, OpKind::kAdd, OpKind::kMul,
                                OpKind::kAvgPool, OpKind::kAdd, OpKind::kMul, OpKind::kAdd};
  const bool cell_dead[9] = {false, true, true, true, true, false, true, true, true};
  size_t at = 1;
  const int hw[3] = {32, 16, 8};
  const int ch[3] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      // ResNet reduction: 3x3 s2, 3x3, 2x2 avg pool s2 on the block input, 1x1, add.
      const OpKind red[5] = {OpKind::kConv, OpKind::kConv, OpKind::kAvgPool, OpKind::kConv, OpKind::kAdd};
      for (int k = 0; k < 5; ++k) EXPECT_EQ(ops[at + k].kind, red[k]) << "reduction op " << k;
      EXPECT_EQ(ops[at].stride, 2);
      EXPECT_EQ(ops[at].in_c, ch[stage - 1]);
      EXPECT_EQ(ops[at].out_c, ch[stage]);
      EXPECT_EQ(ops[at].out_h, hw[stage]);
      EXPECT_EQ(ops[at + 2].kernel, 2);
      EXPECT_EQ(ops[at + 2].in_h, hw[stage - 1]);
      EXPECT_EQ(ops[at + 3].kernel, 1);
      EXPECT_EQ(ops[at + 3].in_c, ch[stage - 1]);
      at += 5;
    }
    for (int cell = 0; cell < 5; ++cell, at += 9) {
      for (int k = 0; k < 9; ++k) {
        const Op& op = ops[at + k];
        EXPECT_EQ(op.kind, cell_kinds[k]) << "stage " << stage << " cell " << cell << " op " << k;
        EXPECT_EQ((op.flags & kOpDead) != 0, cell_dead[k]) << "stage " << stage << " cell " << cell << " op " << k;
        EXPECT_EQ(op.in_h, hw[stage]);
        EXPECT_EQ(op.out_h, hw[stage]);
        EXPECT_EQ(op.in_c, ch[stage]);
        EXPECT_EQ(op.out_c, ch[stage]);
      }
      EXPECT_EQ(ops[at].kernel, 1);
      EXPECT_EQ(ops[at + 5].kernel, 3);
      EXPECT_EQ(ops[at + 5].stride, 1);
    }
  }
  EXPECT_EQ(ops[at].kind, OpKind::kBatchNorm);
  EXPECT_EQ(ops[at + 1].kind, OpKind::kGlobalPool);
  EXPECT_EQ(ops[at + 2].kind, OpKind::kFullyConnected);
  EXPECT_EQ(ops[at + 2].in_c, 64);
  EXPECT_EQ(ops[at + 2].out_c, 10);
  EXPECT_EQ(at + 3, ops.size());

  const OpTotals t = s.totals(code);
  EXPECT_EQ(t.macs, kFixedMacs + 5.0 * (1024 * 16 * 16) + 5.0 * (256 * 32 * 32) + 5.0 * (64 * 64 * 64));
  EXPECT_EQ(t.macs, 11715200.0);
  EXPECT_EQ(t.params, kFixedParams + 5.0 * (16 * 16 + 32) + 5.0 * (32 * 32 + 64) + 5.0 * (64 * 64 + 128));
  EXPECT_EQ(t.params, 101306.0);
  EXPECT_EQ(t.ops, 149);
}

// A cell whose output is unreachable: every op upstream of the head is dead, the head survives.
TEST(Nb201, DisconnectedCellMarksAllButTheHeadDead) {
  const SearchSpace s = make_space("nb201");
  const ArchCode code = s.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|");
  EXPECT_FALSE(nb201::connected(code.data()));
  const std::vector<Op> ops = s.lower(code);
  ASSERT_GE(ops.size(), 3u);
  for (size_t i = 0; i + 3 < ops.size(); ++i) EXPECT_NE(ops[i].flags & kOpDead, 0) << "op " << i;
  for (size_t i = ops.size() - 3; i < ops.size(); ++i) {
    EXPECT_EQ(ops[i].flags & kOpDead, 0) << "op " << i;
    EXPECT_NE(ops[i].flags & kOpKeepAlive, 0) << "op " << i;
  }
}

// ImageNet16-120: 16x16 input, 120 classes; spatial work is a quarter of CIFAR's, so the
// conv-free network is 442,368/4 + 2*3,670,016/4 + 64*120 = 110,592 + 1,835,008 + 7,680 = 1,953,280 MACs
// and all-3x3 adds 212,336,640/4 = 53,084,160; params differ from CIFAR-10 only in the FC (64*120+120 vs 650).
TEST(Nb201, ImageNet16Variant) {
  const SearchSpace s = make_space("nb201", "imagenet16-120");
  EXPECT_EQ(s.params().input_hw, 16);
  EXPECT_EQ(s.params().classes, 120);
  const ArchCode conv_free = s.from_string("|skip_connect~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|");
  const std::vector<Op> ops = s.lower(conv_free);
  EXPECT_EQ(ops.front().in_h, 16);
  EXPECT_EQ(ops.front().in_w, 16);
  EXPECT_EQ(ops.back().kind, OpKind::kFullyConnected);
  EXPECT_EQ(ops.back().out_c, 120);
  const auto gp = ops[ops.size() - 2];
  EXPECT_EQ(gp.kind, OpKind::kGlobalPool);
  EXPECT_EQ(gp.in_h, 4);
  const OpTotals t = s.totals(conv_free);
  EXPECT_EQ(t.macs, 110592.0 + 1835008.0 + 7680.0);
  EXPECT_EQ(t.params, kFixedParams - 650 + (64 * 120 + 120));
  const OpTotals big = s.totals(s.code_at(nb201_index(ArchCode{3, 3, 3, 3, 3, 3})));
  EXPECT_EQ(big.macs, 1953280.0 + 53084160.0);
  EXPECT_EQ(make_space("nb201", "cifar100").params().classes, 100);
  EXPECT_THROW(make_space("nb201", "imagenet"), UserError);
}
