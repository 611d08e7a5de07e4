// The ArchOracle of on-the-fly searches (search/on_the_fly.hpp) on simulated devices:
// each batch of architectures goes to one engine call (CPU or CUDA), the accuracy is
// the synthetic surrogate (search/accuracy.hpp).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/engine.hpp"
#include "search/accuracy.hpp"
#include "search/on_the_fly.hpp"

namespace proxysim {

// Channels: the latency on each device in `devices` order (ms, as the engine measures
// it: the same value the eval stage gives that architecture), then its MACs.
class EngineOracle final : public ArchOracle {
 public:
  EngineOracle(const SearchSpace& space, Backend backend, std::vector<EvalDevice> devices, EngineOptions options,
               uint64_t synthetic_seed);
  int channels() const override { return devices_ + 1; }
  int macs_channel() const { return devices_; }
  void evaluate(const std::vector<Arch>& archs, std::vector<float>& values) override;
  double accuracy(const Arch& a) const override;
  // The CPU engine runs a small batch on the calling thread, the same functors per
  // architecture as a large one: one architecture costs what it costs in a batch. A
  // GPU call pays a launch and two copies whatever its size.
  bool evaluates_singly() const override { return backend_ == Backend::kCpu; }
  // Its own engine (the CPU engine compiles its chain tables again: about 5 ms for
  // FBNet on 4 devices).
  std::unique_ptr<ArchOracle> fork() const override;

 private:
  SearchSpace space_;
  Backend backend_;
  std::vector<EvalDevice> device_list_;
  EngineOptions options_;
  int devices_;
  uint64_t seed_;
  SyntheticAccuracy synthetic_;
  std::unique_ptr<Engine> engine_;
  std::vector<uint8_t> codes_, out_codes_;
  std::vector<float> latency_, macs_, params_;
};

}  // namespace proxysim
