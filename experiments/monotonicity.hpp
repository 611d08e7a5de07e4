// The monotonicity stage: SRCC, Kendall tau-b and top-k agreement between every two
// devices (simulated and measured alike) of a run's latency matrix.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "kernels/engine.hpp"
#include "io/h5.hpp"
#include "kernels/rank_stats.hpp"

namespace proxysim {

struct MonotonicitySettings {
  bool kendall = true;
  int64_t top_k = 100;              // 0 = off
  int32_t bootstrap = 0;            // resamples for SRCC intervals, 0 = off
  uint64_t bootstrap_seed = 0;
  bool include_disconnected = false;  // NB201's 341 disconnected architectures
  std::string target;               // a device column: rank every other column as its proxy
};

// One candidate proxy of the stage's target: its statistics with the target and the
// number of architectures measured on both that they rest on.
struct ProxyRank {
  std::string device;
  double srcc = 0, kendall = 0, top_k = 0;  // NaN where not computed or undefined
  double srcc_lower = 0, srcc_upper = 0;    // bootstrap interval; NaN without --bootstrap
  int64_t pairs = 0;
};

struct MonotonicityReport {
  std::vector<std::string> devices;
  uint64_t rows = 0;              // architectures the statistics ran over
  uint64_t excluded_disconnected = 0;
  PairMatrix srcc, kendall;
  std::vector<double> top_k;      // [proxy][target], fraction of proxy's top-k in target's top-k
  int64_t k = 0;
  std::vector<double> srcc_lower, srcc_upper;  // bootstrap interval, when asked
  int32_t bootstrap = 0;
  std::string target;             // when asked: every other device ranked as its proxy,
  std::vector<ProxyRank> ranking; // by SRCC with the target, highest first (NaN last)
};

// The column of `stage.target` among `devices`, or -1 without a target; a name that is
// not a device of the run is a UserError naming the key and the run's devices.
int monotonicity_target_column(const MonotonicitySettings& stage, const std::vector<std::string>& devices);

// `latency_ms` is rows x devices (NaN = not measured); rows with keep[i] == 0 are left out.
MonotonicityReport compute_monotonicity(Backend backend, const std::vector<float>& latency_ms, uint64_t rows,
                                        const std::vector<std::string>& devices, const std::vector<uint8_t>& keep,
                                        const MonotonicitySettings& stage);
void write_monotonicity(H5Writer& h5, const MonotonicityReport& r);
// The SRCC matrix as a table, pairs >= 0.9 (strong monotonicity) marked with '*'.
void print_srcc_table(const MonotonicityReport& r, std::ostream& out);
// The target's candidate proxies, best first, with the pairs each rests on.
void print_proxy_ranking(const MonotonicityReport& r, std::ostream& out);

}  // namespace proxysim
