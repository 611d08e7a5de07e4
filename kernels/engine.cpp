#include "kernels/engine.hpp"

#include "base/rng.hpp"
#include "base/error.hpp"

namespace proxysim {

std::string backend_name(Backend b) { return b == Backend::kCuda ? "cuda" : "cpu"; }

Backend resolve_backend(const std::string& request) {
  if (request == "cpu") return Backend::kCpu;
  if (request == "cuda") {
    if (cuda_device_count() == 0) {
      throw UserError("--backend cuda: no CUDA device found" +
                      std::string(PROXYSIM_HAVE_CUDA ? "" : " (this build has no CUDA backend)"));
    }
    return Backend::kCuda;
  }
  if (request == "auto") return cuda_device_count() > 0 ? Backend::kCuda : Backend::kCpu;
  throw UserError("--backend: expected auto, cpu or cuda, found '" + request + "'");
}

uint64_t device_noise_key(const std::string& name, uint64_t noise_seed) {
  uint64_t h = mix64(noise_seed ^ 0x6a09e667f3bcc909ull);
  for (unsigned char ch : name) h = mix64(h ^ ch);
  return h;
}

Engine::Engine(SearchSpace space, std::vector<EvalDevice> devices, EngineOptions options)
    : space_(std::move(space)), devices_(std::move(devices)), options_(options) {
  if (options_.mode == EvalMode::kCompiled && !is_chain_space(space_.id())) {
    throw UserError("eval mode 'compiled' needs a chain space (fbnet, ofa_mbv3); '" + space_.name() +
                    "' is walked");
  }
  compiled_ = options_.mode != EvalMode::kWalk && is_chain_space(space_.id());
}

std::unique_ptr<Engine> make_cpu_engine(const SearchSpace& space, std::vector<EvalDevice> devices,
                                        EngineOptions options);
std::unique_ptr<Engine> make_cuda_engine(const SearchSpace& space, std::vector<EvalDevice> devices,
                                         EngineOptions options);

std::unique_ptr<Engine> make_engine(Backend backend, const SearchSpace& space, std::vector<EvalDevice> devices,
                                    EngineOptions options) {
  if (devices.empty()) throw UserError("no devices to evaluate");
  if (backend == Backend::kCuda) return make_cuda_engine(space, std::move(devices), options);
  return make_cpu_engine(space, std::move(devices), options);
}

}  // namespace proxysim
