// Every dataset of a result file, read back through the HDF5 C API, for comparing two
// runs' files byte for byte (strings by value). Attributes are left out: they hold
// timings, host names and creation times, which differ between equal runs.
#pragma once
#include <hdf5.h>

#include <map>
#include <string>
#include <vector>

namespace proxysim::test {

// Dataset path -> its shape and contents (raw bytes in the file's type, or the strings
// joined with '\0').
struct DatasetContents {
  std::vector<hsize_t> shape;
  std::string bytes;
  bool operator==(const DatasetContents&) const = default;
};
using FileContents = std::map<std::string, DatasetContents>;

inline herr_t collect_dataset(hid_t file, const char* name, const H5O_info_t* info, void* data) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  auto* out = static_cast<FileContents*>(data);
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) return -1;
  DatasetContents c;
  const hid_t sp = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(sp);
  c.shape.resize(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(sp, c.shape.data(), nullptr);
  const hssize_t points = H5Sget_simple_extent_npoints(sp);
  const hid_t type = H5Dget_type(ds);
  if (H5Tis_variable_str(type) > 0) {
    std::vector<char*> p(static_cast<size_t>(points), nullptr);
    if (points > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()) >= 0) {
      for (char* s : p) {
        c.bytes += std::string(s ? s : "") + '\0';
      }
      H5Dvlen_reclaim(type, sp, H5P_DEFAULT, p.data());
    }
  } else {
    c.bytes.resize(static_cast<size_t>(points) * H5Tget_size(type));
    if (points > 0) H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.bytes.data());
  }
  H5Tclose(type);
  H5Sclose(sp);
  H5Dclose(ds);
  (*out)["/" + std::string(name)] = std::move(c);
  return 0;
}

// Empty when the file cannot be opened.
inline FileContents read_contents(const std::string& path) {
  FileContents out;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return out;
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &out);
  H5Fclose(f);
  return out;
}

// A string attribute of an object ("" when absent).
inline std::string read_string_attr(const std::string& path, const std::string& object, const std::string& name) {
  std::string out;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return out;
  if (H5Aexists_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    const hid_t a = H5Aopen_by_name(f, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char* p = nullptr;
    if (H5Aread(a, t, &p) >= 0 && p) {
      out = p;
      H5free_memory(p);
    }
    H5Tclose(t);
    H5Aclose(a);
  }
  H5Fclose(f);
  return out;
}

}  // namespace proxysim::test
