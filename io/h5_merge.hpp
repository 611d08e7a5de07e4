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

// h5_root_string_attr for a file proxysim may not have written (a result file under
// the output name of a resumed run): read in a child process, so that a damaged file
// on which the HDF5 library crashes (1.10 does, on some) is refused with a UserError
// like any unreadable file instead of taking the run down; a read that has not ended
// after `timeout_s` seconds (the library loops forever on some) is refused the same way.
std::string h5_root_string_attr_isolated(const std::string& path, const std::string& attr, double timeout_s = 20.0);

// A fingerprint of a file's bytes (size and a 64-bit hash), written beside each
// finished cell file and checked before a resume hands the cell to HDF5: the library
// then only ever parses bytes proxysim wrote.
std::string file_checksum(const std::string& path);

}  // namespace proxysim
