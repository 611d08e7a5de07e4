#include "experiments/sweep_run.hpp"

#include <omp.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "experiments/adapt.hpp"
#include "experiments/cover.hpp"
#include "experiments/select.hpp"
#include "experiments/stage_checks.hpp"
#include "io/device_yaml.hpp"
#include "io/h5.hpp"
#include "io/atomic_file.hpp"
#include "io/h5_merge.hpp"
#include "io/measured_csv.hpp"
#include "io/run_info.hpp"
#include "kernels/engine.hpp"
#include "sim/error.hpp"
#include "sim/space.hpp"

namespace proxysim {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// FNV-1a: a stable fingerprint of the expanded cells, the same in every build.
std::string fingerprint(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

// What a resume must agree on: every cell's whole config, in order, and the backend
// override (a CPU cell and a CUDA cell may differ in the last bits).
std::string manifest_of(const SweepPlan& plan, const SweepOptions& o) {
  std::string m = "# proxysim sweep manifest: a resume continues only the run these cells describe\n";
  m += "backend_override: '" + o.backend + "'\ncells: " + std::to_string(plan.cells.size()) + "\n";
  for (const auto& c : plan.cells) m += "--- # cell " + std::to_string(c.index) + "\n" + c.yaml + "\n";
  return m;
}

std::string cell_file(const fs::path& work, uint64_t i) { return (work / (std::to_string(i) + ".h5")).string(); }
// A cell is complete when its file and, written after it, its checksum both exist.
std::string cell_sum(const fs::path& work, uint64_t i) { return (work / (std::to_string(i) + ".sum")).string(); }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string human_seconds(double s) {
  if (!std::isfinite(s)) return "?";
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  return fmt::format("{}h{:02}m", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
}

std::string human_bytes(double b) {
  if (b < 1024.0 * 1024) return fmt::format("{:.0f} KiB", b / 1024);
  if (b < 1024.0 * 1024 * 1024) return fmt::format("{:.1f} MiB", b / (1024.0 * 1024));
  return fmt::format("{:.2f} GiB", b / (1024.0 * 1024 * 1024));
}

// Cells done, rate and ETA: a redrawn bar on a terminal, a line every 10 s otherwise
// (logs of batch jobs), nothing when quiet.
class Progress {
 public:
  Progress(uint64_t total, uint64_t done, bool enabled, std::ostream& out)
      : total_(total), start_done_(done), done_(done), enabled_(enabled), out_(out), tty_(isatty(STDERR_FILENO) != 0),
        t0_(Clock::now()), last_(t0_) {
    if (enabled_) draw(true);
  }
  void update(uint64_t done) {
    if (!enabled_ || done == done_) return;
    done_ = done;
    draw(done_ == total_);
  }
  void finish() {
    if (enabled_ && tty_ && drawn_) out_ << "\n";
    drawn_ = false;
  }

 private:
  void draw(bool force) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0_).count();
    const uint64_t ran = done_ - start_done_;
    const double rate = ran > 0 ? ran / std::max(elapsed, 1e-9) : 0.0;
    const double eta = rate > 0 ? (total_ - done_) / rate : NAN;
    const std::string rate_s = ran == 0 ? "-" : rate >= 1 ? fmt::format("{:.2f} cells/s", rate)
                                                          : fmt::format("{:.2f} cells/min", rate * 60);
    const std::string eta_s = done_ == total_ ? "done in " + human_seconds(elapsed) : "ETA " + human_seconds(eta);
    if (tty_) {
      constexpr int kWidth = 30;
      const int fill = static_cast<int>(kWidth * done_ / std::max<uint64_t>(total_, 1));
      fmt::print(out_, "\r[{}{}] {}/{} cells  {}  {}   ", std::string(fill, '#'), std::string(kWidth - fill, '.'), done_,
                 total_, rate_s, eta_s);
      out_.flush();
      drawn_ = true;
    } else if (force || now - last_ >= std::chrono::seconds(10)) {
      fmt::print(out_, "proxysim: {}/{} cells, {}, {}\n", done_, total_, rate_s, eta_s);
      last_ = now;
    }
  }
  uint64_t total_, start_done_, done_;
  bool enabled_;
  std::ostream& out_;
  bool tty_;
  bool drawn_ = false;
  Clock::time_point t0_, last_;
};

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

struct Prepared {
  std::string output;
  bool complete = false;         // the result file exists with these cells
  std::vector<uint64_t> todo;    // cells still to run
};

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

}  // namespace

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& log) {
  if (plan.cells.empty()) throw UserError("the sweep has no cells");
  check_memory(plan, options, world);
  const uint64_t N = plan.cells.size();
  const std::string manifest = manifest_of(plan, options);
  const std::string fp = fingerprint(manifest);

  // Rank 0 decides the output, checks what a resume finds and tells the others.
  std::string status;
  Prepared prep;
  if (world.rank == 0) {
    try {
      prep = prepare(plan, options, manifest, fp, log);
      status = "ok\n" + prep.output + "\n" + (prep.complete ? "1" : "0") + "\n";
      for (uint64_t i : prep.todo) status += std::to_string(i) + " ";
    } catch (const UserError& e) {
      status = std::string("error\n") + e.what();
    }
  }
  status = world_broadcast(world, status);
  if (status.rfind("error\n", 0) == 0) throw UserError(status.substr(6));
  {
    std::istringstream in(status);
    std::string ok, complete;
    std::getline(in, ok);
    std::getline(in, prep.output);
    std::getline(in, complete);
    prep.complete = complete == "1";
    prep.todo.clear();
    uint64_t i = 0;
    while (in >> i) prep.todo.push_back(i);
  }
  SweepOutcome out;
  out.output = prep.output;
  out.cells = N;
  out.resumed = prep.complete ? N : N - prep.todo.size();
  if (prep.complete) {
    if (world.rank == 0 && !options.quiet) fmt::print(log, "proxysim: {} already holds these {} cells\n", prep.output, N);
    return out;
  }
  const fs::path work = prep.output + ".cells";
  if (world.rank == 0 && !options.quiet && out.resumed > 0) {
    fmt::print(log, "proxysim: resuming: {} of {} cells already complete in {}\n", out.resumed, N, work.string());
  }
  if (world.rank == 0 && !options.quiet && world.size > 1) {
    fmt::print(log, "proxysim: {} cells over {} ranks, {} threads per rank\n", prep.todo.size(), world.size,
               omp_get_max_threads());
  }

  // One process and one cell: its log goes straight to the terminal, as a plain run's.
  const bool direct = N == 1 && world.size == 1;
  Progress progress(N, out.resumed, world.rank == 0 && !options.quiet && !direct, log);
  std::string failure;  // "code\tcell\tmessage"
  uint64_t done_here = 0;
  for (size_t k = world.rank; k < prep.todo.size(); k += world.size) {
    const SweepCell& cell = plan.cells[prep.todo[k]];
    RunOptions ro;
    ro.backend = options.backend;
    ro.checkpoint = options.checkpoint;
    ro.output = cell_file(work, cell.index);
    std::ostringstream cell_log;
    ro.quiet = direct ? options.quiet : false;
    try {
      RunResult r = run_experiment(cell.config, ro, direct ? log : static_cast<std::ostream&>(cell_log));
      if (!direct) {
        // The tables a one-cell run prints, kept with the cell (its group's `log`).
        print_summary(r, cell_log, cell.config.summary_rows);
        write_atomically(work / (std::to_string(cell.index) + ".log"), cell_log.str());
      }
      // Last: the checksum that makes the cell count as complete.
      write_atomically(cell_sum(work, cell.index), file_checksum(cell_file(work, cell.index)) + "\n");
      if (direct) {
        out.single = true;
        r.output = prep.output;
        out.result = std::move(r);
      }
    } catch (const UserError& e) {
      failure = "2\t" + std::to_string(cell.index) + "\t" + e.what();
    } catch (const std::exception& e) {
      failure = "3\t" + std::to_string(cell.index) + "\t" + e.what();
    }
    if (!failure.empty()) break;
    ++done_here;
    if (world.rank == 0) progress.update(world.size == 1 ? out.resumed + done_here : out.resumed + count_complete(work, prep.todo));
  }
  auto poll = [&] {
    if (world.rank == 0) progress.update(out.resumed + count_complete(work, prep.todo));
  };
  world_wait_all(world, poll);
  poll();
  progress.finish();

  // Failures, gathered to rank 0: the run fails naming rank and cell; finished cells stay.
  const std::vector<std::string> failures = world_gather(world, failure);
  std::string verdict;
  if (world.rank == 0) {
    std::string message;
    bool internal = false;
    for (size_t r = 0; r < failures.size(); ++r) {
      if (failures[r].empty()) continue;
      const auto t1 = failures[r].find('\t'), t2 = failures[r].find('\t', t1 + 1);
      const uint64_t cell = std::stoull(failures[r].substr(t1 + 1, t2 - t1 - 1));
      const std::string what = failures[r].substr(t2 + 1);
      internal = internal || failures[r][0] == '3';
      if (direct && !plan.swept) {
        message = what;  // a plain run's error reads as it always has
      } else {
        const std::string axes = describe_axes(plan.cells[cell]);
        message += (message.empty() ? "" : "; ") + (world.size > 1 ? "rank " + std::to_string(r) + ": " : "") +
                   "cell " + std::to_string(cell) + (axes.empty() ? "" : " (" + axes + ")") + " failed: " + what;
      }
    }
    if (!message.empty()) {
      const uint64_t complete = out.resumed + count_complete(work, prep.todo);
      if (complete == 0) {
        std::error_code ec;
        fs::remove_all(work, ec);  // nothing to resume
      } else {
        message += fmt::format(" ({} of {} cells are complete in {}; run the same command again to resume)", complete,
                               N, work.string());
      }
      verdict = (internal ? "3" : "2") + message;
    }
  }
  verdict = world_broadcast(world, verdict);
  if (!verdict.empty()) {
    if (verdict[0] == '3') throw std::runtime_error(verdict.substr(1));
    throw UserError(verdict.substr(1));
  }
  if (world.rank == 0) {
    try {
      merge(plan, options, world, prep.output, fp);
    } catch (const UserError& e) {
      throw UserError(fmt::format("{} (all {} cells are complete in {}; run the same command again to merge them)",
                                  e.what(), N, work.string()));
    }
  }
  return out;
}

double available_memory_bytes() {
  double best = 0;
  {
    std::ifstream in("/proc/meminfo");
    std::string key;
    double kib = 0;
    std::string unit;
    while (in >> key >> kib >> unit) {
      if (key == "MemAvailable:") {
        best = kib * 1024.0;
        break;
      }
    }
  }
  // cgroup v2: memory.max ("max" = none) less memory.current; v1: limit_in_bytes.
  auto read_number = [](const char* path) -> double {
    std::ifstream in(path);
    std::string v;
    if (!(in >> v) || v == "max") return 0;
    try {
      return std::stod(v);
    } catch (const std::exception&) {
      return 0;
    }
  };
  const double v2_max = read_number("/sys/fs/cgroup/memory.max");
  if (v2_max > 0) {
    const double room = v2_max - read_number("/sys/fs/cgroup/memory.current");
    if (room > 0 && (best == 0 || room < best)) best = room;
  }
  const double v1_max = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (v1_max > 0 && v1_max < 1e18) {
    const double room = v1_max - read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
    if (room > 0 && (best == 0 || room < best)) best = room;
  }
  return best;
}

double parse_memory_size(const std::string& text, const std::string& what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  double scale = 1;
  const std::string rest = text.substr(used);
  if (rest == "K" || rest == "KiB") scale = 1024.0;
  else if (rest == "M" || rest == "MiB") scale = 1024.0 * 1024;
  else if (rest == "G" || rest == "GiB") scale = 1024.0 * 1024 * 1024;
  else if (rest == "T" || rest == "TiB") scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!rest.empty()) used = 0;
  if (used == 0 || !std::isfinite(v) || v <= 0) {
    throw UserError(what + ": '" + text + "' is not a memory size (a positive number of bytes, or with K, M, G or T)");
  }
  return v * scale;
}

namespace {

// The memory limit of one cell and where it comes from; 0 when unknown.
double memory_limit(const SweepOptions& options, const World& world, std::string& source) {
  if (options.max_memory_bytes > 0) {
    source = "--max-memory";
    return options.max_memory_bytes;
  }
  const int local = std::max(1, world.local_size);
  source = local > 1 ? fmt::format("available on this node, shared by {} ranks", local) : "available on this machine";
  return available_memory_bytes() / local;
}

}  // namespace

void check_memory(const SweepPlan& plan, const SweepOptions& options, const World& world) {
  std::string source;
  const double limit = memory_limit(options, world, source);
  if (limit <= 0) return;  // nothing to compare with
  MeasuredCache tables;
  for (const auto& cell : plan.cells) {
    CellEstimate e;
    try {
      e = estimate_cell(cell.config, options.backend, &tables);
    } catch (const UserError& err) {
      if (plan.cells.size() == 1 && !plan.swept) throw;
      throw UserError("cell " + std::to_string(cell.index) + " (" + describe_axes(cell) + "): " + err.what());
    }
    if (e.bytes > limit) {
      const std::string where =
          plan.cells.size() == 1 && !plan.swept ? "this run" : "cell " + std::to_string(cell.index) + " (" + describe_axes(cell) + ")";
      throw UserError(fmt::format("{} needs about {} of memory ({} architectures x {} devices); limit {} ({}); "
                                  "refused before any work: sample fewer architectures, split the sweep, or set "
                                  "--max-memory if the estimate is wrong",
                                  where, human_bytes(e.bytes), e.archs, e.devices, human_bytes(limit), source));
    }
  }
}

CellEstimate estimate_cell(const ExperimentConfig& c, const std::string& backend_override, MeasuredCache* cache) {
  CellEstimate e;
  const SearchSpace space = make_space(c.space, c.dataset);
  const Backend backend = resolve_backend(backend_override.empty() ? c.backend : backend_override);
  std::vector<std::string> names;
  for (const auto& d : c.devices) {
    for (const auto& s : select_devices(d)) names.push_back(s.name);
  }
  for (const auto& p : c.populations) {
    for (const auto& s : population_specs(p)) names.push_back(s.name);
  }
  for (const auto& r : c.srcc_devices) {
    const DeviceSpec proxy = resolve_one_device(r.proxy, (r.where.empty() ? "srcc_to" : r.where) + ".proxy");
    names.push_back(srcc_device_name(r, proxy.name));
  }
  const int simulated = static_cast<int>(names.size());
  std::map<ArchCode, int> measured_rows;
  std::vector<MeasuredTable> tables;
  std::vector<ArchCode> rows;  // the run's architectures, in row order, when known now
  for (const auto& path : c.measured) {
    const std::string key = space.name() + "\n" + path;
    MeasuredTable t;
    if (cache != nullptr && cache->count(key) != 0) {
      t = cache->at(key);
    } else {
      t = read_measured_csv(path, space.name());
      if (cache != nullptr) cache->emplace(key, t);
    }
    for (const auto& d : t.devices) {
      names.push_back(std::find(names.begin(), names.end(), d) == names.end()
                          ? d
                          : fs::path(t.file).stem().string() + ":" + d);
    }
    for (const auto& code : t.codes) {
      if (measured_rows.emplace(code, 0).second && c.archs.kind == ArchSelection::Kind::kMeasured) rows.push_back(code);
    }
    tables.push_back(std::move(t));
  }
  switch (c.archs.kind) {
    case ArchSelection::Kind::kEnumerate: {
      const auto size = space.size();
      if (!size) throw UserError("archs: all: space '" + space.name() + "' is too large to enumerate; use {sample: N}");
      e.archs = *size;
      break;
    }
    case ArchSelection::Kind::kSample: e.archs = c.archs.count; break;
    case ArchSelection::Kind::kList: {
      std::map<ArchCode, int> seen;
      for (const auto& s : c.archs.list) {
        ArchCode code = space.from_string(s);
        if (seen.emplace(code, 0).second) rows.push_back(std::move(code));
      }
      e.archs = rows.size();
      break;
    }
    case ArchSelection::Kind::kMeasured: e.archs = measured_rows.size(); break;
  }
  if (c.archs.kind == ArchSelection::Kind::kEnumerate && (c.adapt || c.nas) && e.archs <= (uint64_t{1} << 26)) {
    rows.reserve(e.archs);
    for (uint64_t i = 0; i < e.archs; ++i) rows.push_back(space.code_at(i));
  }
  e.devices = static_cast<int>(names.size());
  if (e.devices == 0) throw UserError("no devices: name simulated devices or measured: files");
  check_stage_devices(c, names);
  check_stage_data(c, space, names, simulated, tables, rows);

  // Memory: the latency matrix and codes held for the later stages, the eval chunk's
  // buffers, and the D x D statistics.
  const double n = static_cast<double>(e.archs), D = e.devices, K = space.decisions();
  const bool hold = c.monotonicity || c.adapt || c.select || c.cover || c.nas || c.deploy;
  const double chunk = std::min<double>(c.eval_stage.chunk, n);
  e.bytes = (hold ? n * D * 4 + n * K : 0) + chunk * (K + 8.0 * D + 24) + 8.0 * D * D * 4;
  // The rank statistics: a rank per entry and the sorts' keys (measured peak 1.94x
  // the matrix for SRCC of 10^6 x 32).
  if (c.monotonicity || c.select || c.cover) e.bytes += n * D * 4 + n * 16;
  // Time: rates measured on this 2-core EPYC with every thread, scaled by the threads
  // this process has: rough (within a few x), meant to size jobs, not to promise.
  const double threads = std::max(1, omp_get_max_threads());
  const double speed = threads / 2.0 * (backend == Backend::kCuda ? 20.0 : 1.0);
  const bool chain = space.id() != SpaceId::kNb201;
  // Per cell: start-up and provenance; per architecture: sampling, lowering for MACs
  // and parameters, and the HDF5 rows; per architecture and device: the latency model.
  e.seconds = 0.1 + n * 4e-6 / speed + n * simulated / ((chain ? 4e8 : 3e6) * speed);
  if (c.monotonicity) {
    e.seconds += D * D * n * (c.monotonicity_stage.kendall ? 2e-8 * std::log2(std::max(n, 2.0)) : 5e-9) / speed;
    e.seconds += c.monotonicity_stage.bootstrap * D * D * n * 5e-9 / speed;
  }
  if (c.adapt) {
    const auto& a = c.adapt_stage;
    const double targets = a.targets.empty() ? D - 1 : a.targets.size();
    double per_repeat = 0;
    // A fit predicts and ranks every architecture once per candidate regularisation.
    for (int64_t b : a.n) per_repeat += 4e-3 + 2e-6 * n + 5e-5 * static_cast<double>(b);
    e.seconds += a.schemes.size() * targets * a.repeats * per_repeat / speed;
  }
  if (c.select) {
    const auto& s = c.select_stage;
    double per_repeat = 0;
    for (int64_t b : s.n) per_repeat += 2e-6 * D * static_cast<double>(b);
    e.seconds += s.rules.size() * D * s.repeats * per_repeat / speed + D * D * n * 5e-9 / speed;
  }
  if (c.cover) e.seconds += D * D * n * 5e-9 / speed;
  return e;
}

void print_dry_run(const SweepPlan& plan, const SweepOptions& options, const World& world, std::ostream& out) {
  std::vector<CellEstimate> est;
  MeasuredCache tables;
  for (const auto& cell : plan.cells) {
    try {
      est.push_back(estimate_cell(cell.config, options.backend, &tables));
    } catch (const UserError& e) {
      if (plan.cells.size() == 1 && !plan.swept) throw;
      throw UserError("cell " + std::to_string(cell.index) + " (" + describe_axes(cell) + "): " + e.what());
    }
  }
  if (world.rank != 0) return;
  const ExperimentConfig& base = plan.cells.front().config;
  const std::string output = !options.output.empty() ? options.output
                             : !base.output.empty()  ? base.output
                                                     : "results/runs/" + base.name + "/<UTC timestamp>/result.h5";
  fmt::print(out, "{}: {} cell{}, valid; would write {}\n", plan.file.empty() ? "config" : plan.file, plan.cells.size(),
             plan.cells.size() == 1 ? "" : "s", output);
  fmt::print(out, "{:>6}  {:>10}  {:>7}  {:>10}  {:>9}  {}\n", "cell", "archs", "devices", "memory", "time", "axes");
  double total = 0, peak = 0;
  for (size_t i = 0; i < plan.cells.size(); ++i) {
    const auto& e = est[i];
    total += e.seconds;
    peak = std::max(peak, e.bytes);
    fmt::print(out, "{:>6}  {:>10}  {:>7}  {:>10}  {:>9}  {}\n", i, e.archs, e.devices, human_bytes(e.bytes),
               human_seconds(e.seconds), describe_axes(plan.cells[i]));
  }
  fmt::print(out, "estimated: {} in all, {} over {} rank{}, peak {} per rank ({} thread{} each); nothing computed\n",
             human_seconds(total), human_seconds(total / world.size), world.size, world.size == 1 ? "" : "s",
             human_bytes(peak), omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
  std::string source;
  if (const double limit = memory_limit(options, world, source); limit > 0) {
    int over = 0;
    for (const auto& e : est) over += e.bytes > limit;
    fmt::print(out, "memory limit per cell: {} ({}); {}\n", human_bytes(limit), source,
               over == 0 ? std::string("every cell fits") : fmt::format("{} cell{} over it would be refused", over, over == 1 ? "" : "s"));
  }
}

}  // namespace proxysim
