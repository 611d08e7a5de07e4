// The messages sweep ranks exchange (over world_broadcast and world_gather, which move
// strings): each a struct, encoded as length-prefixed fields behind a tag, so no
// message text (an error naming a file with a newline or a tab in it) can be misread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "experiments/sweep_files.hpp"

namespace proxysim {

// Rank 0 to all: the prepared output, or why the sweep cannot start.
struct PrepareMessage {
  std::string error;  // empty: `prepared` holds the output and the cells to run
  Prepared prepared;
};
std::string encode(const PrepareMessage& m);
PrepareMessage decode_prepare(const std::string& bytes);

// Each rank to rank 0: the cell that failed on it, if any.
struct CellFailure {
  enum class Kind : uint8_t { kNone, kUser, kInternal } kind = Kind::kNone;
  uint64_t cell = 0;
  std::string message;
};
std::string encode(const CellFailure& m);
CellFailure decode_failure(const std::string& bytes);

}  // namespace proxysim
