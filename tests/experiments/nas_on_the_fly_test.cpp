// The nas stage on spaces too large to tabulate (experiments/nas_on_the_fly.cpp),
// through the CLI: on FBNet and on OFA MobileNetV3 the batched run (every search's
// proposals in one engine call per round, on the default threads) writes exactly the
// cubes of the one-search-at-a-time run on one thread; searching on the target itself
// never violates the constraint; regret is never negative against the estimated
// optimum, which the file labels as estimated; and what the on-the-fly stage cannot do
// is refused naming the key.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/nas.hpp"
#include "kernels/rank_stats.hpp"
#include "search/adaptation.hpp"
#include "search/features.hpp"
#include "sim/space.hpp"
#include "tests/support/h5_read.hpp"
#include "tests/support/run_config.hpp"

using proxysim::test::run_config;
using proxysim::test::RunOutcome;

namespace {

std::filesystem::path tmp(const std::string& name) { return std::filesystem::temp_directory_path() / name; }

std::string config(const std::string& space, const std::string& nas) {
  return "name: nas_otf\nspace: " + space +
         "\narchs: {sample: 2000, seed: 3}\ndevices: [pixel3_cpu, raspi4, edgetpu]\nstages:\n  - eval\n  - nas: " + nas +
         "\n";
}

std::string nas_settings(bool batched) {
  return std::string("{accuracy: synthetic, proxy: pixel3_cpu, targets: [raspi4, edgetpu], sources: [target, proxy, flops, adapted], "
                     "n: 10, validation: 10, strategies: [regularized_evolution, local_search, ofa_evolution, latency_aware_random], "
                     "ofa: {population: 20, generations: 6}, constraints: [0.2, 0.6], seeds: 2, budget: 150, "
                     "checkpoints: [50, 150], optimum_budget: 600, optimum_seeds: 2, batch_searches: ") +
         (batched ? "true" : "false") + "}";
}

std::string string_attr(hid_t file, const char* object, const char* name) {
  const hid_t a = H5Aopen_by_name(file, object, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return "<missing>";
  const hid_t t = H5Aget_type(a);
  std::string s;
  if (H5Tis_variable_str(t) > 0) {
    char* p = nullptr;
    H5Aread(a, t, &p);
    s = p != nullptr ? p : "";
    H5free_memory(p);
  } else {
    s.resize(H5Tget_size(t));
    H5Aread(a, t, s.data());
    s = s.c_str();
  }
  H5Tclose(t);
  H5Aclose(a);
  return s;
}

std::vector<float> cube(hid_t f, const std::string& name, std::vector<hsize_t>* dims = nullptr) {
  std::vector<hsize_t> d;
  return read_all<float>(f, ("/cells/0/nas/" + name).c_str(), H5T_NATIVE_FLOAT, dims != nullptr ? dims : &d);
}

void check_space(const std::string& space) {
  SCOPED_TRACE(space);
  const auto out1 = tmp("nas_otf_" + space + "_batched.h5"), out2 = tmp("nas_otf_" + space + "_single.h5");
  RunOutcome r = run_config("nas_otf_" + space + "_1", config(space, nas_settings(true)), out1);
  ASSERT_EQ(r.rc, 0) << r.err;
  r = run_config("nas_otf_" + space + "_2", config(space, nas_settings(false)), out2, "OMP_NUM_THREADS=1 ");
  ASSERT_EQ(r.rc, 0) << r.err;
  const hid_t f1 = H5Fopen(out1.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), f2 = H5Fopen(out2.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f1, 0);
  ASSERT_GE(f2, 0);
  EXPECT_EQ(string_attr(f1, "/cells/0/nas", "latency"), "on_the_fly");
  EXPECT_EQ(string_attr(f1, "/cells/0/nas", "optimum"), "estimated");
  for (const char* name : {"regret", "found_accuracy", "failed", "violation", "evaluations", "rejected",
                           "target_measurements", "hypervolume_ratio", "best_accuracy", "optimum_accuracy",
                           "constraint_ms", "srcc_proxy", "srcc_adapted_mean"}) {
    const auto a = cube(f1, name), b = cube(f2, name);
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) << name << " [" << i << "]: " << a[i] << " vs " << b[i];
    }
  }
  std::vector<hsize_t> d;
  const auto violation = cube(f1, "violation", &d);
  ASSERT_EQ(d, (std::vector<hsize_t>{4, 4, 2, 2, 2}));  // strategy, source, target, constraint, seed
  const auto regret = cube(f1, "regret"), found = cube(f1, "found_accuracy"), evals = cube(f1, "evaluations");
  const auto optimum = cube(f1, "optimum_accuracy");
  const size_t per_source = 2 * 2 * 2;
  for (size_t s = 0; s < 4; ++s) {
    for (size_t j = 0; j < 4; ++j) {
      for (size_t k = 0; k < per_source; ++k) {
        const size_t i = (s * 4 + j) * per_source + k;
        if (j == 0) {
          // Source = target: the pick is within the target's own constraint.
          EXPECT_EQ(violation[i], 0.0f) << "strategy " << s << " search " << k;
          EXPECT_FALSE(std::isnan(found[i]));
        }
        if (!std::isnan(regret[i])) {
          // The estimate is the best known, this search's find among what is known.
          EXPECT_GE(regret[i], 0.0f);
          EXPECT_FLOAT_EQ(regret[i], optimum[k / 2] - found[i]);
        }
        if (s != 2) EXPECT_EQ(evals[i], 150.0f);  // OFA's evolution ends with its generations
      }
    }
  }
  H5Fclose(f1);
  H5Fclose(f2);
}

}  // namespace

TEST(NasOnTheFly, FbnetBatchedEqualsOneByOneAndTargetSearchesNeverViolate) { check_space("fbnet"); }

TEST(NasOnTheFly, OfaBatchedEqualsOneByOneAndTargetSearchesNeverViolate) { check_space("ofa_mbv3"); }

// The adapted source on the fly predicts the architectures a search asks about from
// the scheme's affine form (search/affine_oracle.hpp). Its SRCC on the run's sample must
// be what the scheme's own predict() gives over that sample, fitted on the same draws
// (the tabulated stage's path): computed here from the file's sample and latencies.
TEST(NasOnTheFly, TheAdaptedSourceIsTheSchemesFitOnTheSample) {
  for (const std::string scheme : {"adaproxy", "anchored"}) {
    SCOPED_TRACE(scheme);
    std::string nas = nas_settings(true);
    nas.replace(nas.find("n: 10,"), 6, "scheme: " + scheme + ", n: 10,");
    const auto out = tmp("nas_otf_adapted_" + scheme + ".h5");
    const RunOutcome r = run_config("nas_otf_adapted_" + scheme, config("fbnet", nas), out);
    ASSERT_EQ(r.rc, 0) << r.err;
    const hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    std::vector<hsize_t> dc, dl;
    const auto codes = read_all<uint8_t>(f, "/cells/0/eval/arch_codes", H5T_NATIVE_UINT8, &dc);
    const auto ms = read_all<float>(f, "/cells/0/eval/latency_ms", H5T_NATIVE_FLOAT, &dl);
    const auto srcc_adapted = cube(f, "srcc_adapted_mean");
    H5Fclose(f);
    const size_t m = dc[0], K = dc[1], D = dl[1];
    ASSERT_EQ(D, 3u);  // pixel3_cpu (the proxy), raspi4, edgetpu
    std::vector<proxysim::ArchCode> arch(m);
    for (size_t i = 0; i < m; ++i) arch[i].assign(codes.begin() + static_cast<long>(i * K), codes.begin() + static_cast<long>((i + 1) * K));
    const Eigen::MatrixXd x = proxysim::one_hot_features(proxysim::SpaceId::kFbnet, arch);
    Eigen::VectorXd proxy(static_cast<Eigen::Index>(m));
    std::vector<double> key(m);
    for (size_t i = 0; i < m; ++i) proxy[static_cast<Eigen::Index>(i)] = key[i] = ms[i * D];
    ASSERT_EQ(srcc_adapted.size(), 2u);
    for (size_t t = 0; t < 2; ++t) {
      std::vector<float> target(m);
      for (size_t i = 0; i < m; ++i) target[i] = ms[i * D + 1 + t];
      double sum = 0;
      for (int32_t rep = 0; rep < 2; ++rep) {
        const auto split = proxysim::draw_adaptation_samples(proxysim::Sampling::kRandom, proxysim::nas_adapt_seed(0, t, rep),
                                                             key, 10, 10);
        const proxysim::AdaptationInput in{x, proxy, proxysim::gather_target_samples(split.train, target.data()),
                                           proxysim::gather_target_samples(split.validation, target.data())};
        const Eigen::VectorXd p = proxysim::make_adaptation_scheme(scheme)->predict(in);
        std::vector<float> pf(m);
        for (size_t i = 0; i < m; ++i) pf[i] = static_cast<float>(p[static_cast<Eigen::Index>(i)]);
        sum += proxysim::spearman_pair(proxysim::Backend::kCpu, pf.data(), target.data(), static_cast<int64_t>(m));
      }
      // Float rounding of two summation orders may swap a near-tie: 1e-5 of SRCC.
      EXPECT_NEAR(srcc_adapted[t], sum / 2, 1e-5) << "target " << t;
    }
  }
}

TEST(NasOnTheFly, RefusesWhatASpaceEvaluatedOnTheFlyCannotDo) {
  struct Case {
    std::string replace, with, fragment;
  };
  const std::vector<Case> cases = {
      {"sources: [target, proxy, flops, adapted]", "sources: [target, adapted], scheme: twin",
       "nas.scheme: 'twin' cannot predict architectures outside"},
      {"sources: [target, proxy, flops, adapted]", "sources: [target, adapted], scheme: multi_proxy",
       "nas.scheme: 'multi_proxy' cannot predict"},
      {"strategies: [regularized_evolution, local_search, ofa_evolution, latency_aware_random]",
       "strategies: [exhaustive]", "'exhaustive' cannot enumerate"},
      {"accuracy: synthetic", "accuracy: nb201", "accuracy"},
  };
  for (const auto& c : cases) {
    std::string nas = nas_settings(true);
    const size_t at = nas.find(c.replace);
    ASSERT_NE(at, std::string::npos) << c.replace;
    nas.replace(at, c.replace.size(), c.with);
    const RunOutcome r = run_config("nas_otf_bad", config("fbnet", nas), tmp("nas_otf_bad.h5"));
    EXPECT_EQ(r.rc, 2) << c.with << ": " << r.err;
    EXPECT_NE(r.err.find(c.fragment), std::string::npos) << r.err;
  }
}
