// The eval stage: the latency matrix itself (/eval/latency_ms and each architecture's
// code, index, MACs and parameters) written to the result file as it is computed.
// Every run evaluates; only a run that lists eval writes the per-architecture datasets.
#pragma once
#include <cstdint>

#include "kernels/engine.hpp"

namespace proxysim {

struct EvalSettings {
  uint64_t chunk = 1u << 18;  // architectures per chunk: bounds memory, not n
  EvalMode mode = EvalMode::kAuto;
};

}  // namespace proxysim
