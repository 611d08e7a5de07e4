// The config-error corpus: each malformed config or override (unknown key, wrong type, missing file, bad sweep axis path, zipped lists of different lengths, ...) must fail as a UserError whose message names the file, the key path and the line it was written on, counted by hand in the texts below; one case also goes through the CLI for its exit status and single line.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "experiments/sweep.hpp"
#include "base/error.hpp"

namespace fs = std::filesystem;
using namespace proxysim;

namespace {

// Lines 1-7; the cases append from line 8 on.
const std::string kBase = R"(name: errors
space: nb201
archs: {sample: 100, seed: 3}
devices: [pixel3_cpu, raspi4]
stages:
  - monotonicity
  - adapt: {proxy: pixel3_cpu, n: [10]}
)";

struct Case {
  std::string what;
  std::string text;
  std::vector<std::string> sets;
  std::vector<std::string> parts;  // each must appear in the message
};

std::string error_of(const Case& c) {
  try {
    expand_sweep(c.text, "cfg.yaml", c.sets);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ConfigErrors, EveryMistakeNamesTheKeyPathAndLine) {
  const std::vector<Case> cases = {
      {"unknown key", kBase + "colour: red\n", {}, {"cfg.yaml:8", "'colour'", "unknown key"}},
      // Found by fuzz_config: a complex key escaped as yaml-cpp's own exception.
      {"complex key", kBase + "? [a, b]\n: 1\n", {}, {"cfg.yaml:8", "expected a plain key name"}},
      // Found by fuzz_config: a file name longer than the system allows threw
      // std::filesystem's error past the config's own.
      // Found by fuzz_config: a whole number past 2^64 was cast from a double (UB).
      {"huge whole number", "name: e\nspace: nb201\narchs: {sample: 10001111111111111111111111111000, seed: 1}\n"
                            "devices: [pixel3_cpu]\n",
       {}, {"cfg.yaml:3", "'archs.sample'", "expected a whole number, found '10001111111111111111111111111000'"}},
      {"whole number as a huge float", "name: e\nspace: nb201\narchs: {sample: 1e30, seed: 1}\ndevices: [pixel3_cpu]\n",
       {}, {"cfg.yaml:3", "'archs.sample'", "expected a whole number, found '1e30'"}},
      {"file name too long", "name: e\nspace: nb201\nmeasured: [./" + std::string(300, 'x') + ".csv]\narchs: measured\n",
       {}, {"cfg.yaml:3", "'measured[0]'", "cannot look up file", "File name too long"}},
      {"unknown key in a stage", R"(name: e
space: nb201
archs: {sample: 100}
stages:
  - adapt: {proxy: pixel3_cpu, nn: 3}
)", {}, {"cfg.yaml:5", "'stages[0].adapt.nn'", "unknown key"}},
      {"wrong type", R"(name: e
space: nb201
archs:
  sample: many
stages: [eval]
)", {}, {"cfg.yaml:4", "'archs.sample'", "expected a whole number, found 'many'"}},
      {"wrong type, flag", R"(name: e
space: nb201
archs: all
stages:
  - monotonicity: {kendall: maybe}
)", {}, {"cfg.yaml:5", "'stages[0].monotonicity.kendall'", "expected true or false"}},
      {"missing measured file", R"(name: e
space: nb201
measured:
  - /nonexistent/table.csv
stages: [monotonicity]
)", {}, {"cfg.yaml:4", "'measured[0]'", "/nonexistent/table.csv", "no such file"}},
      {"missing device file", R"(name: e
space: nb201
archs: all
devices: [pixel3_cpu, /nonexistent/dev.yaml]
stages: [eval]
)", {}, {"cfg.yaml:4", "'devices[1]'", "no such file"}},
      {"not YAML", kBase + "sweep: [unclosed\n", {}, {"cfg.yaml:", "not valid YAML"}},
      {"bad sweep axis path: unknown setting", kBase + "sweep:\n  adapt.nn: [1, 2]\n", {},
       {"'stages[1].adapt.nn'", "unknown key", "adapt.nn from cfg.yaml:9"}},
      {"bad sweep axis path: no such key or stage", kBase + "sweep:\n  selekt.n: [5]\n", {},
       {"'selekt'", "unknown key", "selekt.n from cfg.yaml:9"}},
      {"bad sweep axis path: syntax", kBase + "sweep:\n  adapt..n: [5]\n", {},
       {"cfg.yaml:9", "'sweep.adapt..n'", "not a key path"}},
      {"bad sweep axis path: into a scalar", kBase + "sweep:\n  space.dataset: [cifar10]\n", {},
       {"cfg.yaml:9", "'sweep.space.dataset'", "'space' is 'nb201', not a mapping"}},
      {"bad sweep axis path: index out of range", kBase + "sweep:\n  devices[5]: [eyeriss]\n", {},
       {"cfg.yaml:9", "'sweep.devices[5]'", "has 2 entries"}},
      {"sweep axis without a list", kBase + "sweep:\n  adapt.n: 10\n", {},
       {"cfg.yaml:9", "'sweep.adapt.n'", "expected a non-empty list"}},
      {"swept value of the wrong type", kBase + "sweep:\n  archs.sample: [100,\n    lots]\n", {},
       {"cfg.yaml:10", "'archs.sample'", "found 'lots'", "sweep cell 1"}},
      {"zip lists of different lengths", kBase + R"(sweep:
  zip:
    adapt.proxy: [pixel3_cpu, raspi4]
    adapt.targets: [[raspi4], [pixel3_cpu], [raspi4]]
)", {}, {"cfg.yaml:11", "'sweep.zip.adapt.targets'", "3 values, but 'adapt.proxy' has 2"}},
      {"the run's name swept", kBase + "sweep:\n  name: [a, b]\n", {}, {"cfg.yaml:9", "'sweep.name'", "cannot be swept"}},
      {"seeds not a number", kBase + "sweep:\n  seeds: [1, x]\n", {}, {"cfg.yaml:9", "'sweep.seeds[1]'", "whole number"}},
      {"set without =", kBase, {"adapt.n"}, {"--set 'adapt.n'", "key.path=value"}},
      {"set into a scalar", kBase, {"space.dataset=cifar100"}, {"--set 'space.dataset=cifar100'", "'space' is 'nb201'"}},
      {"set of a bad value", kBase, {"adapt.repeats=0"}, {"'stages[1].adapt.repeats'", "must be in [1, 100000]", "--set adapt.repeats=0"}},
  };
  for (const auto& c : cases) {
    const std::string msg = error_of(c);
    ASSERT_FALSE(msg.empty()) << c.what << ": no error";
    for (const auto& p : c.parts) EXPECT_NE(msg.find(p), std::string::npos) << c.what << ": '" << p << "' not in: " << msg;
  }
}

TEST(ConfigErrors, TheCliExitsTwoWithOneLineAndAMissingConfigIsNamed) {
  const fs::path dir = fs::temp_directory_path() / ("proxysim_cfgerr_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path cfg = dir / "cfg.yaml";
  auto run = [&](const std::string& args) {
    const fs::path err = dir / "err.txt";
    const int rc = std::system((std::string(PROXYSIM_BINARY) + " " + args + " > /dev/null 2> " + err.string()).c_str());
    std::ifstream in(err);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, all);
  };
  // Budgets must increase: cell 1's value is wrong, and --dry-run finds it before any work.
  std::ofstream(cfg) << kBase << "sweep:\n  adapt.n: [[10], [20, 10]]\n";
  auto [rc, err] = run("run " + cfg.string() + " --dry-run");
  EXPECT_EQ(rc, 2) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find(cfg.string() + ":9: 'stages[1].adapt.n[1]': budgets must increase"), std::string::npos) << err;
  std::tie(rc, err) = run("run " + (dir / "absent.yaml").string());
  EXPECT_EQ(rc, 2) << err;
  EXPECT_NE(err.find("absent.yaml: cannot open config file"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(ConfigNumbers, SeedsKeepAllSixtyFourBitsAndExponentsStayExact) {
  // Through a double, 18446744073709551615 became 2^64 (out of range) and any seed
  // above 2^53 lost its low bits; whole numbers in digits are read exactly now.
  const ExperimentConfig c = parse_config(
      "name: n\nspace: nb201\narchs: {sample: 1e3, seed: 18446744073709551615}\ndevices: [pixel3_cpu]\nstages: [eval]\n", "cfg.yaml");
  EXPECT_EQ(c.archs.seed, 18446744073709551615ull);
  EXPECT_EQ(c.archs.count, 1000u);
  const ExperimentConfig d = parse_config(
      "name: n\nspace: nb201\narchs: {sample: 10, seed: 9007199254740993}\ndevices: [pixel3_cpu]\nstages: [eval]\n", "cfg.yaml");
  EXPECT_EQ(d.archs.seed, 9007199254740993ull);  // 2^53 + 1: not a double
}
