// The monotonicity stage: SRCC, Kendall tau-b and top-k agreement between every two
// devices (simulated and measured alike) of a run's latency matrix.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/config.hpp"
#include "io/h5.hpp"
#include "kernels/rank_stats.hpp"

namespace proxysim {

struct MonotonicityReport {
  std::vector<std::string> devices;
  uint64_t rows = 0;              // architectures the statistics ran over
  uint64_t excluded_disconnected = 0;
  PairMatrix srcc, kendall;
  std::vector<double> top_k;      // [proxy][target], fraction of proxy's top-k in target's top-k
  int64_t k = 0;
  std::vector<double> srcc_lower, srcc_upper;  // bootstrap interval, when asked
  int32_t bootstrap = 0;
};

// `latency_ms` is rows x devices (NaN = not measured); rows with keep[i] == 0 are left out.
MonotonicityReport compute_monotonicity(Backend backend, const std::vector<float>& latency_ms, uint64_t rows,
                                        const std::vector<std::string>& devices, const std::vector<uint8_t>& keep,
                                        const MonotonicityStage& stage);
void write_monotonicity(H5Writer& h5, const MonotonicityReport& r);
// The SRCC matrix as a table, pairs >= 0.9 (strong monotonicity) marked with '*'.
void print_srcc_table(const MonotonicityReport& r, std::ostream& out);

}  // namespace proxysim
