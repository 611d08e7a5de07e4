// Collecting and summing lowered ops in tests.
#pragma once
#include <vector>

#include "sim/op.hpp"

namespace proxysim::test {

struct Collect {
  std::vector<Op> ops;
  void operator()(const Op& op) { ops.push_back(op); }
};

inline double sum_macs(const std::vector<Op>& ops) {
  double m = 0;
  for (const auto& op : ops) m += op_macs(op);
  return m;
}

inline double sum_params(const std::vector<Op>& ops) {
  double p = 0;
  for (const auto& op : ops) p += op_params(op);
  return p;
}

}  // namespace proxysim::test
