// Sweep expansion (experiments/sweep.hpp): the cells of products, zipped lists, seed replicates and --set overrides, each checked against the cells written out by hand (order: first axis slowest), through the parsed ExperimentConfig every stage sees; exact, as nothing here is numeric.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "experiments/sweep.hpp"
#include "base/error.hpp"

using namespace proxysim;

namespace {

const std::string kBase = R"(name: sweep_test
space: nb201
archs: {sample: 100, seed: 3}
devices: [pixel3_cpu, raspi4, edgetpu]
stages:
  - monotonicity
  - adapt: {proxy: pixel3_cpu, n: [10], repeats: 2}
)";

}  // namespace

TEST(Sweep, WithoutASweepBlockIsOneCellEqualToTheParsedConfig) {
  const SweepPlan plan = expand_sweep(kBase, "t.yaml");
  ASSERT_EQ(plan.cells.size(), 1u);
  EXPECT_FALSE(plan.swept);
  EXPECT_TRUE(plan.cells[0].axes.empty());
  EXPECT_EQ(resolved_yaml(plan.cells[0].config), resolved_yaml(parse_config(kBase, "t.yaml")));
}

TEST(Sweep, AxesMakeACartesianProductWithTheLastAxisFastest) {
  const SweepPlan plan = expand_sweep(kBase + R"(sweep:
  adapt.n: [[10], [10, 20]]
  archs.sample: [100, 200, 300]
)", "t.yaml");
  ASSERT_EQ(plan.cells.size(), 6u);
  EXPECT_TRUE(plan.swept);
  EXPECT_EQ(plan.axis_names, (std::vector<std::string>{"adapt.n", "archs.sample"}));
  const std::vector<std::vector<int64_t>> n = {{10}, {10}, {10}, {10, 20}, {10, 20}, {10, 20}};
  const std::vector<uint64_t> sample = {100, 200, 300, 100, 200, 300};
  for (size_t i = 0; i < 6; ++i) {
    const auto& c = plan.cells[i];
    EXPECT_EQ(c.index, i);
    EXPECT_EQ(c.config.find<proxysim::AdaptSettings>()->n, n[i]) << i;
    EXPECT_EQ(c.config.archs.count, sample[i]) << i;
    EXPECT_EQ(c.config.archs.seed, 3u);            // untouched settings stay
    EXPECT_EQ(c.config.find<proxysim::AdaptSettings>()->repeats, 2);
    EXPECT_TRUE(c.config.has("monotonicity"));
  }
  EXPECT_EQ(describe_axes(plan.cells[4]), "adapt.n=[10, 20], archs.sample=200");
  // The explicit position of the stage reaches the same setting.
  const SweepPlan same = expand_sweep(kBase + "sweep:\n  stages[1].adapt.n: [[10], [10, 20]]\n", "t.yaml");
  ASSERT_EQ(same.cells.size(), 2u);
  EXPECT_EQ(same.cells[1].config.find<proxysim::AdaptSettings>()->n, (std::vector<int64_t>{10, 20}));
}

TEST(Sweep, ZippedListsAdvanceTogetherAndMultiplyWithOtherAxes) {
  const SweepPlan plan = expand_sweep(kBase + R"(sweep:
  zip:
    adapt.proxy: [pixel3_cpu, raspi4]
    adapt.targets: [[raspi4], [edgetpu, pixel3_cpu]]
  noise_seed: [0, 5]
)", "t.yaml");
  ASSERT_EQ(plan.cells.size(), 4u);
  const std::vector<std::string> proxy = {"pixel3_cpu", "pixel3_cpu", "raspi4", "raspi4"};
  const std::vector<std::vector<std::string>> targets = {{"raspi4"}, {"raspi4"}, {"edgetpu", "pixel3_cpu"}, {"edgetpu", "pixel3_cpu"}};
  const std::vector<uint64_t> noise = {0, 5, 0, 5};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(plan.cells[i].config.find<proxysim::AdaptSettings>()->proxy, proxy[i]) << i;
    EXPECT_EQ(plan.cells[i].config.find<proxysim::AdaptSettings>()->targets, targets[i]) << i;
    EXPECT_EQ(plan.cells[i].config.noise_seed, noise[i]) << i;
  }
  // Devices (a list-valued setting) swept whole, and one entry by index.
  const SweepPlan dev = expand_sweep(kBase + "sweep:\n  devices[2]: [edgetpu, eyeriss]\n", "t.yaml");
  ASSERT_EQ(dev.cells.size(), 2u);
  EXPECT_EQ(dev.cells[1].config.devices, (std::vector<std::string>{"pixel3_cpu", "raspi4", "eyeriss"}));
}

TEST(Sweep, SeedsOffsetEverySeedOrTheNamedOnes) {
  const SweepPlan plan = expand_sweep(kBase + "sweep:\n  seeds: 3\n", "t.yaml");
  ASSERT_EQ(plan.cells.size(), 3u);
  for (uint64_t s = 0; s < 3; ++s) {
    const auto& c = plan.cells[s].config;
    EXPECT_EQ(c.archs.seed, 3 + s);  // base 3 plus the replicate
    EXPECT_EQ(c.noise_seed, s);      // absent: 0 plus the replicate
    EXPECT_EQ(c.find<proxysim::AdaptSettings>()->seed, s);
    EXPECT_EQ(plan.cells[s].axes, (std::vector<std::pair<std::string, std::string>>{{"seed", std::to_string(s)}}));
  }
  const SweepPlan named = expand_sweep(kBase + "sweep:\n  adapt.repeats: [1, 2]\n  seeds: {values: [7, 9], keys: [adapt.seed]}\n", "t.yaml");
  ASSERT_EQ(named.cells.size(), 4u);
  const std::vector<uint64_t> seed = {7, 9, 7, 9};
  const std::vector<int32_t> repeats = {1, 1, 2, 2};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(named.cells[i].config.find<proxysim::AdaptSettings>()->seed, seed[i]) << i;
    EXPECT_EQ(named.cells[i].config.find<proxysim::AdaptSettings>()->repeats, repeats[i]) << i;
    EXPECT_EQ(named.cells[i].config.archs.seed, 3u) << i;
    EXPECT_EQ(named.cells[i].config.noise_seed, 0u) << i;
  }
}

TEST(Sweep, SetOverridesTheBaseOfEveryCell) {
  const SweepPlan plan = expand_sweep(kBase + "sweep:\n  archs.sample: [100, 200]\n", "t.yaml",
                                      {"adapt.repeats=5", "devices=[pixel3_cpu, eyeriss]", "monotonicity.top_k=7",
                                       "stages[1].adapt.validation=4", "noise_seed=11"});
  ASSERT_EQ(plan.cells.size(), 2u);
  for (const auto& cell : plan.cells) {
    const auto& c = cell.config;
    EXPECT_EQ(c.find<proxysim::AdaptSettings>()->repeats, 5);
    EXPECT_EQ(c.find<proxysim::AdaptSettings>()->validation, 4);
    EXPECT_EQ(c.devices, (std::vector<std::string>{"pixel3_cpu", "eyeriss"}));
    EXPECT_EQ(c.find<proxysim::MonotonicitySettings>()->top_k, 7);  // a stage given by name alone takes settings
    EXPECT_EQ(c.noise_seed, 11u);
  }
  EXPECT_EQ(plan.cells[1].config.archs.count, 200u);
  // A sweep axis wins over --set on the same key: the override is the base.
  const SweepPlan over = expand_sweep(kBase + "sweep:\n  archs.sample: [100, 200]\n", "t.yaml", {"archs.sample=50"});
  EXPECT_EQ(over.cells[0].config.archs.count, 100u);
  // Cells differ in their stored YAML exactly where the axes do.
  EXPECT_NE(plan.cells[0].yaml, plan.cells[1].yaml);
  EXPECT_NE(plan.cells[0].yaml.find("sample: 100"), std::string::npos);
}
