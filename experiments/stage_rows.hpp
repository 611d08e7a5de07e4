// The opening every stage that reads the latency matrix shares: each row's
// architecture, and which rows it uses. NB201's 341 architectures whose cell does not
// connect input to output compute nothing a search would keep: every stage leaves
// them out unless its settings say include_disconnected.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/space.hpp"

namespace proxysim {

bool leaves_out(const SearchSpace& space, const uint8_t* code, bool include_disconnected);

struct StageRows {
  std::vector<ArchCode> arch;   // every row's architecture
  std::vector<uint8_t> usable;  // 0 for a row the stage leaves out
  uint64_t excluded = 0;        // how many it leaves out
};
// `codes` holds `rows` architectures back to back (the driver's row order).
StageRows stage_rows(const SearchSpace& space, const std::vector<uint8_t>& codes, uint64_t rows,
                     bool include_disconnected);

}  // namespace proxysim
