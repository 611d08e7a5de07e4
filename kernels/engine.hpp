// Batch latency evaluation: the n x D latency matrix of n architectures of one space
// on D simulated devices, with MACs and parameters per architecture, on the CPU
// (OpenMP) or CUDA backend. CUDA-free header.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/device.hpp"
#include "sim/space.hpp"

namespace proxysim {

enum class Backend { kCpu, kCuda };
std::string backend_name(Backend b);

// Number of CUDA devices visible (0 in a CPU-only build or without a GPU).
int cuda_device_count();
// Name of CUDA device 0, or "" when there is none.
std::string cuda_device_name();
// "auto" takes CUDA when a GPU is found; "cuda" without one is a UserError.
Backend resolve_backend(const std::string& request);

// How the walk is evaluated: `walk` lowers and walks every architecture on every
// device (the reference); `compiled` sums the chain tables (FBNet, OFA); `auto`
// compiles where the space allows it.
enum class EvalMode { kAuto, kWalk, kCompiled };

// Where a chunk of architectures comes from.
struct ArchBatch {
  enum class Kind { kEnumerate, kSample, kList } kind = Kind::kSample;
  uint64_t first = 0;             // index of the first architecture of the chunk
  uint64_t count = 0;
  uint64_t seed = 0;              // kSample
  const uint8_t* codes = nullptr; // kList: count x decisions, host memory
};

struct EvalDevice {
  std::string name;
  DeviceParams params;
};

struct EngineOptions {
  EvalMode mode = EvalMode::kAuto;
  uint64_t noise_seed = 0;        // measurement noise stream of the run
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Evaluates one chunk into host buffers: codes (count x decisions), latency_ms
  // (count x D, row-major), macs and params (count).
  virtual void evaluate(const ArchBatch& batch, uint8_t* codes, float* latency_ms, float* macs,
                        float* params) = 0;
  virtual Backend backend() const = 0;
  int devices() const { return static_cast<int>(devices_.size()); }
  bool compiled() const { return compiled_; }

 protected:
  Engine(SearchSpace space, std::vector<EvalDevice> devices, EngineOptions options);
  SearchSpace space_;
  std::vector<EvalDevice> devices_;
  EngineOptions options_;
  bool compiled_ = false;
};

std::unique_ptr<Engine> make_engine(Backend backend, const SearchSpace& space, std::vector<EvalDevice> devices,
                                    EngineOptions options = {});

// Noise key of a device: a hash of its name, so adding a device changes no other's noise.
uint64_t device_noise_key(const std::string& name, uint64_t noise_seed);

}  // namespace proxysim
