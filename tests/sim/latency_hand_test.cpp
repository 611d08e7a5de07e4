// Checks the analytic latency model (sim/latency_model.hpp) against values worked out by
// hand from a small device's numbers: single ops (compute- and memory-bound, quantised
// lanes and tiles, saturation, dispatch) and short chains (launch hiding, fused epilogues,
// the on-chip capacity test, dead-op pruning, fold_zero_inputs, the timer and the noise).
// Every device number is exactly representable as a float and every expected value is a
// short product or quotient of them, so the model's double arithmetic agrees with the
// hand value to a few ulps; 1e-6 relative leaves room for a different evaluation order
// and still fails, by four orders of magnitude, when any term of the model moves by 10 %.
// The measurement model works in float and evaluates exp by a degree-6 polynomial (exact
// to 1.3e-7 at |x| <= 0.35), so its checks allow 1e-6 too.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "sim/device_yaml.hpp"
#include "sim/device.hpp"
#include "sim/latency_model.hpp"
#include "sim/op.hpp"

using namespace proxysim;

namespace {

// The hand device. Its numbers, as the comments below use them:
//   P   = peak 100 GFLOP/s = 1e11 FLOP/s, a multiply-add counts 2 FLOPs
//   Bd  = DRAM 10 GB/s = 1e10 B/s;  Bc = on-chip 100 GB/s = 1e11 B/s;  cap = 65536 B
//   4 B per element; lanes_out 8, lanes_in 4, 4 units of 16 pixels per wave
//   h   = half_util_macs 1e5 (vector ops saturate at 0.1 h = 1e4)
//   e   = efficiency: pointwise 0.5, dense3 0.75, depthwise5 0.0625, pool 0.03125,
//         elementwise 0.5, fully_connected 0.25
//   L   = launch 10 us = 1e-5 s
const char* const kHandDevice = R"(name: hand
imitates: nothing; numbers chosen so that the arithmetic is exact
source: "tests/sim/latency_hand_test.cpp"
class: mobile_cpu
peak_gflops: 100
dram_gbps: 10
onchip_gbps: 100
onchip_bytes: 65536
bytes_per_element: 4
lanes_out: 8
lanes_in: 4
units: 4
pixels_per_unit: 16
half_util_macs: 100000
efficiency: {pointwise: 0.5, dense3: 0.75, dense5: 0.375, depthwise3: 0.125, depthwise5: 0.0625, grouped: 0.25, pool: 0.03125, elementwise: 0.5, fully_connected: 0.25}
launch_us: 10
async_launch: false
fuse_bn_act: true
fuse_elementwise: true
prune_dead: true
fold_zero_inputs: true
batch: 1
noise_sigma: 0
resolution_ms: 0
)";

DeviceParams hand_device() { return parse_device_yaml(kHandDevice, "hand.yaml").params; }

Op make_op(OpKind kind, int kernel, int in_hw, int in_c, int out_hw, int out_c, uint8_t flags = 0, int groups = 1) {
  Op op;
  op.kind = kind;
  op.kernel = static_cast<uint8_t>(kernel);
  op.flags = flags;
  op.groups = static_cast<uint16_t>(groups);
  op.in_h = op.in_w = static_cast<uint16_t>(in_hw);
  op.in_c = static_cast<uint16_t>(in_c);
  op.out_h = op.out_w = static_cast<uint16_t>(out_hw);
  op.out_c = static_cast<uint16_t>(out_c);
  return op;
}

// A: 1x1 conv 16x16x32 -> 16x16x64 (pointwise, e = 0.5).
//   MACs = 16*16*64*32 = 524288; reduction 32 (32/4 lanes: full), out_c 64 (64/8: full),
//   256 pixels = 16 tiles = 4 waves of 4 units (full): u = 1.
//   compute = 2 MACs / (P e u sat), sat = MACs / (MACs + h)
//           = 2 (524288 + 100000) / (1e11 * 0.5) = 1248576 / 5e10 = 2.497152e-5 s
//   memory  = (in 16*16*32*4 = 32768 + out 65536 + weights 64*32*4 = 8192) / Bd
//           = 106496 / 1e10 = 1.06496e-5 s  -> compute-bound
Op op_a(uint8_t flags = 0) { return make_op(OpKind::kConv, 1, 16, 32, 16, 64, flags); }
constexpr double kExecA = 2.497152e-5;

// D: 3x3 average pool 8x8x16 -> 8x8x16 (pool, e = 0.03125), a vector op.
//   work = 8*8*16 * 9 = 9216; sat = work / (work + 0.1 h) = 9216 / 19216
//   compute = work / (P e sat) = 19216 / (1e11 * 0.03125) = 19216 / 3.125e9 = 6.14912e-6 s
//   memory  = (4096 + 4096) / 1e10 = 8.192e-7 s -> compute-bound
Op op_d(uint8_t flags = 0) { return make_op(OpKind::kAvgPool, 3, 8, 16, 8, 16, flags); }
constexpr double kExecD = 6.14912e-6;

// E: a standalone activation on 16x16x64 (elementwise, e = 0.5): 16384 elements.
//   compute = (16384 + 10000) / (1e11 * 0.5) = 26384 / 5e10 = 5.2768e-7 s
//   memory, input from DRAM    = (65536 + 65536) / 1e10 = 1.31072e-5 s
//   memory, input held on chip = 65536 / 1e11 + 65536 / 1e10 = 6.5536e-7 + 6.5536e-6 = 7.20896e-6 s
Op op_e(uint8_t flags = 0) { return make_op(OpKind::kActivation, 1, 16, 64, 16, 64, flags); }
constexpr double kExecEDram = 1.31072e-5;
constexpr double kExecEChip = 7.20896e-6;

double walk(const DeviceParams& dev, std::initializer_list<Op> ops) {
  LatencyWalk w(dev);
  for (const Op& op : ops) w(op);
  return w.total_s;
}

void expect_rel(double got, double want, double rel = 1e-6) {
  EXPECT_NEAR(got, want, rel * std::fabs(want)) << "relative error " << (got - want) / want;
}

}  // namespace

TEST(LatencyHand, TheDeviceReadsAsWritten) {
  const DeviceParams d = hand_device();
  EXPECT_EQ(d.peak_gflops, 100.0f);
  EXPECT_EQ(d.efficiency[static_cast<int>(OpClass::kDense3)], 0.75f);
  EXPECT_EQ(d.launch_us, 10.0f);
  EXPECT_FALSE(d.async_launch);
}

TEST(LatencyHand, ComputeBoundPointwiseConvWithSaturation) {
  const DeviceParams d = hand_device();
  expect_rel(op_exec_seconds(op_a(), d, false), kExecA);
  // Dispatch: a synchronous launch adds L before the op runs: 1e-5 + 2.497152e-5.
  expect_rel(walk(d, {op_a()}), 3.497152e-5);
  // Without a launch cost the walk is the execution time alone.
  DeviceParams free = d;
  free.launch_us = 0;
  expect_rel(walk(free, {op_a()}), kExecA);
}

TEST(LatencyHand, BatchScalesActivationsNotWeights) {
  DeviceParams d = hand_device();
  d.batch = 2;
  // A at batch 2: MACs 1048576; 512 pixels = 32 tiles = 8 waves (full), u = 1.
  //   compute = 2 (1048576 + 100000) / 5e10 = 2297152 / 5e10 = 4.594304e-5 s
  //   memory  = (65536 + 131072 + 8192 weights, not doubled) / 1e10 = 2.048e-5 s
  expect_rel(op_exec_seconds(op_a(), d, false), 4.594304e-5);
}

TEST(LatencyHand, MemoryBoundFullyConnected) {
  const DeviceParams d = hand_device();
  // FC 1024 -> 1000 (fully_connected, e = 0.25): MACs 1024000; reduction 1024 and
  // out_c 1000 = 125 * 8 fill their lanes; 1 pixel is 1 tile in 1 wave of 4 units: u = 1/4.
  //   compute = 2 (1024000 + 100000) / (1e11 * 0.25 * 0.25) = 2248000 / 6.25e9 = 3.5968e-4 s
  //   memory  = (in 4096 + out 4000 + weights (1024*1000 + 1000 bias) * 4 = 4100000) / 1e10
  //           = 4108096 / 1e10 = 4.108096e-4 s  -> memory-bound
  const Op fc = make_op(OpKind::kFullyConnected, 1, 1, 1024, 1, 1000);
  expect_rel(op_exec_seconds(fc, d, false), 4.108096e-4);
  // 1x1 conv 512 -> 512 on a 1x1 map (pointwise, e = 0.5): MACs 262144, lanes full,
  // 1 pixel in 1 wave of 4 units: u = 1/4.
  //   compute = 2 (262144 + 100000) / (1e11 * 0.5 * 0.25) = 724288 / 1.25e10 = 5.794304e-5 s
  //   memory  = (2048 + 2048 + weights 512*512*4 = 1048576) / 1e10 = 1.052672e-4 s
  const Op conv = make_op(OpKind::kConv, 1, 1, 512, 1, 512);
  expect_rel(op_exec_seconds(conv, d, false), 1.052672e-4);
}

TEST(LatencyHand, QuantisedLanesAndTiles) {
  const DeviceParams d = hand_device();
  // 3x3 dense conv 10x10x10 -> 10x10x20 (dense3, e = 0.75): MACs 100*20*10*9 = 180000.
  //   out_c 20 in lanes of 8: 20 / 24; reduction 10*9 = 90 in lanes of 4: 90 / 92;
  //   100 pixels = ceil(100/16) = 7 tiles, 2 waves of 4 units: 7 / 8.
  //   compute = 2 (180000 + 100000) / (1e11 * 0.75 * (20/24)(90/92)(7/8))
  //   memory  = (4000 + 8000 + 20*10*9*4 = 7200) / 1e10 = 1.92e-6 s  -> compute-bound
  const Op conv = make_op(OpKind::kConv, 3, 10, 10, 10, 20);
  expect_rel(op_exec_seconds(conv, d, false), 560000.0 / (7.5e10 * (20.0 / 24) * (90.0 / 92) * (7.0 / 8)));
  // 5x5 depthwise 8x8x24 (depthwise5, e = 0.0625): MACs 64*24*25 = 38400; the reduction
  // is the window alone, 25 in lanes of 4: 25 / 28; 24 channels fill 3 lanes of 8;
  // 64 pixels = 4 tiles = 1 wave: 1.
  //   compute = 2 (38400 + 100000) / (1e11 * 0.0625 * 25/28) = 7750400 / 1.5625e11 = 4.960256e-5 s
  //   memory  = (6144 + 6144 + 24*25*4 = 2400) / 1e10 = 1.4688e-6 s
  const Op dw = make_op(OpKind::kDepthwiseConv, 5, 8, 24, 8, 24, 0, 24);
  expect_rel(op_exec_seconds(dw, d, false), 4.960256e-5);
  // 1x1 conv 14x14x16 -> 14x14x16 (pointwise): MACs 196*16*16 = 50176, lanes full;
  // 196 pixels = ceil(12.25) = 13 tiles, ceil(13/4) = 4 waves of 4 units: 13 / 16.
  //   compute = 2 (50176 + 100000) / (1e11 * 0.5 * 13/16) = 300352 / 4.0625e10 s
  //   memory  = (12544 + 12544 + 1024) / 1e10 = 2.6112e-6 s
  const Op tail = make_op(OpKind::kConv, 1, 14, 16, 14, 16);
  expect_rel(op_exec_seconds(tail, d, false), 300352.0 / 4.0625e10);
  // FC 30 -> 20 (fully_connected, e = 0.25): MACs 600; reduction 30 in lanes of 4: 30/32;
  // out_c 20 in lanes of 8: 20/24; 1 pixel on 4 units: 1/4; saturation 600 / 100600.
  //   compute = 2 * 100600 / (1e11 * 0.25 * (30/32)(20/24)(1/4))
  //   memory  = (30 + 20 + 600 weights + 20 bias) * 4 / 1e10 = 2.68e-7 s
  const Op fc = make_op(OpKind::kFullyConnected, 1, 1, 30, 1, 20);
  expect_rel(op_exec_seconds(fc, d, false), 201200.0 / (1e11 * 0.25 * (30.0 / 32) * (20.0 / 24) * 0.25));
}

TEST(LatencyHand, VectorOpSaturation) {
  const DeviceParams d = hand_device();
  expect_rel(op_exec_seconds(op_d(), d, false), kExecD);
  expect_rel(op_exec_seconds(op_e(), d, false), kExecEDram);
  expect_rel(op_exec_seconds(op_e(), d, true), kExecEChip);
  // An activation on 2x2x16 = 64 elements is all saturation: compute
  // (64 + 10000) / (1e11 * 0.5) = 2.0128e-7 s against memory 512 / 1e10 = 5.12e-8 s.
  expect_rel(op_exec_seconds(make_op(OpKind::kActivation, 1, 2, 16, 2, 16), d, false), 2.0128e-7);
}

TEST(LatencyHand, AsyncLaunchHiding) {
  DeviceParams d = hand_device();
  // Synchronous: every op pays L. 3 L + A + 2 D = 3e-5 + 2.497152e-5 + 1.229824e-5.
  expect_rel(walk(d, {op_a(), op_d(), op_d()}), 6.726976e-5);
  d.async_launch = true;
  // Asynchronous: the first launch is paid in full (nothing runs before it); the
  // second hides behind A (2.497152e-5 > L), the third only partly behind D:
  //   L + A + 0 + D + (L - D) + D = 1e-5 + 2.497152e-5 + 6.14912e-6 + 3.85088e-6 + 6.14912e-6
  expect_rel(walk(d, {op_a(), op_d(), op_d()}), 5.112064e-5);
}

TEST(LatencyHand, OnChipCapacity) {
  DeviceParams d = hand_device();
  // A's output is 16*16*64*4 = 65536 B, exactly the capacity: E reads it on chip.
  //   2 L + A + E(chip) = 2e-5 + 2.497152e-5 + 7.20896e-6
  expect_rel(walk(d, {op_a(), op_e(kOpFromPrev)}), 5.218048e-5);
  // Not marked as reading the previous output: from DRAM, 2e-5 + 2.497152e-5 + 1.31072e-5.
  expect_rel(walk(d, {op_a(), op_e()}), 5.807872e-5);
  // Nothing ran before: from DRAM, L + 1.31072e-5.
  expect_rel(walk(d, {op_e(kOpFromPrev)}), 2.31072e-5);
  // Four bytes less capacity and A's output no longer fits: DRAM again.
  d.onchip_bytes = 65532;
  expect_rel(walk(d, {op_a(), op_e(kOpFromPrev)}), 5.807872e-5);
}

TEST(LatencyHand, UnfusedBatchNormAndActivation) {
  DeviceParams d = hand_device();
  // Fused (the default): the BN and activation flags cost nothing, L + A.
  expect_rel(walk(d, {op_a(kOpBn | kOpAct)}), 3.497152e-5);
  d.fuse_bn_act = false;
  // Each flag is one more kernel: an elementwise pass over A's 16384 outputs that reads
  // and writes them, 2 * 16384 * 4 = 131072 B; its half (65536) fits the capacity, so
  // at Bc: memory 131072 / 1e11 = 1.31072e-6 s, compute 16384 / (1e11 * 0.5) = 3.2768e-7 s.
  //   3 L + A + 2 * 1.31072e-6 = 3e-5 + 2.497152e-5 + 2.62144e-6
  expect_rel(walk(d, {op_a(kOpBn | kOpAct)}), 5.759296e-5);
  //   2 L + A + 1.31072e-6 (activation only)
  expect_rel(walk(d, {op_a(kOpAct)}), 4.628224e-5);
  // Capacity 65532 < 65536: the passes stream from DRAM, 131072 / 1e10 = 1.31072e-5 s each.
  //   3e-5 + 2.497152e-5 + 2.62144e-5
  d.onchip_bytes = 65532;
  expect_rel(walk(d, {op_a(kOpBn | kOpAct)}), 8.118592e-5);
  // A slower elementwise unit (e = 0.0625) makes the on-chip pass compute-bound:
  // 16384 / (1e11 * 0.0625) = 2.62144e-6 s against 1.31072e-6 s of memory.
  //   3 L + A + 2 * 2.62144e-6 = 3e-5 + 2.497152e-5 + 5.24288e-6
  d.onchip_bytes = 65536;
  d.efficiency[static_cast<int>(OpClass::kElementwise)] = 0.0625f;
  expect_rel(walk(d, {op_a(kOpBn | kOpAct)}), 6.02144e-5);
}

TEST(LatencyHand, ResidualAddFusion) {
  DeviceParams d = hand_device();
  const Op add = make_op(OpKind::kAdd, 1, 16, 64, 16, 64, kOpFromPrev);
  // Fused into A's epilogue: no launch, only the second operand read from DRAM,
  // 16*16*64*4 / 1e10 = 6.5536e-6 s:  L + A + 6.5536e-6
  expect_rel(walk(d, {op_a(), add}), 4.152512e-5);
  // An add that does not follow its producer is a kernel of its own reading both
  // operands and writing one from and to DRAM: 3 * 65536 / 1e10 = 1.96608e-5 s
  // (compute 26384 / 5e10 = 5.2768e-7 s).  2 L + A + 1.96608e-5
  const Op add_far = make_op(OpKind::kAdd, 1, 16, 64, 16, 64);
  expect_rel(walk(d, {op_a(), add_far}), 6.463232e-5);
  // Without epilogue fusion the add is a kernel whose first operand (A's output, 65536 B)
  // is on chip: 65536 / 1e11 + (65536 + 65536) / 1e10 = 1.376256e-5 s.
  //   2 L + A + 1.376256e-5
  d.fuse_elementwise = false;
  expect_rel(walk(d, {op_a(), add}), 5.873408e-5);
}

TEST(LatencyHand, FusedAddExtendsTheLaunchShadow) {
  DeviceParams d = hand_device();
  d.async_launch = true;
  // D, an add fused into D (8*8*16*4 = 4096 B more, 4.096e-7 s), then D again. The
  // producer ran D + 4.096e-7 = 6.55872e-6 s, so the next launch costs L - 6.55872e-6:
  //   L + D + 4.096e-7 + (L - 6.55872e-6) + D = 2 L + D = 2e-5 + 6.14912e-6
  const Op add = make_op(OpKind::kAdd, 1, 8, 16, 8, 16, kOpFromPrev);
  expect_rel(walk(d, {op_d(), add, op_d()}), 2.614912e-5);
}

TEST(LatencyHand, DeadOpPruningAndZeroFolding) {
  DeviceParams d = hand_device();
  // A, a dead copy of A, a multiply by zero over 16x16x64, a copy of A fed only zeros, D.
  const Op zero_mul = make_op(OpKind::kMul, 1, 16, 64, 16, 64, kOpZero);
  auto chain = [&] { return walk(d, {op_a(), op_a(kOpDead), zero_mul, op_a(kOpZeroFed), op_d()}); };
  // Pruning and folding: A and D run.  2 L + A + D = 2e-5 + 2.497152e-5 + 6.14912e-6
  expect_rel(chain(), 5.112064e-5);
  // Pruning without folding zero inputs: the zero-fed A runs too, + L + A = 3.497152e-5.
  d.fold_zero_inputs = false;
  expect_rel(chain(), 8.609216e-5);
  // No pruning: everything runs. The multiply reads 65536 B and writes 65536 B from and
  // to DRAM, 1.31072e-5 s (compute 5.2768e-7 s):
  //   5 L + 3 A + 1.31072e-5 + D = 5e-5 + 7.491456e-5 + 1.31072e-5 + 6.14912e-6
  d.prune_dead = false;
  expect_rel(chain(), 1.4417088e-4);
}

TEST(LatencyHand, TimerQuantisation) {
  DeviceParams d = hand_device();
  // No resolution: the walk's seconds in ms, unrounded.
  expect_rel(measured_ms(3.497152e-5, d, 0), 3.497152e-2);
  d.resolution_ms = 1;
  // Whole ms, rounded to nearest, and never below one tick.
  EXPECT_EQ(measured_ms(3.4e-3, d, 0), 3.0f);
  EXPECT_EQ(measured_ms(3.6e-3, d, 0), 4.0f);
  EXPECT_EQ(measured_ms(3.46e-3, d, 0), 3.0f);  // 3.46 + 0.5 = 3.96: still down
  EXPECT_EQ(measured_ms(2e-4, d, 0), 1.0f);
  d.resolution_ms = 0.5f;
  EXPECT_EQ(measured_ms(3.4e-3, d, 0), 3.5f);
  EXPECT_EQ(measured_ms(3.7e-3, d, 0), 3.5f);
}

TEST(LatencyHand, MeasurementNoise) {
  DeviceParams d = hand_device();
  d.noise_sigma = 0.1f;
  // The noise draw is the sum s of the four 16-bit fields of the bits,
  // z = (s / 65536 - 2) * sqrt(3), and the latency is multiplied by exp(sigma z).
  // Four fields of 0x8000: s = 131072, z = 0, the latency is unchanged.
  expect_rel(measured_ms(1e-2, d, 0x8000800080008000ull), 10.0);
  // All zero: s = 0, z = -2 sqrt(3): 10 ms * exp(-0.2 sqrt(3)).
  expect_rel(measured_ms(1e-2, d, 0), 10.0 * std::exp(-0.2 * std::sqrt(3.0)));
  // All ones: s = 4 * 65535 = 262140, z = (262140 / 65536 - 2) sqrt(3).
  expect_rel(measured_ms(1e-2, d, ~0ull), 10.0 * std::exp(0.1 * (262140.0 / 65536 - 2) * std::sqrt(3.0)));
}
