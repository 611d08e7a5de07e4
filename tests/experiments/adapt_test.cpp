// Checks the adapt stage end to end through `proxysim run`: config mistakes exit 2
// naming the key; on a table whose target is exactly linear in NB201's one-hot
// features with other weights than the proxy, AdaProxy at n = 50 ranks it almost
// perfectly (> 0.99: the model is exact, only float32 storage of the CSV and of the
// result perturbs it) and beats no adaptation by a wide margin; `none` equals the
// unadapted SRCC to float32 storage (1e-6), and a fixed seed reproduces every value
// bit for bit, on one thread as on several. Through compute_adaptation: the stratified
// draw the stage makes is replayed from the proxy alone and must give the stage's
// unsampled SRCC to 1e-12 (only the summation order may differ), for two targets; and
// multi_proxy recovers a target that is a mix of candidates (float32 storage: 1e-4)
// but cannot reach a target that is no mix of them, whatever the candidate list says.
// The twin scheme: a proxy without a twin exits 2 naming it, and on a target simulated
// from a perturbed twin (reference walk) it beats no adaptation by more than 0.1.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/adapt.hpp"
#include "sim/device_yaml.hpp"
#include "search/calibration.hpp"
#include "base/error.hpp"
#include "kernels/rank_stats.hpp"
#include "base/rng.hpp"
#include "search/adaptation.hpp"
#include "sim/space.hpp"
#include "tests/support/h5_read.hpp"
#include "tests/support/reference_spearman.hpp"
#include "tests/support/run_config.hpp"

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

// proxy = sum of per-(edge, op) weights + 1; target = the same weights rescaled per op
// (3x3 convolutions 5x cheaper, pooling 6x dearer, as on a device with a convolution
// engine and slow pooling) + 0.3; mirror = 1.5 proxy + 0.2, rank-identical to the proxy.
fs::path write_table() {
  const double op_ms[5] = {0.0, 0.1, 1.0, 3.0, 0.5};
  const double target_scale[5] = {1.0, 1.0, 1.0, 0.2, 6.0};
  // One file per test: ctest runs tests in parallel processes.
  const fs::path p =
      fs::temp_directory_path() / ("adapt_linear_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".csv");
  std::ofstream out(p);
  out << "arch_str,proxy,target,mirror\n";
  out.precision(9);
  for (int i = 0; i < 600; ++i) {
    const int packed = static_cast<int>((static_cast<long long>(i) * 7919) % 15625);  // distinct: gcd(7919, 15625) = 1
    int code[6];
    int rest = packed;
    for (int e = 5; e >= 0; --e) {
      code[e] = rest % 5;
      rest /= 5;
    }
    double proxy = 1.0, target = 0.3;
    for (int e = 0; e < 6; ++e) {
      const double w = op_ms[code[e]] * (1.0 + 0.1 * e);
      proxy += w;
      target += w * target_scale[code[e]];
    }
    out << arch_str(packed) << "," << proxy << "," << target << "," << 1.5 * proxy + 0.2 << "\n";
  }
  return p;
}

std::string config(const std::string& table, const std::string& adapt) {
  return "name: adapt_test\nspace: nb201\nmeasured: " + table + "\nstages:\n  - monotonicity: {kendall: false}\n" +
         "  - adapt: " + adapt + "\n";
}

struct Adapt {
  std::vector<std::string> schemes, targets;
  std::vector<uint64_t> n;
  std::vector<hsize_t> dims;
  std::vector<float> mean, std_, unsampled, unadapted;
  std::string dims_attr;
};

Adapt read_adapt(const fs::path& path) {
  Adapt a;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << path;
  if (f < 0) return a;
  a.schemes = read_strings(f, "/cells/0/adapt/schemes");
  a.targets = read_strings(f, "/cells/0/adapt/targets");
  std::vector<hsize_t> d;
  a.n = read_all<uint64_t>(f, "/cells/0/adapt/n", H5T_NATIVE_UINT64, &d);
  a.mean = read_all<float>(f, "/cells/0/adapt/srcc_mean", H5T_NATIVE_FLOAT, &a.dims);
  a.std_ = read_all<float>(f, "/cells/0/adapt/srcc_std", H5T_NATIVE_FLOAT, &d);
  a.unsampled = read_all<float>(f, "/cells/0/adapt/srcc_unsampled_mean", H5T_NATIVE_FLOAT, &d);
  a.unadapted = read_all<float>(f, "/cells/0/adapt/srcc_unadapted", H5T_NATIVE_FLOAT, &d);
  const hid_t ds = H5Dopen2(f, "/cells/0/adapt/srcc_mean", H5P_DEFAULT);
  const hid_t at = H5Aopen(ds, "dims", H5P_DEFAULT);
  const hid_t t = H5Aget_type(at);
  if (H5Tis_variable_str(t) > 0) {
    char* s = nullptr;
    H5Aread(at, t, &s);
    a.dims_attr = s ? s : "";
    H5free_memory(s);
  } else {
    std::string s(H5Tget_size(t), '\0');
    H5Aread(at, t, s.data());
    a.dims_attr = s.c_str();
  }
  H5Tclose(t);
  H5Aclose(at);
  H5Dclose(ds);
  H5Fclose(f);
  return a;
}

// The table as the CLI reads it back: arch strings and float32 latencies per column.
struct Written {
  std::vector<std::string> arch, names;
  std::vector<std::vector<float>> cols;  // [column][row]
};

Written read_back(const fs::path& p) {
  Written w;
  std::ifstream in(p);
  std::string line, cell;
  std::getline(in, line);
  std::stringstream hs(line);
  std::getline(hs, cell, ',');  // arch_str
  while (std::getline(hs, cell, ',')) w.names.push_back(cell);
  w.cols.resize(w.names.size());
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::getline(ls, cell, ',');
    w.arch.push_back(cell);
    for (auto& c : w.cols) {
      std::getline(ls, cell, ',');
      c.push_back(std::stof(cell));
    }
  }
  return w;
}

// Reference SRCC of two columns over the connected rows.
double connected_srcc(const Written& w, size_t a, size_t b) {
  std::vector<double> x, y;
  for (size_t i = 0; i < w.arch.size(); ++i) {
    if (!proxysim::test::nb201_connected_by_hand(w.arch[i])) continue;
    x.push_back(w.cols[a][i]);
    y.push_back(w.cols[b][i]);
  }
  return proxysim::test::reference_spearman(x, y);
}

}  // namespace

TEST(AdaptCli, UnknownSchemeExitsTwoNamingTheKey) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "adapt_bad_scheme.h5";
  const RunOutcome r = run_config("adapt_bad_scheme", config(table.string(), "{proxy: proxy, schemes: [none, adaprox]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.schemes[1]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("adaprox"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(AdaptCli, UnknownProxyAndTargetExitTwoNamingTheKey) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "adapt_bad_proxy.h5";
  RunOutcome r = run_config("adapt_bad_proxy", config(table.string(), "{proxy: pixel3}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.proxy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("pixel3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":6:"), std::string::npos) << "the line of the key: " << r.err;
  r = run_config("adapt_bad_target", config(table.string(), "{proxy: proxy, targets: [target, tpu]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.targets"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tpu"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(AdaptCli, BudgetBeyondTheMeasuredArchitecturesExitsTwo) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "adapt_big_n.h5";
  const RunOutcome r = run_config("adapt_big_n", config(table.string(), "{proxy: proxy, n: [10, 595]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.n"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(AdaptCli, ProxyAmongTargetsIsSkipped) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "adapt_skip.h5";
  const RunOutcome r = run_config(
      "adapt_skip", config(table.string(), "{proxy: proxy, targets: [proxy, mirror], schemes: [none], n: [10], repeats: 2}"),
      out);
  ASSERT_EQ(r.rc, 0) << r.err;
  const Adapt a = read_adapt(out);
  EXPECT_EQ(a.targets, std::vector<std::string>{"mirror"});
  ASSERT_EQ(a.unadapted.size(), 1u);
  EXPECT_FLOAT_EQ(a.unadapted[0], 1.0f);  // mirror is an increasing function of the proxy
  fs::remove(out);
}

TEST(AdaptCli, AdaProxyRecoversALinearTargetAndNoneIsUnadapted) {
  const fs::path table = write_table();
  const std::string adapt = "{proxy: proxy, targets: [target], schemes: [none, adaproxy, anchored], n: [10, 50], "
                            "validation: 10, repeats: 5, seed: 7}";
  const fs::path out1 = fs::temp_directory_path() / "adapt_linear_1.h5";
  const fs::path out2 = fs::temp_directory_path() / "adapt_linear_2.h5";
  RunOutcome r = run_config("adapt_linear_1", config(table.string(), adapt), out1);
  ASSERT_EQ(r.rc, 0) << r.err;
  // The second run on one thread: the result must not depend on the thread count.
  r = run_config("adapt_linear_2", config(table.string(), adapt), out2, "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.rc, 0) << r.err;
  const Adapt a = read_adapt(out1);
  const Adapt b = read_adapt(out2);

  ASSERT_EQ(a.schemes, (std::vector<std::string>{"none", "adaproxy", "anchored"}));
  ASSERT_EQ(a.targets, std::vector<std::string>{"target"});
  ASSERT_EQ(a.n, (std::vector<uint64_t>{10, 50}));
  ASSERT_EQ(a.dims, (std::vector<hsize_t>{3, 1, 2}));
  EXPECT_EQ(a.dims_attr, "scheme,target,n");
  auto at = [&](const std::vector<float>& v, size_t s, size_t k) { return v[s * 2 + k]; };

  // The weighting differs enough that the proxy alone ranks the target poorly.
  ASSERT_EQ(a.unadapted.size(), 1u);
  EXPECT_LT(a.unadapted[0], 0.9f);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(at(a.mean, 0, k), a.unadapted[0], 1e-6);
    EXPECT_NEAR(at(a.std_, 0, k), 0.0, 1e-6);
  }
  EXPECT_GT(at(a.mean, 1, 1), 0.99f);
  EXPECT_GT(at(a.unsampled, 1, 1), 0.99f);
  EXPECT_GT(at(a.mean, 1, 1), at(a.mean, 0, 1) + 0.05f);

  // Same seed, same everything, on any number of threads.
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.std_, b.std_);
  EXPECT_EQ(a.unsampled, b.unsampled);
  EXPECT_EQ(a.unadapted, b.unadapted);
  fs::remove(out1);
  fs::remove(out2);
}

TEST(AdaptCli, UnknownCandidateAndSamplingExitTwoNamingTheKey) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "adapt_bad_candidate.h5";
  RunOutcome r = run_config("adapt_bad_candidate",
                            config(table.string(), "{proxy: proxy, schemes: [multi_proxy], candidates: [mirror, tpu]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.candidates"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tpu"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":6:"), std::string::npos) << "the line of the key: " << r.err;
  r = run_config("adapt_bad_sampling", config(table.string(), "{proxy: proxy, sampling: quantile}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.sampling"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("quantile"), std::string::npos) << r.err;
  r = run_config("adapt_bad_k", config(table.string(), "{proxy: proxy, k: 0}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.k"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(AdaptCli, MultiProxyAndStratifiedSamplingRunAndReproduce) {
  const fs::path table = write_table();
  const std::string adapt = "{proxy: proxy, targets: [target], schemes: [none, multi_proxy], candidates: [mirror], "
                            "k: 2, sampling: stratified, n: [10], repeats: 3, seed: 5}";
  const fs::path out1 = fs::temp_directory_path() / "adapt_multi_1.h5";
  const fs::path out2 = fs::temp_directory_path() / "adapt_multi_2.h5";
  RunOutcome r = run_config("adapt_multi_1", config(table.string(), adapt), out1);
  ASSERT_EQ(r.rc, 0) << r.err;
  r = run_config("adapt_multi_2", config(table.string(), adapt), out2, "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.rc, 0) << r.err;
  const Adapt a = read_adapt(out1), b = read_adapt(out2);
  ASSERT_EQ(a.schemes, (std::vector<std::string>{"none", "multi_proxy"}));
  ASSERT_EQ(a.dims, (std::vector<hsize_t>{2, 1, 1}));
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.unsampled, b.unsampled);

  // `none` ranks as the proxy: its SRCC over every connected architecture is the
  // reference Spearman of the proxy and target columns (float32 storage: 1e-6).
  const Written w = read_back(table);
  const double unadapted = connected_srcc(w, 0, 1);
  std::printf("proxy vs target over the connected rows: %.6f\n", unadapted);
  ASSERT_EQ(a.unadapted.size(), 1u);
  EXPECT_NEAR(a.unadapted[0], unadapted, 1e-6);
  EXPECT_NEAR(a.mean[0], unadapted, 1e-6);
  EXPECT_NEAR(a.std_[0], 0.0, 1e-6);

  // Every stored value is what the library computes on the same float32 matrix with
  // the same stage (float32 storage: 1e-6), so the CLI neither drops nor reorders
  // anything between the stage and the file.
  const proxysim::SearchSpace space = proxysim::make_space("nb201");
  std::vector<float> m;
  std::vector<uint8_t> codes;
  for (size_t i = 0; i < w.arch.size(); ++i) {
    for (const auto& c : w.cols) m.push_back(c[i]);
    const proxysim::ArchCode code = space.from_string(w.arch[i]);
    codes.insert(codes.end(), code.begin(), code.end());
  }
  proxysim::AdaptSettings stage;
  stage.proxy = "proxy";
  stage.targets = {"target"};
  stage.schemes = {"none", "multi_proxy"};
  stage.candidates = {"mirror"};
  stage.k = 2;
  stage.sampling = "stratified";
  stage.n = {10};
  stage.repeats = 3;
  stage.seed = 5;
  const proxysim::AdaptReport lib = proxysim::compute_adaptation(space, m, w.arch.size(), codes, w.names, stage);
  for (size_t s = 0; s < 2; ++s) {
    EXPECT_NEAR(a.mean[s], lib.srcc_mean[lib.at(s, 0, 0)], 1e-6) << a.schemes[s];
    EXPECT_NEAR(a.std_[s], lib.srcc_std[lib.at(s, 0, 0)], 1e-6) << a.schemes[s];
    EXPECT_NEAR(a.unsampled[s], lib.srcc_unsampled_mean[lib.at(s, 0, 0)], 1e-6) << a.schemes[s];
  }
  std::printf("multi_proxy (k = 2, stratified, n = 10): mean %.6f unsampled %.6f\n", a.mean[1], a.unsampled[1]);
  fs::remove(out1);
  fs::remove(out2);
}

namespace {

// 600 NB201 architectures and a latency matrix with the given columns, for
// compute_adaptation directly.
struct Matrix {
  std::vector<uint8_t> codes;
  std::vector<float> latency_ms;
  std::vector<std::string> devices;
  uint64_t rows = 0;
};

Matrix random_matrix() {
  Matrix m;
  m.rows = 600;
  m.devices = {"proxy", "p1", "p2", "p3", "mix", "noise"};
  m.codes.resize(m.rows * 6);
  for (uint64_t i = 0; i < m.rows; ++i) {
    int packed = static_cast<int>((static_cast<long long>(i) * 7919) % 15625);
    for (int e = 5; e >= 0; --e) {
      m.codes[i * 6 + static_cast<uint64_t>(e)] = static_cast<uint8_t>(packed % 5);
      packed /= 5;
    }
  }
  for (uint64_t i = 0; i < m.rows; ++i) {
    double p[4];
    for (uint64_t j = 0; j < 4; ++j) p[j] = 2.0 + 40.0 * proxysim::unit_open(proxysim::counter_hash(31, j, i));
    const double mix = 0.6 * p[1] + 0.4 * p[3];
    const double noise = 5.0 + proxysim::unit_open(proxysim::counter_hash(32, 0, i));
    for (double v : {p[0], p[1], p[2], p[3], mix, noise}) m.latency_ms.push_back(static_cast<float>(v));
  }
  return m;
}

double column_srcc(const Matrix& m, int a, int b, const std::vector<uint8_t>& skip) {
  std::vector<float> x, y;
  for (uint64_t i = 0; i < m.rows; ++i) {
    if (skip[i]) continue;
    x.push_back(m.latency_ms[i * m.devices.size() + static_cast<uint64_t>(a)]);
    y.push_back(m.latency_ms[i * m.devices.size() + static_cast<uint64_t>(b)]);
  }
  return proxysim::spearman_pair(proxysim::Backend::kCpu, x.data(), y.data(), static_cast<int64_t>(x.size()));
}

}  // namespace

TEST(AdaptStage, StratifiedDrawIsTheProxysAlone) {
  const Matrix m = random_matrix();
  proxysim::AdaptSettings stage;
  stage.proxy = "proxy";
  stage.targets = {"mix", "noise"};
  stage.schemes = {"none"};
  stage.n = {10};
  stage.validation = 10;
  stage.repeats = 4;
  stage.seed = 11;
  stage.sampling = "stratified";
  stage.include_disconnected = true;  // every row eligible, so positions are rows
  const proxysim::SearchSpace space = proxysim::make_space("nb201");
  const proxysim::AdaptReport r = proxysim::compute_adaptation(space, m.latency_ms, m.rows, m.codes, m.devices, stage);
  std::vector<double> key;
  for (uint64_t i = 0; i < m.rows; ++i) key.push_back(m.latency_ms[i * m.devices.size()]);
  for (size_t t = 0; t < 2; ++t) {
    double sum = 0;
    for (int32_t rep = 0; rep < stage.repeats; ++rep) {
      const proxysim::SampleSplit split = proxysim::draw_adaptation_samples(
          proxysim::Sampling::kStratified, proxysim::adaptation_draw_seed(stage.seed, t, 10, rep), key, 10, 10);
      std::vector<uint8_t> skip(m.rows, 0);
      for (int64_t i : split.train) skip[static_cast<size_t>(i)] = 1;
      for (int64_t i : split.validation) skip[static_cast<size_t>(i)] = 1;
      sum += column_srcc(m, 0, t == 0 ? 4 : 5, skip);
    }
    EXPECT_NEAR(r.srcc_unsampled_mean[r.at(0, t, 0)], sum / stage.repeats, 1e-12) << r.targets[t];
  }
  // Random sampling draws other rows: the replay above is not true of any draw.
  stage.sampling = "random";
  const proxysim::AdaptReport rr = proxysim::compute_adaptation(space, m.latency_ms, m.rows, m.codes, m.devices, stage);
  EXPECT_NE(rr.srcc_unsampled_mean[rr.at(0, 0, 0)], r.srcc_unsampled_mean[r.at(0, 0, 0)]);
}

TEST(AdaptStage, MultiProxyMixesCandidatesButNeverTheTarget) {
  const Matrix m = random_matrix();
  proxysim::AdaptSettings stage;
  stage.proxy = "proxy";
  stage.targets = {"mix", "noise"};
  stage.schemes = {"none", "multi_proxy"};
  // The targets are listed as candidates too: each target must drop itself.
  stage.candidates = {"p1", "p2", "p3", "mix", "noise"};
  stage.n = {10};
  stage.repeats = 3;
  stage.include_disconnected = true;
  const proxysim::SearchSpace space = proxysim::make_space("nb201");
  const proxysim::AdaptReport r = proxysim::compute_adaptation(space, m.latency_ms, m.rows, m.codes, m.devices, stage);
  std::printf("mix: none %.4f multi_proxy %.4f; noise: none %.4f multi_proxy %.4f\n", r.srcc_mean[r.at(0, 0, 0)],
              r.srcc_mean[r.at(1, 0, 0)], r.srcc_mean[r.at(0, 1, 0)], r.srcc_mean[r.at(1, 1, 0)]);
  // mix = 0.6 p1 + 0.4 p3, stored as float32: recovered but for rounding.
  EXPECT_LT(r.srcc_mean[r.at(0, 0, 0)], 0.2);
  EXPECT_GT(r.srcc_mean[r.at(1, 0, 0)], 1.0 - 1e-4);
  // noise is independent of every candidate; had it been its own candidate, SRCC 1.
  const std::vector<uint8_t> none(m.rows, 0);
  for (int c = 0; c < 5; ++c) ASSERT_LT(std::abs(column_srcc(m, c, 5, none)), 0.15) << m.devices[static_cast<size_t>(c)];
  EXPECT_LT(r.srcc_mean[r.at(1, 1, 0)], 0.5);
}

TEST(AdaptCli, SelectStageTakesStratifiedSampling) {
  // The select stage shares the stratified draw (strata by MACs); here only its key.
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "select_stratified.h5";
  const std::string head = "name: select_strat\nspace: nb201\nmeasured: " + table.string() + "\nstages:\n  - select: ";
  RunOutcome r = run_config("select_strat", head + "{sampling: stratified, n: [10], repeats: 2}\n", out);
  ASSERT_EQ(r.rc, 0) << r.err;
  {
    // Values worked out from the table (columns proxy, target, mirror). proxy and
    // mirror rank alike (mirror = 1.5 proxy + 0.2), so: for target proxy the oracle is
    // mirror (SRCC 1), for mirror it is proxy, and for target both rank it the same
    // (a tie, which goes to the smaller name, mirror). Whatever ten architectures are
    // drawn, mirror's (proxy's) sample SRCC with proxy (mirror) is exactly 1, and for
    // target the two candidates tie on any sample: the SRCC rules' regret is exactly 0
    // for every target. The full-data SRCCs and MACs' are reference Spearmans over the
    // connected rows (float32 storage: 1e-6); flops' regret is oracle - MACs' SRCC.
    const Written w = read_back(table);
    const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    std::vector<hsize_t> dims, d;
    const auto rules = read_strings(f, "/cells/0/select/rules");
    const auto targets = read_strings(f, "/cells/0/select/targets");
    const auto candidates = read_strings(f, "/cells/0/select/candidates");
    const auto oracle = read_strings(f, "/cells/0/select/oracle");
    const auto regret = read_all<float>(f, "/cells/0/select/regret_mean", H5T_NATIVE_FLOAT, &dims);
    const auto full = read_all<float>(f, "/cells/0/select/srcc_full", H5T_NATIVE_FLOAT, &d);
    const auto oracle_srcc = read_all<float>(f, "/cells/0/select/oracle_srcc", H5T_NATIVE_FLOAT, &d);
    const auto macs_srcc = read_all<float>(f, "/cells/0/select/macs_srcc", H5T_NATIVE_FLOAT, &d);
    H5Fclose(f);
    ASSERT_EQ(rules, (std::vector<std::string>{"max_mean_srcc", "max_min_srcc", "flops", "random"}));
    ASSERT_EQ(targets, w.names);
    ASSERT_EQ(candidates, w.names);
    ASSERT_EQ(dims, (std::vector<hsize_t>{4, 3, 1}));
    EXPECT_EQ(oracle, (std::vector<std::string>{"mirror", "mirror", "proxy"}));
    const proxysim::SearchSpace space = proxysim::make_space("nb201");
    std::vector<double> macs;
    for (size_t i = 0; i < w.arch.size(); ++i)
      if (proxysim::test::nb201_connected_by_hand(w.arch[i])) macs.push_back(static_cast<double>(space.totals(space.from_string(w.arch[i])).macs));
    for (size_t t = 0; t < 3; ++t) {
      double best = -2;
      for (size_t c = 0; c < 3; ++c) {
        if (c == t) {
          EXPECT_TRUE(std::isnan(full[c * 3 + t]));
          continue;
        }
        const double rho = connected_srcc(w, c, t);
        EXPECT_NEAR(full[c * 3 + t], rho, 1e-6) << candidates[c] << " for " << targets[t];
        best = std::max(best, rho);
      }
      EXPECT_NEAR(oracle_srcc[t], best, 1e-6) << targets[t];
      std::vector<double> y;
      for (size_t i = 0; i < w.arch.size(); ++i)
        if (proxysim::test::nb201_connected_by_hand(w.arch[i])) y.push_back(w.cols[t][i]);
      const double macs_rho = proxysim::test::reference_spearman(macs, y);
      EXPECT_NEAR(macs_srcc[t], macs_rho, 1e-6) << targets[t];
      EXPECT_NEAR(regret[(2 * 3 + t)], best - macs_rho, 1e-6) << "flops for " << targets[t];
      EXPECT_EQ(regret[(0 * 3 + t)], 0.0f) << "max_mean_srcc for " << targets[t];
      EXPECT_EQ(regret[(1 * 3 + t)], 0.0f) << "max_min_srcc for " << targets[t];
      std::printf("target %s: oracle %.6f, MACs %.6f\n", targets[t].c_str(), best, macs_rho);
    }
    EXPECT_EQ(regret[3 * 3 + 1], 0.0f);  // random for target: the two candidates are equal
  }
  r = run_config("select_bad_sampling", head + "{sampling: quantile}\n", out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[0].select.sampling"), std::string::npos) << r.err;
  fs::remove(out);
}

TEST(AdaptCli, TwinSchemeWithoutATwinOfTheProxyExitsTwoNamingIt) {
  const fs::path table = write_table();
  const fs::path out = fs::temp_directory_path() / "adapt_no_twin.h5";
  RunOutcome r = run_config("adapt_no_twin", config(table.string(), "{proxy: proxy, schemes: [none, twin]}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("'proxy'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("twin_proxy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stages[1].adapt.proxy"), std::string::npos) << r.err;
  r = run_config("adapt_bad_twin", config(table.string(), "{proxy: proxy, schemes: [twin], twin: twin_nowhere}"), out);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("stages[1].adapt.twin"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("twin_nowhere"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(AdaptStage, TwinSchemeRecalibratesTheNamedTwinTowardASimulatedTarget) {
  // proxy: the Cortex-A76 twin's own latencies; target: the same model with 3x3
  // convolutions 3x as efficient and pointwise ones a tenth (reordering NB201), both
  // from the reference walk. The twin scheme must beat no adaptation by far.
  Matrix m = random_matrix();
  const proxysim::SearchSpace space = proxysim::make_space("nb201");
  std::vector<proxysim::ArchCode> codes;
  for (uint64_t i = 0; i < m.rows; ++i) codes.emplace_back(m.codes.begin() + static_cast<std::ptrdiff_t>(i * 6),
                                                           m.codes.begin() + static_cast<std::ptrdiff_t>(i * 6 + 6));
  const proxysim::DeviceSpec& twin = proxysim::builtin_device("twin_true_a76");
  proxysim::DeviceParams moved = twin.params;
  moved.efficiency[static_cast<int>(proxysim::OpClass::kDense3)] *= 3.0f;
  moved.efficiency[static_cast<int>(proxysim::OpClass::kPointwise)] *= 0.1f;
  const std::vector<double> p = proxysim::model_latency_ms(space, codes, twin.params);
  const std::vector<double> t = proxysim::model_latency_ms(space, codes, moved);
  for (uint64_t i = 0; i < m.rows; ++i) {
    m.latency_ms[i * m.devices.size() + 0] = static_cast<float>(p[i]);
    m.latency_ms[i * m.devices.size() + 4] = static_cast<float>(t[i]);
  }
  proxysim::AdaptSettings stage;
  stage.proxy = "proxy";
  stage.targets = {"mix"};
  stage.schemes = {"none", "twin"};
  stage.twin = "twin_true_a76";
  stage.n = {10};
  stage.repeats = 3;
  stage.include_disconnected = true;
  const proxysim::AdaptReport r = proxysim::compute_adaptation(space, m.latency_ms, m.rows, m.codes, m.devices, stage);
  EXPECT_EQ(r.twin, "twin_true_a76");
  std::printf("simulated target: none %.4f twin %.4f\n", r.srcc_mean[r.at(0, 0, 0)], r.srcc_mean[r.at(1, 0, 0)]);
  EXPECT_GT(r.srcc_mean[r.at(1, 0, 0)], r.srcc_mean[r.at(0, 0, 0)] + 0.1);
  EXPECT_GT(r.srcc_mean[r.at(1, 0, 0)], 0.9);
  // Without the key the stage looks for twin_<proxy>, which does not exist.
  stage.twin.clear();
  EXPECT_THROW(proxysim::compute_adaptation(space, m.latency_ms, m.rows, m.codes, m.devices, stage), proxysim::UserError);
}
