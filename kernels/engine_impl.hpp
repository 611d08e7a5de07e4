// The evaluation loops, written once with Thrust and an explicit execution policy;
// engine_cpu.cpp instantiates evaluate_chunk with thrust::omp::par, cuda/engine_cuda.cu
// evaluate_pairs with thrust::cuda::par. Every pointer in the views lives on the executing backend.
#pragma once
#include <cstdint>
#include <cstring>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "kernels/chain_tables.hpp"
#include "base/hd.hpp"
#include "sim/device.hpp"
#include "sim/latency_model.hpp"
#include "sim/space_kernels.hpp"

namespace proxysim::detail {

struct EngineView {
  SpaceId space;
  SpaceParams params;
  int32_t decisions;
  int32_t devices;
  const DeviceParams* device_params;
  // Per device, padded with zeros to the chain stride: noise keys, and copies of the
  // noise sigma and timer resolution kept contiguous so the block loop vectorises.
  const uint64_t* noise_keys;
  const float* noise_sigma;
  const float* resolution_ms;
  const float* level;             // DeviceParams::level, applied after the conversion to ms
  const uint16_t* nb201_order;    // official order, for enumeration
  bool compiled;
  ChainView chain;
};

struct BatchView {
  int kind;                       // ArchBatch::Kind as int
  uint64_t first;
  uint64_t seed;
  const uint8_t* list_codes;      // kList, on the backend
};

// Writes the code of architecture `first + i` of the batch.
struct MakeCode {
  EngineView v;
  BatchView b;
  uint8_t* codes;
  PROXYSIM_HD void operator()(uint64_t i) const {
    uint8_t* code = codes + i * v.decisions;
    const uint64_t index = b.first + i;
    if (b.kind == 0) {
      nb201_unpack(v.nb201_order[index], code);
    } else if (b.kind == 1) {
      sample_code(v.space, b.seed, index, code);
    } else {
      for (int k = 0; k < v.decisions; ++k) code[k] = b.list_codes[i * v.decisions + k];
    }
  }
};

struct ArchStats {
  EngineView v;
  const uint8_t* codes;
  float* macs;
  float* params;
  PROXYSIM_HD void operator()(uint64_t i) const {
    const uint8_t* code = codes + i * v.decisions;
    if (v.compiled) {
      chain_stats(v.space, v.chain, code, macs + i, params + i);
      return;
    }
    OpTotals t;
    lower_code(v.space, code, v.params, t);
    macs[i] = static_cast<float>(t.macs);
    params[i] = static_cast<float>(t.params);
  }
};

// The walked (reference) latency of one architecture on device d.
PROXYSIM_HD inline float walked_ms(const EngineView& v, const uint8_t* code, uint64_t net, int d) {
  LatencyWalk w(v.device_params[d], isolates_blocks(v.device_params[d], v.space));
  lower_code(v.space, code, v.params, w);
  return measured_ms(w.total_s, v.device_params[d], pair_noise_bits(net, v.noise_keys[d]));
}

// Latency of one architecture on a range of devices: item t covers architecture
// t / blocks and devices [(t % blocks) * block, ...). The CPU takes all devices per
// item (the device loops vectorise); CUDA runs evaluate_pairs below instead.
struct ArchLatency {
  EngineView v;
  const uint8_t* codes;
  float* latency_ms;
  int32_t block;
  int32_t blocks;
  PROXYSIM_HD void operator()(uint64_t t) const {
    const uint64_t i = t / static_cast<uint64_t>(blocks);
    const int d0 = static_cast<int>(t % static_cast<uint64_t>(blocks)) * block;
    const int d1 = d0 + block < v.devices ? d0 + block : v.devices;
    const uint8_t* code = codes + i * v.decisions;
    float* PROXYSIM_RESTRICT out = latency_ms + i * v.devices;
    const uint64_t net = network_hash(v.space, code);
    // Local copies of the pointers: loads of pointer members inside the loops would
    // keep the compiler from vectorising them.
    const float* PROXYSIM_RESTRICT sigma = v.noise_sigma;
    const float* PROXYSIM_RESTRICT q = v.resolution_ms;
    const float* PROXYSIM_RESTRICT level = v.level;
    const uint64_t* PROXYSIM_RESTRICT keys = v.noise_keys;
    if (v.compiled) {
      // The block's sums in registers: a padded row length known to the compiler lets it
      // keep the sums in vectors across the rows (summed in memory, each row's adds would
      // wait on the last row's stores).
#if !defined(__CUDA_ARCH__)
      if (d0 == 0 && d1 == v.devices) {
        switch (v.chain.stride) {
          case 16: return compiled_block<16>(code, net, d1, out);
          case 32: return compiled_block<32>(code, net, d1, out);
          case 48: return compiled_block<48>(code, net, d1, out);
          case 64: return compiled_block<64>(code, net, d1, out);
          default: break;
        }
      }
#endif
      uint32_t rows[kMaxChainPositions + 1];
      const ChainView& c = v.chain;
      const int g = chain_rows(v.space, c, code, rows);
      const float* PROXYSIM_RESTRICT p = c.prefix + static_cast<int64_t>(g) * c.stride;
      for (int d = d0; d < d1; ++d) out[d] = p[d];
      for (int pos = 0; pos <= c.positions; ++pos) {
        const float* PROXYSIM_RESTRICT row = (pos < c.positions ? c.cost : c.suffix) + static_cast<int64_t>(rows[pos]) * c.stride;
        for (int d = d0; d < d1; ++d) out[d] += row[d];
      }
      for (int d = d0; d < d1; ++d) out[d] = apply_measurement(out[d] * 1e3f * level[d], sigma[d], q[d], pair_noise_bits(net, keys[d]));
      return;
    }
    for (int d = d0; d < d1; ++d) out[d] = walked_ms(v, code, net, d);
  }

  // All of an architecture's n devices on rows of W floats (n rounded up to 16): the same
  // adds in the same order as the loop above, so the same floats.
#if !defined(__CUDA_ARCH__)
  template <int W>
  void compiled_block(const uint8_t* code, uint64_t net, int n, float* PROXYSIM_RESTRICT out) const {
    const ChainView& c = v.chain;
    uint32_t rows[kMaxChainPositions + 1];
    const int g = chain_rows(v.space, c, code, rows);
    typedef float Lanes __attribute__((vector_size(64)));
    constexpr int kVectors = W / 16;
    Lanes sum[kVectors];
    const float* p = c.prefix + static_cast<int64_t>(g) * W;
    for (int k = 0; k < kVectors; ++k) std::memcpy(&sum[k], p + 16 * k, sizeof(Lanes));
    for (int pos = 0; pos <= c.positions; ++pos) {
      const float* row = (pos < c.positions ? c.cost : c.suffix) + static_cast<int64_t>(rows[pos]) * W;
      for (int k = 0; k < kVectors; ++k) {
        Lanes r;
        std::memcpy(&r, row + 16 * k, sizeof(Lanes));
        sum[k] += r;
      }
    }
    float acc[W];
    std::memcpy(acc, sum, sizeof acc);
    const float* PROXYSIM_RESTRICT sigma = v.noise_sigma;
    const float* PROXYSIM_RESTRICT q = v.resolution_ms;
    const float* PROXYSIM_RESTRICT level = v.level;
    const uint64_t* PROXYSIM_RESTRICT keys = v.noise_keys;
    for (int d = 0; d < n; ++d)
      out[d] = apply_measurement(acc[d] * 1e3f * level[d], sigma[d], q[d], pair_noise_bits(net, keys[d]));
  }
#endif
};

// The wide backend's compiled evaluation in two steps, so that the walk over chain
// states and the network hash run once per architecture rather than once per device:
// ChainPrep, one item per architecture, stores the architecture's group and table rows
// ([group, rows[0..positions]], positions + 2 words) and its hash; ChainPairLatency,
// one item per architecture-device pair (consecutive items are consecutive devices, so
// table rows and the output are read and written contiguously), adds the rows in
// ArchLatency's order and applies the measurement model: the same floats as ArchLatency.
struct ChainPrep {
  EngineView v;
  const uint8_t* codes;
  uint32_t* rows;  // per architecture, positions + 2
  uint64_t* net;
  PROXYSIM_HD void operator()(uint64_t i) const {
    const uint8_t* code = codes + i * v.decisions;
    uint32_t* r = rows + i * static_cast<uint64_t>(v.chain.positions + 2);
    r[0] = static_cast<uint32_t>(chain_rows(v.space, v.chain, code, r + 1));
    net[i] = network_hash(v.space, code);
  }
};

struct ChainPairLatency {
  EngineView v;
  const uint32_t* rows;
  const uint64_t* net;
  float* latency_ms;
  PROXYSIM_HD void operator()(uint64_t t) const {
    const uint64_t i = t / static_cast<uint64_t>(v.devices);
    const int d = static_cast<int>(t - i * static_cast<uint64_t>(v.devices));
    const ChainView& c = v.chain;
    const uint32_t* r = rows + i * static_cast<uint64_t>(c.positions + 2);
    float acc = c.prefix[static_cast<int64_t>(r[0]) * c.stride + d];
    for (int pos = 0; pos <= c.positions; ++pos)
      acc += (pos < c.positions ? c.cost : c.suffix)[static_cast<int64_t>(r[pos + 1]) * c.stride + d];
    latency_ms[t] = apply_measurement(acc * 1e3f * v.level[d], v.noise_sigma[d], v.resolution_ms[d], pair_noise_bits(net[i], v.noise_keys[d]));
  }
};

// The walked latency of one architecture-device pair per item, without the compiled
// path beside it (a kernel of one path needs fewer registers).
struct WalkPairLatency {
  EngineView v;
  const uint8_t* codes;
  float* latency_ms;
  PROXYSIM_HD void operator()(uint64_t t) const {
    const uint64_t i = t / static_cast<uint64_t>(v.devices);
    const int d = static_cast<int>(t - i * static_cast<uint64_t>(v.devices));
    const uint8_t* code = codes + i * v.decisions;
    latency_ms[t] = walked_ms(v, code, network_hash(v.space, code), d);
  }
};

// Words of per-architecture scratch evaluate_pairs needs for the chain rows.
inline uint64_t chain_prep_words(const EngineView& v) { return v.compiled ? static_cast<uint64_t>(v.chain.positions + 2) : 0; }

template <class Policy>
void evaluate_chunk(Policy&& policy, const EngineView& v, const BatchView& b, uint64_t count, int32_t block,
                    uint8_t* codes, float* latency_ms, float* macs, float* params) {
  thrust::counting_iterator<uint64_t> zero(0);
  thrust::for_each(policy, zero, zero + count, MakeCode{v, b, codes});
  thrust::for_each(policy, zero, zero + count, ArchStats{v, codes, macs, params});
  const int32_t blocks = (v.devices + block - 1) / block;
  thrust::for_each(policy, zero, zero + count * static_cast<uint64_t>(blocks),
                   ArchLatency{v, codes, latency_ms, block, blocks});
}

// evaluate_chunk for a wide backend (CUDA): one item per pair, with the compiled path's
// per-architecture work done once (ChainPrep) in `rows` (count x chain_prep_words) and
// `net` (count).
template <class Policy>
void evaluate_pairs(Policy&& policy, const EngineView& v, const BatchView& b, uint64_t count, uint8_t* codes,
                    float* latency_ms, float* macs, float* params, uint32_t* rows, uint64_t* net) {
  thrust::counting_iterator<uint64_t> zero(0);
  thrust::for_each(policy, zero, zero + count, MakeCode{v, b, codes});
  thrust::for_each(policy, zero, zero + count, ArchStats{v, codes, macs, params});
  const uint64_t pairs = count * static_cast<uint64_t>(v.devices);
  if (v.compiled) {
    thrust::for_each(policy, zero, zero + count, ChainPrep{v, codes, rows, net});
    thrust::for_each(policy, zero, zero + pairs, ChainPairLatency{v, rows, net, latency_ms});
  } else {
    thrust::for_each(policy, zero, zero + pairs, WalkPairLatency{v, codes, latency_ms});
  }
}

}  // namespace proxysim::detail
