// `monotonicity --target`: every other device ranked as the target's proxy. A user's
// phone is made from a shared column (Pixel 3 on HELP's NB201 table, scaled by 1.7
// with 2 % multiplicative noise) on 300 architectures; its best proxy must be the
// column it was made from, the ranking sorted, and every SRCC and pair count equal to
// a reference Spearman recomputed here from the CSVs over the connected rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/h5_read.hpp"
#include "tests/support/reference_spearman.hpp"
#include "tests/support/scratch.hpp"

namespace proxysim::test {
namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Table read_csv(const std::string& path) {
  Table t;
  std::ifstream in(path);
  std::string line;
  auto split = [](const std::string& l) {
    std::vector<std::string> cells;
    std::stringstream ss(l);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    return cells;
  };
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  t.header = split(line);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) t.rows.push_back(split(line));
  }
  return t;
}

class ProxyRanking : public CliScratch {};

TEST_F(ProxyRanking, ASyntheticPhoneFindsTheColumnItWasMadeFromFirst) {
  const Table help = read_csv(shared("help_nb201_latency.csv"));
  const auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(help.header.begin(), help.header.end(), name) - help.header.begin());
  };
  const size_t pixel3 = col("pixel3"), arch = col("arch_str");
  ASSERT_LT(pixel3, help.header.size());
  // 300 architectures, every 50th row; the phone's latency 1.7 x Pixel 3's, 2 % noise.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::ostringstream phone;
  phone << "arch_index,arch_str,my_phone\n";
  std::map<std::string, double> mine;  // connected architectures only
  for (size_t r = 0; r < help.rows.size() && mine.size() < 300; r += 50) {
    const auto& row = help.rows[r];
    const double v = 1.7 * std::stod(row[pixel3]) * (1.0 + noise(rng));
    phone << row[0] << "," << row[arch] << "," << v << "\n";
    if (nb201_connected_by_hand(row[arch])) mine[row[arch]] = v;
  }
  const std::string csv = write("my_phone.csv", phone.str());
  const std::string out = (dir_ / "ranking.h5").string();
  const auto [rc, log] = run({PROXYSIM_BINARY, "monotonicity", "--measured", shared("help_nb201_latency.csv"), "--measured",
                              csv, "--target", "my_phone", "--top-k", "20", "--out", out, "--backend", "cpu"});
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("Proxies for my_phone, best first"), std::string::npos) << log;

  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const auto device = read_strings(f, "/cells/0/monotonicity/ranking/device");
  std::vector<hsize_t> dims;
  const auto srcc = read_all<float>(f, "/cells/0/monotonicity/ranking/srcc", H5T_NATIVE_FLOAT, &dims);
  const auto pairs = read_all<uint64_t>(f, "/cells/0/monotonicity/ranking/pairs", H5T_NATIVE_UINT64, &dims);
  const auto top = read_all<float>(f, "/cells/0/monotonicity/ranking/top_k", H5T_NATIVE_FLOAT, &dims);
  H5Fclose(f);

  // Every HELP column is a candidate, the phone itself is not.
  const size_t first_device = col("1080ti_1");
  ASSERT_EQ(device.size(), help.header.size() - first_device);
  EXPECT_EQ(std::find(device.begin(), device.end(), "my_phone"), device.end());
  EXPECT_EQ(device.front(), "pixel3");
  for (size_t i = 1; i < srcc.size(); ++i) EXPECT_GE(srcc[i - 1], srcc[i]) << device[i];

  // Each candidate's SRCC with the phone over the connected rows measured on both.
  std::map<std::string, size_t> help_row;
  for (size_t r = 0; r < help.rows.size(); ++r) help_row[help.rows[r][arch]] = r;
  for (size_t i = 0; i < device.size(); ++i) {
    ASSERT_LT(col(device[i]), help.header.size()) << device[i];
    std::vector<double> a, b;
    for (const auto& [s, v] : mine) {
      a.push_back(std::stod(help.rows[help_row.at(s)][col(device[i])]));
      b.push_back(v);
    }
    EXPECT_EQ(pairs[i], a.size()) << device[i];
    EXPECT_NEAR(srcc[i], reference_spearman(a, b), 1e-6) << device[i];
    EXPECT_GE(top[i], 0.0F);
    EXPECT_LE(top[i], 1.0F);
  }
  EXPECT_GT(srcc.front(), 0.99F);
}

TEST_F(ProxyRanking, AnUnknownTargetIsRefusedNamingTheDevices) {
  const auto [rc, log] = run({PROXYSIM_BINARY, "monotonicity", "--measured", shared("help_nb201_latency.csv"), "--target",
                              "my_phone", "--no-kendall", "--out", (dir_ / "x.h5").string()});
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("monotonicity.target: 'my_phone' is not a device of this run (devices: 1080ti_1"), std::string::npos)
      << log;
}

// "all" and "twins" may be listed beside each other on the command line, as in YAML.
TEST_F(ProxyRanking, LibraryGroupsCombineOnTheCommandLine) {
  const std::string out = (dir_ / "groups.h5").string();
  const auto [rc, log] = run({PROXYSIM_BINARY, "monotonicity", "--space", "nb201", "--devices", "all,twins", "--archs",
                              "200", "--no-kendall", "--top-k", "0", "--quiet", "--out", out, "--backend", "cpu"});
  ASSERT_EQ(rc, 0) << log;
  const auto [rc_all, all] = run({PROXYSIM_BINARY, "devices"});
  const auto [rc_twins, twins] = run({PROXYSIM_BINARY, "devices", "--twins"});
  ASSERT_EQ(rc_all + rc_twins, 0);
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const auto names = read_strings(f, "/cells/0/monotonicity/devices");
  H5Fclose(f);
  EXPECT_EQ(names.size(), static_cast<size_t>(std::count(all.begin(), all.end(), '\n') +
                                              std::count(twins.begin(), twins.end(), '\n')));
  EXPECT_NE(std::find(names.begin(), names.end(), "twin_pixel3"), names.end());
}

}  // namespace
}  // namespace proxysim::test
