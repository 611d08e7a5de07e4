// Measured devices: latency tables in the CSV format of ../shared/data (key columns
// naming the architecture, then one column per device, empty = not measured).
// Every key is validated against the search space; errors name the file, line and
// column; nothing is dropped silently.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/space.hpp"

namespace proxysim {

struct MeasuredTable {
  std::string file;
  std::string space;                 // nb201 | fbnet | ofa_mbv3
  std::vector<ArchCode> codes;       // one per row, in file order
  std::vector<uint32_t> lines;       // 1-based line of each row
  std::vector<int64_t> arch_index;   // NB201 official index, -1 elsewhere
  std::vector<uint8_t> connected;    // NB201: output reachable from input; 1 elsewhere
  std::vector<std::string> devices;  // device column names (a trailing "_latency" is dropped)
  std::vector<float> latency_ms;     // rows x devices, row-major, NaN = not measured
  std::vector<uint64_t> missing;     // per device: empty cells
  uint64_t rows() const { return codes.size(); }
  uint64_t disconnected() const;
};

// Reads a measured latency table. `space` may be empty: it is then inferred from the
// key columns (arch_str, or arch_index alone -> nb201, L0..L21 -> fbnet,
// resolution/depths/... -> ofa_mbv3).
MeasuredTable read_measured_csv(const std::string& path, const std::string& space = {});

}  // namespace proxysim
