#include "experiments/mpi_world.hpp"

#include <omp.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#if PROXYSIM_HAVE_MPI
// The C API only: OpenMPI's and MPICH's headers otherwise pull in their C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace proxysim {

namespace {

// Environment variables launchers set in every rank (OpenMPI, PMIx, PMI-2/Slurm, MPICH).
bool under_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"}) {
    if (std::getenv(v)) return true;
  }
  return false;
}

}  // namespace

World init_world(int* argc, char*** argv) {
  World w;
#if PROXYSIM_HAVE_MPI
  if (!under_launcher()) return w;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &w.local_rank);
  MPI_Comm_size(node, &w.local_size);
  MPI_Comm_free(&node);
  // A failing rank reports through world_gather; errors must not abort the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
#else
  (void)argc;
  (void)argv;
#endif
  return w;
}

void finalize_world(const World& w) {
#if PROXYSIM_HAVE_MPI
  if (w.mpi) MPI_Finalize();
#else
  (void)w;
#endif
}

void place_rank(const World& w) {
  if (w.local_size <= 1) return;
  // GPUs: the launcher may already have given each rank its own (Slurm --gpus-per-task
  // sets a one-entry CUDA_VISIBLE_DEVICES); otherwise count the node's GPUs.
  std::vector<std::string> visible;
  if (const char* v = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::stringstream ss(v);
    std::string id;
    while (std::getline(ss, id, ',')) {
      if (!id.empty()) visible.push_back(id);
    }
  } else {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
      (void)e;
      visible.push_back(std::to_string(visible.size()));
    }
  }
  if (!visible.empty()) setenv("CUDA_VISIBLE_DEVICES", visible[w.local_rank % visible.size()].c_str(), 1);
  const int cores = omp_get_num_procs();
  omp_set_num_threads(std::max(1, cores / w.local_size));
}

void world_wait_all(const World& w, const std::function<void()>& poll) {
#if PROXYSIM_HAVE_MPI
  if (w.mpi && w.size > 1) {
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    int done = 0;
    while (true) {
      MPI_Test(&req, &done, MPI_STATUS_IGNORE);
      if (done) break;
      if (poll) poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return;
  }
#else
  (void)w;
#endif
  if (poll) poll();
}

std::string world_broadcast(const World& w, const std::string& s) {
#if PROXYSIM_HAVE_MPI
  if (w.mpi && w.size > 1) {
    uint64_t n = s.size();
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    std::string out = w.rank == 0 ? s : std::string(n, '\0');
    MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
    return out;
  }
#else
  (void)w;
#endif
  return s;
}

std::vector<std::string> world_gather(const World& w, const std::string& s) {
#if PROXYSIM_HAVE_MPI
  if (w.mpi && w.size > 1) {
    int n = static_cast<int>(s.size());
    std::vector<int> sizes(w.rank == 0 ? w.size : 0), offsets(w.rank == 0 ? w.size : 0);
    MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::string all;
    if (w.rank == 0) {
      int total = 0;
      for (int r = 0; r < w.size; ++r) {
        offsets[r] = total;
        total += sizes[r];
      }
      all.resize(total);
    }
    MPI_Gatherv(s.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (w.rank == 0) {
      for (int r = 0; r < w.size; ++r) out.push_back(all.substr(offsets[r], sizes[r]));
    }
    return out;
  }
#else
  (void)w;
#endif
  return {s};
}

}  // namespace proxysim
