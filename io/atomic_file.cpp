#include "io/atomic_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/error.hpp"

namespace proxysim {

void write_atomically(const std::filesystem::path& path, const std::string& text) {
  namespace fs = std::filesystem;
  // As the HDF5 writer does: an output's folder is made when missing (results/runs/
  // on a fresh clone), so that a run does not fail at its end for want of one.
  if (path.has_parent_path()) {
    std::error_code made;
    fs::create_directories(path.parent_path(), made);
    if (made) throw UserError(path.string() + ": cannot create folder " + path.parent_path().string() + ": " + made.message());
  }
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    out.close();  // a full disk shows at the last flush
    if (!out) {
      const int err = errno;
      std::error_code ec;
      fs::remove(tmp, ec);
      throw UserError(path.string() + ": cannot write: " + std::strerror(err));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw UserError(path.string() + ": cannot move into place: " + ec.message());
  }
}

}  // namespace proxysim
