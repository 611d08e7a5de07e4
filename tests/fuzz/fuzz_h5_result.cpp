// Fuzz target: the HDF5 result reader used by resume. A rerun opens the result file
// under the output name (its sweep fingerprint), each finished cell file (its config
// attribute), and copies the cells into the merged file. Contract: any bytes either
// read or are refused with UserError / std::runtime_error; a crash, a hang or a
// sanitizer report is a bug. The merge target is an in-memory HDF5 file.
#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "io/h5.hpp"
#include "io/h5_merge.hpp"
#include "sim/error.hpp"

namespace {

const std::string& scratch_path() {
  static const std::string path = "/tmp/proxysim_fuzz_h5_" + std::to_string(::getpid()) + ".h5";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    (void)proxysim::h5_root_string_attr(path, "sweep_fingerprint");
  } catch (const proxysim::UserError&) {
  } catch (const std::runtime_error&) {
  }
  if (!proxysim::h5_file_has_root_attr(path, "config")) return 0;
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 20, 0);
  const hid_t dst = H5Fcreate("proxysim_fuzz_merge", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (dst < 0) std::abort();
  try {
    proxysim::copy_file_into_group(dst, "/cells/0", path);
  } catch (const proxysim::UserError&) {
  } catch (const std::runtime_error&) {
  }
  H5Fclose(dst);
  return 0;
}
