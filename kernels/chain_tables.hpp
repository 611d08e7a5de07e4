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

#include "base/hd.hpp"
#include "sim/device.hpp"
#include "sim/space_kernels.hpp"

namespace proxysim {

// Raw view of the tables, valid on the backend that evaluates them.
// Table rows are padded to whole blocks of this many devices, so every row starts
// on a 64-byte boundary for the vectorised device loops.
inline constexpr int kChainDeviceBlock = 16;
inline constexpr int kMaxChainPositions = 22;

struct ChainView {
  int32_t positions = 0;
  int32_t choices = 0;
  int32_t devices = 0;
  int32_t stride = 0;                    // devices rounded up to kChainDeviceBlock: the row length
  const uint32_t* state_base = nullptr;  // [group][position + 1]: first state row of each boundary
  const uint16_t* next_state = nullptr;  // [row = (state_base + s) * choices + c]
  const float* cost = nullptr;           // [row][stride] seconds
  const float* suffix = nullptr;         // [state_base[g][positions] + s][stride] seconds
  const float* prefix = nullptr;         // [group][stride] seconds
  const float* stat = nullptr;           // [(group * positions + pos) * choices + c][3] macs, params, ops
  const float* stat_fixed = nullptr;     // [group][3] prefix + suffix statistics
};

// The table rows one architecture reads: rows[pos] for each position, then the suffix
// row in rows[positions]. Returns its group. The walk over states is the same for
// every device, so it is done once per architecture.
PROXYSIM_HD inline int chain_rows(SpaceId s, const ChainView& v, const uint8_t* code, uint32_t* rows) {
  const int g = chain_group(s, code);
  const uint32_t* base = v.state_base + static_cast<int64_t>(g) * (v.positions + 1);
  uint32_t state = 0;
  for (int pos = 0; pos < v.positions; ++pos) {
    const uint32_t row = (base[pos] + state) * static_cast<uint32_t>(v.choices) +
                         static_cast<uint32_t>(chain_choice(s, code, pos));
    rows[pos] = row;
    state = v.next_state[row];
  }
  rows[v.positions] = base[v.positions] + state;
  return g;
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
  int32_t positions = 0, choices = 0, groups = 0, devices = 0, stride = 0;
  std::vector<uint32_t> state_base;
  std::vector<uint16_t> next_state;
  std::vector<float> cost, suffix, prefix, stat, stat_fixed;

  ChainView view() const {
    return ChainView{positions,     choices,       devices,           stride,       state_base.data(),
                     next_state.data(), cost.data(), suffix.data(),     prefix.data(), stat.data(),
                     stat_fixed.data()};
  }
};

// Builds the tables of a chain space for the given devices.
ChainTables compile_chain(SpaceId space, const SpaceParams& params, const std::vector<DeviceParams>& devices);

}  // namespace proxysim
