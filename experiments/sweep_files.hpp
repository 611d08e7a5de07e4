// The cells folder of a sweep (<out>.cells/): its manifest, each finished cell's file
// and checksum, what a resume finds there, and the merge into the result file. See
// experiments/sweep_run.hpp for the protocol these implement.
#pragma once
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "experiments/mpi_world.hpp"
#include "experiments/sweep.hpp"
#include "experiments/sweep_run.hpp"

namespace proxysim {

// FNV-1a: a stable fingerprint of the expanded cells, the same in every build.
std::string fingerprint(const std::string& s);
// What a resume must agree on: every cell's whole config, in order, and the backend
// override (a CPU cell and a CUDA cell may differ in the last bits).
std::string manifest_of(const SweepPlan& plan, const SweepOptions& o);
std::string cell_file(const std::filesystem::path& work, uint64_t i);
// A cell is complete when its file and, written after it, its checksum both exist.
std::string cell_sum(const std::filesystem::path& work, uint64_t i);

struct Prepared {
  std::string output;
  bool complete = false;         // the result file exists with these cells
  std::vector<uint64_t> todo;    // cells still to run
};
// Decides the output (given, or a resumable run of the same cells, or a new folder),
// creates the cells folder and its manifest, and lists the cells still to run;
// UserError when the output holds something else or a finished cell was damaged.
Prepared prepare(const SweepPlan& plan, const SweepOptions& o, const std::string& manifest, const std::string& fp,
                 std::ostream& log);
// How many of `todo` are complete now.
uint64_t count_complete(const std::filesystem::path& work, const std::vector<uint64_t>& todo);
// Copies every cell into /cells/<index> of `output` (written aside and renamed), with
// the sweep's provenance, and removes the cells folder.
void merge(const SweepPlan& plan, const SweepOptions& o, const World& world, const std::string& output,
           const std::string& fp);

}  // namespace proxysim
