// The deploy stage end to end on a user's device that has only 300 measurements: a
// synthetic phone made from HELP's Pixel 3 column (1.7 x its latency, 2 % noise per
// architecture) that is known for every architecture here, so the choice can be
// checked against the phone's truth; the accuracy against nb201_accuracy.csv read
// here. The proxy is HELP's Pixel 3 column itself, as the ranking step finds it
// (monotonicity --target: SRCC 0.999), adapted with the phone's 300 samples by the
// stage's default scheme, `anchored`, whose base is the proxy's measurements.
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

std::vector<std::vector<std::string>> read_rows(const std::string& path, std::vector<std::string>* header) {
  std::ifstream in(path);
  std::string line;
  auto split = [](std::string l) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    std::vector<std::string> cells;
    std::stringstream ss(l);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    return cells;
  };
  std::getline(in, line);
  *header = split(line);
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(split(line));
  }
  return rows;
}

size_t column(const std::vector<std::string>& header, const std::string& name) {
  const auto it = std::find(header.begin(), header.end(), name);
  EXPECT_NE(it, header.end()) << name;
  return static_cast<size_t>(it - header.begin());
}

// A number after "key": in the exported JSON.
double json_number(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  EXPECT_NE(at, std::string::npos) << key;
  return std::stod(json.substr(at + key.size() + 4));
}
std::string json_text(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": \"");
  EXPECT_NE(at, std::string::npos) << key;
  const size_t from = at + key.size() + 5;
  return json.substr(from, json.find('"', from) - from);
}

class Deploy : public CliScratch {};

TEST_F(Deploy, ChoosesAnArchitectureWithinTheLimitOnTheDevicesTruth) {
  std::vector<std::string> head;
  const auto help = read_rows(shared("help_nb201_latency.csv"), &head);
  const size_t pixel3 = column(head, "pixel3"), arch = column(head, "arch_str");
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::map<std::string, double> truth;  // the phone on every architecture of the table
  std::ostringstream csv;
  csv << "arch_index,arch_str,my_phone\n";
  std::vector<double> connected_truth;
  for (size_t r = 0; r < help.size(); ++r) {
    const double v = 1.7 * std::stod(help[r][pixel3]) * (1.0 + noise(rng));
    truth[help[r][arch]] = v;
    if (r % 50 == 0 && r / 50 < 300) csv << help[r][0] << "," << help[r][arch] << "," << v << "\n";
    if (nb201_connected_by_hand(help[r][arch])) connected_truth.push_back(v);
  }
  std::sort(connected_truth.begin(), connected_truth.end());
  const double limit = connected_truth[connected_truth.size() * 3 / 10];  // the phone's 30 % quantile
  const std::string phone = write("my_phone.csv", csv.str());
  const std::string json = (dir_ / "choice.json").string(), out = (dir_ / "deploy.h5").string();
  const std::string cfg = write("deploy.yaml", "name: deploy\nspace: nb201\narchs: all\ndevices: none\nmeasured: [" +
                                                   shared("help_nb201_latency.csv") + ", " + phone +
                                                   "]\nstages:\n  - deploy: {proxy: pixel3, target: my_phone, n: all, "
                                                   "validation: 10, constraint_ms: " +
                                                   std::to_string(limit) + ", export: " + json + "}\n");
  const auto [rc, log] = run_cli(cfg, out, {"--data-dir", PROXYSIM_SHARED_DATA});
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("Deploy on my_phone"), std::string::npos) << log;
  const std::string chosen = CliScratch::slurp(json);
  const std::string a = json_text(chosen, "arch");
  ASSERT_TRUE(truth.count(a)) << chosen;
  EXPECT_LE(truth.at(a), limit) << a << ": predicted " << json_number(chosen, "predicted_ms");
  EXPECT_TRUE(nb201_connected_by_hand(a));
  EXPECT_LE(json_number(chosen, "predicted_ms") * (1 + json_number(chosen, "guard")), limit + 1e-9);
  // The accuracy it states is the table's CIFAR-10 test accuracy of that architecture.
  std::vector<std::string> acc_head;
  const auto acc = read_rows(shared("nb201_accuracy.csv"), &acc_head);
  const size_t acc_arch = column(acc_head, "arch_str"), cifar10 = column(acc_head, "cifar10_test_acc");
  double stated = -1, best_true = -1;
  for (const auto& row : acc) {
    if (row[acc_arch] == a) stated = std::stod(row[cifar10]);
    if (nb201_connected_by_hand(row[acc_arch]) && truth.at(row[acc_arch]) <= limit)
      best_true = std::max(best_true, std::stod(row[cifar10]));
  }
  EXPECT_NEAR(json_number(chosen, "accuracy"), stated, 1e-3);
  // Within a point of the best architecture the phone's truth admits.
  EXPECT_GE(stated, best_true - 1.0) << "best under the truth " << best_true;
  EXPECT_EQ(json_number(chosen, "arch_index"), static_cast<double>(std::stoll(acc[static_cast<size_t>(
                                                   std::find_if(acc.begin(), acc.end(), [&](const auto& r) {
                                                     return r[acc_arch] == a;
                                                   }) - acc.begin())][0])));
  // The HDF5 result holds the same choice first.
  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const auto picks = read_strings(f, "/cells/0/deploy/arch");
  H5Fclose(f);
  ASSERT_FALSE(picks.empty());
  EXPECT_EQ(picks.front(), a);
}

TEST_F(Deploy, RefusesALimitNothingMeetsAndTooFewMeasurements) {
  const std::string base = "name: deploy\nspace: nb201\narchs: all\ndevices: none\nmeasured: [" +
                           shared("help_nb201_latency.csv") + "]\nstages:\n  - deploy: {proxy: raspi4, ";
  const std::vector<std::string> data = {"--data-dir", PROXYSIM_SHARED_DATA};
  const auto [rc, log] = run_cli(write("a.yaml", base + "constraint_ms: 0.001}\n"), (dir_ / "a.h5").string(), data);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(log.find("no architecture is predicted within 0.001 ms on 'raspi4'"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "a.h5"));
  const auto [rc2, log2] = run_cli(write("b.yaml", base + "quantile: 0.5, constraint_ms: 3}\n"), (dir_ / "b.h5").string(), data);
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(log2.find("give exactly one latency limit"), std::string::npos) << log2;
  const auto [rc3, log3] = run_cli(write("c.yaml", base + "target: raspi4, quantile: 0.5}\n"), (dir_ / "c.h5").string(), data);
  EXPECT_EQ(rc3, 2);
  EXPECT_NE(log3.find("is the proxy itself"), std::string::npos) << log3;
  // Without a data directory that holds the accuracy table, the key is named.
  const auto [rc4, log4] = run_cli(write("d.yaml", base + "quantile: 0.5}\n"), (dir_ / "d.h5").string(),
                                   {"--data-dir", dir_.string()});
  EXPECT_EQ(rc4, 2);
  EXPECT_NE(log4.find("'stages[0].deploy.accuracy_file': not given, and no 'nb201_accuracy.csv' in the data directory"),
            std::string::npos)
      << log4;
}

}  // namespace
}  // namespace proxysim::test
