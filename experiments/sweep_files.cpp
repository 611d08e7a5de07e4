#include "experiments/sweep_files.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "experiments/progress.hpp"
#include "io/atomic_file.hpp"
#include "io/h5.hpp"
#include "io/h5_merge.hpp"
#include "io/run_info.hpp"
#include "base/error.hpp"

namespace proxysim {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string fingerprint(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string manifest_of(const SweepPlan& plan, const SweepOptions& o) {
  std::string m = "# proxysim sweep manifest: a resume continues only the run these cells describe\n";
  m += "backend_override: '" + o.backend + "'\ncells: " + std::to_string(plan.cells.size()) + "\n";
  for (const auto& c : plan.cells) m += "--- # cell " + std::to_string(c.index) + "\n" + c.yaml + "\n";
  return m;
}

std::string cell_file(const fs::path& work, uint64_t i) { return (work / (std::to_string(i) + ".h5")).string(); }
std::string cell_sum(const fs::path& work, uint64_t i) { return (work / (std::to_string(i) + ".sum")).string(); }

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A previous, unfinished run of the same cells under results/runs/<name>/, to resume.
std::string find_resumable(const std::string& name, const std::string& manifest) {
  const fs::path dir = fs::path("results/runs") / name;
  std::error_code ec;
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(dir, ec)) runs.push_back(e.path());
  std::sort(runs.rbegin(), runs.rend());
  for (const auto& r : runs) {
    const fs::path m = r / "result.h5.cells" / "manifest.yaml";
    if (fs::exists(m) && !fs::exists(r / "result.h5") && slurp(m) == manifest) return (r / "result.h5").string();
  }
  return "";
}

}  // namespace

Prepared prepare(const SweepPlan& plan, const SweepOptions& o, const std::string& manifest, const std::string& fp,
                 std::ostream& log) {
  const ExperimentConfig& base = plan.cells.front().config;
  Prepared p;
  p.output = o.output.empty() ? base.output : o.output;
  if (p.output.empty()) {
    p.output = find_resumable(base.name, manifest);
    if (!p.output.empty() && !o.quiet) fmt::print(log, "proxysim: resuming {}\n", p.output);
  }
  if (p.output.empty()) p.output = "results/runs/" + base.name + "/" + utc_timestamp_compact() + "/result.h5";
  const fs::path work = p.output + ".cells";
  std::error_code exists_ec;
  const bool output_exists = fs::exists(p.output, exists_ec);
  if (exists_ec) throw UserError(p.output + ": cannot use this output path: " + exists_ec.message());
  if (output_exists) {
    std::string have;
    try {
      have = h5_root_string_attr_isolated(p.output, "sweep_fingerprint");
    } catch (const UserError&) {
      throw UserError(p.output + ": exists but is not a readable HDF5 file (truncated or corrupt?); refusing to "
                      "overwrite or resume it: move it away");
    }
    if (have == fp) {
      p.complete = true;
      std::error_code ec;
      fs::remove_all(work, ec);  // a run killed after its final rename
      return p;
    }
    throw UserError(p.output + ": already holds " +
                    (have.empty() ? std::string("an HDF5 file that is not a proxysim result")
                                  : std::string("the results of different cells (another config or --set)")) +
                    "; refusing to overwrite it: move it away or write elsewhere with --out");
  }
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) throw UserError(p.output + ": cannot create the cells folder " + work.string() + ": " + ec.message());
  const fs::path mf = work / "manifest.yaml";
  if (fs::exists(mf)) {
    if (slurp(mf) != manifest) {
      throw UserError(work.string() + ": holds the unfinished cells of a different experiment (its manifest.yaml "
                      "differs from this config's cells); remove the folder or write elsewhere with --out");
    }
  } else {
    write_atomically(mf, manifest);
  }
  for (const auto& c : plan.cells) {
    const std::string f = cell_file(work, c.index), sum = cell_sum(work, c.index);
    if (!fs::exists(sum)) {
      // Killed between the cell file's rename and its checksum: not complete yet.
      std::error_code ec;
      fs::remove(f, ec);
      p.todo.push_back(c.index);
    } else if (!fs::exists(f) || file_checksum(f) != trimmed(slurp(sum))) {
      // Only a finished cell has a checksum, so this file was damaged or replaced
      // afterwards; it is evidence, not something to overwrite, nor bytes to hand to
      // HDF5 (whose 1.10 reader can crash on a damaged file).
      throw UserError(f + ": a completed cell file that changed since it was written (size or checksum differs "
                      "from " + sum + ": truncated or corrupt?); refusing to overwrite it: move both away and run "
                      "again to recompute cell " + std::to_string(c.index));
    }
  }
  return p;
}

uint64_t count_complete(const fs::path& work, const std::vector<uint64_t>& todo) {
  uint64_t n = 0;
  for (uint64_t i : todo) n += fs::exists(cell_sum(work, i));
  return n;
}

namespace {

// Refuses to start a merge that cannot fit: the merged file is about the cells' files
// together. Checked first because HDF5 1.10 can crash, rather than fail, when a write
// inside H5Ocopy runs out of room.
void check_room(const std::string& output, uint64_t bytes) {
  const fs::path dir = fs::absolute(output).parent_path();
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) == 0) {
    const double avail = static_cast<double>(v.f_bavail) * static_cast<double>(v.f_frsize);
    if (avail < static_cast<double>(bytes)) {
      throw UserError(fmt::format("{}: cannot write (merge): the merged file needs about {} and {} has {} free: {}",
                                  output, human_bytes(static_cast<double>(bytes)), dir.string(), human_bytes(avail),
                                  std::strerror(ENOSPC)));
    }
  }
  struct rlimit r {};
  if (::getrlimit(RLIMIT_FSIZE, &r) == 0 && r.rlim_cur != RLIM_INFINITY && r.rlim_cur < bytes) {
    throw UserError(fmt::format("{}: cannot write (merge): the merged file needs about {}; this process may write "
                                "files of at most {} (ulimit -f): {}",
                                output, human_bytes(static_cast<double>(bytes)),
                                human_bytes(static_cast<double>(r.rlim_cur)), std::strerror(EFBIG)));
  }
}

}  // namespace

void merge(const SweepPlan& plan, const SweepOptions& o, const World& world, const std::string& output,
           const std::string& fp) {
  const fs::path work = output + ".cells";
  uint64_t bytes = uint64_t{1} << 20;
  for (const auto& c : plan.cells) bytes += fs::file_size(cell_file(work, c.index)) * 17 / 16;
  check_room(output, bytes);
  H5Writer w(output);
  for (const auto& c : plan.cells) {
    const std::string g = "/cells/" + std::to_string(c.index);
    copy_file_into_group(w.file_id(), g, cell_file(work, c.index));
    w.attr(g, "index", static_cast<int64_t>(c.index));
    w.attr(g, "axes", describe_axes(c));
    for (const auto& [k, v] : c.axes) w.attr(g, "axis:" + k, v);
    w.attr(g, "cell_config", c.yaml);
    const fs::path lg = work / (std::to_string(c.index) + ".log");
    if (fs::exists(lg)) w.attr(g, "log", slurp(lg));
  }
  const std::string backend = h5_root_string_attr(cell_file(work, 0), "backend");
  const RunInfo info = collect_run_info(backend.empty() ? "cpu" : backend);
  w.attr("/", "proxysim_version", info.version);
  w.attr("/", "git_commit", info.git_commit);
  w.attr("/", "backend", info.backend);
  w.attr("/", "device_name", h5_root_string_attr(cell_file(work, 0), "device_name"));
  w.attr("/", "created_utc", info.created_utc);
  w.attr("/", "hostname", info.hostname);
  w.attr("/", "build_isa", h5_root_string_attr(cell_file(work, 0), "build_isa"));
  w.attr("/", "config", plan.text);
  w.attr("/", "config_file", plan.file);
  std::string sets;
  for (const auto& s : plan.sets) sets += (sets.empty() ? "" : "\n") + s;
  w.attr("/", "overrides", sets);
  std::string axes;
  for (const auto& a : plan.axis_names) axes += (axes.empty() ? "" : "\n") + a;
  w.attr("/", "sweep_axes", axes);
  w.attr("/", "cells", static_cast<int64_t>(plan.cells.size()));
  w.attr("/", "ranks", static_cast<int64_t>(world.size));
  w.attr("/", "backend_override", o.backend);
  w.attr("/", "sweep_fingerprint", fp);
  w.commit();
  std::error_code ec;
  fs::remove_all(work, ec);
}


}  // namespace proxysim
