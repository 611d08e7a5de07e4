// The adapt stage's predictions (adapt.predict / adapt.export): every scheme's adapted
// latency of every architecture measured on proxy and target, as a user adapting a
// proxy to their own device needs them. The device is a synthetic phone made from
// HELP's Pixel 3 column (1.7 x its latency, 2 % noise, 300 architectures), the proxy
// HELP's Pixel 3 column itself. Checked against independent computations here: the
// stored predictions rank the phone as the stage's reported SRCC says (reference
// Spearman, one repeat), `none` ranks like the proxy, the draw marks n training and v
// validation rows, every stored prediction is a finite positive latency (AdaProxy's
// linear model puts a few architectures at or below zero at n = 10: those are stored
// as NaN, counted, and their model values given in the export's `invalid` column), and
// the CSV export holds the same numbers as the HDF5 file.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
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

std::vector<std::string> split(std::string l) {
  if (!l.empty() && l.back() == '\r') l.pop_back();
  std::vector<std::string> cells;
  std::stringstream ss(l);
  for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
  if (!l.empty() && l.back() == ',') cells.emplace_back();
  return cells;
}

class AdaptPredict : public CliScratch {};

TEST_F(AdaptPredict, WritesFinitePositiveLatenciesThatRankAsReported) {
  std::ifstream in(shared("help_nb201_latency.csv"));
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> head = split(line);
  size_t pixel3 = head.size();
  for (size_t c = 0; c < head.size(); ++c)
    if (head[c] == "pixel3") pixel3 = c;
  ASSERT_LT(pixel3, head.size());
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0.0, 0.02);
  std::vector<double> phone(15625, std::nan("")), proxy(15625, std::nan(""));
  std::vector<std::string> arch(15625);
  std::ostringstream csv;
  csv << "arch_index,arch_str,my_phone\n";
  for (size_t r = 0; std::getline(in, line); ++r) {
    const auto cells = split(line);
    ASSERT_LT(r, phone.size());
    const auto index = static_cast<size_t>(std::stoll(cells[0]));
    arch[index] = cells[1];
    proxy[index] = std::stod(cells[pixel3]);
    if (r % 50 == 0 && r / 50 < 300) {
      std::ostringstream v;
      v.precision(9);
      v << 1.7 * proxy[index] * (1.0 + noise(rng));
      phone[index] = std::stod(v.str());
      csv << index << "," << cells[1] << "," << v.str() << "\n";
    }
  }
  const std::string csv_path = write("my_phone.csv", csv.str());
  const std::string out = (dir_ / "adapt.h5").string(), exported = (dir_ / "predicted.csv").string();
  const std::vector<std::string> schemes = {"none", "adaproxy", "adaproxy_sq", "anchored", "target_only"};
  const std::string cfg =
      write("adapt.yaml", "name: predict\nspace: nb201\narchs: all\ndevices: none\nmeasured: [" +
                              shared("help_nb201_latency.csv") + ", " + csv_path +
                              "]\nstages:\n  - adapt: {proxy: pixel3, targets: [my_phone], schemes: [none, adaproxy, "
                              "adaproxy_sq, anchored, target_only], n: [10, 50], validation: 10, repeats: 1, export: " +
                              exported + "}\n");
  const auto [rc, log] = run_cli(cfg, out, {"--data-dir", PROXYSIM_SHARED_DATA});
  ASSERT_EQ(rc, 0) << log;

  const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<hsize_t> dims, sdims, mdims, edims;
  const auto pred = read_all<float>(f, "/cells/0/adapt/predicted_ms", H5T_NATIVE_FLOAT, &dims);
  const auto sampled = read_all<uint8_t>(f, "/cells/0/adapt/sampled", H5T_NATIVE_UINT8, &sdims);
  const auto mean = read_all<float>(f, "/cells/0/adapt/srcc_mean", H5T_NATIVE_FLOAT, &mdims);
  const auto eligible = read_all<uint64_t>(f, "/cells/0/adapt/eligible", H5T_NATIVE_UINT64, &edims);
  const auto invalid_f = read_all<float>(f, "/cells/0/adapt/invalid_predictions", H5T_NATIVE_FLOAT, &edims);
  const std::vector<int64_t> invalid(invalid_f.begin(), invalid_f.end());
  const auto stored_schemes = read_strings(f, "/cells/0/adapt/schemes");
  H5Fclose(f);
  ASSERT_EQ(stored_schemes, schemes);
  ASSERT_EQ(dims, (std::vector<hsize_t>{5, 1, 2, 15625}));
  ASSERT_EQ(sdims, (std::vector<hsize_t>{2, 15625}));
  ASSERT_EQ(eligible.size(), 1u);
  // The phone's connected architectures: the rows the stage adapts on.
  std::vector<size_t> rows;
  for (size_t i = 0; i < phone.size(); ++i)
    if (!std::isnan(phone[i]) && nb201_connected_by_hand(arch[i])) rows.push_back(i);
  ASSERT_EQ(eligible[0], rows.size());
  ASSERT_GT(rows.size(), 250u);

  const size_t R = 15625, S = schemes.size();
  const int ns[] = {10, 50};
  // The stored latencies: finite and positive wherever stored; a row not stored is
  // one the scheme's model put at or below zero, counted in invalid_predictions.
  for (size_t k = 0; k < 2; ++k) {
    const uint8_t* mark = &sampled[k * R];
    size_t train = 0, validation = 0;
    for (size_t i = 0; i < R; ++i) {
      train += mark[i] == 1;
      validation += mark[i] == 2;
      if (mark[i] != 0) EXPECT_FALSE(std::isnan(phone[i])) << "a drawn row the phone did not measure: " << i;
    }
    EXPECT_EQ(train, static_cast<size_t>(ns[k]));
    EXPECT_EQ(validation, 10u);
    for (size_t s = 0; s < S; ++s) {
      const float* p = &pred[(s * 2 + k) * R];
      size_t stored = 0, outside = 0;
      for (size_t i = 0; i < R; ++i) {
        if (std::isnan(p[i])) continue;
        ++stored;
        EXPECT_TRUE(std::isfinite(p[i]) && p[i] > 0.0f) << schemes[s] << " n = " << ns[k] << " row " << i << ": " << p[i];
        outside += std::isnan(phone[i]) || !nb201_connected_by_hand(arch[i]) ? 1 : 0;
      }
      EXPECT_EQ(outside, 0u) << schemes[s] << " n = " << ns[k] << ": predictions for rows not adapted on";
      EXPECT_EQ(stored + static_cast<size_t>(invalid[s * 2 + k]), rows.size()) << schemes[s] << " n = " << ns[k];
    }
  }

  // The export: one line per (n, adapted row), the same numbers, and the model's value
  // wherever a cell is empty; from those, the full predictions rank the phone as the
  // stage's reported SRCC says (one repeat: the same fits).
  std::ifstream ex(exported);
  ASSERT_TRUE(ex.good());
  std::getline(ex, line);
  EXPECT_EQ(line, "row,arch,target,n,sampled,measured_ms,none,adaproxy,adaproxy_sq,anchored,target_only,invalid");
  std::vector<std::vector<double>> raw(S * 2, std::vector<double>(R, std::nan("")));
  size_t lines = 0;
  std::vector<size_t> empty(S * 2, 0);
  while (std::getline(ex, line)) {
    const auto c = split(line);
    ASSERT_EQ(c.size(), 12u) << line;
    const auto row = static_cast<size_t>(std::stoll(c[0]));
    const size_t k = c[3] == "10" ? 0 : 1;
    EXPECT_EQ(c[1], "\"" + arch[row] + "\"");
    EXPECT_EQ(c[2], "my_phone");
    EXPECT_EQ(c[4], sampled[k * R + row] == 1 ? "train" : sampled[k * R + row] == 2 ? "validation" : "");
    EXPECT_NEAR(std::stod(c[5]), phone[row], 1e-6 * phone[row]);
    for (size_t s = 0; s < S; ++s) {
      const float stored = pred[(s * 2 + k) * R + row];
      if (!c[6 + s].empty()) {
        EXPECT_EQ(std::stof(c[6 + s]), stored) << line;
        raw[s * 2 + k][row] = stored;
        continue;
      }
      ++empty[s * 2 + k];
      EXPECT_TRUE(std::isnan(stored)) << line;
      const std::string key = schemes[s] + "=";
      size_t at = c[11].find(key);
      while (at != std::string::npos && at > 0 && c[11][at - 1] != ';') at = c[11].find(key, at + 1);
      ASSERT_NE(at, std::string::npos) << "no reason for an empty cell: " << line;
      const double v = std::stod(c[11].substr(at + key.size()));
      EXPECT_FALSE(std::isfinite(v) && v > 0) << line;
      raw[s * 2 + k][row] = v;
    }
    ++lines;
  }
  EXPECT_EQ(lines, 2 * rows.size());
  for (size_t k = 0; k < 2; ++k) {
    for (size_t s = 0; s < S; ++s) {
      EXPECT_EQ(empty[s * 2 + k], static_cast<size_t>(invalid[s * 2 + k])) << schemes[s] << " n = " << ns[k];
      std::vector<double> a, b, px;
      for (size_t i : rows) {
        a.push_back(static_cast<float>(raw[s * 2 + k][i]));
        b.push_back(phone[i]);
        px.push_back(proxy[i]);
      }
      EXPECT_NEAR(reference_spearman(a, b), mean[s * 2 + k], 1e-5) << schemes[s] << " n = " << ns[k];
      if (schemes[s] == "none") EXPECT_NEAR(reference_spearman(a, px), 1.0, 1e-12);
    }
  }
}

}  // namespace
}  // namespace proxysim::test
