// CUDA backend of the rank statistics: the loops of rank_impl.hpp under thrust::cuda::par
// on a device copy of the matrix; the SRCC matrix ranks its columns in batches, each in
// one CUB segmented radix sort, and Thrust's sorts of 32- and 64-bit keys go to CUB's
// radix sort.
// Device memory comes from GpuMemoryResource (kernels/cuda/gpu_memory.hpp), whose
// release never throws, so a failed kernel's error reaches the caller intact.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <thrust/system/cuda/error.h>
#include <thrust/system_error.h>

#include <new>
#include <string>

#include "kernels/cuda/gpu_memory.hpp"
#include "kernels/rank_impl.hpp"
#include "base/error.hpp"

namespace proxysim::detail {

namespace {

// Column c of a batch starts at entry c * rows: the segment offsets of CUB's segmented
// sort, computed rather than stored.
struct ColumnStart {
  int rows;
  __host__ __device__ int operator()(int c) const { return c * rows; }
};
auto offsets(int64_t rows) {
  return thrust::make_transform_iterator(thrust::counting_iterator<int>(0), ColumnStart{static_cast<int>(rows)});
}
// Entries of a batch: rank_batch_columns keeps them within 2^31 - 1 (CUB's int).
int items(int64_t rows, int64_t columns) { return static_cast<int>(rows * columns); }

// Sorts the (key, row) pairs of a batch of columns (`columns` consecutive runs of `rows`)
// with CUB, on alternate buffers and temporary storage allocated once for every batch
// of a matrix (Thrust's sort_by_key allocates and frees its own for each call), queried
// for the largest batch. Segmented: the whole batch in one DeviceSegmentedRadixSort,
// one segment per column; else one DeviceRadixSort per column, as before the segmented
// sort (kept to compare the two: CUB sorts each segment with one thread block per pass,
// where DeviceRadixSort spreads one column over the GPU). The sorted pairs lie in
// whichever buffer of each pair CUB's passes ended in, the same for every column.
class CubColumnSorter {
 public:
  CubColumnSorter(int64_t rows, int64_t columns, bool segmented)
      : keys_alt_(static_cast<size_t>(rows * columns)), values_alt_(static_cast<size_t>(rows * columns)),
        segmented_(segmented) {
    cub::DoubleBuffer<uint32_t> k(nullptr, nullptr), v(nullptr, nullptr);
    if (segmented_) {
      const auto begin = offsets(rows);
      PROXYSIM_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, temp_bytes_, k, v, items(rows, columns),
                                                                   static_cast<int>(columns), begin, begin + 1));
    } else {
      PROXYSIM_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes_, k, v, rows));
    }
    temp_.resize(temp_bytes_);
  }

  SortedPairs sort(uint32_t* keys, uint32_t* values, int64_t rows, int64_t columns) {
    uint32_t* keys_alt = thrust::raw_pointer_cast(keys_alt_.data());
    uint32_t* values_alt = thrust::raw_pointer_cast(values_alt_.data());
    void* temp = thrust::raw_pointer_cast(temp_.data());
    if (segmented_) {
      cub::DoubleBuffer<uint32_t> k(keys, keys_alt), v(values, values_alt);
      size_t bytes = temp_bytes_;
      const auto begin = offsets(rows);
      PROXYSIM_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(temp, bytes, k, v, items(rows, columns),
                                                                   static_cast<int>(columns), begin, begin + 1));
      return {k.Current(), v.Current()};
    }
    for (int64_t c = 0; c < columns; ++c) {
      const int64_t at = c * rows;
      cub::DoubleBuffer<uint32_t> k(keys + at, keys_alt + at), v(values + at, values_alt + at);
      size_t bytes = temp_bytes_;
      PROXYSIM_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, bytes, k, v, rows));
      // Every column the same number of passes, so this is not expected; if a column
      // ended in the alternates, it joins the others.
      if (k.Current() != keys + at) {
        PROXYSIM_CUDA_CHECK(cudaMemcpyAsync(keys + at, k.Current(), rows * sizeof(uint32_t), cudaMemcpyDeviceToDevice));
        PROXYSIM_CUDA_CHECK(cudaMemcpyAsync(values + at, v.Current(), rows * sizeof(uint32_t), cudaMemcpyDeviceToDevice));
      }
    }
    return {keys, values};
  }

 private:
  GpuVector<uint32_t> keys_alt_, values_alt_;
  GpuVector<unsigned char> temp_;
  size_t temp_bytes_ = 0;
  bool segmented_;
};

struct CudaSystem {
  template <class T>
  using vector = GpuVector<T>;
  using ColumnSorter = CubColumnSorter;
  static auto policy() { return gpu_par(); }
  static auto policy_nosync() { return gpu_par_nosync(); }
  static void* allocate(size_t bytes) { return gpu_allocate(bytes); }
  static void deallocate(void* p) { gpu_free(p); }
  [[maybe_unused]] static void advise_large(void*, size_t) {}
  // Thousands of threads: every sort and sum is spread over elements.
  static constexpr bool kSerialWorkers = false;
  // One pair of 256 rows per thread: millions of items for a 1M x 32 matrix.
  static constexpr int64_t kGramChunk = 256;
  // Below 4096 blocks a per-block merge leaves most of the GPU idle: merge per element.
  static constexpr int64_t kElementMergeBelow = 4096;
  static constexpr size_t kBatchBytes = size_t{1} << 30;
};

using Gpu = RankLoops<CudaSystem>;

// Device copy of host columns laid side by side (n x k, row-major).
GpuVector<float> upload(const float* host, int64_t count) {
  GpuVector<float> d(static_cast<size_t>(count));
  if (count > 0)
    PROXYSIM_CUDA_CHECK(cudaMemcpy(thrust::raw_pointer_cast(d.data()), host, count * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}

GpuVector<float> upload_columns(std::initializer_list<const float*> cols, int64_t n) {
  const int64_t k = static_cast<int64_t>(cols.size());
  std::vector<float> h(static_cast<size_t>(n * k));
  int64_t j = 0;
  for (const float* c : cols) {
    for (int64_t i = 0; i < n; ++i) h[i * k + j] = c[i];
    ++j;
  }
  return upload(h.data(), n * k);
}

template <class F>
auto checked(F&& f) {
  auto r = f();
  PROXYSIM_CUDA_CHECK(cudaGetLastError());
  PROXYSIM_CUDA_CHECK(cudaDeviceSynchronize());
  return r;
}

// Runs `f`, turning a failed GPU allocation into an error that says how large the
// input was, about what it needs and how many rows would fit in what is free. The
// statistics hold the matrix, a rank or key per entry and the sorts' buffers: about
// 8 bytes per entry and 32 per row, plus `batch_bytes_per_row` x rows up to
// `batch_cap` bytes (the SRCC ranking's batch of columns; 0 where there is none). A kernel or copy that failed inside
// Thrust is reported as a CudaError naming the statistic.
template <class F>
auto within_gpu_memory(const char* what, int64_t rows, int64_t cols, F&& f, double batch_bytes_per_row = 0,
                       double batch_cap = 0) {
  try {
    return f();
  } catch (const CudaError&) {
    throw;
  } catch (const thrust::system_error& e) {
    const cudaError_t code =
        e.code().category() == thrust::cuda_category() ? static_cast<cudaError_t>(e.code().value()) : cudaErrorUnknown;
    throw CudaError(code, cuda_error_message(code, std::string("computing ") + what + " of " + std::to_string(rows) +
                                                       " x " + std::to_string(cols) + " (" + e.what() + ")"));
  } catch (const std::bad_alloc&) {
    cudaGetLastError();
    const double per_row = 8.0 * static_cast<double>(cols) + 32.0;
    const double r = static_cast<double>(rows);
    // A batch holds at least one column, so past the cap it grows with the rows.
    const double batch = std::max(std::min(batch_bytes_per_row * r, batch_cap), batch_bytes_per_row * r / std::max<double>(1, static_cast<double>(cols)));
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    cudaGetLastError();
    const double room = std::max(0.0, static_cast<double>(free_b) - batch_cap);
    const double fit = room / (per_row + batch_bytes_per_row / std::max<double>(1, static_cast<double>(cols)));
    throw UserError(gpu_out_of_memory(std::string(what) + " of " + std::to_string(rows) + " x " + std::to_string(cols),
                                      per_row * r + batch) +
                    "; about " + std::to_string(static_cast<int64_t>(fit)) + " rows would fit");
  }
}

}  // namespace

PairMatrix cuda_spearman_matrix(const LatencyMatrix& m, const ColumnRanking& ranking) {
  // The ranking's batch of columns (either sorter): kRankBytesPerEntry an entry, within
  // kBatchBytes unless one column alone is more.
  const double batch_per_row = static_cast<double>(kRankBytesPerEntry) * static_cast<double>(m.devices);
  const double batch_cap = static_cast<double>(CudaSystem::kBatchBytes);
  return within_gpu_memory(
      "the SRCC matrix", m.rows, m.devices,
      [&] {
        auto d = upload(m.latency_ms, m.rows * m.devices);
        return checked([&] {
          return Gpu(thrust::raw_pointer_cast(d.data()), m.rows, m.devices).with_ranking(ranking).spearman();
        });
      },
      batch_per_row, batch_cap);
}

PairMatrix cuda_kendall_matrix(const LatencyMatrix& m) {
  return within_gpu_memory("the Kendall matrix", m.rows, m.devices, [&] {
    auto d = upload(m.latency_ms, m.rows * m.devices);
    return checked([&] { return Gpu(thrust::raw_pointer_cast(d.data()), m.rows, m.devices).kendall(); });
  });
}

double cuda_top_k_agreement(const float* proxy_ms, const float* target_ms, int64_t n, int64_t k) {
  return within_gpu_memory("top-k agreement", n, 2, [&] {
    auto d = upload_columns({proxy_ms, target_ms}, n);
    const float* p = thrust::raw_pointer_cast(d.data());
    return checked([&] { return Gpu(p, n, 2).top_k(Column{p, 2}, Column{p + 1, 2}, k); });
  });
}

std::vector<int64_t> cuda_pareto_front(const float* latency_ms, const float* objective, int64_t n, Objective sense) {
  return within_gpu_memory("a Pareto front", n, 2, [&] {
    auto d = upload_columns({latency_ms, objective}, n);
    const float* p = thrust::raw_pointer_cast(d.data());
    return checked([&] { return Gpu(p, n, 2).pareto(Column{p, 2}, Column{p + 1, 2}, sense); });
  });
}

ParetoAgreement cuda_pareto_agreement(const float* proxy_ms, const float* target_ms, const float* objective,
                                      int64_t n, Objective sense) {
  return within_gpu_memory("Pareto agreement", n, 3, [&] {
    auto d = upload_columns({proxy_ms, target_ms, objective}, n);
    const float* p = thrust::raw_pointer_cast(d.data());
    return checked([&] {
      return Gpu(p, n, 3).pareto_agreement(Column{p, 3}, Column{p + 1, 3}, Column{p + 2, 3}, sense);
    });
  });
}

double cuda_kendall_pair(const float* a, const float* b, int64_t n) {
  if (n < 2) return kNaN;
  return within_gpu_memory("Kendall tau-b", n, 2, [&] {
    auto d = upload_columns({a, b}, n);
    const float* p = thrust::raw_pointer_cast(d.data());
    int64_t count = 0;
    return checked([&] { return Gpu(p, n, 2).pair_kendall(Column{p, 2}, Column{p + 1, 2}, &count); });
  });
}

BootstrapResult cuda_bootstrap_spearman(const LatencyMatrix& m, const BootstrapOptions& options) {
  return within_gpu_memory("the bootstrap of SRCC", m.rows, m.devices, [&] {
    auto d = upload(m.latency_ms, m.rows * m.devices);
    return checked([&] { return Gpu(thrust::raw_pointer_cast(d.data()), m.rows, m.devices).bootstrap_spearman(options); });
  });
}

BootstrapResult cuda_bootstrap_kendall(const LatencyMatrix& m, const BootstrapOptions& options) {
  return within_gpu_memory("the bootstrap of Kendall tau", m.rows, m.devices, [&] {
    auto d = upload(m.latency_ms, m.rows * m.devices);
    return checked([&] { return Gpu(thrust::raw_pointer_cast(d.data()), m.rows, m.devices).bootstrap_kendall(options); });
  });
}

}  // namespace proxysim::detail
