// `--dry-run` estimates the memory a run then uses: for one config per stage, the
// estimate it prints is compared with the run's peak resident memory, measured by the
// kernel (wait4's ru_maxrss of the child process), within a factor of 2. The configs
// are sized so that the stage's own data, not the process's libraries, is most of the
// peak where the stage holds much (monotonicity, select, cover, adapt on FBNet).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/support/sanitized.hpp"
#include "tests/support/scratch.hpp"
#include "tests/support/spawn.hpp"

namespace proxysim::test {
namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

// "12.3 MiB" and the like, as human_bytes prints them.
double parse_bytes(const std::string& number, const std::string& unit) {
  const double v = std::stod(number);
  if (unit == "KiB") return v * 1024;
  if (unit == "MiB") return v * 1024 * 1024;
  return v * 1024 * 1024 * 1024;
}

class DryRunMemory : public CliScratch {
 protected:
  // The dry run's estimate for the one cell of `yaml`, in bytes.
  double estimate(const std::string& cfg) const {
    const auto [rc, log] = run({PROXYSIM_BINARY, "run", cfg, "--dry-run", "--backend", "cpu"});
    EXPECT_EQ(rc, 0) << log;
    std::smatch m;
    const std::regex peak(R"(peak ([0-9.]+) (KiB|MiB|GiB) per rank)");
    if (!std::regex_search(log, m, peak)) {
      ADD_FAILURE() << "no peak in the dry run's output:\n" << log;
      return 0;
    }
    return parse_bytes(m[1].str(), m[2].str());
  }
  // The run's peak resident memory in bytes.
  double measured_peak(const std::string& cfg) const {
    const std::string log = (dir_ / "run.log").string();
    const pid_t pid = spawn({PROXYSIM_BINARY, "run", cfg, "--backend", "cpu", "--quiet", "--out",
                             (dir_ / "r.h5").string()},
                            log);
    int status = 0;
    rusage ru{};
    ::wait4(pid, &status, 0, &ru);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(log);
    std::filesystem::remove(dir_ / "r.h5");
    return static_cast<double>(ru.ru_maxrss) * 1024.0;  // KiB on Linux
  }
  void expect_within_twice(const std::string& stage, const std::string& yaml) const {
    const std::string cfg = write(stage + ".yaml", yaml);
    const double est = estimate(cfg), peak = measured_peak(cfg);
    ASSERT_GT(peak, 0) << stage;
    const double ratio = est / peak;
    EXPECT_GE(ratio, 0.5) << stage << ": estimate " << est / 1048576 << " MiB, measured peak " << peak / 1048576 << " MiB";
    EXPECT_LE(ratio, 2.0) << stage << ": estimate " << est / 1048576 << " MiB, measured peak " << peak / 1048576 << " MiB";
    RecordProperty(stage + "_estimate_mib", std::to_string(est / 1048576));
    RecordProperty(stage + "_peak_mib", std::to_string(peak / 1048576));
    std::cout << stage << ": estimate " << est / 1048576 << " MiB, measured peak " << peak / 1048576 << " MiB (ratio "
              << ratio << ")\n";
  }
};

TEST_F(DryRunMemory, EstimateIsWithinTwiceThePeakForEveryStage) {
  // The sanitizers' shadow memory and allocator quarantine are not what a user's run holds.
  if (kSanitized) GTEST_SKIP() << "peak memory under AddressSanitizer is not a user's run's";
  const std::string fbnet = "name: m\nspace: fbnet\narchs: {sample: 150000, seed: 3}\ndevices: all\n";
  expect_within_twice("eval", fbnet + "stages: [eval]\n");
  expect_within_twice("monotonicity", fbnet + "stages:\n  - monotonicity: {kendall: false}\n");
  expect_within_twice("select", fbnet + "stages:\n  - select: {n: [10], repeats: 2, rules: [max_mean_srcc]}\n");
  expect_within_twice("cover", fbnet + "stages: [cover]\n");
  expect_within_twice("adapt",
                      "name: m\nspace: fbnet\narchs: {sample: 30000, seed: 3}\ndevices: [pixel3_cpu, raspi4, "
                      "eyeriss]\nstages:\n  - adapt: {proxy: pixel3_cpu, n: [10], repeats: 2, schemes: [none, "
                      "adaproxy]}\n");
  const std::string hw = "name: m\nspace: nb201\nmeasured: [" + shared("hwnasbench_nb201_cifar10.csv") +
                         "]\narchs: all\ndevices: none\n";
  expect_within_twice("nas", hw + "stages:\n  - nas: {proxy: pixel3, targets: [raspi4], seeds: 2, budget: 200, "
                                  "sources: [proxy, adapted], constraints: [0.5], "
                                  "accuracy_file: " + shared("nb201_accuracy.csv") + "}\n");
  expect_within_twice("deploy", hw + "stages:\n  - deploy: {proxy: pixel3, target: raspi4, constraint_ms: 20, "
                                     "accuracy_file: " + shared("nb201_accuracy.csv") + "}\n");
}

}  // namespace
}  // namespace proxysim::test
