// Adaptation checked on every pair (issue 16, item 2), at reduced size: each shared
// NB201 and FBNet table's config in experiments/checks/ (every device the proxy of every
// other, n = 10 and 20 training + 10 validation samples, 10 seeded repeats) through the
// adapt stage's library entry (compute_adaptation: the stage's own draws, so the full
// run reproduces these numbers pair for pair) with the schemes the targets name, on a
// fixed part of each table (about 40 s in all): every other proxy of the oneproxy table
// (9 proxies, 153 pairs), HW-NAS-Bench's in full (30 pairs), every ninth proxy of HELP's
// NB201 table (3, 78 pairs) and its first FBNet proxy (26 pairs). The targets are the
// issue's, fixed before any run: at
// n = 10, `anchored` >= `none` - 0.02 on at least 97.5 % of the pairs and never below
// `none` on average; at n = 20, >= `none` - 0.01 on at least 97.5 %; on the pairs where
// `none` is below 0.8 (at least 20 of them), its mean within 0.01 of the mean of the
// per-pair better of `adaproxy` and `none`. The last is not met on HELP's FBNet table
// (n = 10 and 20) and on HELP's NB201 table at n = 20: listed, printed and expected to
// stay missed until a change meets it and updates the README. Under the sanitizers (tests/support/sanitized.hpp): fewer
// proxies, two repeats and, on HELP's tables, eight targets, run for what the
// sanitizers find; the shares and means are printed, not held to the targets (two
// repeats on a few pairs are not the targets' protocol). The full
// run, every scheme and every pair: results/adaptation_checks.py --run
// (results/checks/ADAPTATION.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "experiments/adapt.hpp"
#include "experiments/sweep.hpp"
#include "io/measured_csv.hpp"
#include "sim/space.hpp"
#include "tests/support/sanitized.hpp"

namespace {

using proxysim::test::kSanitized;

struct Size {
  const char* table;
  int stride;           // every stride-th proxy of the config's sweep, from the first
  int repeats;          // seeded repeats per pair (the config has 10)
  int max_targets = 0;  // the first this many targets of each proxy; 0 = all
};

// A mean over fewer weak pairs than this is not held to 0.01.
constexpr size_t kMinWeakPairs = 20;

// The weak-pair target where the full run does not meet it (results/checks/ADAPTATION.md).
// HELP's NB201 table at n = 20 joined the list when w_P got its explicit rank cut
// (search/schemes/support.cpp, least_squares): AdaProxy gained most there (weak pairs
// 0.870 against 0.803 before) and anchored less (0.853). HW-NAS-Bench's at n = 20,
// which flipped with the build's vector width before the cut, is met on every build
// now and asserted.
bool known_weak_miss(const std::string& table, size_t n) {
  static const std::vector<std::pair<std::string, size_t>> misses = {
      {"help_nb201", 20}, {"help_fbnet", 10}, {"help_fbnet", 20}};
  return std::find(misses.begin(), misses.end(), std::pair{table, n}) != misses.end();
}

struct PairMeans {
  std::vector<double> none, adaproxy, anchored;
};

void check_table(const Size& size) {
  const std::string config = std::string(PROXYSIM_SOURCE_DIR) + "/experiments/checks/adapt_" + size.table + ".yaml";
  const proxysim::SweepPlan plan =
      proxysim::load_sweep(config, {"data_dir=" + std::string(PROXYSIM_SHARED_DATA), "adapt.schemes=[none, adaproxy, anchored]",
                                    "adapt.repeats=" + std::to_string(size.repeats)});
  ASSERT_FALSE(plan.cells.empty());
  const proxysim::ExperimentConfig& first = plan.cells.front().config;
  ASSERT_EQ(first.measured.size(), 1u);
  const proxysim::MeasuredTable t = proxysim::read_measured_csv(first.measured[0]);
  const proxysim::SearchSpace space = proxysim::make_space(first.space);
  const auto k = static_cast<size_t>(space.decisions());
  std::vector<uint8_t> codes;
  codes.reserve(t.rows() * k);
  for (const auto& c : t.codes) codes.insert(codes.end(), c.begin(), c.end());

  std::vector<size_t> ns;
  std::vector<PairMeans> by_n;
  size_t proxies = 0;
  for (size_t c = 0; c < plan.cells.size(); c += static_cast<size_t>(size.stride)) {
    proxysim::AdaptSettings stage = *plan.cells[c].config.find<proxysim::AdaptSettings>();
    if (size.max_targets > 0) {
      stage.targets.clear();
      for (const std::string& d : t.devices) {
        if (d != stage.proxy && static_cast<int>(stage.targets.size()) < size.max_targets) stage.targets.push_back(d);
      }
    }
    const proxysim::AdaptReport r = proxysim::compute_adaptation(space, t.latency_ms, t.rows(), codes, t.devices, stage);
    ++proxies;
    if (by_n.empty()) by_n.resize(r.n.size());
    auto scheme = [&](const char* name) {
      return static_cast<size_t>(std::find(r.schemes.begin(), r.schemes.end(), name) - r.schemes.begin());
    };
    for (size_t n = 0; n < r.n.size(); ++n) {
      for (size_t target = 0; target < r.targets.size(); ++target) {
        by_n[n].none.push_back(r.srcc_mean[r.at(scheme("none"), target, n)]);
        by_n[n].adaproxy.push_back(r.srcc_mean[r.at(scheme("adaproxy"), target, n)]);
        by_n[n].anchored.push_back(r.srcc_mean[r.at(scheme("anchored"), target, n)]);
      }
    }
    if (ns.empty()) ns.assign(r.n.begin(), r.n.end());
  }
  ASSERT_EQ(ns, (std::vector<size_t>{10, 20}));
  for (size_t i = 0; i < ns.size(); ++i) {
    const PairMeans& m = by_n[i];
    const double bound = ns[i] == 10 ? 0.02 : 0.01;
    const size_t pairs = m.none.size();
    size_t within = 0, weak = 0;
    double mean_diff = 0, worst = 1, weak_anchored = 0, weak_better = 0;
    for (size_t p = 0; p < pairs; ++p) {
      const double d = m.anchored[p] - m.none[p];
      within += d >= -bound ? 1 : 0;
      mean_diff += d / static_cast<double>(pairs);
      worst = std::min(worst, d);
      if (m.none[p] < 0.8) {
        ++weak;
        weak_anchored += m.anchored[p];
        weak_better += std::max(m.adaproxy[p], m.none[p]);
      }
    }
    const double fraction = static_cast<double>(within) / static_cast<double>(pairs);
    std::printf("%s, %zu proxies, %d repeats, n = %zu: %zu pairs, anchored >= none - %.2f on %.1f %%, mean %+.4f, "
                "worst %+.4f; %zu weak: anchored %.4f, better of adaproxy and none %.4f\n",
                size.table, proxies, size.repeats, ns[i], pairs, bound, 100 * fraction, mean_diff, worst, weak,
                weak ? weak_anchored / static_cast<double>(weak) : 0.0, weak ? weak_better / static_cast<double>(weak) : 0.0);
    if (kSanitized) {
      // Two repeats on 8 to 16 pairs: a share of pairs over 97.5 % asks every pair's
      // mean of two draws to hold, which is not the target's protocol (10 repeats, every
      // pair). hwnasbench's 10 sanitized pairs once had one at -0.036 while the full run
      // had 100 % within, worst -0.003. Printed above and
      // held to the target in the release build; here every scheme's means must exist.
      EXPECT_TRUE(std::isfinite(mean_diff) && std::isfinite(worst)) << size.table << " n = " << ns[i];
    } else {
      EXPECT_GE(fraction, 0.975) << size.table << " n = " << ns[i];
      if (ns[i] == 10) EXPECT_GE(mean_diff, 0.0) << size.table << " n = " << ns[i];
    }
    const bool met = weak_anchored >= weak_better - 0.01 * static_cast<double>(weak);
    if (kSanitized) {
      // Two repeats: the per-pair better of two noisy means is biased upward, so the
      // weak-pair mean is printed above and held to the target in the release build.
    } else if (known_weak_miss(size.table, ns[i])) {
      // Documented as not met (README, results/checks/ADAPTATION.md): a change that
      // meets it must update the documentation and this list.
      std::printf("  weak-pair target not met, as documented: %+.4f below the better of adaproxy and none\n",
                  (weak_anchored - weak_better) / static_cast<double>(weak));
      EXPECT_FALSE(met) << size.table << " n = " << ns[i] << ": the documented miss is met now";
    } else if (weak >= kMinWeakPairs) {
      EXPECT_TRUE(met) << size.table << " n = " << ns[i] << ": weak pairs " << weak_anchored / static_cast<double>(weak)
                       << " vs " << weak_better / static_cast<double>(weak);
    }
  }
}

}  // namespace

TEST(AdaptationChecks, OneproxyNb201) { check_table({"oneproxy_nb201", kSanitized ? 6 : 2, kSanitized ? 2 : 10}); }

TEST(AdaptationChecks, HwNasBenchNb201) { check_table({"hwnasbench_nb201", kSanitized ? 3 : 1, kSanitized ? 2 : 10}); }

TEST(AdaptationChecks, HelpNb201) { check_table({"help_nb201", kSanitized ? 27 : 9, kSanitized ? 2 : 10, kSanitized ? 8 : 0}); }

TEST(AdaptationChecks, HelpFbnet) { check_table({"help_fbnet", 27, kSanitized ? 2 : 10, kSanitized ? 8 : 0}); }
