// Fuzz target: architecture strings of every space. Contract: from_string either
// returns a valid code or throws UserError; a code it returns prints back to a string
// that parses to the same code. The first byte picks the space, the rest is the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "base/error.hpp"
#include "sim/space.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const proxysim::SearchSpace kSpaces[] = {proxysim::make_space("nb201"), proxysim::make_space("fbnet"),
                                                  proxysim::make_space("ofa_mbv3"), proxysim::make_space("mbv2")};
  if (size == 0) return 0;
  const proxysim::SearchSpace& space = kSpaces[data[0] % 4];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const proxysim::ArchCode code = space.from_string(text);
    space.validate(code);
    if (space.from_string(space.to_string(code)) != code) std::abort();
  } catch (const proxysim::UserError&) {
  }
  return 0;
}
