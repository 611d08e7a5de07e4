// The process group a run spreads its sweep cells over: MPI ranks when the binary was
// started by an MPI launcher (mpirun, srun) and built with MPI, otherwise one process.
// MPI is initialised only under a launcher, so a plain `proxysim run` never needs one.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace proxysim {

struct World {
  int rank = 0, size = 1;
  int local_rank = 0, local_size = 1;  // among the ranks of this node
  bool mpi = false;
};

World init_world(int* argc, char*** argv);
void finalize_world(const World& w);
// Before any CUDA call: each rank of a node takes GPU local_rank modulo the GPUs it
// sees (CUDA_VISIBLE_DEVICES narrowed to one), and its share of the node's CPU cores.
void place_rank(const World& w);

// Collectives (no-ops or identities with one process).
// Waits for every rank, calling `poll` about twice a second meanwhile (rank 0's progress).
void world_wait_all(const World& w, const std::function<void()>& poll);
// Rank 0's string on every rank.
std::string world_broadcast(const World& w, const std::string& s);
// Every rank's string, on rank 0 (empty elsewhere).
std::vector<std::string> world_gather(const World& w, const std::string& s);

}  // namespace proxysim
