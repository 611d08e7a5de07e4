// Checks the NB201 accuracy reader against an independent parse of the real table
// (every value compared exactly: both read the same decimal text into a float), on a
// corpus of malformed files (each refused with its file, line and column named), and
// the synthetic surrogate's documented properties (seeded, rising with capacity, not a
// function of capacity alone: exact or rank-based checks) and its design ranges: the
// capacity term recomputed here from the documented formula and constants, the rest
// within the stated bound of interactions and noise (1e-9: the same double arithmetic
// in another order), its spread near the stated 0.53 points (0.4..0.7: one draw of
// interaction values per seed).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kernels/rank_stats.hpp"
#include "search/accuracy.hpp"
#include "sim/ofa_mbv3.hpp"
#include "base/error.hpp"
#include "tests/support/refusals.hpp"

using namespace proxysim;

namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

std::string write_temp(const std::string& name, const std::string& text) {
  return test::write_temp("proxysim_acc_test", name, text);
}

void expect_refused(const std::string& path, std::initializer_list<std::string> fragments) {
  test::expect_refused([](const std::string& f) { read_nb201_accuracy(f); }, path, fragments);
}

// The real file's lines without their line ends (the file ends them in CRLF), to
// build corrupted copies from: a field appended after a kept CR would put the CR
// inside the line, which the reader refuses for that reason before any other.
std::vector<std::string> real_lines() {
  std::ifstream in(shared("nb201_accuracy.csv"));
  std::vector<std::string> out;
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

}  // namespace

TEST(Nb201Accuracy, EveryValueMatchesAnIndependentParse) {
  const Nb201AccuracyTable t = read_nb201_accuracy(shared("nb201_accuracy.csv"));
  ASSERT_EQ(t.cifar10.size(), 15625u);
  const auto lines = real_lines();
  ASSERT_EQ(lines.size(), 15626u);
  int disconnected = 0;
  for (size_t l = 1; l < lines.size(); ++l) {
    std::vector<std::string> f;
    std::stringstream ss(lines[l]);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    const size_t i = std::stoul(f[0]);
    EXPECT_EQ(t.cifar10[i], std::strtof(f[3].c_str(), nullptr)) << "index " << i;
    EXPECT_EQ(t.cifar100[i], std::strtof(f[4].c_str(), nullptr)) << "index " << i;
    EXPECT_EQ(t.imagenet16_120[i], std::strtof(f[5].c_str(), nullptr)) << "index " << i;
    EXPECT_EQ(t.connected[i], f[2] == "1");
    disconnected += f[2] == "0";
  }
  EXPECT_EQ(disconnected, 341);  // data README
  // Dataset names as the space gives them.
  EXPECT_EQ(&t.of("imagenet16-120"), &t.imagenet16_120);
  EXPECT_THROW(t.of("imagenet"), UserError);
}

TEST(Nb201Accuracy, MalformedFilesAreRefusedWithTheirLine) {
  const auto good = real_lines();
  auto with = [&](size_t line, const std::string& text) {
    auto l = good;
    l[line] = text;
    return join(l);
  };
  expect_refused(write_temp("empty.csv", ""), {"empty.csv", "empty file"});
  expect_refused(write_temp("header_only.csv", good[0] + "\n"), {"header_only.csv", "header only"});
  expect_refused(write_temp("bad_header.csv", with(0, "arch_index,arch_str,connected,cifar10,cifar100_test_acc,"
                                                      "imagenet16_120_test_acc,unique_str")),
                 {"bad_header.csv:1", "cifar10_test_acc"});
  const std::string row1 = good[2];  // index 1
  auto replace_field = [&](const std::string& row, int field, const std::string& v) {
    std::vector<std::string> f;
    std::stringstream ss(row);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    f[static_cast<size_t>(field)] = v;
    std::string out;
    for (size_t j = 0; j < f.size(); ++j) out += (j ? "," : "") + f[j];
    return out;
  };
  expect_refused(write_temp("ragged.csv", with(2, row1 + ",extra")), {"ragged.csv:3", "expected 7 fields, found 8"});
  expect_refused(write_temp("text.csv", with(2, replace_field(row1, 3, "high"))),
                 {"text.csv:3", "cifar10_test_acc", "'high'"});
  expect_refused(write_temp("over100.csv", with(2, replace_field(row1, 4, "100.5"))),
                 {"over100.csv:3", "cifar100_test_acc", "[0, 100]"});
  expect_refused(write_temp("negative.csv", with(2, replace_field(row1, 5, "-1"))),
                 {"negative.csv:3", "imagenet16_120_test_acc"});
  expect_refused(write_temp("nan.csv", with(2, replace_field(row1, 3, "nan"))), {"nan.csv:3", "cifar10_test_acc"});
  expect_refused(write_temp("index.csv", with(2, replace_field(row1, 0, "15625"))), {"index.csv:3", "arch_index", "[0, 15624]"});
  expect_refused(write_temp("dup.csv", with(2, replace_field(row1, 0, "0"))), {"dup.csv:3", "already given on line 2"});
  // Index 1's string under index 2: the string names another architecture.
  auto swapped = good;
  {
    std::vector<std::string> f;
    std::stringstream ss(good[2]);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    swapped[3] = replace_field(good[3], 1, f[1]);
  }
  expect_refused(write_temp("mismatch.csv", join(swapped)), {"mismatch.csv:4", "arch_str", "is NB201 index 1, not 2"});
  expect_refused(write_temp("unknown_op.csv", with(2, replace_field(row1, 1, "|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|"))),
                 {"unknown_op.csv:3", "arch_str"});
  expect_refused(write_temp("conn.csv", with(2, replace_field(row1, 2, "0"))), {"conn.csv:3", "connected", "says 0"});
  auto short_file = good;
  const std::string dropped = good[100].substr(0, good[100].find(','));
  short_file.erase(short_file.begin() + 100);
  expect_refused(write_temp("short.csv", join(short_file)), {"short.csv", "no row for NB201 index " + dropped, "15624 rows"});
  expect_refused("/nonexistent/nb201_accuracy.csv", {"/nonexistent/nb201_accuracy.csv", "cannot open"});
}

TEST(SyntheticAccuracy, SeededBoundedAndRisingWithCapacity) {
  for (const char* name : {"nb201", "fbnet", "ofa_mbv3", "mbv2"}) {
    const SearchSpace space = make_space(name);
    std::vector<float> acc, macs;
    bool seed_matters = false;
    for (uint64_t i = 0; i < 2000; ++i) {
      const ArchCode c = space.sample(7, i);
      const double a = synthetic_accuracy(space, c, 3);
      EXPECT_EQ(a, synthetic_accuracy(space, c, 3));  // a pure function
      seed_matters |= a != synthetic_accuracy(space, c, 4);
      acc.push_back(static_cast<float>(a));
      macs.push_back(static_cast<float>(space.totals(c).macs));
    }
    EXPECT_TRUE(seed_matters) << name;
    // Capacity dominates the surrogate (rank correlation with MACs well above 0.5) but
    // interactions and noise keep it from being a function of MACs (below 0.999).
    const double rho = spearman_pair(Backend::kCpu, acc.data(), macs.data(), static_cast<int64_t>(acc.size()));
    EXPECT_GT(rho, 0.5) << name;
    EXPECT_LT(rho, 0.999) << name;
  }
  // OFA: bytes of slots past a stage's depth name no layer, so they change nothing.
  {
    const SearchSpace ofa = make_space("ofa_mbv3");
    ArchCode c = ofa.sample(1, 0);
    c[1] = 0;  // stage 0 depth 2: slots 2 and 3 unused
    ArchCode d = c;
    d[6 + 3] = static_cast<uint8_t>((d[6 + 3] + 1) % 3);   // kernel of slot 3
    d[26 + 2] = static_cast<uint8_t>((d[26 + 2] + 1) % 3);  // expansion of slot 2
    EXPECT_EQ(synthetic_accuracy(ofa, c, 5), synthetic_accuracy(ofa, d, 5));
    d[6 + 0] = static_cast<uint8_t>((d[6 + 0] + 1) % 3);    // slot 0 is used
    EXPECT_NE(synthetic_accuracy(ofa, c, 5), synthetic_accuracy(ofa, d, 5));
  }
  // Diminishing returns: over all NB201 architectures in three equal bins of log2 MACs,
  // the mean accuracy gained per doubling of MACs falls from bin to bin (interactions
  // and noise average out over thousands of architectures per bin).
  const SearchSpace nb = make_space("nb201");
  std::vector<double> lm(15625), acc(15625);
  double lo = 1e9, hi = -1e9;
  for (uint64_t i = 0; i < 15625; ++i) {
    const ArchCode c = nb.code_at(i);
    lm[i] = std::log2(nb.totals(c).macs);
    acc[i] = synthetic_accuracy(nb, c, 1);
    lo = std::min(lo, lm[i]);
    hi = std::max(hi, lm[i]);
  }
  double sx[3] = {0, 0, 0}, sy[3] = {0, 0, 0};
  int cnt[3] = {0, 0, 0};
  for (size_t i = 0; i < lm.size(); ++i) {
    const int b = std::min(2, static_cast<int>(3 * (lm[i] - lo) / (hi - lo)));
    sx[b] += lm[i];
    sy[b] += acc[i];
    ++cnt[b];
  }
  for (int b = 0; b < 3; ++b) ASSERT_GT(cnt[b], 100);
  auto mean = [&](const double* v, int b) { return v[b] / cnt[b]; };
  const double slope01 = (mean(sy, 1) - mean(sy, 0)) / (mean(sx, 1) - mean(sx, 0));
  const double slope12 = (mean(sy, 2) - mean(sy, 1)) / (mean(sx, 2) - mean(sx, 1));
  EXPECT_GT(slope01, 0.0);
  EXPECT_GT(slope12, 0.0);
  EXPECT_GT(slope01, slope12);
}

// The surrogate's design (search/accuracy.hpp, constants in accuracy.cpp), computed here
// from its documented form: capacity a_min + (a_max - a_min) (1 - exp(-c / c0)) with
// c = log(1 + MACs / MACs_min) + 0.5 log(1 + params / params_min); K - 1 interaction
// terms, each in [-w, w] with w = 0.5 sqrt(3 / (K - 1)) (together 0.5 points standard
// deviation); noise in [-0.3, 0.3]. So accuracy - capacity lies within
// +-((K - 1) w + 0.3) for every architecture, and over many architectures its spread
// is about sqrt(0.5^2 + 0.3^2 / 3) = 0.53 points. K is the decisions the surrogate sees
// (OFA: resolution, 5 depths and one choice per slot, 26; MBv2: 5 depths and 21 slots, 26).
struct SyntheticDesign {
  const char* space;
  double a_min, a_max, c0, macs_min, params_min;
  int decisions;
};
constexpr SyntheticDesign kDesigns[] = {
    {"nb201", 85.0, 94.5, 1.5, 7.8e6, 7.3e4, 6},
    {"fbnet", 60.0, 77.0, 2.0, 1.0e7, 2.0e5, 22},
    {"ofa_mbv3", 70.0, 81.0, 2.0, 1.0e8, 2.0e6, ofa::kKernelOffset + ofa::kSlots},
    {"mbv2", 65.0, 80.0, 3.0, 1.0e8, 2.0e6, mbv2::kKernelOffset + mbv2::kSlots},
};

TEST(SyntheticAccuracy, WithinItsDesignRanges) {
  for (const SyntheticDesign& d : kDesigns) {
    const SearchSpace space = make_space(d.space);
    const double w = 0.5 * std::sqrt(3.0 / (d.decisions - 1));
    const double reach = (d.decisions - 1) * w + 0.3;  // the largest |accuracy - capacity|
    for (uint64_t seed : {1u, 2u, 3u}) {
      double lo = 1e9, hi = -1e9, sum = 0, sum2 = 0, cap_lo = 1e9, cap_hi = -1e9;
      const int n = 4000;
      for (uint64_t i = 0; i < n; ++i) {
        const ArchCode c = space.sample(11 + seed, i);
        const OpTotals t = space.totals(c);
        const double cap_c = std::log1p(static_cast<double>(t.macs) / d.macs_min) +
                             0.5 * std::log1p(static_cast<double>(t.params) / d.params_min);
        const double capacity = d.a_min + (d.a_max - d.a_min) * (1.0 - std::exp(-cap_c / d.c0));
        const double a = synthetic_accuracy(space, c, seed);
        ASSERT_TRUE(std::isfinite(a)) << d.space << " architecture " << i;
        const double rest = a - capacity;  // interactions + noise
        EXPECT_LE(std::abs(rest), reach + 1e-9) << d.space << " seed " << seed << " architecture " << i;
        EXPECT_GE(a, d.a_min - reach) << d.space;
        EXPECT_LE(a, d.a_max + reach) << d.space;
        lo = std::min(lo, a);
        hi = std::max(hi, a);
        cap_lo = std::min(cap_lo, capacity);
        cap_hi = std::max(cap_hi, capacity);
        sum += rest;
        sum2 += rest * rest;
      }
      const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
      std::printf("%s seed %llu: accuracy %.2f..%.2f (capacity %.2f..%.2f), accuracy - capacity mean %+.3f sd %.3f\n",
                  d.space, static_cast<unsigned long long>(seed), lo, hi, cap_lo, cap_hi, mean, sd);
      // The spread the design states, 0.53 points; the interaction values are one draw
      // per seed (NB201: 125 of them), so the realised spread varies with the seed:
      // within 0.4..0.7.
      EXPECT_GT(sd, 0.4) << d.space << " seed " << seed;
      EXPECT_LT(sd, 0.7) << d.space << " seed " << seed;
      // Capacity is the main effect: the sampled architectures span more than the
      // interactions and noise do.
      EXPECT_GT(cap_hi - cap_lo, 2 * sd) << d.space;
    }
  }
}
