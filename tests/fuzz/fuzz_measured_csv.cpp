// Fuzz target: the measured-latency CSV reader (it reads a path, so each input goes
// through a file). Contract: any bytes either load into a table whose every latency
// is positive and finite or NaN (= not measured), or throw UserError. Anything else
// is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "io/measured_csv.hpp"
#include "base/error.hpp"
#include "tests/fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = proxysim::fuzz::write_scratch_file(data, size, ".csv");
  try {
    const proxysim::MeasuredTable t = proxysim::read_measured_csv(path);
    if (t.latency_ms.size() != t.rows() * t.devices.size()) std::abort();
    for (const float v : t.latency_ms)
      if (!std::isnan(v) && !(std::isfinite(v) && v > 0.0f)) std::abort();
  } catch (const proxysim::UserError&) {
  }
  return 0;
}
