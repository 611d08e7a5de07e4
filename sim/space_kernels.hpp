// Per-architecture operations of every search space behind one switch, usable in
// kernels: decode a sampled or enumerated architecture, lower it, walk it.
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "base/rng.hpp"
#include "sim/device.hpp"
#include "sim/fbnet.hpp"
#include "sim/lowering.hpp"
#include "sim/mbv2.hpp"
#include "sim/nb201.hpp"
#include "sim/ofa_mbv3.hpp"

namespace proxysim {

enum class SpaceId : uint8_t { kNb201 = 0, kFbnet = 1, kOfaMbv3 = 2, kMbv2 = 3 };
inline constexpr int kMaxDecisions = ofa::kDecisions > mbv2::kDecisions ? ofa::kDecisions : mbv2::kDecisions;
static_assert(static_cast<int>(SpaceId::kMbv2) + 1 == kNumSpaces, "DeviceParams::measurement has one entry per space");

// Whether a device's latencies in space `s` are sums of blocks timed alone: the
// LatencyWalk to evaluate them with isolates blocks.
PROXYSIM_HD inline bool isolates_blocks(const DeviceParams& d, SpaceId s) {
  return d.measurement[static_cast<int>(s)] == Measurement::kBlockSum;
}

PROXYSIM_HD inline int space_decisions(SpaceId s) {
  switch (s) {
    case SpaceId::kNb201: return nb201::kEdges;
    case SpaceId::kFbnet: return fbnet::kLayers;
    case SpaceId::kMbv2: return mbv2::kDecisions;
    default: return ofa::kDecisions;
  }
}

PROXYSIM_HD inline int decision_choices(SpaceId s, int k) {
  switch (s) {
    case SpaceId::kNb201: return nb201::kOps;
    case SpaceId::kFbnet: return fbnet::kChoices;
    case SpaceId::kMbv2: return 3;
    default: return k == 0 ? ofa::kResolutions : 3;
  }
}

// Architecture i of seed s: each decision uniform and independent, a pure function
// of (s, i, decision), so any backend and any chunking produce the same codes.
PROXYSIM_HD inline void sample_code(SpaceId s, uint64_t seed, uint64_t i, uint8_t* code) {
  const int n = space_decisions(s);
  const uint64_t arch_key = mix64(mix64(seed) ^ i);  // counter_hash(seed, i, k) with its per-arch part hoisted
  for (int k = 0; k < n; ++k) {
    const uint64_t bits = mix64(arch_key ^ (static_cast<uint64_t>(k) * 0xd1342543de82ef95ull));
    code[k] = static_cast<uint8_t>(bounded(bits, decision_choices(s, k)));
  }
}

// NB201's official index -> code, from the base-5 packed table (edge 0 first).
PROXYSIM_HD inline void nb201_unpack(uint16_t packed, uint8_t* code) {
  for (int e = nb201::kEdges - 1; e >= 0; --e) {
    code[e] = static_cast<uint8_t>(packed % 5);
    packed = static_cast<uint16_t>(packed / 5);
  }
}

template <class Sink>
PROXYSIM_HD void lower_code(SpaceId s, const uint8_t* code, const SpaceParams& p, Sink& sink) {
  switch (s) {
    case SpaceId::kNb201: nb201::lower(code, p, sink); break;
    case SpaceId::kFbnet: fbnet::lower(code, p, sink); break;
    case SpaceId::kMbv2: mbv2::lower(code, p, sink); break;
    default: ofa::lower(code, p, sink); break;
  }
}

// A hash of the network an architecture code describes (OFA's and MBv2's unused slots do not
// count): the key of its measurement noise, the same however it was produced. Bytes
// are packed eight to a word so a 22-byte FBNet code costs three mixes.
PROXYSIM_HD inline uint64_t network_hash(SpaceId s, const uint8_t* code) {
  uint64_t h = mix64(static_cast<uint64_t>(s) + 1);
  const int n = space_decisions(s);
  uint64_t word = 0;
  int filled = 0;
  for (int k = 0; k < n; ++k) {
    uint64_t byte = code[k];
    if (s == SpaceId::kOfaMbv3 && k >= ofa::kKernelOffset) {
      const int slot = (k - ofa::kKernelOffset) % ofa::kSlots;
      if (ofa::slot_choice(code, slot) == ofa::kUnusedSlot) byte = 0xff;
    } else if (s == SpaceId::kMbv2 && k >= mbv2::kKernelOffset) {
      const int slot = (k - mbv2::kKernelOffset) % mbv2::kSlots;
      if (mbv2::slot_choice(code, slot) == mbv2::kUnusedSlot) byte = 0xff;
    }
    word |= byte << (8 * filled);
    if (++filled == 8 || k == n - 1) {
      h = mix64(h ^ word);
      word = 0;
      filled = 0;
    }
  }
  return h;
}

// Chain view of the spaces that are a sequence of positions with one choice each
// (FBNet's layers, OFA's block slots under one resolution, MBv2's block slots): what
// the compiled evaluation tables are built from. NB201's cell is shared by all 15
// cells, so it is walked whole instead.
PROXYSIM_HD inline bool is_chain_space(SpaceId s) { return s != SpaceId::kNb201; }

PROXYSIM_HD inline int chain_positions(SpaceId s) {
  switch (s) {
    case SpaceId::kFbnet: return fbnet::kLayers;
    case SpaceId::kMbv2: return mbv2::kSlots;
    default: return ofa::kSlots;
  }
}
PROXYSIM_HD inline int chain_choices(SpaceId s) {
  switch (s) {
    case SpaceId::kFbnet: return fbnet::kChoices;
    case SpaceId::kMbv2: return mbv2::kSlotChoices;
    default: return ofa::kSlotChoices;
  }
}
PROXYSIM_HD inline int chain_groups(SpaceId s) { return s == SpaceId::kOfaMbv3 ? ofa::kResolutions : 1; }
PROXYSIM_HD inline int chain_group(SpaceId s, const uint8_t* code) { return s == SpaceId::kOfaMbv3 ? code[0] : 0; }
PROXYSIM_HD inline int chain_choice(SpaceId s, const uint8_t* code, int pos) {
  switch (s) {
    case SpaceId::kFbnet: return code[pos];
    case SpaceId::kMbv2: return mbv2::slot_choice(code, pos);
    default: return ofa::slot_choice(code, pos);
  }
}
PROXYSIM_HD inline bool chain_identity(SpaceId s, int pos, int choice) {
  switch (s) {
    case SpaceId::kFbnet: return fbnet::is_identity(pos, choice);
    case SpaceId::kMbv2: return mbv2::is_identity(pos, choice);
    default: return ofa::is_identity(pos, choice);
  }
}
template <class Sink>
PROXYSIM_HD Tensor chain_prefix(SpaceId s, int group, const SpaceParams& p, Emitter<Sink>& em) {
  switch (s) {
    case SpaceId::kFbnet: return fbnet::lower_prefix(p, em);
    case SpaceId::kMbv2: return mbv2::lower_prefix(p, em);
    default: return ofa::lower_prefix(group, em);
  }
}
template <class Sink>
PROXYSIM_HD Tensor chain_position(SpaceId s, int pos, int choice, Emitter<Sink>& em, Tensor x) {
  switch (s) {
    case SpaceId::kFbnet: return fbnet::lower_layer(pos, choice, em, x);
    case SpaceId::kMbv2: return mbv2::lower_slot(pos, choice, em, x);
    default: return ofa::lower_slot(pos, choice, em, x);
  }
}
template <class Sink>
PROXYSIM_HD void chain_suffix(SpaceId s, const SpaceParams& p, Emitter<Sink>& em, Tensor x) {
  switch (s) {
    case SpaceId::kFbnet: fbnet::lower_suffix(p, em, x); break;
    case SpaceId::kMbv2: mbv2::lower_suffix(p, em, x); break;
    default: ofa::lower_suffix(p, em, x); break;
  }
}

// Totals of the statistics every op reports.
struct OpTotals {
  double macs = 0.0;
  double params = 0.0;
  double elems_moved = 0.0;
  int32_t ops = 0;
  PROXYSIM_HD void operator()(const Op& op) {
    macs += op_macs(op);
    params += op_params(op);
    elems_moved += op_elems_moved(op);
    ++ops;
  }
};

}  // namespace proxysim
