// Checks populations, srcc_to devices and the cover stage end to end through
// `proxysim run` on a tiny NB201 config: the columns come out in the documented order
// and names; every chosen proxy set really covers its group at its threshold by an
// SRCC this test computes itself from /eval/latency_ms (tie-averaged ranks, Pearson,
// double; a 1e-9 slack only for summation order); the srcc_to device is within its
// 0.02 contract of the request; a second run gives the same result bit for bit; and
// config mistakes exit 2 naming the key path and the line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "sim/nb201.hpp"
#include "tests/support/h5_read.hpp"
#include "tests/support/reference_spearman.hpp"
#include "tests/support/run_config.hpp"

using proxysim::test::run_config;
using proxysim::test::RunOutcome;

namespace {

namespace fs = std::filesystem;

std::string test_name() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

fs::path out_file(const std::string& tag) {
  return fs::temp_directory_path() / ("population_cover_" + test_name() + "_" + tag + ".h5");
}

const char* kConfig =
    "name: population_cover_test\n"
    "space: nb201\n"
    "archs: {sample: 300, seed: 2}\n"
    "devices:\n"
    "  - pixel3_cpu\n"
    "  - {population: {class: mobile_cpu, count: 12, seed: 1}}\n"
    "  - {population: {class: gpu, count: 8, seed: 1}}\n"
    "  - {srcc_to: {proxy: pixel3_cpu, srcc: 0.8, seed: 1}}\n"
    "stages: [eval, {cover: {thresholds: [0.7, 0.9]}}]\n";

struct Result {
  std::vector<std::string> devices, classes, groups, chosen;
  std::vector<float> thresholds, needed, latency;
  std::vector<uint64_t> sizes, covered, offsets;
  std::vector<uint8_t> codes;
  std::vector<hsize_t> needed_dims, lat_dims, code_dims;
};

Result read(const fs::path& path) {
  Result r;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << path;
  if (f < 0) return r;
  std::vector<hsize_t> d;
  r.devices = read_strings(f, "/cells/0/eval/devices");
  r.classes = read_strings(f, "/cells/0/eval/device_classes");
  r.groups = read_strings(f, "/cells/0/cover/groups");
  r.chosen = read_strings(f, "/cells/0/cover/chosen");
  r.thresholds = read_all<float>(f, "/cells/0/cover/thresholds", H5T_NATIVE_FLOAT, &d);
  r.needed = read_all<float>(f, "/cells/0/cover/proxies_needed", H5T_NATIVE_FLOAT, &r.needed_dims);
  r.sizes = read_all<uint64_t>(f, "/cells/0/cover/group_size", H5T_NATIVE_UINT64, &d);
  r.covered = read_all<uint64_t>(f, "/cells/0/cover/chosen_covered", H5T_NATIVE_UINT64, &d);
  r.offsets = read_all<uint64_t>(f, "/cells/0/cover/chosen_offset", H5T_NATIVE_UINT64, &d);
  r.latency = read_all<float>(f, "/cells/0/eval/latency_ms", H5T_NATIVE_FLOAT, &r.lat_dims);
  r.codes = read_all<uint8_t>(f, "/cells/0/eval/arch_codes", H5T_NATIVE_UINT8, &r.code_dims);
  H5Fclose(f);
  return r;
}

TEST(PopulationCoverCli, ChosenProxiesCoverTheirGroupsAndTheSrccDeviceHitsItsTarget) {
  const fs::path out = out_file("a");
  const RunOutcome run = run_config("population_cover_" + test_name(), kConfig, out);
  ASSERT_EQ(run.rc, 0) << run.err;
  const Result r = read(out);

  // Columns: the named device, the populations in order, then the srcc_to device.
  ASSERT_EQ(r.devices.size(), 22u);
  EXPECT_EQ(r.devices[0], "pixel3_cpu");
  EXPECT_EQ(r.devices[1], "pop_mobile_cpu_0000");
  EXPECT_EQ(r.devices[12], "pop_mobile_cpu_0011");
  EXPECT_EQ(r.devices[13], "pop_gpu_0000");
  EXPECT_EQ(r.devices[21], "pixel3_cpu_srcc080_s1");
  EXPECT_EQ(r.classes[21], "mobile_cpu");

  ASSERT_EQ(r.groups, (std::vector<std::string>{"all", "mobile_cpu", "gpu"}));
  EXPECT_EQ(r.sizes, (std::vector<uint64_t>{22, 14, 8}));
  ASSERT_EQ(r.thresholds.size(), 2u);
  EXPECT_FLOAT_EQ(r.thresholds[0], 0.7f);
  EXPECT_FLOAT_EQ(r.thresholds[1], 0.9f);
  ASSERT_EQ(r.needed_dims, (std::vector<hsize_t>{3, 2}));
  ASSERT_EQ(r.offsets.size(), 7u);
  EXPECT_EQ(r.offsets.back(), r.chosen.size());
  ASSERT_EQ(r.covered.size(), r.chosen.size());

  // The SRCC matrix over the connected architectures, computed here.
  const size_t n = r.lat_dims[0], D = r.lat_dims[1], K = r.code_dims[1];
  std::vector<std::vector<double>> col(D);
  for (size_t i = 0; i < n; ++i) {
    if (!proxysim::nb201::connected(&r.codes[i * K])) continue;
    for (size_t d = 0; d < D; ++d) col[d].push_back(r.latency[i * D + d]);
  }
  ASSERT_GT(col[0].size(), 250u);
  auto column = [&](const std::string& name) {
    return static_cast<size_t>(std::find(r.devices.begin(), r.devices.end(), name) - r.devices.begin());
  };
  EXPECT_NEAR(proxysim::test::reference_spearman(col[0], col[21]), 0.8, 0.02);

  for (size_t g = 0; g < 3; ++g) {
    std::vector<size_t> members;
    for (size_t d = 0; d < D; ++d) {
      if (g == 0 || r.classes[d] == r.groups[g]) members.push_back(d);
    }
    for (size_t t = 0; t < 2; ++t) {
      const size_t k = g * 2 + t;
      const uint64_t first = r.offsets[k], last = r.offsets[k + 1];
      EXPECT_EQ(static_cast<float>(last - first), r.needed[k]);
      ASSERT_GT(last, first);
      EXPECT_EQ(r.covered[last - 1], members.size()) << "group " << r.groups[g];
      for (uint64_t j = first + 1; j < last; ++j) EXPECT_GT(r.covered[j], r.covered[j - 1]);
      std::vector<size_t> proxies;
      for (uint64_t j = first; j < last; ++j) {
        const size_t p = column(r.chosen[j]);
        ASSERT_LT(p, D) << r.chosen[j];
        EXPECT_NE(std::find(members.begin(), members.end(), p), members.end()) << r.chosen[j] << " not in its group";
        proxies.push_back(p);
      }
      for (size_t q : members) {
        bool hit = false;
        for (size_t p : proxies) hit = hit || p == q || proxysim::test::reference_spearman(col[p], col[q]) >= r.thresholds[t] - 1e-9;
        EXPECT_TRUE(hit) << r.devices[q] << " uncovered in " << r.groups[g] << " at " << r.thresholds[t];
      }
    }
  }

  // Same config, same result.
  const fs::path again = out_file("b");
  ASSERT_EQ(run_config("population_cover_again_" + test_name(), kConfig, again).rc, 0);
  const Result s = read(again);
  EXPECT_EQ(s.chosen, r.chosen);
  EXPECT_EQ(s.latency, r.latency);
  fs::remove(out);
  fs::remove(again);
}

void expect_error(const std::string& devices_or_stage, bool is_stage, const std::vector<std::string>& want) {
  const std::string yaml = "name: population_cover_bad\nspace: nb201\narchs: {sample: 50, seed: 1}\n" +
                           (is_stage ? std::string("devices: [pixel3_cpu]\nstages:\n  - ") + devices_or_stage + "\n"
                                     : "devices:\n  - pixel3_cpu\n  - " + devices_or_stage + "\nstages: [cover]\n");
  const fs::path out = out_file("bad");
  const RunOutcome r = run_config("population_cover_bad_" + test_name(), yaml, out);
  EXPECT_EQ(r.rc, 2) << yaml;
  for (const auto& w : want) EXPECT_NE(r.err.find(w), std::string::npos) << "want '" << w << "' in: " << r.err;
}

TEST(PopulationCoverCli, ConfigMistakesExitTwoNamingTheKey) {
  expect_error("{population: {class: mobile_cpu, count: 5, colour: red}}", false,
               {"devices[1].population.colour", ":6:"});
  expect_error("{population: {class: mobile_cpu, count: many}}", false, {"devices[1].population.count", "many"});
  expect_error("{population: {class: phone, count: 5}}", false, {"devices[1].population.class", "phone"});
  expect_error("{population: {count: 5}}", false, {"devices[1].population.class", "missing"});
  expect_error("{population: {class: gpu, count: 5, centers: [pixel3_cpu]}}", false,
               {"devices[1].population", "pixel3_cpu", "mobile_cpu"});
  expect_error("{srcc_to: {proxy: pixel3_cpu, srcc: 1.5}}", false, {"devices[1].srcc_to.srcc", "1.5"});
  expect_error("{srcc_to: {srcc: 0.5}}", false, {"devices[1].srcc_to.proxy", "missing"});
  expect_error("{srcc_to: {proxy: pixel3_cpu, srcc: -0.95}}", false, {"devices[1].srcc_to", "spans ["});
  expect_error("{gizmo: 3}", false, {"devices[1].gizmo", "unknown key"});
  expect_error("{cover: {thresholds: [0.9, 0.7]}}", true, {"stages[0].cover.thresholds[1]", "increase"});
  expect_error("{cover: {thresholds: [0.9], by_class: sometimes}}", true, {"stages[0].cover.by_class"});
}

TEST(PopulationCoverCli, TwoPopulationsOfOneClassNeedAPrefix) {
  const std::string two = "name: population_cover_two\nspace: nb201\narchs: {sample: 50, seed: 1}\ndevices:\n"
                          "  - {population: {class: gpu, count: 3, seed: 1}}\n"
                          "  - {population: {class: gpu, count: 3, seed: 2}}\nstages: [cover]\n";
  const fs::path out = out_file("two");
  const RunOutcome r = run_config("population_cover_two_" + test_name(), two, out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("listed twice"), std::string::npos) << r.err;
  std::string fixed = two;
  fixed.replace(fixed.find("seed: 2}"), 8, "seed: 2, prefix: gpu_b}");
  const RunOutcome ok = run_config("population_cover_two_ok_" + test_name(), fixed, out);
  EXPECT_EQ(ok.rc, 0) << ok.err;
  fs::remove(out);
}

}  // namespace
