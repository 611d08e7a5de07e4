// Fuzz target: what a resume reads of files it did not just write. A rerun reads the
// sweep fingerprint of a result file already under the output name (in a child
// process: h5_root_string_attr_isolated), and checks each finished cell file against
// the checksum recorded when it was written before HDF5 reads it. Contract: any bytes
// are read or refused with UserError; a crash, a hang or a sanitizer report in this
// process is a bug. (HDF5 1.10 itself crashes on some damaged files: the first
// minute of this target found two, tests/fuzz/corpus/h5_result/regression-*, and
// loops forever on others; that is why the reads are isolated, bounded in time, and
// the cells checksummed.)
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "io/h5_merge.hpp"
#include "base/error.hpp"
#include "tests/fuzz/scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = proxysim::fuzz::write_scratch_file(data, size, ".h5");
  try {
    // A short limit: the library loops forever on some inputs (refused after it).
    (void)proxysim::h5_root_string_attr_isolated(path, "sweep_fingerprint", 2.0);
  } catch (const proxysim::UserError&) {
  }
  // The checksum a cell file is checked against: its size is part of it, so the
  // fingerprint of these bytes must name this size.
  const std::string sum = proxysim::file_checksum(path);
  if (sum.substr(sum.find(' ') + 1) != std::to_string(size)) std::abort();
  return 0;
}
