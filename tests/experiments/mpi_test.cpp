// MPI: `mpirun -np 2 proxysim run` spreads a sweep's cells over two ranks and must write a file whose every dataset equals (byte for byte) the one-process run's; a rank whose cell fails makes the run fail naming rank and cell, and the other rank's finished cells stay for a resume. Skips, visibly, without mpirun or an MPI build.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/h5_compare.hpp"
#include "tests/support/spawn.hpp"

namespace fs = std::filesystem;

#if defined(__SANITIZE_ADDRESS__)
#define PROXYSIM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROXYSIM_TEST_ASAN 1
#endif
#endif
#ifndef PROXYSIM_TEST_ASAN
#define PROXYSIM_TEST_ASAN 0
#endif
using namespace proxysim::test;

namespace {

std::string mpirun_path() {
  for (const char* d : {"/usr/bin/mpirun", "/usr/local/bin/mpirun"}) {
    if (fs::exists(d)) return d;
  }
  return "";
}

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
#if !PROXYSIM_HAVE_MPI
    GTEST_SKIP() << "proxysim was built without MPI (PROXYSIM_MPI=OFF or no MPI found)";
#endif
    mpirun_ = mpirun_path();
    if (mpirun_.empty()) GTEST_SKIP() << "mpirun not found (install openmpi-bin)";
    dir_ = fs::temp_directory_path() / ("proxysim_mpi_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::pair<int, std::string> run(std::vector<std::string> argv) const {
    const std::string log = (dir_ / "log.txt").string();
    const int rc = wait_for(spawn(argv, log));
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    return {rc, ss.str()};
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
  fs::path dir_;
};

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
