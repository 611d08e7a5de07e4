// Fuzz target: the experiment-config parser. Contract: any text either parses into a
// config or throws UserError (the CLI's exit 2); any other exception, crash, leak or
// undefined behaviour is a bug. Parsing never reads files or runs anything.
#include <cstddef>
#include <cstdint>
#include <string>

#include "experiments/config.hpp"
#include "base/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const proxysim::ExperimentConfig c = proxysim::parse_config(text, "fuzz.yaml");
    // What parses must also resolve back to YAML that parses to the same config.
    (void)proxysim::parse_config(proxysim::resolved_yaml(c), "resolved.yaml");
  } catch (const proxysim::UserError&) {
  }
  return 0;
}
