// A small RAII layer over the HDF5 C API for result files. Files are written under
// a temporary name and renamed into place on commit(), so a failed or killed run
// never leaves a half-written file under the final name.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace proxysim {

class H5Handle {
 public:
  H5Handle() = default;
  H5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  ~H5Handle();
  hid_t get() const { return id_; }
  // Gives up ownership: the caller closes the id (and checks the result).
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// A 2-D (or 1-D with cols == 0) dataset filled row block by row block.
class H5Matrix {
 public:
  H5Matrix() = default;
  H5Matrix(H5Handle ds, hid_t type, uint64_t rows, uint64_t cols, std::string file)
      : ds_(std::move(ds)), type_(type), rows_(rows), cols_(cols), file_(std::move(file)) {}
  void write_rows(uint64_t first, uint64_t count, const void* data);
  hid_t id() const { return ds_.get(); }

 private:
  H5Handle ds_;
  hid_t type_ = -1;
  uint64_t rows_ = 0, cols_ = 0;
  std::string file_;  // for error messages
};

// Why the last HDF5 call failed, when the system said: the text of the errno the file
// driver recorded on the error stack (e.g. "No space left on device"), else "".
std::string h5_error_cause();
// Throws for a failed HDF5 call on `file`: UserError "<file>: cannot write (<what>):
// <cause>" when the system gave a cause (full disk, quota, file-size limit, I/O
// error), std::runtime_error otherwise.
[[noreturn]] void h5_write_failed(const std::string& file, const std::string& what);

class H5Writer {
 public:
  // Opens `<path>.partial` for writing; throws UserError if the folder is not writable.
  // Every write that fails throws (h5_write_failed); the partial file is removed.
  explicit H5Writer(std::string path);
  ~H5Writer();  // removes the partial file unless committed
  H5Writer(const H5Writer&) = delete;
  H5Writer& operator=(const H5Writer&) = delete;

  void group(const std::string& name);
  // Datasets: `dims` label the axes (an attribute "dims" of the dataset).
  H5Matrix matrix_f32(const std::string& name, uint64_t rows, uint64_t cols, const std::vector<std::string>& dims);
  H5Matrix matrix_u8(const std::string& name, uint64_t rows, uint64_t cols, const std::vector<std::string>& dims);
  H5Matrix vector_u64(const std::string& name, uint64_t rows, const std::string& dim);
  H5Matrix vector_f32(const std::string& name, uint64_t rows, const std::string& dim);
  // A whole float32 array of any rank, written at once (small results such as a
  // [scheme, target, n] cube).
  void array_f32(const std::string& name, const std::vector<uint64_t>& shape, const float* data,
                 const std::vector<std::string>& dims);
  void strings(const std::string& name, const std::vector<std::string>& values, const std::string& dim);
  void attr(const std::string& object, const std::string& name, const std::string& value);
  void attr(const std::string& object, const std::string& name, int64_t value);
  void attr(const std::string& object, const std::string& name, double value);
  // Flushes, closes and renames into place.
  void commit();
  const std::string& path() const { return path_; }
  hid_t file_id() const { return file_.get(); }  // for copying whole cell files in (io/h5_merge.hpp)

 private:
  H5Matrix make(const std::string& name, hid_t type, uint64_t rows, uint64_t cols, const std::vector<std::string>& dims);
  std::string path_;
  std::string partial_;
  H5Handle file_;
  bool committed_ = false;
};

}  // namespace proxysim
