// Built instead of kernels/cuda/ when no CUDA compiler was found: a CPU-only binary
// that reports no GPU and refuses --backend cuda with a clear message.
#include <memory>

#include "kernels/engine.hpp"
#include "base/error.hpp"

namespace proxysim {

int cuda_device_count() { return 0; }
std::string cuda_device_name() { return ""; }

// NOLINTNEXTLINE(performance-unnecessary-value-param): the CUDA build's signature, which moves the devices.
std::unique_ptr<Engine> make_cuda_engine(const SearchSpace&, std::vector<EvalDevice>, EngineOptions) {
  throw UserError("this proxysim was built without CUDA; use --backend cpu");
}

}  // namespace proxysim
