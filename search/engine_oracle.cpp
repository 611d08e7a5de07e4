#include "search/engine_oracle.hpp"

#include <algorithm>

namespace proxysim {

EngineOracle::EngineOracle(const SearchSpace& space, Backend backend, std::vector<EvalDevice> devices,
                           EngineOptions options, uint64_t synthetic_seed)
    : space_(space), backend_(backend), device_list_(devices), options_(options),
      devices_(static_cast<int>(devices.size())), seed_(synthetic_seed), synthetic_(space, synthetic_seed),
      engine_(make_engine(backend, space, std::move(devices), options)) {}

std::unique_ptr<ArchOracle> EngineOracle::fork() const {
  return std::make_unique<EngineOracle>(space_, backend_, device_list_, options_, seed_);
}

void EngineOracle::evaluate(const std::vector<Arch>& archs, std::vector<float>& values) {
  const auto n = static_cast<int64_t>(archs.size());
  const int K = space_.decisions();
  codes_.resize(static_cast<size_t>(n * K));
  for (int64_t i = 0; i < n; ++i) std::copy(archs[static_cast<size_t>(i)].begin(), archs[static_cast<size_t>(i)].begin() + K, codes_.begin() + i * K);
  out_codes_.resize(codes_.size());
  latency_.resize(static_cast<size_t>(n * devices_));
  macs_.resize(static_cast<size_t>(n));
  params_.resize(static_cast<size_t>(n));
  ArchBatch b;
  b.kind = ArchBatch::Kind::kList;
  b.count = static_cast<uint64_t>(n);
  b.codes = codes_.data();
  engine_->evaluate(b, out_codes_.data(), latency_.data(), macs_.data(), params_.data());
  const int C = channels();
  for (int64_t i = 0; i < n; ++i) {
    float* v = values.data() + i * C;
    std::copy_n(latency_.data() + i * devices_, devices_, v);
    v[devices_] = macs_[static_cast<size_t>(i)];
  }
}

double EngineOracle::accuracy(const Arch& a) const {
  return synthetic_(a.data());
}

}  // namespace proxysim
