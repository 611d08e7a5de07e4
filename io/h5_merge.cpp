#include "io/h5_merge.hpp"

#include <stdexcept>
#include <vector>

#include "io/h5.hpp"
#include "sim/error.hpp"

namespace proxysim {

namespace {

void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error("HDF5 error: " + what);
}

hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5 error: " + what);
  return id;
}

struct CopyContext {
  hid_t dst;
  std::string error;
};

herr_t copy_attr(hid_t src, const char* name, const H5A_info_t*, void* data) {
  auto* ctx = static_cast<CopyContext*>(data);
  H5Handle a(H5Aopen(src, name, H5P_DEFAULT), H5Aclose);
  if (a.get() < 0) {
    ctx->error = name;
    return -1;
  }
  H5Handle type(H5Aget_type(a.get()), H5Tclose);
  H5Handle space(H5Aget_space(a.get()), H5Sclose);
  H5Handle out(H5Acreate2(ctx->dst, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (out.get() < 0) {
    ctx->error = name;
    return -1;
  }
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> values(static_cast<size_t>(points), nullptr);
    if (H5Aread(a.get(), type.get(), values.data()) < 0 || H5Awrite(out.get(), type.get(), values.data()) < 0) {
      ctx->error = name;
    }
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, values.data());
  } else {
    std::vector<unsigned char> buf(static_cast<size_t>(points) * H5Tget_size(type.get()));
    if (H5Aread(a.get(), type.get(), buf.data()) < 0 || H5Awrite(out.get(), type.get(), buf.data()) < 0) ctx->error = name;
  }
  return ctx->error.empty() ? 0 : -1;
}

herr_t copy_link(hid_t src, const char* name, const H5L_info_t*, void* data) {
  auto* ctx = static_cast<CopyContext*>(data);
  if (H5Ocopy(src, name, ctx->dst, name, H5P_DEFAULT, H5P_DEFAULT) < 0) {
    ctx->error = name;
    return -1;
  }
  return 0;
}

}  // namespace

void copy_file_into_group(hid_t dst, const std::string& dst_group, const std::string& src_path) {
  H5Handle src(H5Fopen(src_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (src.get() < 0) throw UserError(src_path + ": cannot read this cell file (not HDF5, truncated or corrupt)");
  H5Handle lcpl(checked(H5Pcreate(H5P_LINK_CREATE), "lcpl"), H5Pclose);
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), "intermediate groups");
  H5Handle group(checked(H5Gcreate2(dst, dst_group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), "group " + dst_group),
                 H5Gclose);
  H5Handle root(checked(H5Gopen2(src.get(), "/", H5P_DEFAULT), "root of " + src_path), H5Gclose);
  CopyContext ctx{group.get(), {}};
  hsize_t idx = 0;
  if (H5Literate(root.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, copy_link, &ctx) < 0) {
    throw std::runtime_error("HDF5 error: copying '" + ctx.error + "' of " + src_path);
  }
  idx = 0;
  if (H5Aiterate2(root.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, copy_attr, &ctx) < 0) {
    throw std::runtime_error("HDF5 error: copying attribute '" + ctx.error + "' of " + src_path);
  }
}

bool h5_file_has_root_attr(const std::string& path, const std::string& attr) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f.get() < 0) return false;
  return H5Aexists(f.get(), attr.c_str()) > 0;
}

std::string h5_root_string_attr(const std::string& path, const std::string& attr) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f.get() < 0) throw UserError(path + ": not a readable HDF5 file (truncated or corrupt?)");
  if (H5Aexists(f.get(), attr.c_str()) <= 0) return "";
  H5Handle a(checked(H5Aopen(f.get(), attr.c_str(), H5P_DEFAULT), "attribute " + attr), H5Aclose);
  H5Handle type(checked(H5Tcopy(H5T_C_S1), "string type"), H5Tclose);
  check(H5Tset_size(type.get(), H5T_VARIABLE), "string size");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string cset");
  char* p = nullptr;
  if (H5Aread(a.get(), type.get(), &p) < 0) return "";
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

}  // namespace proxysim
