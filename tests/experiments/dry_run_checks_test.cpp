// `--dry-run` refuses what the run would refuse, with the run's message, before any
// work: a sample budget larger than the architectures measured on both devices of a
// pair (real data: HW-NAS-Bench's Edge TPU column covers 1740 connected NB201
// architectures that Pixel 3 also has, counted here from the CSV), a nas stage on a
// space too large to tabulate, and a monotonicity target that is not a column.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/support/reference_spearman.hpp"
#include "tests/support/scratch.hpp"

namespace proxysim::test {
namespace {

std::string shared(const std::string& f) { return std::string(PROXYSIM_SHARED_DATA) + "/" + f; }

// Connected rows of hwnasbench_nb201_cifar10.csv with both columns present.
int64_t measured_on_both(const std::string& a, const std::string& b) {
  std::ifstream in(shared("hwnasbench_nb201_cifar10.csv"));
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> head;
  std::stringstream hs(line);
  for (std::string c; std::getline(hs, c, ',');) head.push_back(c);
  auto col = [&](const std::string& name) {
    for (size_t i = 0; i < head.size(); ++i)
      if (head[i] == name || head[i] == name + "_latency") return i;
    ADD_FAILURE() << "no column " << name;
    return size_t{0};
  };
  const size_t ca = col(a), cb = col(b), arch = col("arch_str");
  int64_t m = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    cells.resize(head.size());
    m += !cells[ca].empty() && !cells[cb].empty() && cells[ca] != "nan" && cells[cb] != "nan" &&
         nb201_connected_by_hand(cells[arch]);
  }
  return m;
}

class DryRun : public CliScratch {
 protected:
  std::pair<int, std::string> dry(const std::string& yaml) const {
    return run({PROXYSIM_BINARY, "run", write("c.yaml", yaml), "--dry-run"});
  }
};

TEST_F(DryRun, RefusesAnAdaptationBudgetThePairCannotHold) {
  const int64_t m = measured_on_both("pixel3", "edgetpu");
  ASSERT_GT(m, 100);
  auto config = [&](int64_t n) {
    return "name: d\nspace: nb201\nmeasured: [" + shared("hwnasbench_nb201_cifar10.csv") +
           "]\narchs: measured\ndevices: none\nstages:\n  - adapt: {proxy: pixel3, targets: [edgetpu], n: [10, " +
           std::to_string(n) + "], validation: 10, schemes: [none]}\n";
  };
  // n + v must leave one architecture unsampled: m - 11 fits, m - 10 does not.
  const auto [ok, ok_log] = dry(config(m - 11));
  EXPECT_EQ(ok, 0) << ok_log;
  const auto [rc, log] = dry(config(m - 10));
  EXPECT_EQ(rc, 2) << log;
  const std::string want = "'stages[0].adapt.n': n = " + std::to_string(m - 10) +
                           " training + 10 validation samples need more than the " + std::to_string(m) +
                           " architectures measured on both 'pixel3' and 'edgetpu'";
  EXPECT_NE(log.find(want), std::string::npos) << log;
  // The run itself refuses it with the same words.
  const auto [run_rc, run_log] = run({PROXYSIM_BINARY, "run", write("c.yaml", config(m - 10)), "--out",
                                      (dir_ / "r.h5").string(), "--backend", "cpu"});
  EXPECT_EQ(run_rc, 2);
  EXPECT_NE(run_log.find(want), std::string::npos) << run_log;
}

// On a space too large to tabulate the nas stage evaluates on the fly: the adapted
// source predicts each architecture a search asks about from the scheme's affine form,
// so the default sources (adaproxy) validate, and a scheme without one is refused
// naming the key.
TEST_F(DryRun, RefusesAnAdaptedSchemeThatCannotPredictOnTheFly) {
  const std::string head = "name: d\nspace: fbnet\narchs: {sample: 1000}\ndevices: [pixel3_cpu, edgetpu]\nstages:\n  - eval\n";
  auto [rc, log] = dry(head + "  - nas: {proxy: pixel3_cpu, accuracy: synthetic}\n");
  EXPECT_EQ(rc, 0) << log;
  std::tie(rc, log) = dry(head + "  - nas: {proxy: pixel3_cpu, accuracy: synthetic, scheme: twin}\n");
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("nas.scheme: 'twin' cannot predict architectures outside its samples' table"), std::string::npos) << log;
  std::tie(rc, log) = dry(head + "  - nas: {proxy: pixel3_cpu, accuracy: synthetic, sources: [target, proxy, flops], scheme: twin}\n");
  EXPECT_EQ(rc, 0) << log;
}

TEST_F(DryRun, RefusesAMonotonicityTargetThatIsNotAColumn) {
  const auto [rc, log] = dry(
      "name: d\nspace: nb201\narchs: all\ndevices: [pixel3_cpu, edgetpu]\nstages:\n"
      "  - monotonicity: {target: my_phone}\n");
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("monotonicity.target: 'my_phone' is not a device of this run (devices: pixel3_cpu, edgetpu)"),
            std::string::npos)
      << log;
}

}  // namespace
}  // namespace proxysim::test
