// CUDA backend: the loops of engine_impl.hpp under thrust::cuda::par, tables copied
// to the GPU once, one architecture-device pair per thread.
#include <thrust/device_vector.h>
#include <thrust/system/cuda/execution_policy.h>

#include <vector>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/engine.hpp"
#include "kernels/engine_impl.hpp"
#include "sim/error.hpp"

namespace proxysim {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: a CPU run, not an error
    return 0;
  }
  return n;
}

std::string cuda_device_name() {
  if (cuda_device_count() == 0) return "";
  cudaDeviceProp prop{};
  PROXYSIM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

namespace {

template <class T>
T* raw(thrust::device_vector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

class CudaEngine final : public Engine {
 public:
  CudaEngine(const SearchSpace& space, std::vector<EvalDevice> devices, EngineOptions options)
      : Engine(space, std::move(devices), options) {
    std::vector<DeviceParams> params;
    std::vector<uint64_t> keys;
    std::vector<float> sigma, resolution;
    for (const auto& d : devices_) {
      params.push_back(d.params);
      keys.push_back(device_noise_key(d.name, options_.noise_seed));
      sigma.push_back(d.params.noise_sigma);
      resolution.push_back(d.params.resolution_ms);
    }
    params_ = params;
    keys_ = keys;
    sigma_ = sigma;
    resolution_ = resolution;
    order_ = nb201_official_order();
    if (compiled_) {
      const ChainTables t = compile_chain(space_.id(), space_.params(), params);
      state_base_ = t.state_base;
      next_state_ = t.next_state;
      cost_ = t.cost;
      suffix_ = t.suffix;
      prefix_ = t.prefix;
      stat_ = t.stat;
      stat_fixed_ = t.stat_fixed;
      chain_ = ChainView{t.positions,  t.choices,   t.devices,    t.stride,   raw(state_base_), raw(next_state_),
                         raw(cost_),   raw(suffix_), raw(prefix_), raw(stat_), raw(stat_fixed_)};
    }
  }

  Backend backend() const override { return Backend::kCuda; }

  void evaluate(const ArchBatch& batch, uint8_t* codes, float* latency_ms, float* macs, float* params) override {
    if (batch.kind == ArchBatch::Kind::kEnumerate) {
      const auto n = space_.size();
      if (!n || batch.first + batch.count > *n) throw UserError("enumeration past the end of space " + space_.name());
    }
    const uint64_t n = batch.count;
    const size_t k = static_cast<size_t>(space_.decisions());
    codes_.resize(n * k);
    latency_.resize(n * devices());
    macs_.resize(n);
    params_out_.resize(n);
    const uint8_t* list = nullptr;
    if (batch.kind == ArchBatch::Kind::kList) {
      list_.assign(batch.codes, batch.codes + n * k);
      list = raw(list_);
    }
    detail::EngineView v{space_.id(), space_.params(), space_.decisions(), devices(),    raw(params_), raw(keys_),
                         raw(sigma_), raw(resolution_), raw(order_),       compiled_,    chain_};
    detail::BatchView b{static_cast<int>(batch.kind), batch.first, batch.seed, list};
    detail::evaluate_chunk(thrust::cuda::par, v, b, n, 1, raw(codes_), raw(latency_), raw(macs_), raw(params_out_));
    PROXYSIM_CUDA_CHECK(cudaGetLastError());
    PROXYSIM_CUDA_CHECK(cudaMemcpy(codes, raw(codes_), n * k, cudaMemcpyDeviceToHost));
    PROXYSIM_CUDA_CHECK(cudaMemcpy(latency_ms, raw(latency_), n * devices() * sizeof(float), cudaMemcpyDeviceToHost));
    PROXYSIM_CUDA_CHECK(cudaMemcpy(macs, raw(macs_), n * sizeof(float), cudaMemcpyDeviceToHost));
    PROXYSIM_CUDA_CHECK(cudaMemcpy(params, raw(params_out_), n * sizeof(float), cudaMemcpyDeviceToHost));
  }

 private:
  thrust::device_vector<DeviceParams> params_;
  thrust::device_vector<uint64_t> keys_;
  thrust::device_vector<float> sigma_, resolution_;
  thrust::device_vector<uint16_t> order_;
  thrust::device_vector<uint32_t> state_base_;
  thrust::device_vector<uint16_t> next_state_;
  thrust::device_vector<float> cost_, suffix_, prefix_, stat_, stat_fixed_;
  ChainView chain_{};
  thrust::device_vector<uint8_t> codes_, list_;
  thrust::device_vector<float> latency_, macs_, params_out_;
};

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(const SearchSpace& space, std::vector<EvalDevice> devices,
                                         EngineOptions options) {
  return std::make_unique<CudaEngine>(space, std::move(devices), options);
}

}  // namespace proxysim
