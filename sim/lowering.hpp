// Shared pieces of the search-space lowerings: an emitter that numbers tensors so
// each op knows whether its input was produced by the op executed just before it.
#pragma once
#include <cstdint>

#include "base/hd.hpp"
#include "sim/op.hpp"

namespace proxysim {

// What every lowering needs beyond the architecture code.
struct SpaceParams {
  uint16_t input_hw = 32;   // square input resolution (OFA: the code chooses it)
  uint16_t classes = 10;
};

// An activation tensor in flight: its shape and a serial number.
struct Tensor {
  int32_t id = -1;
  uint16_t h = 0, w = 0, c = 0;
};

PROXYSIM_HD inline uint16_t conv_out(uint16_t in, int stride) {
  return static_cast<uint16_t>((in + stride - 1) / stride);  // "same" padding
}

template <class Sink>
struct Emitter {
  Sink* sink;
  int32_t last_id = -1;
  int32_t next_id = 0;
  uint8_t extra_flags = 0;  // e.g. kOpDead for every op of a disconnected NB201 cell stack
  // Block boundaries, for devices whose latencies are sums of blocks measured one at a
  // time: the next op emitted starts a block (kOpBlockStart). A block that emits no op
  // (an identity) leaves the mark to the next block, which sets it anyway.
  bool block_pending = false;
  bool op_blocks = false;  // every op is a block of its own (layer-wise estimates)

  PROXYSIM_HD explicit Emitter(Sink& s) : sink(&s) {}

  PROXYSIM_HD void begin_block() { block_pending = true; }

  PROXYSIM_HD Tensor input(uint16_t h, uint16_t w, uint16_t c) {
    Tensor t{next_id++, h, w, c};
    return t;
  }

  PROXYSIM_HD Tensor emit(Op op, const Tensor& in) {
    op.in_h = in.h;
    op.in_w = in.w;
    op.in_c = in.c;
    if (in.id == last_id) op.flags |= kOpFromPrev;
    op.flags |= extra_flags;
    if (block_pending || op_blocks) op.flags |= kOpBlockStart;
    block_pending = false;
    (*sink)(op);
    last_id = next_id++;
    return Tensor{last_id, op.out_h, op.out_w, op.out_c};
  }

  PROXYSIM_HD Tensor conv(const Tensor& in, uint16_t out_c, int k, int stride, int groups, uint8_t flags) {
    Op op;
    op.kind = groups > 1 && groups == in.c && groups == out_c ? OpKind::kDepthwiseConv : OpKind::kConv;
    op.kernel = static_cast<uint8_t>(k);
    op.stride = static_cast<uint8_t>(stride);
    op.groups = static_cast<uint16_t>(groups);
    op.flags = flags;
    op.out_h = conv_out(in.h, stride);
    op.out_w = conv_out(in.w, stride);
    op.out_c = out_c;
    return emit(op, in);
  }

  PROXYSIM_HD Tensor pool(const Tensor& in, OpKind kind, int k, int stride, uint8_t flags = 0) {
    Op op;
    op.kind = kind;
    op.kernel = static_cast<uint8_t>(k);
    op.stride = static_cast<uint8_t>(stride);
    op.flags = flags;
    op.out_h = kind == OpKind::kGlobalPool ? 1 : conv_out(in.h, stride);
    op.out_w = kind == OpKind::kGlobalPool ? 1 : conv_out(in.w, stride);
    op.out_c = in.c;
    return emit(op, in);
  }

  // Elementwise op on `in` (the operand just produced, for the from-prev test).
  PROXYSIM_HD Tensor elementwise(const Tensor& in, OpKind kind, uint8_t flags = 0) {
    Op op;
    op.kind = kind;
    op.flags = flags;
    op.out_h = in.h;
    op.out_w = in.w;
    op.out_c = in.c;
    return emit(op, in);
  }

  PROXYSIM_HD Tensor fully_connected(const Tensor& in, uint16_t out_c, uint8_t flags = 0) {
    Op op;
    op.kind = OpKind::kFullyConnected;
    op.flags = flags;
    op.out_h = 1;
    op.out_w = 1;
    op.out_c = out_c;
    return emit(op, in);
  }
};

}  // namespace proxysim
