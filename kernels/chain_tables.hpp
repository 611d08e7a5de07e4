// Compiled evaluation of chain spaces (FBNet, OFA). The walk over a chain network's
// ops depends on the choices only through each position's own ops and the last op
// executed before it (launch hiding, on-chip reuse), so an architecture's walked
// latency is exactly prefix + sum over positions of cost[position][state][choice]
// + suffix[state], where the state is "which earlier position ran the last op".
// The tables are built by walking each position's ops from each reachable state;
// tests check the compiled sum against the full walk.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/hd.hpp"
#include "sim/device.hpp"
#include "sim/space_kernels.hpp"

namespace proxysim {

// Raw view of the tables, valid on the backend that evaluates them.
struct ChainView {
  int32_t positions = 0;
  int32_t choices = 0;
  int32_t devices = 0;
  const uint32_t* state_base = nullptr;  // [group][position + 1]: first state row of each boundary
  const uint16_t* next_state = nullptr;  // [row = (state_base + s) * choices + c]
  const float* cost = nullptr;           // [row][device] seconds
  const float* suffix = nullptr;         // [state_base[g][positions] + s][device] seconds
  const float* prefix = nullptr;         // [group][device] seconds
  const float* stat = nullptr;           // [(group * positions + pos) * choices + c][3] macs, params, ops
  const float* stat_fixed = nullptr;     // [group][3] prefix + suffix statistics
};

// Sum of the compiled costs of one architecture on devices [d0, d1), written to out[d - d0].
PROXYSIM_HD inline void chain_latency_seconds(SpaceId s, const ChainView& v, const uint8_t* code, int d0, int d1,
                                              float* out) {
  const int g = chain_group(s, code);
  const uint32_t* base = v.state_base + static_cast<int64_t>(g) * (v.positions + 1);
  for (int d = d0; d < d1; ++d) out[d - d0] = v.prefix[static_cast<int64_t>(g) * v.devices + d];
  uint32_t state = 0;
  for (int pos = 0; pos < v.positions; ++pos) {
    const uint32_t row = (base[pos] + state) * static_cast<uint32_t>(v.choices) +
                         static_cast<uint32_t>(chain_choice(s, code, pos));
    const float* c = v.cost + static_cast<int64_t>(row) * v.devices;
    for (int d = d0; d < d1; ++d) out[d - d0] += c[d];
    state = v.next_state[row];
  }
  const float* sfx = v.suffix + static_cast<int64_t>(base[v.positions] + state) * v.devices;
  for (int d = d0; d < d1; ++d) out[d - d0] += sfx[d];
}

PROXYSIM_HD inline void chain_stats(SpaceId s, const ChainView& v, const uint8_t* code, float* macs, float* params) {
  const int g = chain_group(s, code);
  double m = v.stat_fixed[g * 3 + 0];
  double p = v.stat_fixed[g * 3 + 1];
  for (int pos = 0; pos < v.positions; ++pos) {
    const int64_t r = (static_cast<int64_t>(g) * v.positions + pos) * v.choices + chain_choice(s, code, pos);
    m += v.stat[r * 3 + 0];
    p += v.stat[r * 3 + 1];
  }
  *macs = static_cast<float>(m);
  *params = static_cast<float>(p);
}

struct ChainTables {
  int32_t positions = 0, choices = 0, groups = 0, devices = 0;
  std::vector<uint32_t> state_base;
  std::vector<uint16_t> next_state;
  std::vector<float> cost, suffix, prefix, stat, stat_fixed;

  ChainView view() const {
    return ChainView{positions,         choices,        devices,       state_base.data(), next_state.data(),
                     cost.data(),       suffix.data(),  prefix.data(), stat.data(),       stat_fixed.data()};
  }
};

// Builds the tables of a chain space for the given devices.
ChainTables compile_chain(SpaceId space, const SpaceParams& params, const std::vector<DeviceParams>& devices);

}  // namespace proxysim
