// Checks the NB201 lowering against the published extremes of NAS-Bench-201 on
// CIFAR-10 (Dong & Yang 2020): 7.78 to 220.11 M multiply-adds, 0.073 to 1.53 M
// parameters; the paper truncates to two decimals, hence the 0.01 M tolerance.
#include <gtest/gtest.h>

#include "sim/space.hpp"

using namespace proxysim;

TEST(Nb201Published, ExtremesOfMacsAndParams) {
  const SearchSpace s = make_space("nb201", "cifar10");
  double min_macs = 1e30, max_macs = 0, min_params = 1e30, max_params = 0;
  for (uint64_t i = 0; i < 15625; ++i) {
    const OpTotals t = s.totals(s.code_at(i));
    min_macs = std::min(min_macs, t.macs);
    max_macs = std::max(max_macs, t.macs);
    min_params = std::min(min_params, t.params);
    max_params = std::max(max_params, t.params);
  }
  EXPECT_NEAR(min_macs / 1e6, 7.78, 0.01);
  EXPECT_NEAR(max_macs / 1e6, 220.11, 0.01);
  EXPECT_NEAR(min_params / 1e6, 0.073, 0.001);
  EXPECT_NEAR(max_params / 1e6, 1.53, 0.01);
}
