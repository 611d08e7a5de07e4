// Resumable sweeps: a real multi-cell run killed with SIGKILL after some cells finished, then rerun with the same command, must skip the finished cells and produce a file whose every dataset equals (byte for byte) that of an uninterrupted run of the same config; damaged files handed to a resume are refused, named, and left as they were.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
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

// Ten cells of about half a second each on two cores: slow enough to kill in the middle
// (a fifth of the architectures under the sanitizers, which make each 5x slower).
const std::string kConfig = std::string(R"(name: resume_test
space: fbnet
archs: {sample: )") + (kSanitized ? "30000" : "150000") + R"(, seed: 1}
devices: [pixel3_cpu, raspi4, edgetpu, eyeriss]
stages:
  - eval
  - monotonicity: {kendall: false, top_k: 10}
sweep:
  noise_seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
)";

class Resume : public CliScratch {
 protected:
  std::pair<int, std::string> run(const std::string& cfg, const std::string& out) const { return run_cli(cfg, out); }
};

}  // namespace

TEST_F(Resume, KillNineMidSweepThenTheSameCommandEqualsAnUninterruptedRun) {
  const std::string cfg = write("sweep.yaml", kConfig);
  const std::string ref = (dir_ / "reference.h5").string(), out = (dir_ / "result.h5").string();
  const fs::path work = out + ".cells";

  const pid_t pid = spawn({PROXYSIM_BINARY, "run", cfg, "--backend", "cpu", "--out", out, "--quiet"},
                          (dir_ / "killed.txt").string());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (complete_cells(work) < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_EQ(wait_for(pid), -SIGKILL);
  const int done = complete_cells(work);
  // Killed mid-sweep: some cells finished, not all, and no result file yet.
  ASSERT_GE(done, 2);
  ASSERT_LT(done, 10) << "the run finished before the kill; nothing left to resume";
  ASSERT_FALSE(fs::exists(out));

  const auto [rc, log] = run(cfg, out);
  ASSERT_EQ(rc, 0) << log;
  EXPECT_NE(log.find("resuming: " + std::to_string(done) + " of 10 cells already complete"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(work)) << "the cells folder outlived the merge";

  const auto [rc_ref, log_ref] = run(cfg, ref);
  ASSERT_EQ(rc_ref, 0) << log_ref;
  const FileContents resumed = read_contents(out), uninterrupted = read_contents(ref);
  size_t per_cell = 0;
  for (const auto& kv : uninterrupted) per_cell += kv.first.rfind("/cells/0/", 0) == 0;
  ASSERT_GT(per_cell, 5u);
  EXPECT_EQ(uninterrupted.size(), 10 * per_cell) << "every cell holds the same datasets";
  EXPECT_TRUE(resumed.count("/cells/9/eval/latency_ms"));
  EXPECT_TRUE(resumed.count("/cells/0/monotonicity/srcc"));
  for (const auto& [name, contents] : uninterrupted) {
    ASSERT_TRUE(resumed.count(name)) << name;
    EXPECT_TRUE(resumed.at(name) == contents) << name << " differs";
  }
  EXPECT_EQ(resumed.size(), uninterrupted.size());
  // Different noise seeds give different cells: the comparison can tell cells apart.
  EXPECT_FALSE(resumed.at("/cells/0/eval/latency_ms") == resumed.at("/cells/1/eval/latency_ms"));

  // The same command once more finds the finished file and computes nothing.
  const auto [rc2, log2] = run(cfg, out);
  EXPECT_EQ(rc2, 0);
  EXPECT_NE(log2.find("already holds these 10 cells"), std::string::npos) << log2;
}

TEST_F(Resume, AFailingCellNamesItselfAndDamagedFilesAreRefusedNotOverwritten) {
  // Cell 1 asks for more adaptation samples than the run has: it fails after cell 0.
  const std::string cfg = write("fail.yaml", R"(name: resume_fail
space: nb201
archs: {sample: 300, seed: 1}
devices: [pixel3_cpu, raspi4, eyeriss]
stages:
  - eval
  - adapt: {proxy: pixel3_cpu, n: [10], repeats: 2}
sweep:
  adapt.n: [[10], [5000]]
)");
  const std::string out = (dir_ / "result.h5").string();
  const fs::path work = out + ".cells";
  auto [rc, log] = run(cfg, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("cell 1 (adapt.n=[5000]) failed"), std::string::npos) << log;
  EXPECT_NE(log.find("1 of 2 cells are complete"), std::string::npos) << log;
  ASSERT_TRUE(fs::exists(work / "0.h5"));
  EXPECT_FALSE(fs::exists(out));

  // A finished cell file damaged afterwards: refused by name, left as it is.
  const auto size = fs::file_size(work / "0.h5");
  fs::resize_file(work / "0.h5", size / 2);
  std::tie(rc, log) = run(cfg, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find((work / "0.h5").string() + ": a completed cell file that changed since it was written"),
            std::string::npos) << log;
  EXPECT_EQ(fs::file_size(work / "0.h5"), size / 2);

  // A damaged result file under the output name: refused, not replaced.
  fs::remove_all(work);
  std::ofstream(out) << "not an HDF5 file";
  std::tie(rc, log) = run(cfg, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find(out + ": exists but is not a readable HDF5 file"), std::string::npos) << log;
  std::ifstream in(out);
  std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "not an HDF5 file");

  // Another experiment's unfinished cells are not mixed with this one's.
  fs::remove(out);
  fs::create_directories(work);
  std::ofstream(work / "manifest.yaml") << "cells of something else\n";
  std::tie(rc, log) = run(cfg, out);
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("holds the unfinished cells of a different experiment"), std::string::npos) << log;
}
