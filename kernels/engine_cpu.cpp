// CPU backend: the loops of engine_impl.hpp under thrust::omp::par, on all cores.
#include <thrust/system/cpp/execution_policy.h>
#include <thrust/system/omp/execution_policy.h>

#include <stdexcept>

#include "kernels/engine.hpp"
#include "kernels/engine_impl.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace {

class CpuEngine final : public Engine {
 public:
  CpuEngine(const SearchSpace& space, std::vector<EvalDevice> devices, EngineOptions options)
      : Engine(space, std::move(devices), options) {
    for (const auto& d : devices_) {
      params_.push_back(d.params);
      keys_.push_back(device_noise_key(d.name, options_.noise_seed));
      sigma_.push_back(d.params.noise_sigma);
      resolution_.push_back(d.params.resolution_ms);
      level_.push_back(d.params.level);
    }
    if (compiled_) tables_ = compile_chain(space_.id(), space_.params(), params_);
    const size_t padded = (devices_.size() + kChainDeviceBlock - 1) / kChainDeviceBlock * kChainDeviceBlock;
    keys_.resize(padded, 0);
    sigma_.resize(padded, 0.0f);
    resolution_.resize(padded, 0.0f);
    level_.resize(padded, 0.0f);
  }

  Backend backend() const override { return Backend::kCpu; }
  static constexpr uint64_t kSerialBelow = 1024;  // architecture-device pairs

  void evaluate(const ArchBatch& batch, uint8_t* codes, float* latency_ms, float* macs, float* params) override {
    if (batch.kind == ArchBatch::Kind::kEnumerate) {
      const auto n = space_.size();
      if (!n || batch.first + batch.count > *n) throw UserError("enumeration past the end of space " + space_.name());
    }
    detail::EngineView v{space_.id(),    space_.params(),     space_.decisions(),
                         devices(),      params_.data(),      keys_.data(),
                         sigma_.data(),  resolution_.data(),  level_.data(), nb201_official_order().data(),
                         compiled_,      tables_.view()};
    detail::BatchView b{static_cast<int>(batch.kind), batch.first, batch.seed, batch.codes};
    // A small batch (a round of on-the-fly searches, search/on_the_fly.hpp) costs
    // less than waking the threads: it runs on the calling thread. Same functors,
    // same values either way.
    if (batch.count * static_cast<uint64_t>(devices()) < kSerialBelow) {
      detail::evaluate_chunk(thrust::cpp::par, v, b, batch.count, devices(), codes, latency_ms, macs, params);
    } else {
      detail::evaluate_chunk(thrust::omp::par, v, b, batch.count, devices(), codes, latency_ms, macs, params);
    }
  }

 private:
  std::vector<DeviceParams> params_;
  std::vector<uint64_t> keys_;
  std::vector<float> sigma_, resolution_, level_;
  ChainTables tables_;
};

}  // namespace

std::unique_ptr<Engine> make_cpu_engine(const SearchSpace& space, std::vector<EvalDevice> devices,
                                        EngineOptions options) {
  return std::make_unique<CpuEngine>(space, std::move(devices), options);
}

}  // namespace proxysim
