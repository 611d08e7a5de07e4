#include "io/h5.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"

namespace proxysim {

namespace {

herr_t find_errno(unsigned /*n*/, const H5E_error2_t* e, void* data) {
  auto* cause = static_cast<std::string*>(data);
  if (e->desc == nullptr || !cause->empty()) return 0;
  const char* p = std::strstr(e->desc, "errno = ");
  if (p != nullptr) {
    const int code = std::atoi(p + 8);
    if (code > 0) *cause = std::strerror(code);
  }
  return 0;
}

}  // namespace

std::string h5_error_cause() {
  std::string cause;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_errno, &cause);
  if (cause.empty() && (errno == ENOSPC || errno == EFBIG || errno == EDQUOT || errno == EIO || errno == EROFS)) {
    cause = std::strerror(errno);
  }
  return cause;
}

void h5_write_failed(const std::string& file, const std::string& what) {
  const std::string cause = h5_error_cause();
  if (!cause.empty()) throw UserError(file + ": cannot write (" + what + "): " + cause);
  throw std::runtime_error("HDF5 error: " + what + " in " + file);
}

namespace {

// A file whose last write failed (a full disk) cannot be closed: HDF5 keeps it open,
// and HDF5 1.10's own clean-up at exit then crashes on it. proxysim closes every file
// it finishes itself, so that clean-up is switched off before HDF5 starts.
const bool kNoHdf5Atexit = [] {
  H5dont_atexit();
  return true;
}();

}  // namespace

namespace {

// Inside a writer: failures name the file being written.
void check(herr_t status, const std::string& what, const std::string& file) {
  if (status < 0) h5_write_failed(file, what);
}

hid_t checked(hid_t id, const std::string& what, const std::string& file) {
  if (id < 0) h5_write_failed(file, what);
  return id;
}

}  // namespace

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

H5Handle::~H5Handle() {
  if (id_ >= 0 && close_) close_(id_);
}

void H5Matrix::write_rows(uint64_t first, uint64_t count, const void* data) {
  if (count == 0) return;
  const int rank = cols_ == 0 ? 1 : 2;
  hsize_t start[2] = {first, 0};
  hsize_t size[2] = {count, cols_};
  H5Handle file_space(checked(H5Dget_space(ds_.get()), "dataspace", file_), H5Sclose);
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, size, nullptr), "select rows", file_);
  H5Handle mem_space(checked(H5Screate_simple(rank, size, nullptr), "memory space", file_), H5Sclose);
  check(H5Dwrite(ds_.get(), type_, mem_space.get(), file_space.get(), H5P_DEFAULT, data), "write rows", file_);
}

H5Writer::H5Writer(std::string path) : path_(std::move(path)) {
  namespace fs = std::filesystem;
  const fs::path p(path_);
  if (p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) throw UserError(path_ + ": cannot create folder " + p.parent_path().string() + ": " + ec.message());
  }
  partial_ = path_ + ".partial";
  // Probe writability with plain stdio first, for a clear message.
  FILE* probe = std::fopen(partial_.c_str(), "wb");
  if (!probe) throw UserError(path_ + ": cannot write output file: " + std::strerror(errno));
  std::fclose(probe);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fcreate(partial_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) {
    std::remove(partial_.c_str());
    throw UserError(path_ + ": cannot create HDF5 file");
  }
  file_ = H5Handle(f, H5Fclose);
}

H5Writer::~H5Writer() {
  if (!committed_) {
    file_ = H5Handle();
    std::remove(partial_.c_str());
  }
}

void H5Writer::group(const std::string& name) {
  H5Handle g(checked(H5Gcreate2(file_.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group " + name, path_),
             H5Gclose);
}

H5Matrix H5Writer::make(const std::string& name, hid_t type, uint64_t rows, uint64_t cols,
                        const std::vector<std::string>& dims) {
  const int rank = cols == 0 ? 1 : 2;
  hsize_t size[2] = {rows, cols};
  H5Handle space(checked(H5Screate_simple(rank, size, nullptr), "space " + name, path_), H5Sclose);
  H5Handle dcpl(checked(H5Pcreate(H5P_DATASET_CREATE), "dcpl", path_), H5Pclose);
  if (rows > 0) {
    // Row chunks of about 1 MiB keep partial reads of huge matrices cheap.
    const size_t row_bytes = H5Tget_size(type) * std::max<uint64_t>(cols, 1);
    hsize_t chunk[2] = {std::max<hsize_t>(1, std::min<hsize_t>(rows, (1u << 20) / row_bytes)), std::max<hsize_t>(cols, 1)};
    check(H5Pset_chunk(dcpl.get(), rank, chunk), "chunk " + name, path_);
  }
  H5Handle ds(checked(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                      "dataset " + name, path_),
              H5Dclose);
  std::string joined;
  for (size_t i = 0; i < dims.size(); ++i) joined += (i ? "," : "") + dims[i];
  H5Matrix m(std::move(ds), type, rows, cols, path_);
  attr(name, "dims", joined);
  return m;
}

H5Matrix H5Writer::matrix_f32(const std::string& name, uint64_t rows, uint64_t cols, const std::vector<std::string>& dims) {
  return make(name, H5T_NATIVE_FLOAT, rows, cols, dims);
}
H5Matrix H5Writer::matrix_u8(const std::string& name, uint64_t rows, uint64_t cols, const std::vector<std::string>& dims) {
  return make(name, H5T_NATIVE_UINT8, rows, cols, dims);
}
H5Matrix H5Writer::vector_u64(const std::string& name, uint64_t rows, const std::string& dim) {
  return make(name, H5T_NATIVE_UINT64, rows, 0, {dim});
}
H5Matrix H5Writer::vector_f32(const std::string& name, uint64_t rows, const std::string& dim) {
  return make(name, H5T_NATIVE_FLOAT, rows, 0, {dim});
}

void H5Writer::array_f32(const std::string& name, const std::vector<uint64_t>& shape, const float* data,
                         const std::vector<std::string>& dims) {
  const std::vector<hsize_t> size(shape.begin(), shape.end());
  H5Handle space(checked(H5Screate_simple(static_cast<int>(size.size()), size.data(), nullptr), "space " + name, path_),
                 H5Sclose);
  H5Handle ds(checked(H5Dcreate2(file_.get(), name.c_str(), H5T_NATIVE_FLOAT, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT),
                      "dataset " + name, path_),
              H5Dclose);
  check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write " + name, path_);
  std::string joined;
  for (size_t i = 0; i < dims.size(); ++i) joined += (i ? "," : "") + dims[i];
  attr(name, "dims", joined);
}

void H5Writer::strings(const std::string& name, const std::vector<std::string>& values, const std::string& dim) {
  H5Handle type(checked(H5Tcopy(H5T_C_S1), "string type", path_), H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), "string size", path_);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string cset", path_);
  hsize_t n = values.size();
  H5Handle space(checked(H5Screate_simple(1, &n, nullptr), "space " + name, path_), H5Sclose);
  H5Handle ds(checked(H5Dcreate2(file_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT),
                      "dataset " + name, path_),
              H5Dclose);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (!ptrs.empty()) check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "write " + name, path_);
  attr(name, "dims", dim);
}

void H5Writer::attr(const std::string& object, const std::string& name, const std::string& value) {
  H5Handle type(checked(H5Tcopy(H5T_C_S1), "string type", path_), H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), "string size", path_);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string cset", path_);
  H5Handle space(checked(H5Screate(H5S_SCALAR), "scalar space", path_), H5Sclose);
  H5Handle a(checked(H5Acreate_by_name(file_.get(), object.c_str(), name.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT),
                     "attribute " + name, path_),
             H5Aclose);
  const char* p = value.c_str();
  check(H5Awrite(a.get(), type.get(), &p), "write attribute " + name, path_);
}

void H5Writer::attr(const std::string& object, const std::string& name, int64_t value) {
  H5Handle space(checked(H5Screate(H5S_SCALAR), "scalar space", path_), H5Sclose);
  H5Handle a(checked(H5Acreate_by_name(file_.get(), object.c_str(), name.c_str(), H5T_NATIVE_INT64, space.get(),
                                       H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "attribute " + name, path_),
             H5Aclose);
  check(H5Awrite(a.get(), H5T_NATIVE_INT64, &value), "write attribute " + name, path_);
}

void H5Writer::attr(const std::string& object, const std::string& name, double value) {
  H5Handle space(checked(H5Screate(H5S_SCALAR), "scalar space", path_), H5Sclose);
  H5Handle a(checked(H5Acreate_by_name(file_.get(), object.c_str(), name.c_str(), H5T_NATIVE_DOUBLE, space.get(),
                                       H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "attribute " + name, path_),
             H5Aclose);
  check(H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &value), "write attribute " + name, path_);
}

void H5Writer::commit() {
  check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), "flush", path_);
  // Closing writes what HDF5 still caches (superblock, metadata): it can fail too.
  check(H5Fclose(file_.release()), "the file's last metadata (close)", path_);
  // On disk before the rename makes it count as complete (a resume trusts renamed files).
  const int fd = ::open(partial_.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw UserError(path_ + ": cannot write the file to disk (fsync): " + std::strerror(err));
  }
  ::close(fd);
  if (std::rename(partial_.c_str(), path_.c_str()) != 0) {
    throw UserError(path_ + ": cannot move the finished file into place: " + std::strerror(errno));
  }
  committed_ = true;
}

}  // namespace proxysim
