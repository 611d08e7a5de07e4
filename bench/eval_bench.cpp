// Latency-matrix throughput in architecture-device pairs per second, the way the
// driver evaluates: chunks of sampled (FBNet) or enumerated (NB201) architectures
// into preallocated host buffers, on all built-in devices. Beside it, the cost of
// only writing the n x D output, so a reader sees how far each path is from the
// memory floor. bench/compare_peer.py runs BM_FbnetCpuCompiled against numpy.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/device_yaml.hpp"
#include "kernels/engine.hpp"
#include "sim/space.hpp"

namespace proxysim {
namespace {

constexpr uint64_t kChunk = uint64_t{1} << 18;        // the driver's default chunk
constexpr uint64_t kCompiledArchs = uint64_t{1} << 20;
constexpr uint64_t kWalkArchs = uint64_t{1} << 13;    // the walk is the reference, ~1000x slower
constexpr uint64_t kSeed = 20220712;

std::vector<EvalDevice> all_devices() {
  std::vector<EvalDevice> out;
  for (const auto& d : builtin_devices()) out.push_back({d.name, d.params});
  return out;
}

// Host buffers for one chunk, allocated and touched once, reused for every chunk.
struct ChunkBuffers {
  std::vector<uint8_t> codes;
  std::vector<float> latency_ms, macs, params;
  ChunkBuffers(uint64_t chunk, int decisions, int devices)
      : codes(chunk * decisions), latency_ms(chunk * devices), macs(chunk), params(chunk) {}
};

// Evaluates archs architectures of `space` per iteration in chunks of kChunk.
void run_eval(benchmark::State& state, Backend backend, const char* space_name, EvalMode mode,
              ArchBatch::Kind kind, uint64_t archs) {
  if (backend == Backend::kCuda && cuda_device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const SearchSpace space = make_space(space_name);
  const std::vector<EvalDevice> devices = all_devices();
  const int D = static_cast<int>(devices.size());
  EngineOptions options;
  options.mode = mode;
  const std::unique_ptr<Engine> engine = make_engine(backend, space, devices, options);
  const uint64_t chunk = std::min(kChunk, archs);
  ChunkBuffers buf(chunk, space.decisions(), D);

  auto evaluate = [&](uint64_t first, uint64_t count) {
    ArchBatch b;
    b.kind = kind;
    b.first = first;
    b.count = count;
    b.seed = kSeed;
    engine->evaluate(b, buf.codes.data(), buf.latency_ms.data(), buf.macs.data(), buf.params.data());
  };
  evaluate(0, chunk);  // first touch, device allocations, thread-pool start

  for (auto _ : state) {
    for (uint64_t first = 0; first < archs; first += chunk) evaluate(first, std::min(chunk, archs - first));
    benchmark::DoNotOptimize(buf.latency_ms.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(archs) * D);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(archs) * D *
                          static_cast<int64_t>(sizeof(float)));
  state.counters["archs"] = static_cast<double>(archs);
  state.counters["devices"] = D;
  state.counters["threads"] = backend == Backend::kCpu ? omp_get_max_threads() : 0;
  state.SetLabel(backend_name(backend) + (engine->compiled() ? " compiled" : " walk") +
                 (backend == Backend::kCuda ? " on " + cuda_device_name() : ""));
}

void BM_FbnetCpuCompiled(benchmark::State& state) {
  run_eval(state, Backend::kCpu, "fbnet", EvalMode::kCompiled, ArchBatch::Kind::kSample, kCompiledArchs);
}
void BM_FbnetCpuWalk(benchmark::State& state) {
  run_eval(state, Backend::kCpu, "fbnet", EvalMode::kWalk, ArchBatch::Kind::kSample, kWalkArchs);
}
void BM_Nb201CpuWalk(benchmark::State& state) {
  run_eval(state, Backend::kCpu, "nb201", EvalMode::kAuto, ArchBatch::Kind::kEnumerate, *make_space("nb201").size());
}
void BM_FbnetCudaCompiled(benchmark::State& state) {
  run_eval(state, Backend::kCuda, "fbnet", EvalMode::kCompiled, ArchBatch::Kind::kSample, kCompiledArchs);
}
void BM_FbnetCudaWalk(benchmark::State& state) {
  run_eval(state, Backend::kCuda, "fbnet", EvalMode::kWalk, ArchBatch::Kind::kSample, kCompiledArchs);
}
void BM_Nb201CudaWalk(benchmark::State& state) {
  run_eval(state, Backend::kCuda, "nb201", EvalMode::kAuto, ArchBatch::Kind::kEnumerate, *make_space("nb201").size());
}

// The floor under every CPU path: writing the n x D float latency matrix, chunk by
// chunk into the same reused buffer, on the same OpenMP threads, and nothing else.
void BM_OutputFloor(benchmark::State& state) {
  const int D = static_cast<int>(builtin_devices().size());
  const uint64_t archs = kCompiledArchs;
  std::vector<float> latency_ms(kChunk * D, 1.0f);
  const int64_t len = static_cast<int64_t>(latency_ms.size());
  float value = 0.0f;
  for (auto _ : state) {
    for (uint64_t first = 0; first < archs; first += kChunk) {
      value += 1.0f;
      float* p = latency_ms.data();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < len; i += 4096) std::fill(p + i, p + std::min(len, i + 4096), value);
      benchmark::DoNotOptimize(p);
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(archs) * D);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(archs) * D *
                          static_cast<int64_t>(sizeof(float)));
  state.counters["archs"] = static_cast<double>(archs);
  state.counters["devices"] = D;
  state.counters["threads"] = omp_get_max_threads();
}

BENCHMARK(BM_FbnetCpuCompiled)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FbnetCpuWalk)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Nb201CpuWalk)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FbnetCudaCompiled)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FbnetCudaWalk)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Nb201CudaWalk)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_OutputFloor)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace proxysim

BENCHMARK_MAIN();
