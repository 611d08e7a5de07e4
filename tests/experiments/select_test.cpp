// Checks the select stage end to end through `proxysim run`: on a table where one
// candidate is a strictly increasing function of the target (SRCC exactly 1, so it is
// the oracle and ties in the target stay ties in it), max_mean_srcc and max_min_srcc
// pick it in every repeat at n = 20 (regret exactly 0), random's mean regret is
// clearly positive, and flops' regret, the oracle and every full-data SRCC equal their
// independent computation in the test (a reference Spearman over the connected rows of
// the table as written, connectivity worked out from the strings, MACs from the
// space) to float32 storage (1e-6); config mistakes exit 2 naming the key; a fixed
// seed reproduces every value bit for bit, on one thread as on several.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/h5_read.hpp"
#include "tests/support/reference_spearman.hpp"
#include "tests/support/run_config.hpp"
#include "sim/space.hpp"

using proxysim::test::run_config;
using proxysim::test::RunOutcome;

namespace {

namespace fs = std::filesystem;

const std::array<const char*, 5> kOps = {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"};

std::string arch_str(int packed) {
  int op[6];
  for (int e = 5; e >= 0; --e) {
    op[e] = packed % 5;
    packed /= 5;
  }
  std::ostringstream s;
  s << "|" << kOps[op[0]] << "~0|+|" << kOps[op[1]] << "~0|" << kOps[op[2]] << "~1|+|" << kOps[op[3]] << "~0|"
    << kOps[op[4]] << "~1|" << kOps[op[5]] << "~2|";
  return s.str();
}

// target = sum of per-(edge, op) weights + 1; mono = exp(target / 4), increasing in the
// target; noisy_a and noisy_b = target + 10 + uniform noise about as wide as the
// target's spread (the 10 keeps latencies positive);
// reverse = 40 - target, ranking everything backwards.
fs::path write_table() {
  const double op_ms[5] = {0.0, 0.1, 1.0, 3.0, 0.5};
  // One file per test: ctest runs tests in parallel processes.
  const fs::path p =
      fs::temp_directory_path() / ("select_monotone_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".csv");
  std::ofstream out(p);
  out << "arch_str,target,mono,noisy_a,noisy_b,reverse\n";
  out.precision(9);
  std::mt19937 gen(12345);
  std::uniform_real_distribution<double> noise(-6.0, 6.0);
  for (int i = 0; i < 400; ++i) {
    const int packed = static_cast<int>((static_cast<long long>(i) * 7919) % 15625);  // distinct: gcd(7919, 15625) = 1
    int rest = packed;
    double target = 1.0;
    for (int e = 5; e >= 0; --e) {
      target += op_ms[rest % 5] * (1.0 + 0.1 * e);
      rest /= 5;
    }
    const double a = noise(gen), b = noise(gen);
    out << arch_str(packed) << "," << target << "," << std::exp(target / 4.0) << "," << target + 10.0 + a << ","
        << target + 10.0 + b << "," << 40.0 - target << "\n";
  }
  return p;
}

std::string config(const std::string& table, const std::string& select) {
  return "name: select_test\nspace: nb201\nmeasured: " + table + "\nstages:\n  - select: " + select + "\n";
}

struct Select {
  std::vector<std::string> rules, targets, candidates, oracle;
  std::vector<uint64_t> n;
  std::vector<hsize_t> dims, group_dims;
  std::vector<float> srcc, regret, fraction, group_srcc, group_regret, oracle_srcc, macs_srcc, full, chosen;
  std::vector<hsize_t> chosen_dims;
};

Select read_select(const fs::path& path) {
  Select s;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << path;
  if (f < 0) return s;
  s.rules = read_strings(f, "/cells/0/select/rules");
  s.targets = read_strings(f, "/cells/0/select/targets");
  s.candidates = read_strings(f, "/cells/0/select/candidates");
  s.oracle = read_strings(f, "/cells/0/select/oracle");
  std::vector<hsize_t> d;
  s.n = read_all<uint64_t>(f, "/cells/0/select/n", H5T_NATIVE_UINT64, &d);
  s.srcc = read_all<float>(f, "/cells/0/select/srcc_mean", H5T_NATIVE_FLOAT, &s.dims);
  s.regret = read_all<float>(f, "/cells/0/select/regret_mean", H5T_NATIVE_FLOAT, &d);
  s.fraction = read_all<float>(f, "/cells/0/select/oracle_fraction", H5T_NATIVE_FLOAT, &d);
  s.group_srcc = read_all<float>(f, "/cells/0/select/group_srcc_mean", H5T_NATIVE_FLOAT, &s.group_dims);
  s.group_regret = read_all<float>(f, "/cells/0/select/group_regret_mean", H5T_NATIVE_FLOAT, &d);
  s.oracle_srcc = read_all<float>(f, "/cells/0/select/oracle_srcc", H5T_NATIVE_FLOAT, &d);
  s.macs_srcc = read_all<float>(f, "/cells/0/select/macs_srcc", H5T_NATIVE_FLOAT, &d);
  s.full = read_all<float>(f, "/cells/0/select/srcc_full", H5T_NATIVE_FLOAT, &d);
  s.chosen = read_all<float>(f, "/cells/0/select/chosen", H5T_NATIVE_FLOAT, &s.chosen_dims);
  H5Fclose(f);
  return s;
}

// The connected rows of the table as the CLI reads it (float32 latencies), with
// their MACs: NB201 connectivity worked out from the string (node 3 reachable from
// node 0 over edges that are not `none`; edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2).
struct Connected {
  std::vector<std::string> names;
  std::vector<std::vector<double>> cols;  // [column][connected row]
  std::vector<double> macs;
};

Connected read_connected(const fs::path& p) {
  Connected c;
  const proxysim::SearchSpace space = proxysim::make_space("nb201");
  std::ifstream in(p);
  std::string line, cell;
  std::getline(in, line);
  std::stringstream hs(line);
  std::getline(hs, cell, ',');
  while (std::getline(hs, cell, ',')) c.names.push_back(cell);
  c.cols.resize(c.names.size());
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string arch;
    std::getline(ls, arch, ',');
    if (!proxysim::test::nb201_connected_by_hand(arch)) continue;
    for (auto& col : c.cols) {
      std::getline(ls, cell, ',');
      col.push_back(std::stof(cell));
    }
    c.macs.push_back(static_cast<double>(space.totals(space.from_string(arch)).macs));
  }
  return c;
}

}  // namespace

TEST(SelectCli, UnknownRuleExitsTwoNamingTheKey) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "select_bad_rule.h5";
  const RunOutcome r = run_config("select_bad_rule", config(table.string(), "{rules: [flops, max_median_srcc]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[0].select.rules[1]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_median_srcc"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(SelectCli, UnknownCandidateAndTargetExitTwoNamingTheKey) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "select_bad_device.h5";
  RunOutcome r = run_config("select_bad_candidate", config(table.string(), "{candidates: [mono, pixel3]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[0].select.candidates"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pixel3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":5:"), std::string::npos) << "the line of the key: " << r.err;
  r = run_config("select_bad_target", config(table.string(), "{targets: [target, tpu]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[0].select.targets"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tpu"), std::string::npos) << r.err;
  r = run_config("select_self", config(table.string(), "{candidates: [mono], targets: [mono]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[0].select.candidates"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(SelectCli, BudgetBeyondTheMeasuredArchitecturesExitsTwo) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "select_big_n.h5";
  const RunOutcome r = run_config("select_big_n", config(table.string(), "{n: [10, 5000]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[0].select.n"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(SelectCli, SrccRulesFindTheMonotoneProxyAndRandomDoesNot) {
  const fs::path table = write_table();
  const std::string select = "{candidates: all, targets: [target], n: [5, 20], repeats: 20, seed: 3}";
  const fs::path out1 = fs::temp_directory_path() / "select_monotone_1.h5";
  const fs::path out2 = fs::temp_directory_path() / "select_monotone_2.h5";
  RunOutcome r = run_config("select_monotone_1", config(table.string(), select), out1);
  ASSERT_EQ(r.rc, 0) << r.err;
  // The second run on one thread: the result must not depend on the thread count.
  r = run_config("select_monotone_2", config(table.string(), select), out2, "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.rc, 0) << r.err;
  const Select a = read_select(out1);
  const Select b = read_select(out2);

  ASSERT_EQ(a.rules, (std::vector<std::string>{"max_mean_srcc", "max_min_srcc", "flops", "random"}));
  ASSERT_EQ(a.targets, std::vector<std::string>{"target"});
  ASSERT_EQ(a.candidates, (std::vector<std::string>{"target", "mono", "noisy_a", "noisy_b", "reverse"}));
  ASSERT_EQ(a.n, (std::vector<uint64_t>{5, 20}));
  ASSERT_EQ(a.dims, (std::vector<hsize_t>{4, 1, 2}));
  ASSERT_EQ(a.group_dims, (std::vector<hsize_t>{4, 2}));
  ASSERT_EQ(a.full.size(), 5u);
  EXPECT_TRUE(std::isnan(a.full[0]));  // the target is no proxy for itself
  EXPECT_NEAR(a.full[1], 1.0, 1e-6);
  EXPECT_NEAR(a.full[4], -1.0, 1e-6);
  EXPECT_LT(a.full[2], 0.95f);
  EXPECT_LT(a.full[3], 0.95f);

  ASSERT_EQ(a.oracle, std::vector<std::string>{"mono"});
  EXPECT_NEAR(a.oracle_srcc[0], 1.0, 1e-6);
  auto at = [&](const std::vector<float>& v, size_t rule, size_t k) { return v[rule * 2 + k]; };
  for (size_t rule : {0u, 1u}) {  // max_mean_srcc, max_min_srcc
    EXPECT_EQ(at(a.fraction, rule, 1), 1.0f);
    EXPECT_EQ(at(a.regret, rule, 1), 0.0f);
    EXPECT_NEAR(at(a.srcc, rule, 1), 1.0, 1e-6);
    EXPECT_EQ(at(a.group_regret, rule, 1), 0.0f);  // one target: the group form is the per-target one
  }
  // flops ignores the samples: at every n its regret is the oracle's full-data SRCC
  // (the best candidate's, computed here) minus the SRCC of MACs, both over the
  // connected architectures.
  const Connected c = read_connected(table);
  ASSERT_EQ(c.names[0], "target");
  double oracle = -2;
  for (size_t j = 1; j < c.names.size(); ++j) {
    const double rho = proxysim::test::reference_spearman(c.cols[j], c.cols[0]);
    EXPECT_NEAR(a.full[j], rho, 1e-6) << c.names[j];
    oracle = std::max(oracle, rho);
  }
  const double macs_rho = proxysim::test::reference_spearman(c.macs, c.cols[0]);
  std::printf("%zu connected rows: oracle SRCC %.6f, MACs %.6f, flops regret %.6f\n", c.macs.size(), oracle, macs_rho,
              oracle - macs_rho);
  EXPECT_NEAR(a.oracle_srcc[0], oracle, 1e-6);
  EXPECT_NEAR(a.macs_srcc[0], macs_rho, 1e-6);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(at(a.regret, 2, k), oracle - macs_rho, 1e-6);
    EXPECT_EQ(at(a.fraction, 2, k), 0.0f);
  }
  // random picks each of the four other columns about a quarter of the time; all but
  // mono cost at least 1 - 0.95 of SRCC.
  EXPECT_GT(at(a.regret, 3, 1), 0.05f);
  EXPECT_LT(at(a.fraction, 3, 1), 1.0f);
  EXPECT_GT(at(a.group_regret, 3, 1), 0.05f);

  // The stored picks: [rule][target][n][repeat], a candidate index or -1 for MACs. The
  // SRCC rules pick mono (index 1) at n = 20; flops is MACs; and each rule's regret is
  // the mean over its picks of the oracle's SRCC minus the pick's (srcc_full, MACs).
  ASSERT_EQ(a.chosen_dims, (std::vector<hsize_t>{4, 1, 2, 20}));
  auto pick = [&](size_t rule, size_t k, size_t rep) { return a.chosen[(rule * 2 + k) * 20 + rep]; };
  for (size_t rep = 0; rep < 20; ++rep) {
    EXPECT_EQ(pick(0, 1, rep), 1.0f);
    EXPECT_EQ(pick(2, 0, rep), -1.0f);
  }
  for (size_t rule = 0; rule < 4; ++rule) {
    for (size_t k = 0; k < 2; ++k) {
      double regret = 0;
      for (size_t rep = 0; rep < 20; ++rep) {
        const float c = pick(rule, k, rep);
        regret += oracle - (c < 0 ? macs_rho : a.full[static_cast<size_t>(c)]);
      }
      EXPECT_NEAR(at(a.regret, rule, k), regret / 20, 1e-5) << rule << " " << k;
    }
  }
  EXPECT_EQ(a.chosen, b.chosen);

  // Same seed, same everything, on any number of threads.
  EXPECT_EQ(a.srcc, b.srcc);
  EXPECT_EQ(a.regret, b.regret);
  EXPECT_EQ(a.fraction, b.fraction);
  EXPECT_EQ(a.group_srcc, b.group_srcc);
  EXPECT_EQ(a.group_regret, b.group_regret);
  fs::remove(out1);
  fs::remove(out2);
}

TEST(SelectCli, GroupFormChoosesOneProxyForSeveralTargets) {
  // Targets mono and reverse: the column `target` ranks mono perfectly (the oracle,
  // SRCC 1) and reverse perfectly backwards. Whatever one proxy the group rules choose,
  // its regret averaged over the targets is oracle - chosen, never negative.
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "select_group.h5";
  const RunOutcome r =
      run_config("select_group", config(table.string(), "{targets: [mono, reverse], n: [20], repeats: 5}"), out);
  ASSERT_EQ(r.rc, 0) << r.err;
  const Select s = read_select(out);
  ASSERT_EQ(s.group_dims, (std::vector<hsize_t>{4, 1}));
  for (float g : s.group_regret) EXPECT_GE(g, -1e-6f);
  ASSERT_EQ(s.oracle.size(), 2u);
  EXPECT_EQ(s.oracle[0], "target");
  EXPECT_NEAR(s.oracle_srcc[0], 1.0, 1e-6);
  fs::remove(out);
}
