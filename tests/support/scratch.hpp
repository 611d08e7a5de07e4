// A fixture for tests that run the proxysim CLI as a child process: a scratch folder
// of its own per test, config files written there, runs with their exit status and
// everything they printed, and the count of finished cell files of a sweep.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/spawn.hpp"

namespace proxysim::test {

class CliScratch : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("proxysim_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    std::error_code ec;
    // A test may have left folders read-only; make them removable again.
    for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, ec);
    }
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Exit status (-signal when killed) and everything the run printed.
  std::pair<int, std::string> run(const std::vector<std::string>& argv, const SpawnOptions& o = {}) const {
    const std::string log = (dir_ / "log.txt").string();
    const int rc = wait_for(spawn(argv, log, o));
    return {rc, slurp(log)};
  }
  // `proxysim run CONFIG --backend cpu --out OUT`, plus `extra`.
  std::pair<int, std::string> run_cli(const std::string& cfg, const std::string& out,
                                      const std::vector<std::string>& extra = {}, const SpawnOptions& o = {}) const {
    std::vector<std::string> argv = {PROXYSIM_BINARY, "run", cfg, "--backend", "cpu", "--out", out};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, o);
  }
  // Finished cells in a sweep's cells folder: <index>.h5 with its checksum <index>.sum.
  static int complete_cells(const std::filesystem::path& work) {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(work, ec)) {
      const std::string f = e.path().filename().string();
      if (f.size() > 4 && f.ends_with(".sum") && f.find_first_not_of("0123456789") == f.size() - 4) {
        n += std::filesystem::exists(work / (f.substr(0, f.size() - 4) + ".h5"));
      }
    }
    return n;
  }
  std::filesystem::path dir_;
};

}  // namespace proxysim::test
