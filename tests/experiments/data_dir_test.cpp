// Checks that configs name their data files relative to the data directory: every
// config under experiments/ validates (a dry run parses each sweep cell and resolves
// every file) with the shared data copied to another folder and named by PROXYSIM_DATA,
// and by --data-dir; one paper config also runs for real there and gives the same
// result datasets as with the data in place; a missing file names the data directory
// and the settings that choose it. No tolerance: results are compared exactly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/h5_compare.hpp"
#include "tests/support/run_config.hpp"
#include "tests/support/sanitized.hpp"

namespace fs = std::filesystem;
using proxysim::test::run_proxysim;

namespace {

const fs::path kSource = fs::path(PROXYSIM_TEST_DATA).parent_path().parent_path();

// The shared data copied once into a folder of its own (never into the project).
const fs::path& data_copy() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("proxysim_data_copy_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    for (const auto& e : fs::directory_iterator(PROXYSIM_SHARED_DATA)) {
      if (e.path().extension() == ".csv") fs::copy_file(e.path(), d / e.path().filename());
    }
    return d;
  }();
  return dir;
}

std::vector<fs::path> configs() {
  std::vector<fs::path> out;
  for (const char* folder : {"experiments", "experiments/paper"}) {
    for (const auto& e : fs::directory_iterator(kSource / folder)) {
      if (e.path().extension() == ".yaml") out.push_back(e.path());
    }
  }
  return out;
}

}  // namespace

TEST(DataDir, EveryConfigValidatesWithTheDataElsewhere) {
  const std::vector<fs::path> all = configs();
  ASSERT_GE(all.size(), 10u);
  for (const fs::path& cfg : all) {
    SCOPED_TRACE(cfg.string());
    const auto env = proxysim::test::run_proxysim("data_dir_env", "run " + cfg.string() + " --dry-run",
                                                  "PROXYSIM_DATA=" + data_copy().string() + " ");
    EXPECT_EQ(env.rc, 0) << env.err;
    // The flag sets the same variable (experiments/main.cpp): under the sanitizers,
    // where each dry run costs seconds, it is tried on the first config only.
    if (proxysim::test::kSanitized && cfg != all.front()) continue;
    const auto flag = run_proxysim("data_dir_flag", "run " + cfg.string() + " --dry-run --data-dir " + data_copy().string());
    EXPECT_EQ(flag.rc, 0) << flag.err;
  }
}

TEST(DataDir, APaperConfigRunsTheSameFromACopy) {
  const fs::path cfg = kSource / "experiments/paper/nas_nb201_hwnasbench.yaml";
  const fs::path tmp = fs::temp_directory_path();
  const fs::path here = tmp / "data_dir_in_place.h5", there = tmp / "data_dir_copy.h5";
  fs::remove(here);
  fs::remove(there);
  const std::string fast = " --set nas.seeds=2 --quiet --out ";
  const auto a = run_proxysim("data_dir_a", "run " + cfg.string() + fast + here.string(),
                              std::string("PROXYSIM_DATA=") + PROXYSIM_SHARED_DATA + " ");
  ASSERT_EQ(a.rc, 0) << a.err;
  const auto b = run_proxysim("data_dir_b", "run " + cfg.string() + fast + there.string(),
                              "PROXYSIM_DATA=" + data_copy().string() + " ");
  ASSERT_EQ(b.rc, 0) << b.err;
  auto x = proxysim::test::read_contents(here.string()), y = proxysim::test::read_contents(there.string());
  ASSERT_FALSE(x.empty());
  // The files each device was read from differ by folder, as they should; all else is equal.
  const std::string files = "/cells/0/eval/device_files";
  ASSERT_TRUE(x.count(files) && y.count(files));
  EXPECT_NE(y[files].bytes.find(data_copy().string()), std::string::npos);
  EXPECT_EQ(y[files].bytes.find(PROXYSIM_SHARED_DATA), std::string::npos);
  x.erase(files);
  y.erase(files);
  EXPECT_TRUE(x == y);
}

TEST(DataDir, AMissingFileNamesTheDataDirectoryAndTheSettings) {
  const fs::path empty = fs::temp_directory_path() / "proxysim_empty_data";
  fs::create_directories(empty);
  const auto r = run_proxysim("data_dir_missing", "run " + (kSource / "experiments/paper/oneproxy_vpu.yaml").string() +
                                                      " --dry-run --data-dir " + empty.string());
  EXPECT_EQ(r.rc, 2);
  for (const char* fragment : {"oneproxy_nb201_1999_latency.csv", "proxysim_empty_data", "data_dir", "--data-dir",
                               "PROXYSIM_DATA", "measured"}) {
    EXPECT_NE(r.err.find(fragment), std::string::npos) << fragment << "\n" << r.err;
  }
}
