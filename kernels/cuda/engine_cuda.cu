// CUDA backend: the loops of engine_impl.hpp (evaluate_pairs) under thrust::cuda::par,
// tables copied to the GPU once, one architecture-device pair per thread after one
// pass per architecture over the chain tables. Device memory comes from
// GpuMemoryResource (kernels/cuda/gpu_memory.hpp), whose release never throws, so a
// failed kernel's error reaches the caller intact.
#include <thrust/system/cuda/error.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system_error.h>

#include <cstdio>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "kernels/cuda/gpu_memory.hpp"
#include "kernels/engine.hpp"
#include "kernels/engine_impl.hpp"
#include "base/error.hpp"

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
T* raw(GpuVector<T>& v) {
  return thrust::raw_pointer_cast(v.data());
}

class CudaEngine final : public Engine {
 public:
  CudaEngine(const SearchSpace& space, std::vector<EvalDevice> devices, EngineOptions options)
      : Engine(space, std::move(devices), options) {
    std::vector<DeviceParams> params;
    std::vector<uint64_t> keys;
    std::vector<float> sigma, resolution, level;
    for (const auto& d : devices_) {
      params.push_back(d.params);
      keys.push_back(device_noise_key(d.name, options_.noise_seed));
      sigma.push_back(d.params.noise_sigma);
      resolution.push_back(d.params.resolution_ms);
      level.push_back(d.params.level);
    }
    params_ = params;
    keys_ = keys;
    sigma_ = sigma;
    resolution_ = resolution;
    level_ = level;
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

  // Out of GPU memory, a batch is evaluated in halves (and every later batch in pieces
  // of the size that fitted) down to kMinRows architectures; below that the error says
  // what was asked for and what the GPU had free. Results do not depend on the pieces:
  // each architecture's code and noise come from its index.
  void evaluate(const ArchBatch& batch, uint8_t* codes, float* latency_ms, float* macs, float* params) override {
    if (batch.kind == ArchBatch::Kind::kEnumerate) {
      const auto n = space_.size();
      if (!n || batch.first + batch.count > *n) throw UserError("enumeration past the end of space " + space_.name());
    }
    const uint64_t k = static_cast<uint64_t>(space_.decisions()), d = static_cast<uint64_t>(devices());
    uint64_t done = 0;
    while (done < batch.count) {
      const uint64_t m = std::min(batch.count - done, max_rows_);
      ArchBatch part = batch;
      part.first = batch.first + done;
      part.count = m;
      if (batch.kind == ArchBatch::Kind::kList) part.codes = batch.codes + done * k;
      try {
        evaluate_part(part, codes + done * k, latency_ms + done * d, macs + done, params + done);
      } catch (const thrust::system_error& e) {  // a kernel or copy inside Thrust failed
        const cudaError_t code = e.code().category() == thrust::cuda_category()
                                     ? static_cast<cudaError_t>(e.code().value())
                                     : cudaErrorUnknown;
        throw CudaError(code, cuda_error_message(code, "evaluating architectures " + std::to_string(part.first) + " to " +
                                                           std::to_string(part.first + m - 1) + " (" + e.what() + ")"));
      } catch (const std::bad_alloc&) {  // gpu_allocate's, or thrust's own
        release_buffers();
        if (m <= kMinRows) {
          throw UserError(gpu_out_of_memory("evaluating " + std::to_string(m) + " architectures x " + std::to_string(d) + " devices",
                                            static_cast<double>(m) * bytes_per_row()));
        }
        max_rows_ = m / 2;
        if (!reduced_) {
          std::fprintf(stderr, "proxysim: GPU memory: evaluating in pieces of %llu architectures\n",
                       static_cast<unsigned long long>(max_rows_));
          reduced_ = true;
        }
        continue;
      }
      done += m;
    }
  }

 private:
  static constexpr uint64_t kMinRows = 1024;

  double bytes_per_row() const {
    return static_cast<double>(space_.decisions()) * 2 + (static_cast<double>(devices()) + 2) * sizeof(float) +
           (compiled_ ? (kMaxChainPositions + 2) * sizeof(uint32_t) + sizeof(uint64_t) : 0);
  }

  void release_buffers() {
    for (auto* v : {&codes_, &list_}) {
      v->clear();
      v->shrink_to_fit();
    }
    for (auto* v : {&latency_, &macs_, &params_out_}) {
      v->clear();
      v->shrink_to_fit();
    }
    rows_.clear();
    rows_.shrink_to_fit();
    net_.clear();
    net_.shrink_to_fit();
    cudaGetLastError();  // an allocation failure is not sticky; clear it
  }

  void evaluate_part(const ArchBatch& batch, uint8_t* codes, float* latency_ms, float* macs, float* params) {
    const uint64_t n = batch.count;
    const size_t k = static_cast<size_t>(space_.decisions());
    codes_.resize(n * k);
    latency_.resize(n * devices());
    macs_.resize(n);
    params_out_.resize(n);
    if (compiled_) {
      rows_.resize(n * static_cast<uint64_t>(chain_.positions + 2));
      net_.resize(n);
    }
    const uint8_t* list = nullptr;
    if (batch.kind == ArchBatch::Kind::kList) {
      list_.assign(batch.codes, batch.codes + n * k);
      list = raw(list_);
    }
    detail::EngineView v{space_.id(), space_.params(), space_.decisions(), devices(),    raw(params_), raw(keys_),
                         raw(sigma_), raw(resolution_), raw(level_), raw(order_),       compiled_,    chain_};
    detail::BatchView b{static_cast<int>(batch.kind), batch.first, batch.seed, list};
    detail::evaluate_pairs(thrust::cuda::par, v, b, n, raw(codes_), raw(latency_), raw(macs_), raw(params_out_), raw(rows_),
                           raw(net_));
    PROXYSIM_CUDA_CHECK(cudaGetLastError());
    PROXYSIM_CUDA_CHECK(cudaMemcpy(codes, raw(codes_), n * k, cudaMemcpyDeviceToHost));
    PROXYSIM_CUDA_CHECK(cudaMemcpy(latency_ms, raw(latency_), n * devices() * sizeof(float), cudaMemcpyDeviceToHost));
    PROXYSIM_CUDA_CHECK(cudaMemcpy(macs, raw(macs_), n * sizeof(float), cudaMemcpyDeviceToHost));
    PROXYSIM_CUDA_CHECK(cudaMemcpy(params, raw(params_out_), n * sizeof(float), cudaMemcpyDeviceToHost));
  }

  uint64_t max_rows_ = std::numeric_limits<uint64_t>::max();
  bool reduced_ = false;
  GpuVector<DeviceParams> params_;
  GpuVector<uint64_t> keys_;
  GpuVector<float> sigma_, resolution_, level_;
  GpuVector<uint16_t> order_;
  GpuVector<uint32_t> state_base_;
  GpuVector<uint16_t> next_state_;
  GpuVector<float> cost_, suffix_, prefix_, stat_, stat_fixed_;
  ChainView chain_{};
  GpuVector<uint8_t> codes_, list_;
  GpuVector<float> latency_, macs_, params_out_;
  GpuVector<uint32_t> rows_;  // the compiled path's chain rows, per architecture
  GpuVector<uint64_t> net_;   // and network hashes
};

}  // namespace

std::unique_ptr<Engine> make_cuda_engine(const SearchSpace& space, std::vector<EvalDevice> devices,
                                         EngineOptions options) {
  return std::make_unique<CudaEngine>(space, std::move(devices), options);
}

}  // namespace proxysim
