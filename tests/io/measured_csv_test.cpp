// Checks the measured-latency CSV reader on every shared data file (row and device
// counts, missing cells and NB201 connectivity as documented in ../shared/data/README.md)
// and on a corpus of malformed files, each of which must be refused with its line named.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/measured_csv.hpp"
#include "base/error.hpp"
#include "sim/space.hpp"
#include "tests/support/refusals.hpp"

using namespace proxysim;

namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

std::string write_temp(const std::string& name, const std::string& text) {
  return test::write_temp("proxysim_csv_test", name, text);
}

void expect_refused(const std::string& path, std::initializer_list<std::string> fragments) {
  test::expect_refused([](const std::string& f) { read_measured_csv(f); }, path, fragments);
}

const char* kNb201Header = "arch_index,arch_str,connected,dev_a,dev_b\n";
// Official index 0 and 1 of NAS-Bench-201 (first rows of the shared tables).
const char* kArch0 = "0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,1";
const char* kArch1 = "1,|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|,1";

}  // namespace

TEST(MeasuredCsv, HelpNb201) {
  const MeasuredTable t = read_measured_csv(shared("help_nb201_latency.csv"));
  EXPECT_EQ(t.space, "nb201");
  EXPECT_EQ(t.rows(), 15625u);
  EXPECT_EQ(t.devices.size(), 27u);
  EXPECT_EQ(t.disconnected(), 341u);
  for (uint64_t m : t.missing) EXPECT_EQ(m, 0u);
  // Row 0 of the file: 1080ti_1 = 10.754371 ms.
  EXPECT_EQ(t.devices[0], "1080ti_1");
  EXPECT_FLOAT_EQ(t.latency_ms[0], 10.754371f);
}

TEST(MeasuredCsv, HwNasBenchMissingEdgeDevices) {
  const MeasuredTable t = read_measured_csv(shared("hwnasbench_nb201_cifar10.csv"));
  ASSERT_EQ(t.devices.size(), 6u);
  EXPECT_EQ(t.devices[0], "edgegpu");  // "_latency" suffix dropped
  // edgegpu and edgetpu were measured for 1999 architectures only.
  EXPECT_EQ(t.missing[0], 15625u - 1999u);
  // ... and edgetpu lacks 259 of those 1999 too (the README's oneproxy quirk).
  EXPECT_EQ(t.missing[2], 15625u - 1999u + 259u);
  EXPECT_EQ(t.missing[1], 0u);
}

TEST(MeasuredCsv, OneProxyEdgeTpuGaps) {
  const MeasuredTable t = read_measured_csv(shared("oneproxy_nb201_1999_latency.csv"));
  EXPECT_EQ(t.rows(), 1999u);
  EXPECT_EQ(t.devices.size(), 18u);
  for (size_t d = 0; d < t.devices.size(); ++d) {
    EXPECT_EQ(t.missing[d], t.devices[d] == "rice_edgetpu" ? 259u : 0u) << t.devices[d];
  }
}

TEST(MeasuredCsv, FbnetAndOfa) {
  const MeasuredTable f = read_measured_csv(shared("help_fbnet_latency.csv"));
  EXPECT_EQ(f.space, "fbnet");
  EXPECT_EQ(f.rows(), 5000u);
  EXPECT_EQ(f.devices.size(), 27u);
  // First row of the file: L0..L2 = 7, 8, 1.
  EXPECT_EQ(f.codes[0][0], 7);
  EXPECT_EQ(f.codes[0][1], 8);
  EXPECT_EQ(f.codes[0][2], 1);
  const MeasuredTable o = read_measured_csv(shared("help_ofa_latency.csv"));
  EXPECT_EQ(o.space, "ofa_mbv3");
  EXPECT_EQ(o.rows(), 5000u);
  EXPECT_EQ(o.devices.size(), 12u);
  EXPECT_EQ(o.codes[0][0], (204 - 128) / 4);  // resolution 204
}

TEST(MeasuredCsvCorpus, EmptyAndHeaderOnly) {
  expect_refused(write_temp("empty.csv", ""), {"empty.csv", "empty"});
  expect_refused(write_temp("header.csv", kNb201Header), {"header.csv", "header only"});
}

TEST(MeasuredCsvCorpus, RaggedRow) {
  expect_refused(write_temp("ragged.csv", std::string(kNb201Header) + kArch0 + ",1.0\n"), {"ragged.csv:2", "4 fields", "5"});
}

TEST(MeasuredCsvCorpus, TextNegativeInfinite) {
  expect_refused(write_temp("text.csv", std::string(kNb201Header) + kArch0 + ",1.0,fast\n"), {"text.csv:2", "dev_b", "fast"});
  expect_refused(write_temp("neg.csv", std::string(kNb201Header) + kArch0 + ",-1.0,2\n"), {"neg.csv:2", "dev_a", "negative"});
  // Found by fuzz_measured_csv: a zero latency was accepted, and 1e39 fits a double but
  // becomes infinite as the float the table holds.
  expect_refused(write_temp("zero.csv", std::string(kNb201Header) + kArch0 + ",0,2\n"), {"zero.csv:2", "dev_a", "zero"});
  expect_refused(write_temp("huge.csv", std::string(kNb201Header) + kArch0 + ",1,1e39\n"), {"huge.csv:2", "dev_b", "float"});
  expect_refused(write_temp("tiny.csv", std::string(kNb201Header) + kArch0 + ",1e-45,2\n"), {"tiny.csv:2", "dev_a", "float"});
  expect_refused(write_temp("inf.csv", std::string(kNb201Header) + kArch0 + ",inf,2\n"), {"inf.csv:2", "dev_a", "inf"});
  expect_refused(write_temp("nan.csv", std::string(kNb201Header) + kArch0 + ",nan,2\n"), {"nan.csv:2", "dev_a"});
}

TEST(MeasuredCsvCorpus, DuplicateAndUnknownOp) {
  expect_refused(write_temp("dup.csv", std::string(kNb201Header) + kArch0 + ",1,2\n" + kArch1 + ",1,2\n" + kArch0 + ",3,4\n"),
                 {"dup.csv:4", "duplicate", "line 2"});
  expect_refused(write_temp("op.csv", std::string(kNb201Header) +
                                          "0,|max_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,1,1,2\n"),
                 {"op.csv:2", "max_pool_3x3"});
  // The index must be the official one for the string.
  expect_refused(write_temp("idx.csv", std::string(kNb201Header) + "5" + std::string(kArch0).substr(1) + ",1,2\n"),
                 {"idx.csv:2", "arch_index", "official index"});
  expect_refused(write_temp("conn.csv", std::string(kNb201Header) +
                                            "0,|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|,0,1,2\n"),
                 {"conn.csv:2", "connected"});
}

TEST(MeasuredCsvCorpus, MillionColumns) {
  std::string header = "arch_index,arch_str,connected";
  for (int i = 0; i < 1000000; ++i) header += ",d" + std::to_string(i);
  expect_refused(write_temp("wide.csv", header + "\n"), {"wide.csv:1", "columns"});
}

TEST(MeasuredCsvCorpus, NoDeviceColumnsAndUnknownSpace) {
  expect_refused(write_temp("nodev.csv", "arch_index,arch_str,connected\n" + std::string(kArch0) + "\n"), {"nodev.csv:1", "no device"});
  expect_refused(write_temp("nospace.csv", "id,a,b\n1,2,3\n"), {"nospace.csv:1", "search space"});
}

TEST(MeasuredCsv, EmptyCellIsNotMeasured) {
  const MeasuredTable t = read_measured_csv(write_temp("gap.csv", std::string(kNb201Header) + kArch0 + ",,2\n" + kArch1 + ",1,2\n"));
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_TRUE(std::isnan(t.latency_ms[0]));
  EXPECT_EQ(t.missing[0], 1u);
  EXPECT_EQ(t.missing[1], 0u);
}

// A user's file keyed by official index alone (arch_index,my_phone) reads as the same
// rows as one that also names each architecture: built here from HELP's Pixel 3 column
// (every 50th row), both ways, compared row for row; a bad index or a connected flag
// that contradicts the index is refused naming the line.
TEST(MeasuredCsv, IndexOnlyNb201FileReadsLikeTheFullKey) {
  const MeasuredTable help = read_measured_csv(shared("help_nb201_latency.csv"));
  const size_t pixel3 = static_cast<size_t>(std::find(help.devices.begin(), help.devices.end(), "pixel3") - help.devices.begin());
  ASSERT_LT(pixel3, help.devices.size());
  const SearchSpace nb201 = make_space("nb201");
  std::string index_only = "arch_index,my_phone\n", full = "arch_index,arch_str,my_phone\n";
  for (uint64_t r = 0; r < help.rows(); r += 50) {
    const std::string v = std::to_string(help.latency_ms[r * help.devices.size() + pixel3]);
    index_only += std::to_string(help.arch_index[r]) + "," + v + "\n";
    full += std::to_string(help.arch_index[r]) + "," + nb201.to_string(help.codes[r]) + "," + v + "\n";
  }
  const MeasuredTable a = read_measured_csv(write_temp("index_only.csv", index_only));
  const MeasuredTable b = read_measured_csv(write_temp("full_key.csv", full));
  EXPECT_EQ(a.space, "nb201");
  EXPECT_EQ(a.devices, (std::vector<std::string>{"my_phone"}));
  ASSERT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.arch_index, b.arch_index);
  EXPECT_EQ(a.connected, b.connected);
  EXPECT_EQ(a.latency_ms, b.latency_ms);
  EXPECT_GT(a.disconnected(), 0u);  // every 50th row includes disconnected ones
  expect_refused(write_temp("bad_index.csv", "arch_index,my_phone\n0,1.5\n15625,2.5\n"),
                 {"bad_index.csv:3", "arch_index", "[0, 15624]"});
  expect_refused(write_temp("bad_connected.csv", "arch_index,connected,my_phone\n0,0,1.5\n"),
                 {"bad_connected.csv:2", "connected", "index 0 is connected"});
}
