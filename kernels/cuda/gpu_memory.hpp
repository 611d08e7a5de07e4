// Device memory of the CUDA backend, whose release never throws.
//
// After a sticky CUDA error every CUDA call fails, cudaFree included. Thrust's own
// memory resource throws when cudaFree fails; inside a buffer's destructor, while the
// first error unwinds the stack, that ends the process in std::terminate and the first
// error is lost. Here a failed cudaFree is ignored (the error behind it is already on
// its way up), and a failed cudaMalloc throws std::bad_alloc only when the GPU is out
// of memory, CudaError with the real error otherwise: after a faulted kernel an
// allocation fails too, and that is not "out of memory".
#pragma once
#include <thrust/mr/allocator.h>
#include <thrust/mr/memory_resource.h>
#include <thrust/system/cuda/execution_policy.h>
#include <thrust/system/cuda/memory.h>
#include <thrust/system/cuda/vector.h>

#include <cstddef>
#include <new>

#include "kernels/cuda/cuda_check.hpp"

namespace proxysim {

inline void* gpu_allocate(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it
    throw std::bad_alloc();
  }
  if (e != cudaSuccess) cuda_fail(e, "cudaMalloc", __FILE__, __LINE__);
  return p;
}

inline void gpu_free(void* p) noexcept {
  if (p) static_cast<void>(cudaFree(p));
}

class GpuMemoryResource final : public thrust::mr::memory_resource<thrust::cuda::pointer<void>> {
 public:
  pointer do_allocate(std::size_t bytes, std::size_t /*alignment: cudaMalloc's 256 bytes*/) override {
    return pointer(gpu_allocate(bytes));
  }
  void do_deallocate(pointer p, std::size_t, std::size_t) override { gpu_free(thrust::raw_pointer_cast(p)); }
};

template <class T>
using GpuAllocator = thrust::mr::stateless_resource_allocator<T, GpuMemoryResource>;

// A device vector on GpuMemoryResource.
template <class T>
using GpuVector = thrust::cuda::vector<T, GpuAllocator<T>>;

// thrust::cuda::par whose temporary storage (the sorts', scans' and reductions') comes
// from GpuMemoryResource as well.
inline auto gpu_par() { return thrust::cuda::par(GpuAllocator<char>()); }

// The same, free not to wait for the kernels it launches (later work on the stream, and
// the next synchronising call, still see their results and errors).
inline auto gpu_par_nosync() { return thrust::cuda::par_nosync(GpuAllocator<char>()); }

}  // namespace proxysim
