// Reading result files back in tests, through the HDF5 C API (independent of the
// writer's wrapper in io/h5.hpp).
#pragma once
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <string>
#include <vector>

inline std::vector<hsize_t> dims_of(hid_t ds) {
  const hid_t sp = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> d(std::max(rank, 0));
  if (rank > 0) H5Sget_simple_extent_dims(sp, d.data(), nullptr);
  H5Sclose(sp);
  return d;
}

inline std::vector<std::string> read_strings(hid_t file, const char* name) {
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) return {};
  const auto d = dims_of(ds);
  std::vector<char*> ptrs(d.empty() ? 0 : d[0], nullptr);
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  std::vector<std::string> out;
  if (!ptrs.empty() && H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0) {
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
  }
  H5Tclose(t);
  H5Dclose(ds);
  return out;
}

template <class T>
inline std::vector<T> read_all(hid_t file, const char* name, hid_t type, std::vector<hsize_t>* dims) {
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(ds, 0) << name;
  if (ds < 0) return {};
  *dims = dims_of(ds);
  hsize_t n = 1;
  for (hsize_t x : *dims) n *= x;
  std::vector<T> v(n);
  EXPECT_GE(H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0) << name;
  H5Dclose(ds);
  return v;
}

