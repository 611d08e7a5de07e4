#include "io/h5_merge.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "io/h5.hpp"
#include "base/error.hpp"

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

std::string h5_root_string_attr_isolated(const std::string& path, const std::string& attr, double timeout_s) {
  int fds[2];
  if (::pipe(fds) != 0) return h5_root_string_attr(path, attr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return h5_root_string_attr(path, attr);
  }
  if (pid == 0) {
    ::close(fds[0]);
    std::string reply;
    try {
      reply = "ok\n" + h5_root_string_attr(path, attr);
    } catch (const std::exception& e) {
      reply = std::string("error\n") + e.what();
    }
    const char* p = reply.data();
    size_t left = reply.size();
    while (left > 0) {
      const ssize_t w = ::write(fds[1], p, left);
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
    ::_exit(0);  // no exit handlers: the parent owns every other resource
  }
  ::close(fds[1]);
  std::string reply;
  char buf[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  bool timed_out = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r <= 0) break;  // the child closed its end: done
    reply.append(buf, static_cast<size_t>(r));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) {
    throw UserError(path + ": not a readable HDF5 file (the HDF5 library had not finished reading it after " +
                    std::to_string(static_cast<int>(timeout_s)) + " s: corrupt?)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || reply.rfind("ok\n", 0) != 0) {
    if (reply.rfind("error\n", 0) == 0 && WIFEXITED(status)) throw UserError(reply.substr(6));
    throw UserError(path + ": not a readable HDF5 file (the HDF5 library failed reading it: truncated or corrupt?)");
  }
  return reply.substr(3);
}

std::string file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path + ": cannot read");
  // 64-bit words mixed by multiply-rotate (the size is part of the fingerprint, so a
  // zero tail cannot hide a truncation).
  uint64_t h = 0x9e3779b97f4a7c15ull, size = 0;
  std::vector<char> buf(size_t{1} << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    size_t i = 0;
    for (; i + 8 <= got; i += 8) {
      uint64_t w;
      std::memcpy(&w, buf.data() + i, 8);
      h = ((h ^ w) * 0xff51afd7ed558ccdull);
      h = (h << 29) | (h >> 35);
    }
    for (; i < got; ++i) h = ((h ^ static_cast<unsigned char>(buf[i])) * 0x100000001b3ull);
    size += got;
  }
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  char text[64];
  std::snprintf(text, sizeof text, "%016llx %llu", static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(size));
  return text;
}

}  // namespace proxysim
