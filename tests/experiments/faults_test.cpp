// Fault injection on real runs of the CLI: SIGKILL at seeded random moments of a sweep
// (including its merge), a full disk (a file-size limit: writes fail as on a full
// file system), a results folder the process may not write, a truncated result file,
// and a sweep too large for memory. Each test fails if the fault loses finished work,
// leaves a damaged file under a name that counts as complete, or overwrites what was
// there; every run that is resumed must end equal, dataset by dataset, to an
// uninterrupted one.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "io/h5_merge.hpp"
#include "tests/support/h5_compare.hpp"
#include "tests/support/sanitized.hpp"
#include "tests/support/scratch.hpp"
#include "tests/support/spawn.hpp"

namespace fs = std::filesystem;
using namespace proxysim::test;

namespace {

// Eight cells of a fraction of a second each on two cores (fewer architectures under
// the sanitizers, which make each several times slower).
std::string sweep_config(const std::string& name) {
  return "name: " + name + R"(
space: fbnet
archs: {sample: )" + (kSanitized ? "20000" : "100000") + R"(, seed: 3}
devices: [pixel3_cpu, raspi4, edgetpu, eyeriss]
stages:
  - eval
  - monotonicity: {kendall: false, top_k: 10}
sweep:
  noise_seed: [0, 1, 2, 3, 4, 5, 6, 7]
)";
}

class Faults : public CliScratch {
 protected:
  // Every cell file of `work` under a finished name (<i>.h5, renamed only when
  // written) is a readable cell, and each checksum names such a file: a kill never
  // leaves a damaged file that counts as complete. The result file, when present,
  // is complete.
  static void expect_nothing_half_written(const fs::path& work, const std::string& out) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(work, ec)) {
      const std::string f = e.path().filename().string();
      if (f.ends_with(".h5") && f.find_first_not_of("0123456789") == f.size() - 3) {
        EXPECT_TRUE(proxysim::h5_file_has_root_attr(e.path().string(), "config")) << e.path() << " looks finished but is not";
      }
      if (f.ends_with(".sum") && f.find_first_not_of("0123456789") == f.size() - 4) {
        const fs::path cell = work / (f.substr(0, f.size() - 4) + ".h5");
        ASSERT_TRUE(fs::exists(cell)) << e.path() << " names no cell file";
        EXPECT_EQ(proxysim::file_checksum(cell.string()) + "\n", slurp(e.path())) << cell << " differs from its checksum";
      }
    }
    if (fs::exists(out)) {
      EXPECT_FALSE(proxysim::h5_root_string_attr(out, "sweep_fingerprint").empty()) << out << " is not a finished result";
    }
  }
  static void expect_equal_files(const std::string& got_path, const std::string& want_path) {
    const FileContents got = read_contents(got_path), want = read_contents(want_path);
    ASSERT_FALSE(want.empty());
    for (const auto& [name, contents] : want) {
      ASSERT_TRUE(got.count(name)) << name << " missing from " << got_path;
      EXPECT_TRUE(got.at(name) == contents) << name << " differs";
    }
    EXPECT_EQ(got.size(), want.size());
  }
};

}  // namespace

TEST_F(Faults, KillNineAtRandomMomentsThenResumeEqualsAnUninterruptedRun) {
  const std::string cfg = write("sweep.yaml", sweep_config("faults_kill"));
  const std::string ref = (dir_ / "reference.h5").string(), out = (dir_ / "result.h5").string();
  const fs::path work = out + ".cells";

  const auto t0 = std::chrono::steady_clock::now();
  const auto [rc_ref, log_ref] = run_cli(cfg, ref, {"--quiet"});
  ASSERT_EQ(rc_ref, 0) << log_ref;
  const double whole_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // Kill moments drawn uniformly over an uninterrupted run's length (seeded: a failure
  // reproduces), each run resuming the last; the last kill lands while the merge may
  // be running: as soon as every cell file exists.
  std::mt19937_64 rng(20261128);
  std::uniform_real_distribution<double> moment(0.0, whole_ms);
  int kills = 0;
  for (int attempt = 0; attempt < 6 && !fs::exists(out); ++attempt) {
    const pid_t pid = spawn({PROXYSIM_BINARY, "run", cfg, "--backend", "cpu", "--out", out, "--quiet"},
                            (dir_ / ("killed" + std::to_string(attempt) + ".txt")).string());
    const auto at = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(1000 * moment(rng)));
    while (std::chrono::steady_clock::now() < at && complete_cells(work) < 8) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    const int rc = wait_for(pid);
    ASSERT_TRUE(rc == -SIGKILL || rc == 0) << rc;
    kills += rc == -SIGKILL;
    expect_nothing_half_written(work, out);
  }
  EXPECT_GE(kills, 3) << "the runs finished before most kills: nothing was interrupted";

  const auto [rc, log] = run_cli(cfg, out);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_FALSE(fs::exists(work)) << "the cells folder outlived the merge";
  expect_equal_files(out, ref);
}

TEST_F(Faults, AFullDiskFailsClearlyKeepsEarlierResultsAndResumeCompletesTheRun) {
  const std::string cfg = write("sweep.yaml", sweep_config("faults_disk"));
  const std::string ref = (dir_ / "reference.h5").string(), out = (dir_ / "result.h5").string();
  const fs::path work = out + ".cells";
  const auto [rc_ref, log_ref] = run_cli(cfg, ref, {"--quiet"});
  ASSERT_EQ(rc_ref, 0) << log_ref;
  const std::string earlier = slurp(ref);

  // Room for every cell file but not for the merged result (eight cells' worth).
  SpawnOptions tight;
  tight.file_size_limit = static_cast<long long>(fs::file_size(ref) / 3);
  // A file whose last write failed cannot be closed: HDF5 keeps it, and its memory,
  // until the process ends (io/h5.cpp), which LeakSanitizer would report.
  const char* asan = std::getenv("ASAN_OPTIONS");
  tight.env = {std::string("ASAN_OPTIONS=") + (asan != nullptr ? std::string(asan) + ":" : "") + "detect_leaks=0"};
  auto [rc, log] = run_cli(cfg, out, {}, tight);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find(out + ": cannot write"), std::string::npos) << log;
  EXPECT_NE(log.find("File too large"), std::string::npos) << log;
  EXPECT_NE(log.find("all 8 cells are complete in " + work.string()), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".partial"));
  EXPECT_EQ(complete_cells(work), 8);
  expect_nothing_half_written(work, out);
  EXPECT_EQ(slurp(ref), earlier) << "an earlier result in the same folder changed";

  // No room for even one cell: the run fails naming the cell, leaves no cell behind.
  fs::remove_all(work);
  tight.file_size_limit = 4096;
  std::tie(rc, log) = run_cli(cfg, out, {}, tight);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("cell 0 (noise_seed=0) failed"), std::string::npos) << log;
  EXPECT_NE(log.find("File too large"), std::string::npos) << log;
  expect_nothing_half_written(work, out);
  EXPECT_FALSE(fs::exists(out));

  // With room again, the same command completes the run, equal to the uninterrupted one.
  std::tie(rc, log) = run_cli(cfg, out);
  ASSERT_EQ(rc, 0) << log;
  expect_equal_files(out, ref);
  EXPECT_EQ(slurp(ref), earlier);
}

TEST_F(Faults, AnUnwritableResultsFolderFailsBeforeAnyWorkAndKeepsWhatIsThere) {
  const std::string cfg = write("sweep.yaml", sweep_config("faults_ro"));
  const fs::path folder = dir_ / "results_ro";
  fs::create_directories(folder);
  const std::string earlier = (folder / "earlier.h5").string();
  auto [rc, log] = run_cli(cfg, earlier, {"--quiet"});
  ASSERT_EQ(rc, 0) << log;
  const std::string kept = slurp(earlier);

  SpawnOptions obey;
  obey.obey_permissions = true;
  fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                              fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  // The precondition: a child started this way cannot write there (root may not be
  // allowed to give up its overrides in some containers).
  const auto [probe_rc, probe_log] = run({"/usr/bin/touch", (folder / "probe").string()}, obey);
  if (probe_rc == 126) GTEST_SKIP() << "cannot drop root's permission overrides here: unwritable folder untested";
  ASSERT_NE(probe_rc, 0) << "the folder is writable after chmod 0555: " << probe_log;

  const std::string out = (folder / "new.h5").string();
  std::tie(rc, log) = run_cli(cfg, out, {}, obey);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find(out + ": cannot create the cells folder"), std::string::npos) << log;
  EXPECT_NE(log.find("Permission denied"), std::string::npos) << log;
  EXPECT_EQ(log.find("cells/s"), std::string::npos) << "work started before the folder was checked: " << log;
  EXPECT_EQ(slurp(earlier), kept);

  // The default output folder, results/runs/<name>/<time>/ under the working folder.
  const fs::path cwd = dir_ / "cwd";
  fs::create_directories(cwd / "results");
  fs::permissions(cwd / "results", fs::perms::owner_read | fs::perms::owner_exec);
  obey.cwd = cwd.string();
  std::tie(rc, log) = run({PROXYSIM_BINARY, "run", cfg, "--backend", "cpu"}, obey);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("results/runs/faults_ro/"), std::string::npos) << log;
  EXPECT_NE(log.find("Permission denied"), std::string::npos) << log;
}

TEST_F(Faults, ATruncatedResultFileIsRefusedNamedAndLeftAsItIs) {
  const std::string cfg = write("sweep.yaml", sweep_config("faults_trunc"));
  const std::string out = (dir_ / "result.h5").string();
  auto [rc, log] = run_cli(cfg, out, {"--quiet"});
  ASSERT_EQ(rc, 0) << log;
  for (const double fraction : {0.5, 0.99, 0.01}) {
    SCOPED_TRACE(fraction);
    const std::string copy = (dir_ / "truncated.h5").string();
    fs::copy_file(out, copy, fs::copy_options::overwrite_existing);
    const auto size = static_cast<uintmax_t>(static_cast<double>(fs::file_size(copy)) * fraction);
    fs::resize_file(copy, size);
    const std::string before = slurp(copy);
    std::tie(rc, log) = run_cli(cfg, copy);
    EXPECT_EQ(rc, 2) << log;
    EXPECT_NE(log.find(copy + ": exists but is not a readable HDF5 file"), std::string::npos) << log;
    EXPECT_EQ(slurp(copy), before) << "the damaged file was changed";
    EXPECT_FALSE(fs::exists(copy + ".cells"));
  }
}

TEST_F(Faults, FilesOnWhichHdf5CrashesAreRefusedNotOverwritten) {
  // Two damaged result files found by fuzz_h5_result: HDF5 1.10 crashes copying one
  // and asks for an absurd allocation opening the other.
  const std::string cfg = write("sweep.yaml", sweep_config("faults_crash"));
  for (const char* name : {"regression-h5ocopy-segv.h5", "regression-huge-alloc.h5"}) {
    SCOPED_TRACE(name);
    const std::string out = (dir_ / name).string();
    fs::copy_file(fs::path(PROXYSIM_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "h5_result" / name, out,
                  fs::copy_options::overwrite_existing);
    const std::string before = slurp(out);
    const auto [rc, log] = run_cli(cfg, out);
    EXPECT_EQ(rc, 2) << log;
    EXPECT_NE(log.find(out + ":"), std::string::npos) << log;
    EXPECT_NE(log.find("refusing to overwrite"), std::string::npos) << log;
    EXPECT_EQ(slurp(out), before) << "the damaged file was changed";
    EXPECT_FALSE(fs::exists(out + ".cells"));
  }
  // The same bytes in place of a finished cell: refused before HDF5 reads them.
  const std::string out = (dir_ / "result.h5").string();
  const fs::path work = out + ".cells";
  const pid_t pid = spawn({PROXYSIM_BINARY, "run", cfg, "--backend", "cpu", "--out", out, "--quiet"},
                          (dir_ / "killed.txt").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (complete_cells(work) < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  wait_for(pid);
  ASSERT_TRUE(fs::exists(work / "0.sum"));
  fs::copy_file(fs::path(PROXYSIM_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "h5_result" / "regression-h5ocopy-segv.h5",
                work / "0.h5", fs::copy_options::overwrite_existing);
  const auto [rc, log] = run_cli(cfg, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find((work / "0.h5").string() + ": a completed cell file that changed since it was written"),
            std::string::npos) << log;
}

TEST_F(Faults, AResultOfOtherCellsUnderTheOutputNameIsNotOverwritten) {
  const std::string a = write("a.yaml", sweep_config("faults_a")), b = write("b.yaml", sweep_config("faults_b"));
  const std::string out = (dir_ / "result.h5").string();
  auto [rc, log] = run_cli(a, out, {"--quiet"});
  ASSERT_EQ(rc, 0) << log;
  const std::string before = slurp(out);
  std::tie(rc, log) = run_cli(b, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find(out + ": already holds the results of different cells"), std::string::npos) << log;
  EXPECT_EQ(slurp(out), before);
  std::tie(rc, log) = run_cli(a, out, {"--set", "archs.seed=9"});
  EXPECT_EQ(rc, 2) << log;
  EXPECT_EQ(slurp(out), before);
}

TEST_F(Faults, ASweepTooLargeForMemoryIsRefusedBeforeAnyWorkWithTheEstimate) {
  const std::string cfg = write("big.yaml", R"(name: faults_big
space: fbnet
archs: {sample: 4000000000, seed: 1}
devices: [pixel3_cpu, raspi4, edgetpu, eyeriss]
stages:
  - eval
  - monotonicity: {kendall: false}
)");
  const std::string out = (dir_ / "big.h5").string();
  auto [rc, log] = run_cli(cfg, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("needs about"), std::string::npos) << log;
  EXPECT_NE(log.find("GiB of memory"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".cells"));

  // A limit given on the command line is what is compared: a small run under a tiny
  // limit is refused, and the same run under a fitting one goes through.
  const std::string small = write("small.yaml", sweep_config("faults_small"));
  std::tie(rc, log) = run_cli(small, out, {"--max-memory", "1M"});
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("limit 1.0 MiB"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out + ".cells"));
  std::tie(rc, log) = run_cli(small, out, {"--max-memory", "8G", "--quiet"});
  EXPECT_EQ(rc, 0) << log;
  std::tie(rc, log) = run_cli(small, out + "2", {"--max-memory", "12x"});
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("--max-memory"), std::string::npos) << log;
}

TEST_F(Faults, AConfigReadsOnlyTheFilesItNamesAndStartsNoProgram) {
  if (!fs::exists("/usr/bin/strace")) GTEST_SKIP() << "strace not installed: file accesses of a run untraced";
  // A device YAML and a measured CSV, both named by the config; the output explicit.
  const std::string device = (dir_ / "my_device.yaml").string();
  fs::copy_file(fs::path(PROXYSIM_SOURCE_DIR) / "sim" / "devices" / "pixel3_cpu.yaml", device);
  const std::string csv = std::string(PROXYSIM_SHARED_DATA) + "/hwnasbench_nb201_cifar10.csv";
  const std::string cfg = write("named.yaml", "name: named_files\nspace: nb201\narchs: measured\n"
                                              "devices: [" + device + "]\nmeasured: [" + csv + "]\n"
                                              "stages: [eval, monotonicity]\n");
  const std::string out = (dir_ / "out" / "result.h5").string();
  const std::string trace = (dir_ / "trace.txt").string();
  // LeakSanitizer cannot run under ptrace; every other check stays on.
  SpawnOptions traced;
  const char* asan = std::getenv("ASAN_OPTIONS");
  traced.env = {std::string("ASAN_OPTIONS=") + (asan != nullptr ? std::string(asan) + ":" : "") + "detect_leaks=0"};
  const auto [rc, log] = run({"/usr/bin/strace", "-f", "-qq", "-o", trace, "-e", "trace=execve,open,openat,creat",
                              PROXYSIM_BINARY, "run", cfg, "--backend", "cpu", "--out", out, "--quiet"},
                             traced);
  if (rc != 0 && log.find("ptrace") != std::string::npos) GTEST_SKIP() << "ptrace not permitted here: " << log;
  ASSERT_EQ(rc, 0) << log;
  ASSERT_TRUE(fs::exists(out));

  // Everything opened outside the system's folders is one of the named files or under
  // the output's folder; the only program started is proxysim itself.
  const std::vector<std::string> system = {"/usr/", "/lib", "/etc/", "/proc/", "/sys/", "/dev/", "/run/"};
  const std::string out_dir = (dir_ / "out").string() + "/";
  int execs = 0, opens = 0;
  std::istringstream lines(slurp(trace));
  for (std::string line; std::getline(lines, line);) {
    const auto q1 = line.find('"'), q2 = line.find('"', q1 + 1);
    if (q1 == std::string::npos || q2 == std::string::npos) continue;
    const std::string path = line.substr(q1 + 1, q2 - q1 - 1);
    if (line.find("execve(") != std::string::npos) {
      ++execs;
      EXPECT_EQ(path, PROXYSIM_BINARY) << "a run started another program: " << line;
      continue;
    }
    ++opens;
    bool ok = path == cfg || path == device || path == csv || path.rfind(out_dir, 0) == 0;
    for (const auto& prefix : system) ok = ok || path.rfind(prefix, 0) == 0;
    EXPECT_TRUE(ok) << "opened a file the config does not name: " << line;
  }
  EXPECT_EQ(execs, 1);
  EXPECT_GT(opens, 3) << "the trace holds no file accesses: is strace tracing?";
}
