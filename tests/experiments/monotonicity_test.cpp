// Checks `proxysim monotonicity` end to end on every measured table in ../shared/data:
// the SRCC matrix it writes equals the reference srcc_*.csv there (scipy.stats.spearmanr,
// connected NB201 architectures only) to the 4 decimals the tables are written with
// (|diff| <= 5e-5 plus float32 storage). Eyeriss pairs are held to 1e-2: the published
// tables disagree with scipy on the shared Eyeriss column itself (tests/kernels/rank_test.cpp
// pins scipy's value there), a quirk of the tables, not of the data.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/h5_read.hpp"

namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

struct Reference {
  std::vector<std::string> devices;
  std::map<std::pair<std::string, std::string>, double> srcc;
};

Reference read_reference(const std::string& path) {
  Reference r;
  std::ifstream in(path);
  std::string line;
  auto next_line = [&] {
    if (!std::getline(in, line)) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // the tables have CRLF endings
    return true;
  };
  next_line();
  std::stringstream hs(line);
  std::string cell;
  std::getline(hs, cell, ',');
  while (std::getline(hs, cell, ',')) r.devices.push_back(cell);
  while (next_line()) {
    std::stringstream ls(line);
    std::string row;
    std::getline(ls, row, ',');
    for (const auto& col : r.devices) {
      std::getline(ls, cell, ',');
      r.srcc[{row, col}] = std::stod(cell);
    }
  }
  return r;
}

int run(const std::string& args) {
  const int rc = std::system((std::string(PROXYSIM_BINARY) + " " + args + " > /dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void check_table(const std::string& data, const std::string& reference) {
  const auto out = std::filesystem::temp_directory_path() / ("mono_" + std::to_string(::getpid()) + "_" + data + ".h5");
  std::filesystem::remove(out);
  ASSERT_EQ(run("monotonicity --measured " + shared(data) + " --top-k 50 --out " + out.string()), 0) << data;
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const auto names = read_strings(f, "/cells/0/monotonicity/devices");
  std::vector<hsize_t> dims;
  const auto srcc = read_all<float>(f, "/cells/0/monotonicity/srcc", H5T_NATIVE_FLOAT, &dims);
  H5Fclose(f);
  const Reference ref = read_reference(shared(reference));
  ASSERT_EQ(names, ref.devices) << data;
  ASSERT_EQ(dims.size(), 2u);
  const size_t D = names.size();
  for (size_t a = 0; a < D; ++a) {
    for (size_t b = 0; b < D; ++b) {
      const bool eyeriss = (names[a].find("eyeriss") != std::string::npos) != (names[b].find("eyeriss") != std::string::npos);
      const double want = ref.srcc.at({names[a], names[b]});
      EXPECT_NEAR(srcc[a * D + b], want, eyeriss ? 1e-2 : 5e-5 + 1e-6) << data << ": " << names[a] << " vs " << names[b];
    }
  }
  std::filesystem::remove(out);
}

}  // namespace

TEST(MonotonicityCli, HwNasBench) { check_table("hwnasbench_nb201_cifar10.csv", "srcc_hwnasbench_nb201_cifar10.csv"); }
TEST(MonotonicityCli, HelpNb201) { check_table("help_nb201_latency.csv", "srcc_help_nb201.csv"); }
TEST(MonotonicityCli, HelpFbnet) { check_table("help_fbnet_latency.csv", "srcc_help_fbnet.csv"); }
TEST(MonotonicityCli, HelpOfa) { check_table("help_ofa_latency.csv", "srcc_help_ofa.csv"); }
TEST(MonotonicityCli, OneProxy) { check_table("oneproxy_nb201_1999_latency.csv", "srcc_oneproxy_nb201_1999.csv"); }

// Simulated and measured devices side by side over the measured architectures, with
// the disconnected ones kept on request: 15625 rows instead of 15284.
TEST(MonotonicityCli, SimulatedBesideMeasuredAndDisconnected) {
  const auto out = std::filesystem::temp_directory_path() / ("mono_mixed_" + std::to_string(::getpid()) + ".h5");
  std::filesystem::remove(out);
  ASSERT_EQ(run("monotonicity --measured " + shared("hwnasbench_nb201_cifar10.csv") +
                " --devices pixel3_cpu,edgetpu --include-disconnected --no-kendall --out " + out.string()),
            0);
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const auto names = read_strings(f, "/cells/0/monotonicity/devices");
  ASSERT_EQ(names.size(), 8u);
  EXPECT_EQ(names[0], "pixel3_cpu");
  EXPECT_EQ(names[2], "edgegpu");
  std::vector<hsize_t> dims;
  const auto pairs = read_all<float>(f, "/cells/0/monotonicity/pairs", H5T_NATIVE_FLOAT, &dims);
  // Simulated devices cover all 15625; edgegpu (column 2) was measured on 1999.
  EXPECT_EQ(pairs[0 * 8 + 1], 15625.0f);
  EXPECT_EQ(pairs[0 * 8 + 2], 1999.0f);
  H5Fclose(f);
  std::filesystem::remove(out);
}

TEST(MonotonicityCli, MalformedCsvExitsTwo) {
  const auto bad = std::filesystem::temp_directory_path() / "mono_bad.csv";
  std::ofstream(bad) << "arch_index,arch_str,connected,a\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,0,oops\n";
  const auto out = std::filesystem::temp_directory_path() / "mono_bad.h5";
  std::filesystem::remove(out);
  EXPECT_EQ(run("monotonicity --measured " + bad.string() + " --out " + out.string()), 2);
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out.string() + ".partial"));
}
