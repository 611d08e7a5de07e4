// Assembling a run's result file from its per-cell files, and checking files a resume
// is handed. Cell files are complete HDF5 files committed by rename (io/h5.hpp), so the
// final file is built from finished cells only.
#pragma once
#include <hdf5.h>

#include <string>

namespace proxysim {

// Copies every object and root attribute of the file at `src_path` into a new group
// `dst_group` of the open file `dst`.
void copy_file_into_group(hid_t dst, const std::string& dst_group, const std::string& src_path);
// True when `path` opens as HDF5 and its root has attribute `attr`.
bool h5_file_has_root_attr(const std::string& path, const std::string& attr);
// A string attribute of the root of `path`; "" when absent. Throws UserError naming
// the path when the file is not readable HDF5.
std::string h5_root_string_attr(const std::string& path, const std::string& attr);

}  // namespace proxysim
