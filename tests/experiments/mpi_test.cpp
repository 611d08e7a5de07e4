// MPI: `mpirun -np 2 proxysim run` spreads a sweep's cells over two ranks and must write a file whose every dataset equals (byte for byte) the one-process run's; a rank whose cell fails makes the run fail naming rank and cell, and the other rank's finished cells stay for a resume. Skips, visibly, without mpirun or an MPI build.
#include <gtest/gtest.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/h5_compare.hpp"
#include "tests/support/sanitized.hpp"
#include "tests/support/scratch.hpp"
#include "tests/support/spawn.hpp"

namespace fs = std::filesystem;

using namespace proxysim::test;

namespace {

std::string mpirun_path() {
  for (const char* d : {"/usr/bin/mpirun", "/usr/local/bin/mpirun"}) {
    if (fs::exists(d)) return d;
  }
  return "";
}

class Mpi : public CliScratch {
 protected:
  void SetUp() override {
#if !PROXYSIM_HAVE_MPI
    GTEST_SKIP() << "proxysim was built without MPI (PROXYSIM_MPI=OFF or no MPI found)";
#endif
    mpirun_ = mpirun_path();
    if (mpirun_.empty()) GTEST_SKIP() << "mpirun not found (install openmpi-bin)";
    CliScratch::SetUp();
  }
  std::vector<std::string> mpi(int ranks) const {
    // Root in containers, more ranks than cores here: both must be allowed explicitly.
    std::vector<std::string> argv = {mpirun_, "--allow-run-as-root", "--oversubscribe", "-np", std::to_string(ranks)};
#if PROXYSIM_TEST_ASAN
    // Open MPI's plugins keep allocations until exit and are unloaded before
    // LeakSanitizer looks, so its reports cannot even name them; the ranks skip the leak
    // check only (every other sanitizer check stays on).
    argv.insert(argv.end(), {"-x", "ASAN_OPTIONS=detect_leaks=0"});
#endif
    argv.push_back(PROXYSIM_BINARY);
    return argv;
  }
  std::string mpirun_;
};

// The pid of the process that is MPI rank `rank` of a run writing `out` (its command
// line names the output), or -1.
pid_t find_rank(int rank, const std::string& out) {
  const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream env(e.path() / "environ"), cmd(e.path() / "cmdline");
    std::string environ_text((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    if (cmdline.find(out) == std::string::npos || cmdline.find("mpirun") != std::string::npos) continue;
    size_t at = 0;
    while ((at = environ_text.find(want, at)) != std::string::npos) {
      const size_t end = at + want.size();
      if ((at == 0 || environ_text[at - 1] == '\0') && (end == environ_text.size() || environ_text[end] == '\0')) {
        return static_cast<pid_t>(std::stol(name));
      }
      at = end;
    }
  }
  return -1;
}

}  // namespace

TEST_F(Mpi, TwoRanksWriteTheSameDatasetsAsOneProcess) {
  const fs::path cfg = dir_ / "sweep.yaml";
  std::ofstream(cfg) << R"(name: mpi_test
space: nb201
archs: {sample: 800, seed: 2}
devices: [pixel3_cpu, raspi4, edgetpu, eyeriss]
stages:
  - eval
  - monotonicity: {kendall: true, top_k: 20}
  - adapt: {proxy: pixel3_cpu, schemes: [none, adaproxy], n: [10], repeats: 3}
sweep:
  noise_seed: [0, 1]
  adapt.n: [[10], [10, 20]]
)";
  const std::string one = (dir_ / "one.h5").string(), two = (dir_ / "two.h5").string();
  auto [rc1, log1] = run({PROXYSIM_BINARY, "run", cfg.string(), "--backend", "cpu", "--out", one});
  ASSERT_EQ(rc1, 0) << log1;
  auto argv = mpi(2);
  for (const std::string a : {"run", cfg.c_str(), "--backend", "cpu", "--out", two.c_str()}) argv.push_back(a);
  auto [rc2, log2] = run(argv);
  ASSERT_EQ(rc2, 0) << log2;
  EXPECT_NE(log2.find("4 cells over 2 ranks"), std::string::npos) << log2;
  const FileContents a = read_contents(one), b = read_contents(two);
  ASSERT_TRUE(a.count("/cells/3/adapt/srcc_mean"));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, contents] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(b.at(name) == contents) << name << " differs between 1 and 2 ranks";
  }
  EXPECT_EQ(read_string_attr(two, "/cells/3", "axes"), "noise_seed=1, adapt.n=[10, 20]");
}

TEST_F(Mpi, AFailingRankNamesRankAndCellAndFinishedCellsSurvive) {
  const fs::path cfg = dir_ / "fail.yaml";
  // Round-robin: rank 0 runs cell 0, rank 1 runs cell 1, which asks for more samples than there are.
  std::ofstream(cfg) << R"(name: mpi_fail
space: nb201
archs: {sample: 300, seed: 2}
devices: [pixel3_cpu, raspi4]
stages:
  - eval
  - adapt: {proxy: pixel3_cpu, n: [10], repeats: 2}
sweep:
  adapt.n: [[10], [5000]]
)";
  const std::string out = (dir_ / "fail.h5").string();
  auto argv = mpi(2);
  for (const std::string a : {"run", cfg.c_str(), "--backend", "cpu", "--out", out.c_str()}) argv.push_back(a);
  auto [rc, log] = run(argv);
  EXPECT_NE(rc, 0) << log;
  EXPECT_NE(log.find("rank 1: cell 1 (adapt.n=[5000]) failed"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(out + ".cells/0.h5"));
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Mpi, AKilledRankFailsTheRunNamingItAndTheSameCommandCompletesIt) {
  const fs::path cfg = dir_ / "kill.yaml";
  std::ofstream(cfg) << "name: mpi_kill\nspace: fbnet\narchs: {sample: " << (kSanitized ? 15000 : 80000)
                     << ", seed: 4}\ndevices: [pixel3_cpu, raspi4, edgetpu, eyeriss]\n"
                        "stages:\n  - eval\n  - monotonicity: {kendall: false, top_k: 10}\n"
                        "sweep:\n  noise_seed: [0, 1, 2, 3, 4, 5, 6, 7]\n";
  const std::string one = (dir_ / "one.h5").string(), out = (dir_ / "killed.h5").string();
  const fs::path work = out + ".cells";
  auto [rc1, log1] = run({PROXYSIM_BINARY, "run", cfg.string(), "--backend", "cpu", "--out", one, "--quiet"});
  ASSERT_EQ(rc1, 0) << log1;

  auto argv = mpi(2);
  for (const std::string a : {"run", cfg.c_str(), "--backend", "cpu", "--out", out.c_str()}) argv.push_back(a);
  const std::string log_path = (dir_ / "mpirun.txt").string();
  const pid_t launcher = spawn(argv, log_path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  pid_t victim = -1;
  while (std::chrono::steady_clock::now() < deadline && (complete_cells(work) < 1 || victim < 0)) {
    if (victim < 0) victim = find_rank(1, out);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(victim, 0) << "rank 1 of the run was not found";
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  const int rc = wait_for(launcher);
  const std::string log = slurp(log_path);
  EXPECT_NE(rc, 0) << log;
  EXPECT_NE(log.find("rank 1"), std::string::npos) << log;
  EXPECT_NE(log.find("signal 9"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out));
  const int survived = complete_cells(work);
  ASSERT_GE(survived, 1);
  ASSERT_LT(survived, 8) << "every cell finished before the kill: nothing to resume";

  // The same command completes the run: equal, dataset by dataset, to one process's.
  auto [rc2, log2] = run(argv);
  ASSERT_EQ(rc2, 0) << log2;
  EXPECT_NE(log2.find("resuming: " + std::to_string(survived) + " of 8 cells already complete"), std::string::npos)
      << log2;
  const FileContents a = read_contents(one), b = read_contents(out);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, contents] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(b.at(name) == contents) << name << " differs after the resume";
  }
}
