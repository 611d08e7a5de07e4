// Checks the nas stage end to end through the CLI on the real HW-NAS-Bench table and
// NB201 accuracies: the result file's cubes have the configured axes, exhaustive
// search on the target itself has zero regret and one thread gives the same file as
// two (exact: the searches are independent and counter-seeded), and bad nas settings
// exit with status 2 naming the key.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "tests/support/h5_read.hpp"
#include "tests/support/run_config.hpp"

using proxysim::test::run_config;
using proxysim::test::RunOutcome;

namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

std::string config(const std::string& nas) {
  return "name: nas_test\nspace: nb201\ndata_dir: " + std::string(PROXYSIM_SHARED_DATA) +
         "\nmeasured: " + shared("hwnasbench_nb201_cifar10.csv") +
         "\narchs: measured\nstages:\n  - nas: " + nas + "\n";
}

std::string base_nas() {
  return "{accuracy_file: " + shared("nb201_accuracy.csv") +
         ", proxy: pixel3, targets: [eyeriss, edgetpu], sources: [target, proxy, adapted, flops], "
         "strategies: [exhaustive, regularized_evolution], constraints: [0.1, 0.5], seeds: 3, budget: 300, "
         "checkpoints: [50, 300]}";
}

std::filesystem::path tmp(const std::string& name) { return std::filesystem::temp_directory_path() / name; }

// Each named dataset equal in shape and value in both files (NaN matches NaN).
void expect_same_datasets(hid_t f1, hid_t f2, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    std::vector<hsize_t> d1, d2;
    const auto a = read_all<float>(f1, name, H5T_NATIVE_FLOAT, &d1);
    const auto b = read_all<float>(f2, name, H5T_NATIVE_FLOAT, &d2);
    EXPECT_EQ(d1, d2) << name;
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << name << " [" << i << "]";
    }
  }
}

}  // namespace

TEST(NasCli, CubesHaveTheConfiguredAxesAndTargetExhaustiveHasZeroRegret) {
  const auto out1 = tmp("nas_stage_1.h5"), out2 = tmp("nas_stage_2.h5");
  RunOutcome r = run_config("nas_stage_1", config(base_nas()), out1);
  ASSERT_EQ(r.rc, 0) << r.err;
  r = run_config("nas_stage_2", config(base_nas()), out2, "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.rc, 0) << r.err;
  const hid_t f1 = H5Fopen(out1.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), f2 = H5Fopen(out2.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f1, 0);
  ASSERT_GE(f2, 0);
  EXPECT_EQ(read_strings(f1, "/cells/0/nas/strategies"), (std::vector<std::string>{"exhaustive", "regularized_evolution"}));
  EXPECT_EQ(read_strings(f1, "/cells/0/nas/sources"), (std::vector<std::string>{"target", "proxy", "adapted", "flops"}));
  EXPECT_EQ(read_strings(f1, "/cells/0/nas/targets"), (std::vector<std::string>{"eyeriss", "edgetpu"}));
  std::vector<hsize_t> d;
  const auto regret = read_all<float>(f1, "/cells/0/nas/regret", H5T_NATIVE_FLOAT, &d);
  EXPECT_EQ(d, (std::vector<hsize_t>{2, 4, 2, 2, 3}));
  expect_same_datasets(f1, f2, {"/cells/0/nas/regret", "/cells/0/nas/found_accuracy", "/cells/0/nas/violation",
                                "/cells/0/nas/target_measurements", "/cells/0/nas/hypervolume_ratio",
                                "/cells/0/nas/best_accuracy", "/cells/0/nas/evaluations"});
  // [strategy 0 = exhaustive][source 0 = target][target][constraint][seed]: regret 0.
  for (size_t i = 0; i < 2 * 2 * 3; ++i) EXPECT_EQ(regret[i], 0.0f) << i;
  // Evolution spends its budget; exhaustive evaluates every eligible architecture.
  const auto evals = read_all<float>(f1, "/cells/0/nas/evaluations", H5T_NATIVE_FLOAT, &d);
  const auto eligible = read_all<float>(f1, "/cells/0/nas/eligible", H5T_NATIVE_FLOAT, &d);
  EXPECT_EQ(evals[0], eligible[0]);
  EXPECT_EQ(evals[(((1 * 4 + 0) * 2 + 0) * 2 + 0) * 3 + 0], 300.0f);
  H5Fclose(f1);
  H5Fclose(f2);
}

// Local search and latency-aware random from a config: the same cubes on 1 thread and
// on the default threads, every search spends its budget, and the refusals are written.
TEST(NasCli, LocalSearchAndLatencyAwareRandomFromAConfig) {
  const std::string nas = "{accuracy_file: " + shared("nb201_accuracy.csv") +
                          ", proxy: pixel3, targets: [eyeriss], sources: [target, proxy], "
                          "strategies: [local_search, latency_aware_random], constraints: [0.1], seeds: 2, budget: 200, "
                          "checkpoints: [50, 200]}";
  const auto out1 = tmp("nas_stage_ls_1.h5"), out2 = tmp("nas_stage_ls_2.h5");
  RunOutcome r = run_config("nas_stage_ls_1", config(nas), out1);
  ASSERT_EQ(r.rc, 0) << r.err;
  r = run_config("nas_stage_ls_2", config(nas), out2, "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.rc, 0) << r.err;
  const hid_t f1 = H5Fopen(out1.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), f2 = H5Fopen(out2.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f1, 0);
  ASSERT_GE(f2, 0);
  EXPECT_EQ(read_strings(f1, "/cells/0/nas/strategies"), (std::vector<std::string>{"local_search", "latency_aware_random"}));
  expect_same_datasets(f1, f2, {"/cells/0/nas/regret", "/cells/0/nas/evaluations", "/cells/0/nas/rejected",
                                "/cells/0/nas/best_accuracy"});
  std::vector<hsize_t> d;
  const auto evals = read_all<float>(f1, "/cells/0/nas/evaluations", H5T_NATIVE_FLOAT, &d);
  EXPECT_EQ(d, (std::vector<hsize_t>{2, 2, 1, 1, 2}));
  for (float e : evals) EXPECT_EQ(e, 200.0f);
  // The constraint admits a tenth of the eligible architectures: uniform draws are
  // refused about nine times in ten, so every search has refusals.
  const auto rejected = read_all<float>(f1, "/cells/0/nas/rejected", H5T_NATIVE_FLOAT, &d);
  for (float x : rejected) EXPECT_GT(x, 0.0f);
  H5Fclose(f1);
  H5Fclose(f2);
}

TEST(NasCli, BadSettingsExitTwoNamingTheKey) {
  const auto out = tmp("nas_stage_bad.h5");
  struct Case {
    std::string nas, fragment;
  };
  const std::vector<Case> cases = {
      {"{proxy: pixel3, sources: [target, hardware]}", "unknown latency source 'hardware'"},
      {"{proxy: pixel3, strategies: [bayesian]}", "unknown search strategy 'bayesian'"},
      {"{proxy: pixel5}", "unknown proxy device 'pixel5'"},
      {"{proxy: pixel3, targets: [eyeriss, tpu]}", "unknown target device 'tpu'"},
      {"{proxy: pixel3, constraints: [0.5, 0.1]}", "constraints must increase"},
      {"{proxy: pixel3, constraints: [0]}", "constraints"},
      {"{proxy: pixel3, accuracy: measured}", "unknown accuracy source 'measured'"},
      {"{proxy: pixel3, accuracy_file: /nonexistent.csv}", "nas.accuracy_file': no such file '/nonexistent.csv'"},
      {"{proxy: pixel3, ofa: {parent_ratio: 0.6, mutation_ratio: 0.5}}", "parent_ratio + mutation_ratio"},
      {"{targets: [eyeriss]}", "nas.proxy"},
      {"{proxy: pixel3, constraints: [0.5], constraint_ms: [3]}", "not both"},
      {"{proxy: pixel3, constraint_ms: [5, 3]}", "limits must increase"},
      {"{proxy: pixel3, targets: [eyeriss], constraint_ms: [1e-6]}",
       "nas.constraint_ms: no architecture measured on 'eyeriss' is within 1e-06 ms"},
  };
  for (const auto& c : cases) {
    const RunOutcome r = run_config("nas_stage_bad", config(c.nas), out);
    EXPECT_EQ(r.rc, 2) << c.nas << ": " << r.err;
    EXPECT_NE(r.err.find(c.fragment), std::string::npos) << c.nas << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.nas;
  }
}

// A limit in ms is the quantile whose order statistic it is: with the 0.1 and 0.5
// quantiles' latencies on one target given back as limits, every search is the same,
// and the judged limits are those numbers. (Raspi4: no other architecture ties those
// two latencies, so each limit admits exactly the quantile's architectures; Eyeriss's
// layer-wise estimates tie by the hundred.)
TEST(NasCli, AbsoluteLimitsEqualTheQuantilesTheyAre) {
  const std::string one = "{accuracy_file: " + shared("nb201_accuracy.csv") +
                          ", proxy: pixel3, targets: [raspi4], sources: [target, proxy, adapted, flops], "
                          "strategies: [regularized_evolution], seeds: 3, budget: 200, checkpoints: [50, 200], ";
  const auto out_q = tmp("nas_stage_q.h5"), out_ms = tmp("nas_stage_ms.h5");
  RunOutcome r = run_config("nas_stage_q", config(one + "constraints: [0.1, 0.5]}"), out_q);
  ASSERT_EQ(r.rc, 0) << r.err;
  const hid_t fq = H5Fopen(out_q.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(fq, 0);
  std::vector<hsize_t> d;
  const auto limits = read_all<float>(fq, "/cells/0/nas/constraint_ms", H5T_NATIVE_FLOAT, &d);
  ASSERT_EQ(limits.size(), 2u);
  char ms[128];
  std::snprintf(ms, sizeof ms, "constraint_ms: [%.9g, %.9g]}", limits[0], limits[1]);
  r = run_config("nas_stage_ms", config(one + ms), out_ms);
  ASSERT_EQ(r.rc, 0) << r.err;
  const hid_t fm = H5Fopen(out_ms.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(fm, 0);
  EXPECT_EQ(read_all<float>(fm, "/cells/0/nas/constraint_ms", H5T_NATIVE_FLOAT, &d), limits);
  for (const char* name : {"/cells/0/nas/regret", "/cells/0/nas/found_row", "/cells/0/nas/evaluations",
                           "/cells/0/nas/optimum_accuracy"}) {
    std::vector<hsize_t> d1, d2;
    const auto a = read_all<float>(fq, name, H5T_NATIVE_FLOAT, &d1), b = read_all<float>(fm, name, H5T_NATIVE_FLOAT, &d2);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << name << " [" << i << "]";
  }
  H5Fclose(fq);
  H5Fclose(fm);
}
